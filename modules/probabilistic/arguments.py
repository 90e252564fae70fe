"""What RedisBloom's commands share: arguments read as its C helpers read them, the replies and error
texts of rebloom.c's getValue()/statusStrerror(), and the module's load arguments.

RedisBloom 2.6 registers its commands without command info, so Redis checks no arity (COMMAND shows
-1) and each command counts its own arguments (RedisModule_WrongArity). Answers that are yes or no
(added, present, deleted) are booleans in RESP3 and 1 or 0 in RESP2, as its documentation shows them.
"""
from modules.api import ReplyError, Status
from protocol import string_to_int
from storage.events import MODIFIED
from storage.numeric import parse_double

NOT_FOUND = "ERR not found"
ITEM_EXISTS = "ERR item exists"
OK = Status("OK")


def wrong_arity(name):
    return ReplyError("ERR wrong number of arguments for '%s' command" % name)


def long_long(raw):
    """RedisModule_StringToLongLong (string2ll): an int64, or None."""
    return string_to_int(raw)


def double(raw):
    """RedisModule_StringToDouble (string2d): a double, or None."""
    return parse_double(raw)


def arg_index(word, argv):
    """RMUtil_ArgIndex: the first position of `word` among all of argv (command and key included), any
    case; -1 when absent."""
    word = word.lower()
    for position, argument in enumerate(argv):
        if argument.lower() == word:
            return position
    return -1


def present(ctx, key, module_type):
    """The value, or None for a missing key and also for a key of another type: what the read-only
    checks (BF.EXISTS, CF.EXISTS, CF.COUNT...) make of getValue()'s SB_MISMATCH."""
    try:
        return ctx.get_value(key, module_type)
    except ReplyError:
        return None


def membership(ctx, name, arguments, module_type, multi):
    """rebloom.c's BFCheck and CFCheck: EXISTS key item (a boolean: 0 or 1 in RESP2), MEXISTS key item...
    (an array of them); a missing key, or one of another type, holds nothing."""
    if len(arguments) < 2 or (len(arguments) > 2 and not multi):
        raise wrong_arity(name)
    value = present(ctx, arguments[0], module_type)
    answers = [value is not None and value.contains(item) for item in arguments[1:]]
    return answers if multi else answers[0]


def existing(ctx, key, module_type):
    """The value; ERR not found when missing, WRONGTYPE for another type (statusStrerror)."""
    value = ctx.get_value(key, module_type)
    if value is None:
        raise ReplyError(NOT_FOUND)
    return value


def changed(ctx, key):
    """A write to a value in place: what RedisModule_CloseKey signals for a key opened for writing
    (WATCH and client-side caching see the change; nothing is published)."""
    ctx.notify(MODIFIED, b"", key)


WRITES, READS = "write deny-oom", "readonly fast"  # rebloom.c's CREATE_WRCMD and CREATE_ROCMD


def add_commands(module, commands):
    """(name, handler, flags) rows, each command's key at position 1, its arity checked by its handler."""
    for name, handler, flags in commands:
        module.command(name, handler, arity=-1, flags=flags, first_key=1, last_key=1, step=1)


def info_reply(fields):
    """An INFO reply: simple-string names and values, a map in RESP3 (RedisModule_ReplyWithMapOrArray)."""
    return {Status(name): value for name, value in fields}


class Defaults:
    """The module's load arguments (rebloom.c's RedisModule_OnLoad): ERROR_RATE and INITIAL_SIZE for
    filters BF.ADD and BF.INSERT create, CF_MAX_EXPANSIONS for CF's sub-filters."""

    def __init__(self, arguments=()):
        self.error_rate, self.initial_size, self.cf_max_expansions = 0.01, 100, 32
        if len(arguments) % 2:
            raise ValueError("Invalid number of arguments passed")
        for name, value in zip(arguments[::2], arguments[1::2]):
            self._set(name.lower(), value)

    def _set(self, name, value):
        if name == b"initial_size":
            size = long_long(value)
            if size is None:
                raise ValueError("Invalid argument for 'INITIAL_SIZE'")
            if size <= 0:
                raise ValueError("INITIAL_SIZE must be > 0")
            self.initial_size = size
        elif name == b"error_rate":
            rate = double(value)
            if rate is None:
                raise ValueError("Invalid argument for 'ERROR_RATE'")
            if not 0 < rate < 1:
                raise ValueError("ERROR_RATE must be > 0" if rate <= 0 else "ERROR_RATE must be < 1")
            self.error_rate = rate
        elif name == b"cf_max_expansions":
            expansions = long_long(value)
            if expansions is None:
                raise ValueError("Invalid argument for 'CF_MAX_EXPANSIONS'")
            if expansions < 1:
                raise ValueError("CF_MAX_EXPANSIONS must be an integer >= 1")
            self.cf_max_expansions = expansions
        else:
            raise ValueError("Unrecognized option")
