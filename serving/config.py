"""Server settings: defaults, redis.conf-style files, redis-server-style options, CONFIG GET/SET/REWRITE.

One table lists every parameter with its default, how a value is parsed
(with Redis's own error texts, as CONFIG SET reports them) and whether
CONFIG SET may change it at run time.
"""
import errno
import os
import re
from collections import namedtuple

from protocol import split_inline, string_to_int
from storage import eviction, patterns

Parameter = namedtuple("Parameter", "name default parse mutable alias", defaults=(None,))
Parameter.__doc__ = "One setting; alias is its older name (Redis 7 keeps the ziplist-era names working)."

LLONG_MAX = 2**63 - 1
PROTECTED = "protected"  # a Parameter's mutable value for Redis's PROTECTED_CONFIG (dir, dbfilename)


class ConfigError(Exception):
    """A bad directive or value; the text is what Redis would print."""


def _integer(low, high):
    def parse(text):
        value = string_to_int(text.encode())
        if value is None:
            raise ConfigError("argument couldn't be parsed into an integer")
        return _in_range(value, low, high)
    return parse


def _in_range(value, low, high):
    if not low <= value <= high:
        raise ConfigError("argument must be between %d and %d inclusive" % (low, high))
    return value


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_MEMORY = re.compile(r"(\d*)(.*)", re.DOTALL)


def parse_memory(text):
    """A size as Redis's memtoull reads it: '1gb' = 1073741824, '1g' = 10**9, '100' = 100 bytes.

    Digits then a unit, nothing else ('' reads as 0); a number too big for
    64 bits saturates and the product wraps, as in C, then reads as signed.
    """
    digits, unit = _MEMORY.fullmatch(text).groups()
    if unit.lower() not in _UNITS or len(digits) >= 128:
        raise ConfigError("argument must be a memory value")
    value = min(int(digits or "0"), 2**64 - 1) * _UNITS[unit.lower()] % 2**64
    return value - 2**64 if value >= 2**63 else value


def _memory(low, high):
    return lambda text: _in_range(parse_memory(text), low, high)


def _unsigned_memory(text):
    """A memory value of an unsigned setting (maxmemory): what memtoull gives, unsigned."""
    return parse_memory(text) % 2**64


def _one_of(names):
    def parse(text):
        if text.lower() not in names:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(names))
        return text.lower()
    return parse


def _yes_no(text):
    lowered = text.lower()
    if lowered not in ("yes", "no"):
        raise ConfigError("argument must be 'yes' or 'no'")
    return lowered == "yes"


def _save_points(text):
    """'3600 1 300 100': pairs of seconds and changes, or '' for none (single spaces, as Redis splits it)."""
    words = text.split(" ") if text else []
    numbers = [string_to_int(word.encode()) for word in words]
    if len(words) % 2 or None in numbers or any(
            seconds < 1 or changes < 0 for seconds, changes in zip(numbers[::2], numbers[1::2])):
        raise ConfigError("Invalid save parameters")
    return " ".join(words)


class Percentiles(tuple):
    """latency-tracking-info-percentiles: floats from 0 to 100, shown as Redis trims them (99.9, 50)."""

    def __str__(self):
        return " ".join(shown_double(value) for value in self)


def shown_double(value):
    """A double as Redis's "%f" then trimDoubleString prints it: 99.900000 -> 99.9."""
    return ("%f" % value).rstrip("0").rstrip(".")


def _percentiles(text):
    values = []
    for word in text.split():
        try:
            if "_" in word:
                raise ValueError(word)
            value = float(word)
        except ValueError:
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters") from None
        if not 0.0 <= value <= 100.0:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        values.append(value)
    return Percentiles(values)


def _text(text):
    return text


def _bind_addresses(text):
    """bind: one or more addresses separated by spaces ('127.0.0.1 ::1'); a leading '-' marks one as optional."""
    addresses = text.split()
    if len(addresses) > 16:
        raise ConfigError("Too many bind addresses specified.")
    if not addresses:
        raise ConfigError("mini-redis needs at least one bind address")
    return " ".join(addresses)


# Output buffer classes as Redis names them; 'replica' is read as 'slave', the name CONFIG GET shows.
CLIENT_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}


class ClassLimits:
    """A client-output-buffer-limit value: the (class, hard, soft, soft seconds) it sets, applied in order.

    CONFIG SET changes only the classes it names, so parsing gives the changes
    and the Config applies them to the running limits, a dict by class.
    """

    def __init__(self, changes):
        self.changes = changes

    def applied_to(self, current):
        limits = dict(current or {})
        for client_class, hard, soft, seconds in self.changes:
            limits[client_class] = (hard, soft, seconds)
        return limits


