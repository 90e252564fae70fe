"""Server settings: redis.conf files and redis-server options as Redis reads them, CONFIG GET/SET/REWRITE.

The parameters themselves (types, defaults, checks) are in serving/parameters.py.
A file is read as Redis's loadServerConfigFromString does: each line trimmed,
'#' comments skipped, split with redis-cli's quoting rules (sdssplitargs),
'include' read in place; the command line's --options become more lines
after the file's, so an error names its line either way.
"""
import glob
import os

from protocol import split_inline
from serving.parameters import BY_NAME, IGNORED_DIRECTIVES, PARAMETERS, PROTECTED
from serving.values import ClassLimits, ConfigError, quoted
from storage import patterns

MAX_INCLUDE_DEPTH = 32  # Redis recurses until it crashes; we stop a file that includes itself


# What Redis's CONFIG REWRITE writes even at the default: the working directory (rewriteConfigDirOption), the save
# points and the latency percentiles (written with force, so the defaults never stand in for them).
ALWAYS_REWRITTEN = frozenset(("dir", "save", "latency-tracking-info-percentiles"))


class ConfigFileError(ConfigError):
    """A config file that cannot be read: Redis logs this as a log line, not as a config error."""


class LocatedError(ConfigError):
    """A bad line, its place already named (a line of an included file): not named again by the including one."""


class UnknownParameter(Exception):
    """CONFIG SET of a name Redis does not know: its own error text."""


def value_words(parameter, text):
    """A CONFIG SET value as the parameter takes it: a multi-word one split on single spaces, as Redis does."""
    if parameter.multi:
        return text.split(" ") if text else []
    return [text]


def options_text(options):
    """redis-server's command line after the config file as the config lines it stands for.

    '--port 7000 --save' gives 'port "7000" \\nsave ""': each --name starts a line (unless the line
    before still wants its value), the rest are quoted values; a bare --save means save "".
    """
    text, value_given = "", True
    for index, option in enumerate(options):
        if value_given and option.startswith("--"):
            if text:
                text += "\n"
            text += option[2:] + " "
            words = split_inline(option.encode("utf-8", "surrogateescape"))
            value_given = words is None or len(words) != 1
            if not value_given and option.lower() == "--save":
                last = index == len(options) - 1
                if last or options[index + 1].startswith("--"):
                    text += '""'
                    value_given = not last
        else:
            text += quoted(option) + " "
            value_given = True
    return text


