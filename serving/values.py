"""How Redis 7.0 reads and shows a config value: the parsers behind every parameter's type.

A parser takes the value's words (one for most parameters; a multi-word
parameter such as save gets them all, as Redis splits them) and returns the
running value or raises ConfigError with Redis's own text; a shower turns
the running value back into what CONFIG GET prints.
"""
import os
import re

from storage import events

LLONG_MAX = 2**63 - 1
INT_MAX = 2**31 - 1
UINT_MAX = 2**32 - 1


class ConfigError(Exception):
    """A bad directive or value; the text is what Redis would print."""


# ------------------------------------------------------------------ C number readers


_STRTOLL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]*)")


def c_strtoll(text, base=10):
    """C's strtoll as Redis calls it with an end check: the value if the whole text was read, else None.

    Leading white space and a sign are taken; an empty text reads as 0; a value too big saturates.
    """
    raw = text.encode("utf-8", "surrogateescape")
    match = _STRTOLL.match(raw)
    sign, digits = match.groups()
    if base == 8:
        octal = re.match(rb"[0-7]*", digits).group()
        if octal != digits:
            return None
    if match.end() != len(raw) or (not digits and raw):
        return None
    value = int(digits or b"0", base) * (-1 if sign == b"-" else 1)
    return max(-2**63, min(value, LLONG_MAX))


def string2ll(text):
    """Redis's string2ll: an exact base-10 int64 (no spaces, '+' or leading zeros), else None."""
    digits = text[1:] if text[:1] == "-" else text
    if len(text) > 20 or not (digits.isascii() and digits.isdigit()) or (digits[0] == "0" and len(text) > 1):
        return None
    value = int(text)
    return value if -2**63 <= value <= LLONG_MAX else None


_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}
_MEMORY = re.compile(r"([0-9]*)(.*)", re.DOTALL)


def memtoull(text):
    """A size as Redis's memtoull reads it ('1gb' = 1073741824, '1g' = 10**9), unsigned 64-bit; None if bad.

    Digits then a unit, nothing else ('' reads as 0); a number too big for 64
    bits saturates and the product wraps, as in C.
    """
    digits, unit = _MEMORY.fullmatch(text).groups()
    if unit.lower() not in _UNITS or len(digits) >= 128 or not digits.isascii():
        return None
    return min(int(digits or "0"), 2**64 - 1) * _UNITS[unit.lower()] % 2**64


# ------------------------------------------------------------------ the types


def yes_no(words, valid=None):
    lowered = words[0].lower()
    if lowered not in ("yes", "no"):
        raise ConfigError("argument must be 'yes' or 'no'")
    if valid:
        valid(lowered == "yes")
    return lowered == "yes"


def show_yes_no(value):
    return "yes" if value else "no"


def one_of(names, same_as=None):
    """An enum: the name as Redis keeps it (a synonym in same_as reads as its first name)."""
    def parse(words):
        lowered = words[0].lower()
        if lowered not in names:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(names))
        return (same_as or {}).get(lowered, lowered)
    return parse


class Number:
    """A numeric parameter: its bounds and Redis's flags (memory units, percent, octal, unsigned C type)."""

    def __init__(self, low, high, memory=False, percent=False, octal=False, unsigned=False, clamp=None):
        self.low, self.high = low, high
        self.memory, self.percent, self.octal, self.unsigned = memory, percent, octal, unsigned
        self.clamp = clamp  # hz: taken, then kept within Redis's bounds

    def __call__(self, words):
        value = self._read(words[0])
        self._check_bounds(value)
        if self.clamp:
            value = max(self.clamp[0], min(value, self.clamp[1]))
        return value

    def _read(self, text):
        if self.memory:
            value = memtoull(text)
            if value is not None:
                return value - 2**64 if value >= 2**63 else value
        if self.percent and len(text) > 1 and text.endswith("%"):
            value = string2ll(text[:-1])
            if value is not None and value >= 0:
                return -value  # Redis keeps a percentage as a negative number
        if self.octal:
            value = c_strtoll(text, 8)
            if value is not None:
                return value
        if not (self.memory or self.percent or self.octal):
            value = string2ll(text)
            if value is not None:
                return value
        if self.memory and self.percent:
            raise ConfigError("argument must be a memory or percent value")
        if self.memory:
            raise ConfigError("argument must be a memory value")
        if self.octal:
            raise ConfigError("argument couldn't be parsed as an octal number")
        raise ConfigError("argument couldn't be parsed into an integer")

    def _check_bounds(self, value):
        if self.unsigned:
            if not self.low <= value % 2**64 <= self.high:
                form = "argument must be between %o and %o inclusive" if self.octal else \
                    "argument must be between %d and %d inclusive"
                raise ConfigError(form % (self.low, self.high))
        elif self.percent and value < 0:
            if value < self.low:
                raise ConfigError("percentage argument must be less or equal to %d" % -self.low)
        elif not self.low <= value <= self.high:
            raise ConfigError("argument must be between %d and %d inclusive" % (self.low, self.high))

    def written(self, value):
        """As CONFIG REWRITE writes it: a size in the largest unit that divides it (1gb, 64mb)."""
        if self.memory and value > 0 and not (self.percent and value < 0):
            for unit, size in (("gb", 1024**3), ("mb", 1024**2), ("kb", 1024)):
                if value % size == 0:
                    return "%d%s" % (value // size, unit)
        return self.show(value)

    def show(self, value):
        if self.percent and value < 0:
            return "%d%%" % -value
        if self.memory:
            return str(value % 2**64)
        if self.octal:
            return "%o" % value
        return str(value)


def text(words):
    return words[0]


def quoted(text):
    """Redis's sdscatrepr: the text in double quotes, with escapes for what is not printable."""
    out = ['"']
    for byte in text.encode("utf-8", "surrogateescape"):
        char = chr(byte)
        if char in '\\"':
            out.append("\\" + char)
        elif char in "\n\r\t\a\b":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}[char])
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append("\\x%02x" % byte)
    out.append('"')
    return "".join(out)