def _output_buffer_limits(text):
    """'normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60': groups of class, hard, soft, soft seconds."""
    words = text.split()
    if len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    changes = []
    for index in range(0, len(words), 4):
        client_class = CLIENT_CLASSES.get(words[index].lower())
        if client_class is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        try:
            numbers = [parse_memory(word) for word in words[index + 1:index + 4]]
        except ConfigError:
            numbers = [-1]
        if min(numbers) < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        changes.append((client_class, *numbers))
    return ClassLimits(changes)


def _directory(text):
    """dir: an existing directory, kept as an absolute path (Redis chdirs there; we join paths instead)."""
    path = os.path.abspath(text)
    if not os.path.isdir(path):
        raise ConfigError(os.strerror(errno.ENOTDIR if os.path.exists(path) else errno.ENOENT))
    return path


def _file_name(text):
    if os.path.basename(text) != text or not text:
        raise ConfigError("dbfilename can't be a path, just a filename")
    return text


def _aof_file_name(text):
    if not text:
        raise ConfigError("appendfilename can't be empty")
    if os.path.basename(text) != text:
        raise ConfigError("appendfilename can't be a path, just a filename")
    return text


PARAMETERS = [
    Parameter("bind", "127.0.0.1", _bind_addresses, False),
    Parameter("port", "4000", _integer(0, 65535), False),
    Parameter("maxclients", "10000", _integer(1, 2**32 - 1), True),
    Parameter("databases", "16", _integer(1, 2**31 - 1), False),
    Parameter("proto-max-bulk-len", "512mb", _memory(1024 * 1024, LLONG_MAX), True),
    # Access and limits: see serving/access.py and server.py.
    Parameter("requirepass", "", _text, True),
    Parameter("protected-mode", "yes", _yes_no, True),
    Parameter("timeout", "0", _integer(0, 2**31 - 1), True),
    Parameter("client-query-buffer-limit", "1gb", _memory(1024 * 1024, LLONG_MAX), True),
    Parameter("client-output-buffer-limit", "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
              _output_buffer_limits, True),
    Parameter("save", "", _save_points, True),
    Parameter("dir", ".", _directory, PROTECTED),
    Parameter("dbfilename", "dump.rdb", _file_name, PROTECTED),
    Parameter("rdbcompression", "yes", _yes_no, True),
    Parameter("rdbchecksum", "yes", _yes_no, False),
    # The append-only file: see persistence/aof.py (CONFIG SET appendonly starts or stops it).
    Parameter("appendonly", "no", _yes_no, True),
    Parameter("appendfsync", "everysec", _one_of(("everysec", "always", "no")), True),
    Parameter("appendfilename", "appendonly.aof", _aof_file_name, False),
    Parameter("auto-aof-rewrite-percentage", "100", _integer(0, 2**31 - 1), True),
    Parameter("auto-aof-rewrite-min-size", "64mb", _memory(0, LLONG_MAX), True),
    Parameter("aof-load-truncated", "yes", _yes_no, True),
    # Size thresholds of the compact encodings, which OBJECT ENCODING reports.
    Parameter("hash-max-listpack-entries", "512", _integer(0, LLONG_MAX), True, "hash-max-ziplist-entries"),
    Parameter("hash-max-listpack-value", "64", _integer(0, LLONG_MAX), True, "hash-max-ziplist-value"),
    Parameter("set-max-intset-entries", "512", _integer(0, LLONG_MAX), True),
    Parameter("zset-max-listpack-entries", "128", _integer(0, LLONG_MAX), True, "zset-max-ziplist-entries"),
    Parameter("zset-max-listpack-value", "64", _integer(0, LLONG_MAX), True, "zset-max-ziplist-value"),
    Parameter("list-max-listpack-size", "-2", _integer(-(2**31), 2**31 - 1), True, "list-max-ziplist-size"),
    # Memory cap and eviction: see storage/eviction.py.
    Parameter("maxmemory", "0", _unsigned_memory, True),
    Parameter("maxmemory-policy", "noeviction", _one_of(eviction.POLICIES), True),
    Parameter("maxmemory-samples", "5", _integer(1, 2**31 - 1), True),
    Parameter("lfu-log-factor", "10", _integer(0, 2**31 - 1), True),
    Parameter("lfu-decay-time", "1", _integer(0, 2**31 - 1), True),
    # The slow log, the latency monitor and latency tracking: see serving/stats.py, slowlog.py, latency.py.
    Parameter("slowlog-log-slower-than", "10000", _integer(-1, LLONG_MAX), True),
    Parameter("slowlog-max-len", "128", _integer(0, LLONG_MAX), True),
    Parameter("latency-monitor-threshold", "0", _integer(0, LLONG_MAX), True),
    Parameter("latency-tracking", "yes", _yes_no, True),
    Parameter("latency-tracking-info-percentiles", "50 99 99.9", _percentiles, True),
    # Who may run DEBUG and MODULE and set the protected configs: no one, local clients, or all (start-up only).
    Parameter("enable-protected-configs", "no", _one_of(("no", "yes", "local")), False),
    Parameter("enable-debug-command", "no", _one_of(("no", "yes", "local")), False),
    Parameter("enable-module-command", "no", _one_of(("no", "yes", "local")), False),
]
BY_NAME = {name: parameter for parameter in PARAMETERS for name in (parameter.name, parameter.alias) if name}