class Config:
    """The running values, by parameter name, and what a config file added (renames, its path)."""

    def __init__(self):
        self.values = {}
        for parameter in PARAMETERS:
            self.values[parameter.name] = self._parse(parameter, value_words(parameter, parameter.default))
        self.config_file = ""
        self.users = []  # `user name rules...` lines, as word lists without 'user'
        self.renames = []  # rename-command (old, new, where) in file order, for access.apply_renames
        self._reading_file = False  # Redis's reading_config_file: set while a file's lines are read
        self._save_loaded = False  # the file's first save line replaces the default, later ones add to it

    def _parse(self, parameter, words):
        value = parameter.parse(words)
        return value.applied_to(self.values.get(parameter.name)) if isinstance(value, ClassLimits) else value

    def __getitem__(self, name):
        return self.values[name]

    @staticmethod
    def find(name):
        """The parameter a (case-insensitive) name means, or None."""
        return BY_NAME.get(name.lower())

    def shown(self, name):
        """A parameter's running value as CONFIG GET prints it."""
        parameter = BY_NAME[name]
        return parameter.show(self.values[parameter.name])

    def set(self, name, text):
        """One parameter from text, as CONFIG SET takes it (no mutability check)."""
        parameter = self.find(name)
        if parameter is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        self.values[parameter.name] = self._parse(parameter, value_words(parameter, text))

    def set_many(self, pairs, protected_allowed=False):
        """CONFIG SET: every (name, text) pair or none, checked in Redis's order.

        The first problem in argument order wins: UnknownParameter for a name
        Redis does not know, ConfigError(name as given, reason) for one that
        may not be set or comes twice; then every value is parsed, a bad one
        failing as ConfigError(its lowercased name, reason). Returns the
        parameters whose value changed.
        """
        seen = set()
        for name, _ in pairs:
            parameter = self.find(name)
            if parameter is None:
                raise UnknownParameter(name)
            if not parameter.mutable or (parameter.mutable == PROTECTED and not protected_allowed):
                raise ConfigError(name, "can't set %s config" % ("immutable" if not parameter.mutable else "protected"))
            if name.lower() in seen:  # as in Redis, an alias and its name are two entries: both may be set
                raise ConfigError(name, "duplicate parameter")
            seen.add(name.lower())
        parsed = {}
        for name, text in pairs:
            parameter = self.find(name)
            try:
                parsed[parameter.name] = self._parse(parameter, value_words(parameter, text))
            except ConfigError as error:
                raise ConfigError(name.lower(), str(error)) from None
        changed = [name for name, value in parsed.items() if self.values[name] != value]
        self.values.update(parsed)
        return changed

    def get_matching(self, pattern):
        """CONFIG GET of one argument: [(name, shown value)]; a plain name answers with the name as asked."""
        if not any(char in pattern for char in "[*?"):
            parameter = self.find(pattern)
            return [(pattern, parameter.show(self.values[parameter.name]))] if parameter else []
        matcher = patterns.compile_pattern(pattern.encode("utf-8", "surrogateescape"), True)
        return [(name, p.show(self.values[p.name])) for p in PARAMETERS if not p.hidden
                for name in (p.name, p.alias) if name and matcher(name.encode())]

    # ------------------------------------------------------------------ files and options

    def load(self, path, options):
        """redis-server's start: the config file (if any), then the options as more lines after it."""
        text = self._read(path) if path else ""
        self._load_text(text + "\n" + options_text(options))
        if path:
            self.config_file = os.path.abspath(path)
        self._check_log_file()

    def load_file(self, path):
        """Read a redis.conf-style file (a whole start-up's settings, with the options, use load())."""
        self._load_text(self._read(path))
        self.config_file = os.path.abspath(path)

    def load_options(self, options):
        """redis-server-style options: ['--port', '7000', '--save', '900', '1']."""
        self._load_text("\n" + options_text(options))

    @staticmethod
    def _read(path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "surrogateescape")
        except OSError as error:
            raise ConfigFileError("Fatal error, can't open config file '%s': %s"
                                  % (os.path.abspath(path), error.strerror)) from None

    def _load_text(self, text, depth=0):
        """Redis's loadServerConfigFromString: every line, in order; the first bad one stops it all."""
        self._reading_file = True
        for number, line in enumerate(text.split("\n"), 1):
            line = line.strip(" \t\r\n")
            if not line or line.startswith("#"):
                continue
            where = "Reading the configuration file, at line %d\n>>> '%s'" % (number, line)
            words = split_inline(line.encode("utf-8", "surrogateescape"))
            if words is None:
                raise LocatedError("%s\nUnbalanced quotes in configuration line" % where)
            if not words:
                continue
            words = [word.decode("utf-8", "surrogateescape") for word in words]
            try:
                self._apply_directive(words[0].lower(), words[1:], where, depth)
            except (ConfigFileError, LocatedError):
                raise
            except ConfigError as error:
                raise LocatedError("%s\n%s" % (where, error)) from None
        self._reading_file = False  # also for the lines after an include, as in Redis

    def _apply_directive(self, directive, arguments, where, depth):
        parameter = BY_NAME.get(directive)
        if parameter is not None:
            if not parameter.multi and len(arguments) != 1:
                raise ConfigError("wrong number of arguments")
            if parameter.multi and len(arguments) == 1 and arguments[0]:  # save "900 1": one value, its words
                split = split_inline(arguments[0].encode("utf-8", "surrogateescape"))
                arguments = arguments if split is None else [word.decode("utf-8", "surrogateescape") for word in split]
            value = self._parse(parameter, arguments)
            if parameter.name == "save" and self._reading_file and arguments != [""]:
                if self._save_loaded:
                    value = " ".join(filter(None, (self.values["save"], value)))
                self._save_loaded = True
            self.values[parameter.name] = value
        elif directive in IGNORED_DIRECTIVES and len(arguments) == 1:
            return
        elif directive == "include" and len(arguments) == 1:
            self._include(arguments[0], depth)
        elif directive == "user" and arguments:  # ACL users, loaded once the server is built (acl package)
            self.users.append([word.encode("utf-8", "surrogateescape") for word in arguments])
        elif directive == "rename-command" and len(arguments) == 2:
            self.renames.append((arguments[0].encode("utf-8", "surrogateescape"),
                                 arguments[1].encode("utf-8", "surrogateescape"), where))
        else:
            raise ConfigError("Bad directive or wrong number of arguments")

    def _include(self, path, depth):
        """include: another file read in place; a pattern ('conf.d/*.conf') reads every match, or none."""
        if depth >= MAX_INCLUDE_DEPTH:
            raise ConfigError("include nested more than %d deep" % MAX_INCLUDE_DEPTH)
        paths = sorted(glob.glob(path)) if any(char in path for char in "*?[") else [path]
        for one in paths:
            self._load_text(self._read(one), depth + 1)

    def _check_log_file(self):
        """As Redis after reading the file: a log file that cannot be opened stops the start."""
        if self.values["logfile"]:
            try:
                open(self.values["logfile"], "a").close()
            except (OSError, ValueError) as error:  # ValueError: a NUL in the path
                raise ConfigError("Can't open the log file: %s"
                                  % (getattr(error, "strerror", None) or "Invalid argument")) from None

    # ------------------------------------------------------------------ CONFIG REWRITE

    def rewrite(self, users=()):
        """CONFIG REWRITE as Redis's: each directive in the file set to its running value, comments kept,
        then the other parameters that differ from their defaults under '# Generated by CONFIG REWRITE'.
        users are the 'user ...' lines to write (rewriteConfigUserOption: in place of the file's own, in
        order, the rest after the other new lines; none, with an aclfile, drops them all)."""
        lines, written, users = [], set(), list(users)
        with open(self.config_file, "rb") as f:
            for raw in f:
                stripped = raw.strip()
                words = split_inline(stripped) if stripped and not stripped.startswith(b"#") else None
                if words and words[0].lower() == b"user":
                    if users:
                        lines.append(users.pop(0))
                    continue
                parameter = self.find(words[0].decode(errors="replace")) if words else None
                if parameter is None:
                    lines.append(raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape"))
                elif parameter.name not in written:
                    if parameter.name != "replicaof" or self.values["replicaof"]:  # a master has no such line
                        lines.append(self._directive(parameter))
                    written.add(parameter.name)
        added = [self._directive(parameter) for parameter in PARAMETERS if parameter.name not in written
                 and (parameter.name in ALWAYS_REWRITTEN
                      or self.values[parameter.name] != self._parse(parameter, value_words(parameter, parameter.default)))]
        added += users
        if added:
            lines += ["", "# Generated by CONFIG REWRITE"] + added
        temporary = self.config_file + ".tmp"
        with open(temporary, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.config_file)

    def _directive(self, parameter):
        value = self.values[parameter.name]
        text = parameter.written(value) if parameter.written else parameter.show(value)
        return "%s %s" % (parameter.name, text or '""')