# ------------------------------------------------------------------ checks of particular strings


def base_name(what, kind="filename", allow_empty=True):
    """dbfilename, appendfilename, appenddirname: a name in dir, never a path."""
    def parse(words):
        name = words[0]
        if not name and not allow_empty:
            raise ConfigError("%s can't be empty" % what)
        if "/" in name or "\\" in name:
            raise ConfigError("%s can't be a path, just a %s" % (what, kind))
        return name
    return parse


def directory(words):
    """dir: an existing directory, kept as an absolute path (Redis chdirs there; we join paths instead)."""
    if len(words) != 1:
        raise ConfigError("wrong number of arguments")
    path = os.path.abspath(words[0])
    if not os.path.isdir(path):
        raise ConfigError(os.strerror(20 if os.path.exists(path) else 2))  # ENOTDIR, ENOENT
    return path


def hostname(words):
    """cluster-announce-hostname: letters, digits, '-' and '.', under 256 characters."""
    name = words[0]
    if len(name) >= 256:
        raise ConfigError("Hostnames must be less than 256 characters")
    if any(not (char.isascii() and (char.isalnum() or char in "-.")) for char in name):
        raise ConfigError("Hostnames may only contain alphanumeric characters, hyphens or dots")
    return name


TITLE_VARIABLES = ("title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file")


def proc_title_template(words):
    """A template Redis can expand: known {variables} only, and not empty once expanded."""
    template, expanded, position = words[0], [], 0
    while position < len(template):
        if template[position] == "{":
            end = template.find("}", position)
            if end < 0 or template[position + 1:end] not in TITLE_VARIABLES:
                raise ConfigError("template format is invalid or contains unknown variables")
            expanded.append("" if template[position + 1:end] == "title" else "x")
            position = end + 1
        else:
            expanded.append(template[position])
            position += 1
    if not "".join(expanded).strip(" "):
        raise ConfigError("template format is invalid or contains unknown variables")
    return template


def refuse_active_defrag(enabled):
    if enabled:
        raise ConfigError("Active defragmentation cannot be enabled: it requires a Redis server compiled with "
                          "a modified Jemalloc like the one shipped by default with the Redis source distribution")


# ------------------------------------------------------------------ multi-word values


def save_points(words):
    """'3600 1 300 100': pairs of seconds (at least 1) and changes (at least 0); '' for none."""
    if words == [""]:
        words = []
    numbers = [c_strtoll(word) for word in words]
    if len(words) % 2 or None in numbers or any(
            seconds < 1 or changes < 0 for seconds, changes in zip(numbers[::2], numbers[1::2])):
        raise ConfigError("Invalid save parameters")
    return " ".join("%d %d" % (seconds, (changes + 2**31) % 2**32 - 2**31)  # changes is a C int
                    for seconds, changes in zip(numbers[::2], numbers[1::2]))


def bind_addresses(words):
    """bind: up to 16 addresses ('127.0.0.1 -::1'); a leading '-' marks one as optional."""
    if len(words) > 16:
        raise ConfigError("Too many bind addresses specified.")
    return " ".join(word for word in words if word) if words != [""] else ""


# Output buffer classes as Redis names them; 'replica' is read as 'slave', the name CONFIG GET shows.
CLIENT_CLASSES = {"normal": "normal", "slave": "slave", "replica": "slave", "pubsub": "pubsub"}