def _shown(value):
    """A value as CONFIG GET and CONFIG REWRITE show it."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):  # client-output-buffer-limit
        return " ".join("%s %d %d %d" % (name, *value[name]) for name in ("normal", "slave", "pubsub"))
    return str(value)


class Config:
    """The running values, by parameter name."""

    def __init__(self):
        self.values = {}
        for parameter in PARAMETERS:
            self.values[parameter.name] = self._parse(parameter, parameter.default)
        self.config_file = ""
        self.renames = []  # rename-command (old, new, where) in file order, for access.apply_renames

    def _parse(self, parameter, text):
        value = parameter.parse(text)
        return value.applied_to(self.values.get(parameter.name)) if isinstance(value, ClassLimits) else value

    def __getitem__(self, name):
        return self.values[name]

    @staticmethod
    def find(name):
        """The parameter a (case-insensitive) name means, or None."""
        return BY_NAME.get(name.lower())

    def set(self, name, text):
        parameter = self.find(name)
        if parameter is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        self.values[parameter.name] = self._parse(parameter, text)

    def set_many(self, pairs):
        """CONFIG SET: all (name, text) pairs or none; ConfigError(name, reason) as Redis reports it."""
        parsed = {}
        for name, text in pairs:
            parameter = self.find(name)
            if parameter.mutable == PROTECTED:
                raise ConfigError(parameter.name, "can't set protected config")
            try:
                parsed[parameter.name] = self._parse(parameter, text)
            except ConfigError as error:
                raise ConfigError(parameter.name, str(error)) from None
        self.values.update(parsed)

    def get_matching(self, pattern):
        """CONFIG GET of one argument: [(name, shown value)]; a plain name answers with the name as asked."""
        if not any(char in pattern for char in "[*?"):
            parameter = self.find(pattern)
            return [(pattern, _shown(self.values[parameter.name]))] if parameter else []
        matcher = patterns.compile_pattern(pattern.encode(), True)
        return [(name, _shown(self.values[p.name])) for p in PARAMETERS for name in (p.name, p.alias)
                if name and matcher(name.encode())]

    def load_file(self, path):
        """Read a redis.conf-style file: one 'directive value...' per line, '#' comments."""
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                line = raw.strip()
                if line and not line.startswith(b"#"):
                    where = "at line %d\n>>> '%s'" % (number, line.decode(errors="replace"))
                    self._apply_line(split_inline(line), where)
        self.config_file = os.path.abspath(path)

    def load_options(self, options):
        """redis-server-style options: ['--port', '7000', '--save', '900', '1'] (values up to the next --name)."""
        directive = []
        for option in options + ["--"]:
            if option.startswith("--"):
                if directive:
                    self._apply_line(directive, "in option '--%s'" % directive[0].decode())
                directive = [option[2:].encode()]
            elif directive:
                directive.append(option.encode())
            else:
                raise ConfigError("Invalid argument '%s': options start with --" % option)

    def _apply_line(self, words, where):
        """A directive and its arguments; several arguments form one value ('save 900 1')."""
        if not words or len(words) < 2 or (words[0].lower() == b"rename-command" and len(words) != 3):
            raise ConfigError("%s\nBad directive or wrong number of arguments" % where)
        if words[0].lower() == b"rename-command":
            self.renames.append((words[1], words[2], where))
            return
        name, value = words[0].decode(errors="replace"), b" ".join(words[1:]).decode(errors="replace")
        try:
            self.set(name, value)
        except ConfigError as error:
            raise ConfigError("%s\n%s" % (where, error)) from None

    def rewrite(self):
        """CONFIG REWRITE: set each directive in the file to its running value, keeping comments."""
        lines, written = [], set()
        with open(self.config_file, "rb") as f:
            for raw in f:
                words = split_inline(raw.strip()) if raw.strip() and not raw.lstrip().startswith(b"#") else None
                parameter = self.find(words[0].decode(errors="replace")) if words else None
                if parameter is None:
                    lines.append(raw.rstrip(b"\r\n").decode(errors="replace"))
                elif parameter.name not in written:
                    lines.append(self._directive(parameter))
                    written.add(parameter.name)
        for parameter in PARAMETERS:
            default = self._parse(parameter, parameter.default)
            if parameter.name not in written and self.values[parameter.name] != default:
                lines.append(self._directive(parameter))
        temporary = self.config_file + ".tmp"
        with open(temporary, "w") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, self.config_file)

    def _directive(self, parameter):
        shown = _shown(self.values[parameter.name])
        return "%s %s" % (parameter.name, '""' if shown == "" else shown)
