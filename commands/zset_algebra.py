"""ZUNION, ZINTER, ZDIFF and their STORE forms' arithmetic, as t_zset.c's zunionInterDiffGenericCommand:
the arguments (numkeys, WEIGHTS, AGGREGATE, WITHSCORES, LIMIT) and the member -> score result.

Sorted sets and plain sets (every score 1) both count as inputs; commands/zsets.py stores or
replies with the result.
"""
import math

from commands.zset_ranges import LONG_MAX, int_in_range, to_score
from errors import LIMIT_NEGATIVE, SYNTAX, WEIGHT_NOT_FLOAT, WRONGTYPE, ReplyError, at_least_one_key
from storage.keyspace import type_name
from storage.numeric import to_int
from storage.zsets import ZSet


def combine(db, arguments, operation, name, storing=False, cardinality_only=False):
    """Redis's zunionInterDiffGenericCommand from numkeys on: (member -> score, WITHSCORES given, LIMIT)."""
    numkeys = to_int(arguments[0])
    if numkeys < 1:
        raise at_least_one_key(name)
    if numkeys > len(arguments) - 1:
        raise ReplyError(SYNTAX)
    sources = []
    for key in arguments[1:1 + numkeys]:
        value = db.lookup_read(key)
        if value is not None and not isinstance(value, ZSet) and type_name(value) != "set":
            raise ReplyError(WRONGTYPE)
        sources.append(_Source(value))
    how, withscores, limit = b"sum", False, 0
    index = 1 + numkeys
    while index < len(arguments):
        word, remaining = arguments[index].lower(), len(arguments) - index
        weighable = operation != "diff" and not cardinality_only
        if weighable and remaining >= numkeys + 1 and word == b"weights":
            for source, raw in zip(sources, arguments[index + 1:index + 1 + numkeys]):
                source.weight = to_score(raw, WEIGHT_NOT_FLOAT)
            index += 1 + numkeys
        elif weighable and remaining >= 2 and word == b"aggregate":
            how = arguments[index + 1].lower()
            if how not in (b"sum", b"min", b"max"):
                raise ReplyError(SYNTAX)
            index += 2
        elif not storing and not cardinality_only and word == b"withscores":
            withscores = True
            index += 1
        elif cardinality_only and remaining >= 2 and word == b"limit":
            limit = int_in_range(arguments[index + 1], 0, LONG_MAX, LIMIT_NEGATIVE)
            index += 2
        else:
            raise ReplyError(SYNTAX)
    if operation != "diff":
        sources.sort(key=len)  # stable, like glibc's merge-sort qsort: sums add up in Redis's order
    result = {"union": _union, "inter": _intersection, "diff": _difference}[operation](sources, how)
    return result, withscores, limit


class _Source:
    """One input of ZUNION/ZINTER/ZDIFF: a sorted set, a plain set (every score 1) or nothing."""

    __slots__ = ("value", "weight")

    def __init__(self, value):
        self.value = value
        self.weight = 1.0

    def __len__(self):
        return 0 if self.value is None else len(self.value)

    def items(self):
        """(member, score) in Redis's iteration order."""
        if self.value is None:
            return iter(())
        if isinstance(self.value, ZSet):
            return ((member, score) for score, member in self.value.order)
        return ((member, 1.0) for member in self.value)

    def score(self, member):
        if self.value is None:
            return None
        if isinstance(self.value, ZSet):
            return self.value.get(member)
        return 1.0 if member in self.value else None


def _aggregate(total, value, how):
    if how == b"sum":
        total += value
        return 0.0 if math.isnan(total) else total  # inf + -inf is 0 here, by Redis's convention
    if how == b"min":
        return value if value < total else total
    return value if value > total else total


def _weighted(score, weight):
    product = score * weight
    return 0.0 if math.isnan(product) else product


def _union(sources, how):
    result = {}
    for source in sources:
        for member, score in source.items():
            value = _weighted(score, source.weight)
            if member in result:
                result[member] = _aggregate(result[member], value, how)
            else:
                result[member] = value
    return result


def _intersection(sources, how):
    result = {}
    first, others = sources[0], sources[1:]
    if not len(first):
        return result
    for member, score in first.items():
        total = _weighted(score, first.weight)
        for source in others:
            value = source.score(member)
            if value is None:
                break
            total = _aggregate(total, value * source.weight, how)
        else:
            result[member] = total
    return result


def _difference(sources, how):
    first, others = sources[0], sources[1:]
    return {member: score for member, score in first.items()
            if all(source.score(member) is None for source in others)}