class ClassLimits:
    """A client-output-buffer-limit value: the (class, hard, soft, soft seconds) it sets, applied in order.

    CONFIG SET and each config line change only the classes they name, so
    parsing gives the changes and the Config applies them to the running
    limits, a dict by class.
    """

    def __init__(self, changes):
        self.changes = changes

    def applied_to(self, current):
        limits = dict(current or {})
        for client_class, hard, soft, seconds in self.changes:
            limits[client_class] = (hard, soft, seconds)
        return limits


def output_buffer_limits(words):
    """'normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60': groups of class, hard, soft, soft seconds."""
    if len(words) % 4:
        raise ConfigError("Wrong number of arguments in buffer limit configuration.")
    changes = []
    for index in range(0, len(words), 4):
        client_class = CLIENT_CLASSES.get(words[index].lower())
        if client_class is None:
            raise ConfigError("Invalid client class specified in buffer limit configuration.")
        hard, soft = memtoull(words[index + 1]), memtoull(words[index + 2])
        seconds = c_strtoll(words[index + 3])
        if hard is None or soft is None or seconds is None or seconds < 0:
            raise ConfigError("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        changes.append((client_class, hard, soft, (seconds + 2**31) % 2**32 - 2**31))
    return ClassLimits(changes)


def show_output_buffer_limits(limits):
    return " ".join("%s %d %d %d" % (name, *limits[name]) for name in ("normal", "slave", "pubsub"))


def oom_score_adj_values(words):
    if len(words) != 3:
        raise ConfigError("wrong number of arguments")
    values = [c_strtoll(word) for word in words]
    if any(value is None or not -2000 <= value <= 2000 for value in values):
        raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
    return " ".join(map(str, values))


def replica_of(words):
    """replicaof host port, or 'no one'."""
    if len(words) != 2:
        raise ConfigError("wrong number of arguments")
    if words[0].lower() == "no" and words[1].lower() == "one":
        return ""
    port = c_strtoll(words[1])
    if port is None or not 0 <= port <= 65535:
        raise ConfigError("Invalid master port")
    return "%s %d" % (words[0], port)


def percentiles(words):
    """latency-tracking-info-percentiles: numbers from 0 to 100, shown as Redis trims them ('99.9')."""
    if words == [""]:
        return ""
    shown = []
    for word in words:
        try:
            value = float(word)
        except ValueError:
            value = None
        if value is None or word != word.strip() or "_" in word or value != value:  # Python's float takes 1_0
            raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
        if not 0.0 <= value <= 100.0:
            raise ConfigError("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        shown.append(("%f" % value).rstrip("0").rstrip("."))
    return " ".join(shown)


# notify-keyspace-events: each class's letter and bit, in the order Redis prints them.
EVENT_CLASSES = (("g", events.GENERIC), ("$", events.STRING), ("l", events.LIST), ("s", events.SET),
                 ("h", events.HASH), ("z", events.ZSET), ("x", events.EXPIRED), ("e", events.EVICTED),
                 ("t", events.STREAM), ("d", events.MODULE), ("n", events.NEW))
EVENT_FLAGS = dict(EVENT_CLASSES, K=events.KEYSPACE, E=events.KEYEVENT, m=events.KEY_MISS)
ALL_EVENTS = events.ALL


def keyspace_events(words):
    """notify-keyspace-events: letters of event classes, kept as Redis's bit flags."""
    if len(words) != 1:
        raise ConfigError("wrong number of arguments")
    flags = 0
    for char in words[0]:
        if char == "A":
            flags |= ALL_EVENTS
        elif char in EVENT_FLAGS:
            flags |= EVENT_FLAGS[char]
        else:
            raise ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return flags


def show_keyspace_events(flags):
    if flags & ALL_EVENTS == ALL_EVENTS:
        shown = "A"
    else:
        shown = "".join(letter for letter, bit in EVENT_CLASSES if flags & bit)
    return shown + "".join(letter for letter in "KEm" if flags & EVENT_FLAGS[letter])


SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")


def shutdown_flags(words):
    """shutdown-on-sigint/sigterm: any of save, nosave, now, force (default is none of them)."""
    for word in words:
        if word.lower() not in SHUTDOWN_FLAGS:
            raise ConfigError("argument(s) must be one of the following: " + ", ".join(SHUTDOWN_FLAGS))
    chosen = {word.lower() for word in words} - {"default"}
    if {"save", "nosave"} <= chosen:
        raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return " ".join(flag for flag in SHUTDOWN_FLAGS if flag in chosen) or "default"

