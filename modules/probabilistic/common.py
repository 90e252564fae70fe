"""What the Count-Min sketch, Top-K and t-digest share beyond arguments.py: their types' registration
(rewritten as RESTORE), their handlers' key checks, and the size bound of their counters."""
from modules.api import ReplyError, restore_command
from modules.probabilistic.arguments import wrong_arity

UINT32_MAX = 2**32 - 1
READONLY = "readonly"  # rmutil's RMUtil_RegisterReadCmd: the sketches' reads are not flagged fast
# The most bytes one sketch's counters may take. RedisBloom asks malloc for any size (a failure ends
# Redis, or answers "Insufficient memory" in later versions); a Python server must refuse a huge
# width or k up front rather than stall the event loop zeroing gigabytes.
MAX_ALLOCATION = 256 * 2**20


class SketchCommands:
    """What each type's command handlers start from: its registered type, and the value a key must hold."""

    missing = None  # the error a missing key answers

    def __init__(self, value_type):
        self.type = value_type

    def existing(self, ctx, key):
        """The key's value; the type's error when it is missing, WRONGTYPE for another type."""
        value = ctx.get_value(key, self.type)
        if value is None:
            raise ReplyError(self.missing)
        return value

    def each_item(self, ctx, args, name, answer):
        """A read of the key's value for each item after it (key item [item ...]): answer(value, item)."""
        if len(args) < 2:
            raise wrong_arity(name)
        value = self.existing(ctx, args[0])
        return [answer(value, item) for item in args[1:]]


def key_exists(ctx, key, value_type):
    """Whether key holds anything at all (a value of another type answers WRONGTYPE to get_value)."""
    try:
        return ctx.get_value(key, value_type) is not None
    except ReplyError:
        return True


def data_type(module, name, encoding_version, **callbacks):
    """module.data_type, rewritten in the AOF as RESTORE of the value's DUMP payload: RedisBloom's
    RMUtil_DefaultAofRewrite, since no commands set a sketch's counters or centroids exactly."""
    def rewrite(key, value):
        return restore_command(key, value_type, value)
    value_type = module.data_type(name, encoding_version, rewrite=rewrite, **callbacks)
    return value_type
