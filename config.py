"""Server settings: defaults, redis.conf-style files, redis-server-style options, CONFIG GET/SET.

One table lists every parameter with its default, its kind (how a value is
parsed and shown) and whether CONFIG SET may change it at run time.
"""
from collections import namedtuple

import patterns
from protocol import split_inline

Parameter = namedtuple("Parameter", "name default kind mutable")

PARAMETERS = [
    Parameter("bind", "127.0.0.1", "string", False),
    Parameter("port", "4000", "port", False),
    Parameter("maxclients", "10000", "positive", True),
    Parameter("databases", "16", "positive", False),
    Parameter("proto-max-bulk-len", "512mb", "memory", True),
    # No persistence yet: these report the truth so tools like redis-benchmark can ask.
    Parameter("save", "", "fixed", False),
    Parameter("appendonly", "no", "fixed", False),
]
BY_NAME = {parameter.name: parameter for parameter in PARAMETERS}

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


class ConfigError(Exception):
    """A bad directive or value; the text is what Redis would print."""


def parse_memory(text):
    """'1gb' -> 1073741824, '1g' -> 1000000000, '100' -> 100, as Redis's memtoull."""
    lowered = text.lower()
    digits = lowered.rstrip("kmgb")
    unit = lowered[len(digits):]
    if not digits.isdigit() or unit not in _UNITS:
        raise ConfigError("argument must be a memory value")
    return int(digits) * _UNITS[unit]


def _parse(parameter, text):
    """A value's internal form, or ConfigError."""
    kind = parameter.kind
    if kind == "memory":
        return parse_memory(text)
    if kind in ("port", "positive"):
        if not text.lstrip("-").isdigit():
            raise ConfigError("argument couldn't be parsed into an integer")
        value = int(text)
        low, high = (0, 65535) if kind == "port" else (1, 2**31 - 1)
        if not low <= value <= high:
            raise ConfigError("argument must be between %d and %d inclusive" % (low, high))
        return value
    if kind == "fixed" and text != parameter.default:
        raise ConfigError("only '%s' is supported by mini-redis for now" % parameter.default)
    return text


class Config:
    """The running values, by parameter name."""

    def __init__(self):
        self.values = {p.name: _parse(p, p.default) for p in PARAMETERS}
        self.config_file = ""

    def __getitem__(self, name):
        return self.values[name]

    def set(self, name, text):
        parameter = BY_NAME.get(name.lower())
        if parameter is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        self.values[parameter.name] = _parse(parameter, text)

    def set_at_runtime(self, name, text):
        """CONFIG SET: like set(), but only mutable parameters."""
        parameter = BY_NAME.get(name.lower())
        if parameter is not None and not parameter.mutable:
            raise ConfigError("can't set immutable config")
        self.set(name, text)

    def get_matching(self, pattern):
        """CONFIG GET: (name, shown value) for every parameter matching the glob."""
        matcher = patterns.compile_pattern(pattern.lower(), True)
        return [(p.name, str(self.values[p.name])) for p in PARAMETERS
                if matcher(p.name.encode())]

    def load_file(self, path):
        """Read a redis.conf-style file: one 'directive value...' per line, '#' comments."""
        with open(path, "rb") as f:
            for number, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line.startswith(b"#"):
                    continue
                self._apply_line(split_inline(line), "at line %d\n>>> '%s'" % (number, line.decode(errors="replace")))
        self.config_file = path

    def load_options(self, options):
        """redis-server-style options: ['--port', '7000', '--save', '900', '1'] (values up to the next --name)."""
        directive = []
        for option in options:
            if option.startswith("--"):
                if directive:
                    self._apply_line(directive, "in option '--%s'" % directive[0].decode())
                directive = [option[2:].encode()]
            elif directive:
                directive.append(option.encode())
            else:
                raise ConfigError("Invalid argument '%s': options start with --" % option)
        if directive:
            self._apply_line(directive, "in option '--%s'" % directive[0].decode())

    def _apply_line(self, words, where):
        """A directive and its arguments; several arguments form one value ('save 900 1')."""
        if not words or len(words) < 2:
            raise ConfigError("%s\nBad directive or wrong number of arguments" % where)
        name, value = words[0].decode(errors="replace"), b" ".join(words[1:]).decode(errors="replace")
        try:
            self.set(name, value)
        except ConfigError as error:
            raise ConfigError("%s\n%s" % (where, error)) from None
