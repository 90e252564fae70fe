"""Sorted-set arguments as Redis reads them, and the pairs reply: scores (strtod), score ranges
with "(" exclusive bounds, lex ranges with "[" "(" "+" "-", int64 counts, blocking timeouts.
"""
import math

from errors import TIMEOUT_NEGATIVE, TIMEOUT_NOT_FLOAT, ZSET_LEX_RANGE, ZSET_SCORE_RANGE, ReplyError
from storage.numeric import (INT64_MAX, NOT_FLOAT, parse_double as parse_score, parse_long_double,
                             round_long_double, strtod, to_int)
from storage.zsets import LEX_MAX, LEX_MIN

LONG_MAX = INT64_MAX
FOREVER_MS = 10**15  # a timeout this long (31,000 years) is a wait without end


# ------------------------------------------------------------------ numbers


_SPACES = b" \t\n\v\f\r"
def to_score(raw, message=NOT_FLOAT):
    score = parse_score(raw)
    if score is None:
        raise ReplyError(message)
    return score


def _range_bound(raw):
    """One end of a score range, as zslParseRange: '(' makes it exclusive; strtod up to the first NUL."""
    exclusive = raw[:1] == b"("
    text = (raw[1:] if exclusive else raw).split(b"\0", 1)[0]
    if not text:
        return 0.0, exclusive  # strtod converts nothing and stops on the terminator: Redis takes the 0
    text = text.lstrip(_SPACES)  # strtod skips leading space, but must then convert something
    parsed = strtod(text) if text else None
    if parsed is None:
        raise ReplyError(ZSET_SCORE_RANGE)
    return parsed[0], exclusive


def score_range(low, high):
    return _range_bound(low), _range_bound(high)


def int_in_range(raw, low, high, message):
    """An int64 within [low, high]; one error text for every failure, as Redis's *OrReply(..., msg) helpers."""
    try:
        value = to_int(raw)
    except ReplyError:
        raise ReplyError(message) from None
    if not low <= value <= high:
        raise ReplyError(message)
    return value


def timeout_seconds(raw):
    """A blocking command's timeout as Redis 7.0 reads it: seconds, or None to wait for ever.

    Seconds are a long double; times 1000 and rounded up to whole
    milliseconds (0.0001 waits 1 ms, -0.0001 for ever); an infinity or a
    product outside int64 converts to INT64_MIN, as on x86, so reads as negative.
    """
    value = parse_long_double(raw)
    if value is None:
        raise ReplyError(TIMEOUT_NOT_FLOAT)
    if isinstance(value, float):
        raise ReplyError(TIMEOUT_NEGATIVE)
    milliseconds = math.ceil(round_long_double(value * 1000))
    if not 0 <= milliseconds <= INT64_MAX:
        raise ReplyError(TIMEOUT_NEGATIVE)
    if milliseconds == 0 or milliseconds >= FOREVER_MS:
        return None
    return milliseconds / 1000


# ------------------------------------------------------------------ ranges


def _lex_bound(raw):
    """One end of a lex range: (value, exclusive), value LEX_MIN / LEX_MAX for '-' and '+'."""
    first = raw[:1]
    if first in (b"-", b"+"):
        if raw[1:2] not in (b"", b"\0"):
            raise ReplyError(ZSET_LEX_RANGE)
        return (LEX_MIN if first == b"-" else LEX_MAX), True
    if first == b"(":
        return raw[1:], True
    if first == b"[":
        return raw[1:], False
    raise ReplyError(ZSET_LEX_RANGE)


def lex_range(low, high):
    return _lex_bound(low), _lex_bound(high)


def reply_pairs(session, pairs, withscores):
    """(score, member) pairs as Redis replies them: members, or members and scores (nested in RESP3)."""
    if not withscores:
        return [member for _, member in pairs]
    if session.protocol > 2:
        return [[member, score] for score, member in pairs]
    return [item for score, member in pairs for item in (member, score)]
