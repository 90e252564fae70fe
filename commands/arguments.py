"""Option words as Redis reads them, shared by the command families."""
from errors import SYNTAX, ReplyError
from storage.numeric import to_int
from storage.patterns import compile_pattern

SCAN_DEFAULT_COUNT = 10


def keyword(raw):
    """An option word as Redis's strcasecmp compares it: up to the first NUL, ASCII case folded."""
    return raw.split(b"\0", 1)[0].lower()


def scan_options(options, with_type=False):
    """[MATCH pattern] [COUNT count] (and SCAN's [TYPE type]) in Redis's order: (matcher, count, type).

    The matcher is None for no pattern or "*"; COUNT below 1 is a syntax error, as in scanGenericCommand.
    """
    match, count, kind = None, SCAN_DEFAULT_COUNT, None
    position = 0
    while position < len(options):
        option, has_value = keyword(options[position]), position + 1 < len(options)
        if option == b"count" and has_value:
            count = to_int(options[position + 1])
            if count < 1:
                raise ReplyError(SYNTAX)
        elif option == b"match" and has_value:
            pattern = options[position + 1]
            match = None if pattern == b"*" else compile_pattern(pattern)
        elif option == b"type" and has_value and with_type:
            kind = keyword(options[position + 1])
        else:
            raise ReplyError(SYNTAX)
        position += 2
    return match, count, kind
