"""Sorted-set commands, as Redis's t_zset.c.

The value they work on, a ZSet, is storage/zsets.py's, and the reading of
scores and range bounds commands/zset_ranges.py's; every range command is a bisection,
so ZADD, ZREM, ZRANK and the ZRANGE family stay logarithmic in the size of
the set, plus the length of their reply.
"""
import math
import random

from commands import Command, table
from commands.arguments import keyword, scan_options
from commands.zset_algebra import combine
from commands.zset_ranges import (LONG_MAX, int_in_range, lex_range, reply_pairs, score_range, timeout_seconds,
                                  to_score)
from errors import (COUNT_NOT_POSITIVE, INVALID_CURSOR, MUST_BE_POSITIVE, NUMKEYS_NOT_POSITIVE, SYNTAX,
                    VALUE_OUT_OF_RANGE, WRONGTYPE, ZADD_GT_LT_NX, ZADD_INCR_PAIRS, ZADD_NX_XX, ZSET_LIMIT_NEEDS_RANGE,
                    ZSET_NAN_SCORE, ZSET_WITHSCORES_BYLEX, ReplyError)
from protocol import NULL_ARRAY, format_double
from storage.cursors import parse_cursor
from storage.events import GENERIC, ZSET as ZSET_EVENTS
from storage.numeric import to_int, to_int_in_range
from storage.zsets import ZSet, lex_span, limited, rank_span, score_span


def listpack_limits(session):
    """(entries, value): the zset-max-listpack-* sizes past which a set is a skiplist."""
    config = session.server.config
    return config["zset-max-listpack-entries"], config["zset-max-listpack-value"]

def _sorted_set(session, key, read=True):
    return session.db.get_typed(key, ZSet, read=read)


# ------------------------------------------------------------------ adding and removing


_ZADD_FLAGS = frozenset((b"nx", b"xx", b"ch", b"incr", b"gt", b"lt"))


def _zadd(session, key, arguments, flags):
    """ZADD and ZINCRBY, as Redis's zaddGenericCommand: flags first, then score member pairs."""
    flags = set(flags)
    index = 0
    while index < len(arguments) and keyword(arguments[index]) in _ZADD_FLAGS:
        flags.add(keyword(arguments[index]))
        index += 1
    pairs = arguments[index:]
    nx, xx, gt, lt, incr = b"nx" in flags, b"xx" in flags, b"gt" in flags, b"lt" in flags, b"incr" in flags
    if not pairs or len(pairs) % 2:
        raise ReplyError(SYNTAX)
    if nx and xx:
        raise ReplyError(ZADD_NX_XX)
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise ReplyError(ZADD_GT_LT_NX)
    if incr and len(pairs) > 2:
        raise ReplyError(ZADD_INCR_PAIRS)
    scores = [to_score(pairs[index]) for index in range(0, len(pairs), 2)]
    db = session.db
    zset = db.get_typed(key, ZSet, read=False)
    created = zset is None
    if created:
        if xx:
            return None if incr else 0
        zset = ZSet()
        db.set(key, zset)
    limits = listpack_limits(session)
    added = updated = processed = 0
    result = None
    for score, member in zip(scores, pairs[1::2]):
        current = zset.get(member)
        if current is None:
            if xx:
                continue
            zset.add(member, score, limits)
            added += 1
        else:
            if nx:
                continue
            if incr:
                score += current
                if math.isnan(score):
                    raise ReplyError(ZSET_NAN_SCORE)
            if (lt and score >= current) or (gt and score <= current):
                continue
            if score != current:
                zset.rescore(member, score)
                updated += 1
        processed += 1
        result = score
    if created:
        db.signal_ready(key)  # as Redis's dbAdd: only a new key can have clients blocked on it
    db.keyspace.dirty += added + updated
    if (added or updated) and db.events is not None:
        db.notify(ZSET_EVENTS, b"zincr" if incr else b"zadd", key)
    if incr:
        return result if processed else None
    return added + updated if b"ch" in flags else added


def zadd(session, key, *arguments):
    """ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"""
    return _zadd(session, key, arguments, ())


def zincrby(session, key, increment, member):
    """ZINCRBY key increment member"""
    return _zadd(session, key, (increment, member), (b"incr",))


def zrem(session, key, *members):
    """ZREM key member [member ...]"""
    db = session.db
    zset = db.get_typed(key, ZSet, read=False)
    if zset is None:
        return 0
    removed = 0
    for member in members:
        removed += zset.discard(member)
        if not zset:
            break
    if removed:
        db.keyspace.dirty += removed
        db.notify(ZSET_EVENTS, b"zrem", key)
        db.remove_if_empty(key, zset)
    return removed


# ------------------------------------------------------------------ reading


def zscore(session, key, member):
    """ZSCORE key member"""
    zset = _sorted_set(session, key)
    return None if zset is None else zset.get(member)


def zmscore(session, key, *members):
    """ZMSCORE key member [member ...]"""
    zset = _sorted_set(session, key)
    if zset is None:
        return [None] * len(members)
    return [zset.get(member) for member in members]


def zcard(session, key):
    """ZCARD key"""
    zset = _sorted_set(session, key)
    return 0 if zset is None else len(zset)


def zcount(session, key, minimum, maximum):
    """ZCOUNT key min max"""
    low, high = score_range(minimum, maximum)
    zset = _sorted_set(session, key)
    if zset is None:
        return 0
    start, stop = score_span(zset, low, high)
    return stop - start


def zlexcount(session, key, minimum, maximum):
    """ZLEXCOUNT key min max"""
    low, high = lex_range(minimum, maximum)
    zset = _sorted_set(session, key)
    if zset is None:
        return 0
    start, stop = lex_span(zset, low, high)
    return stop - start


def zrank(session, key, member):
    """ZRANK key member"""
    zset = _sorted_set(session, key)
    if zset is None or member not in zset:
        return None
    return zset.rank(member)


def zrevrank(session, key, member):
    """ZREVRANK key member"""
    zset = _sorted_set(session, key)
    if zset is None or member not in zset:
        return None
    return len(zset) - 1 - zset.rank(member)


# ------------------------------------------------------------------ ZRANGE and its family


def _range_query(session, key, first, second, options, kind=None, reverse=None, store=False):
    """Redis's zrangeGenericCommand: (pairs or None for a missing key, withscores, by rank?).

    kind is "rank", "score" or "lex", or None for ZRANGE, which reads
    BYSCORE/BYLEX; reverse None likewise lets ZRANGE read REV.
    """
    withscores, offset, limit = False, 0, -1
    index = 0
    while index < len(options):
        word, left = options[index].lower(), len(options) - index - 1
        if not store and word == b"withscores":
            withscores = True
        elif word == b"limit" and left >= 2:
            offset, limit = to_int(options[index + 1]), to_int(options[index + 2])
            index += 2
        elif reverse is None and word == b"rev":
            reverse = True
        elif kind is None and word in (b"bylex", b"byscore"):
            kind = "lex" if word == b"bylex" else "score"
        else:
            raise ReplyError(SYNTAX)
        index += 1
    reverse, kind = bool(reverse), kind or "rank"
    if limit != -1 and kind == "rank":
        raise ReplyError(ZSET_LIMIT_NEEDS_RANGE)
    if withscores and kind == "lex":
        raise ReplyError(ZSET_WITHSCORES_BYLEX)
    if reverse and kind != "rank":
        first, second = second, first  # given as max min
    if kind == "rank":
        bounds = to_int(first), to_int(second)
    elif kind == "score":
        bounds = score_range(first, second)
    else:
        bounds = lex_range(first, second)
    zset = _sorted_set(session, key)
    if zset is None:
        return None, withscores, kind == "rank"
    if kind == "rank":
        start, stop = rank_span(len(zset), *bounds)
        if reverse:
            start, stop = len(zset) - stop, len(zset) - start
        return limited(zset.order, start, stop, reverse, 0, -1), withscores, True
    if offset > 0 and offset >= len(zset):
        return [], withscores, False
    start, stop = score_span(zset, *bounds) if kind == "score" else lex_span(zset, *bounds, reverse)
    return limited(zset.order, start, stop, reverse, offset, limit), withscores, False


def _range_reply(session, key, first, second, options, kind=None, reverse=None):
    pairs, withscores, _ = _range_query(session, key, first, second, options, kind, reverse)
    return reply_pairs(session, pairs or [], withscores)


def zrange(session, key, start, stop, *options):
    """ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]"""
    return _range_reply(session, key, start, stop, options)


def zrevrange(session, key, start, stop, *options):
    """ZREVRANGE key start stop [WITHSCORES]"""
    return _range_reply(session, key, start, stop, options, "rank", True)


def zrangebyscore(session, key, minimum, maximum, *options):
    """ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]"""
    return _range_reply(session, key, minimum, maximum, options, "score", False)


def zrevrangebyscore(session, key, maximum, minimum, *options):
    """ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]"""
    return _range_reply(session, key, maximum, minimum, options, "score", True)


def zrangebylex(session, key, minimum, maximum, *options):
    """ZRANGEBYLEX key min max [LIMIT offset count]"""
    return _range_reply(session, key, minimum, maximum, options, "lex", False)


def zrevrangebylex(session, key, maximum, minimum, *options):
    """ZREVRANGEBYLEX key max min [LIMIT offset count]"""
    return _range_reply(session, key, maximum, minimum, options, "lex", True)


def store_result(session, destination, zset, event, changes=1):
    """Replace destination with a result set (the command's event, zunionstore...), counted as changes, or
    delete it if the result is empty (a "del" and one change if it was there); the result's size."""
    db = session.db
    if not zset:
        if db.remove(destination):
            db.keyspace.dirty += 1
            db.notify(GENERIC, b"del", destination)
        return 0
    created = db.lookup(destination) is None
    db.set(destination, zset)
    db.keyspace.dirty += changes
    db.notify(ZSET_EVENTS, event, destination)
    if created:
        db.signal_ready(destination)  # Redis 7.0 signals a key it adds, not one it overwrites
    return len(zset)


def zrangestore(session, destination, source, first, second, *options):
    """ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]"""
    pairs, _, by_rank = _range_query(session, source, first, second, options, store=True)
    pairs = pairs or []
    # Built as Redis builds it, member by member in reply order: a listpack unless a range
    # by rank is known to be too long, converted on the way if a member does not fit.
    limits = listpack_limits(session)
    result = ZSet()
    result.skiplist = by_rank and len(pairs) > limits[0]
    for score, member in pairs:
        result.add(member, score, limits)
    return store_result(session, destination, result, b"zrangestore")


# ------------------------------------------------------------------ removing ranges


def _remove_span(session, event, key, zset, start, stop):
    removed = zset.remove_span(start, stop)
    if removed:
        session.db.keyspace.dirty += removed
        session.db.notify(ZSET_EVENTS, event, key)
        session.db.remove_if_empty(key, zset)
    return removed


def zremrangebyrank(session, key, start, stop):
    """ZREMRANGEBYRANK key start stop"""
    start, stop = to_int(start), to_int(stop)
    zset = _sorted_set(session, key, read=False)
    if zset is None:
        return 0
    return _remove_span(session, b"zremrangebyrank", key, zset, *rank_span(len(zset), start, stop))


def zremrangebyscore(session, key, minimum, maximum):
    """ZREMRANGEBYSCORE key min max"""
    low, high = score_range(minimum, maximum)
    zset = _sorted_set(session, key, read=False)
    if zset is None:
        return 0
    return _remove_span(session, b"zremrangebyscore", key, zset, *score_span(zset, low, high))


def zremrangebylex(session, key, minimum, maximum):
    """ZREMRANGEBYLEX key min max"""
    low, high = lex_range(minimum, maximum)
    zset = _sorted_set(session, key, read=False)
    if zset is None:
        return 0
    return _remove_span(session, b"zremrangebylex", key, zset, *lex_span(zset, low, high))


# ------------------------------------------------------------------ popping


def _pop(db, key, zset, count, maximum):
    """Remove up to count lowest (or highest) members: their (score, member) pairs, in pop order."""
    count = min(count, len(zset))
    order = zset.order
    pairs = list(order.islice(len(order) - count, reverse=True) if maximum else order.islice(0, count))
    for _, member in pairs:
        zset.discard(member)
    if pairs:
        db.keyspace.dirty += len(pairs)
        db.notify(ZSET_EVENTS, b"zpopmax" if maximum else b"zpopmin", key)
        db.remove_if_empty(key, zset)
    return pairs


def _first_sorted_set(db, keys):
    """The first of keys that exists, and its set; WRONGTYPE if that key holds something else."""
    for key in keys:
        value = db.lookup(key)
        if value is None:
            continue
        if not isinstance(value, ZSet):
            raise ReplyError(WRONGTYPE)
        return key, value
    return None, None


def _zpop(session, key, rest, maximum):
    if len(rest) > 1:
        raise ReplyError(SYNTAX)
    count = int_in_range(rest[0], 0, LONG_MAX, MUST_BE_POSITIVE) if rest else None
    zset = _sorted_set(session, key, read=False)
    if zset is None or count == 0:
        return []
    pairs = _pop(session.db, key, zset, 1 if count is None else count, maximum)
    if session.protocol > 2 and count is not None:
        return [[member, score] for score, member in pairs]
    return [item for score, member in pairs for item in (member, score)]


def zpopmin(session, key, *count):
    """ZPOPMIN key [count]"""
    return _zpop(session, key, count, False)


def zpopmax(session, key, *count):
    """ZPOPMAX key [count]"""
    return _zpop(session, key, count, True)


def _mpop_reply(key, pairs):
    return [key, [[member, score] for score, member in pairs]]


def _bzpop_reply(key, pairs):
    score, member = pairs[0]
    return [key, member, score]


def _logged_pop(db, key, zset, count, maximum, counted):
    """A blocking pop's _pop, logged to the AOF as the ZPOPMIN/ZPOPMAX it amounts to (replay never waits);
    with the count popped for BZMPOP, as Redis logs them."""
    pairs = _pop(db, key, zset, count, maximum)
    pop = [b"ZPOPMAX" if maximum else b"ZPOPMIN", key]
    db.keyspace.propagate(db.index, pop + [b"%d" % len(pairs)] if counted else pop)
    return pairs


def _blocking_pop(session, keys, seconds, count, maximum, reply):
    """Pop from the first non-empty key, or block until a write fills one (Redis's blockingGenericZpopCommand)."""
    session.propagate()  # _logged_pop logs the pop it makes, now or later
    db = session.db
    counted = reply is _mpop_reply
    key, zset = _first_sorted_set(db, keys)
    if zset is not None:
        return reply(key, _logged_pop(db, key, zset, count, maximum, counted))

    def serve(ready_key):
        value = db.lookup(ready_key)
        if not isinstance(value, ZSet) or not value:
            return None
        return reply(ready_key, _logged_pop(db, ready_key, value, count, maximum, counted))

    result = session.block_on(list(dict.fromkeys(keys)), serve, seconds)  # a key named twice waits once
    return NULL_ARRAY if result is None else result


def bzpopmin(session, *arguments):
    """BZPOPMIN key [key ...] timeout"""
    *keys, timeout = arguments
    return _blocking_pop(session, keys, timeout_seconds(timeout), 1, False, _bzpop_reply)


def bzpopmax(session, *arguments):
    """BZPOPMAX key [key ...] timeout"""
    *keys, timeout = arguments
    return _blocking_pop(session, keys, timeout_seconds(timeout), 1, True, _bzpop_reply)


def _mpop_arguments(arguments):
    """numkeys key [key ...] MIN|MAX [COUNT count]: (keys, pop the maximum?, count)."""
    numkeys = int_in_range(arguments[0], 1, LONG_MAX, NUMKEYS_NOT_POSITIVE)
    where = 1 + numkeys
    if where >= len(arguments) or arguments[where].lower() not in (b"min", b"max"):
        raise ReplyError(SYNTAX)
    count = None
    index = where + 1
    while index < len(arguments):
        if count is None and arguments[index].lower() == b"count" and index + 1 < len(arguments):
            index += 1
            count = int_in_range(arguments[index], 1, LONG_MAX, COUNT_NOT_POSITIVE)
        else:
            raise ReplyError(SYNTAX)
        index += 1
    return arguments[1:where], arguments[where].lower() == b"max", count or 1


def zmpop(session, *arguments):
    """ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]"""
    keys, maximum, count = _mpop_arguments(arguments)
    db = session.db
    key, zset = _first_sorted_set(db, keys)
    if zset is None:
        return NULL_ARRAY
    pairs = _pop(db, key, zset, count, maximum)
    session.propagate([b"ZPOPMAX" if maximum else b"ZPOPMIN", key, b"%d" % len(pairs)])  # as Redis logs it
    return _mpop_reply(key, pairs)


def bzmpop(session, timeout, *arguments):
    """BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]"""
    keys, maximum, count = _mpop_arguments(arguments)
    return _blocking_pop(session, keys, timeout_seconds(timeout), count, maximum, _mpop_reply)


# ------------------------------------------------------------------ union, intersection, difference


def _combine(session, arguments, operation, name, destination=None, cardinality_only=False):
    """Redis's zunionInterDiffGenericCommand from numkeys on: the stored result's size, the reply, or the
    result's size (ZINTERCARD)."""
    result, withscores, limit = combine(session.db, arguments, operation, name, destination is not None,
                                        cardinality_only)
    if cardinality_only:
        return min(len(result), limit) if limit else len(result)
    if destination is not None:
        event = b"z%sstore" % operation.encode()  # zunionstore, zinterstore, zdiffstore
        return store_result(session, destination, ZSet.from_scores(result, listpack_limits(session)), event)
    pairs = sorted((score, member) for member, score in result.items())
    return reply_pairs(session, pairs, withscores)


def zunionstore(session, destination, *arguments):
    """ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]"""
    return _combine(session, arguments, "union", "zunionstore", destination)


def zinterstore(session, destination, *arguments):
    """ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]"""
    return _combine(session, arguments, "inter", "zinterstore", destination)


def zdiffstore(session, destination, *arguments):
    """ZDIFFSTORE destination numkeys key [key ...]"""
    return _combine(session, arguments, "diff", "zdiffstore", destination)


def zunion(session, *arguments):
    """ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]"""
    return _combine(session, arguments, "union", "zunion")


def zinter(session, *arguments):
    """ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]"""
    return _combine(session, arguments, "inter", "zinter")


def zdiff(session, *arguments):
    """ZDIFF numkeys key [key ...] [WITHSCORES]"""
    return _combine(session, arguments, "diff", "zdiff")


def zintercard(session, *arguments):
    """ZINTERCARD numkeys key [key ...] [LIMIT limit]"""
    return _combine(session, arguments, "inter", "zintercard", cardinality_only=True)


# ------------------------------------------------------------------ random members and scanning


def zrandmember(session, key, *arguments):
    """ZRANDMEMBER key [count [WITHSCORES]]"""
    if not arguments:
        zset = _sorted_set(session, key)
        return None if zset is None else zset.order[random.randrange(len(zset))][1]
    count = to_int_in_range(arguments[0], -LONG_MAX, LONG_MAX)
    if len(arguments) > 2 or (len(arguments) == 2 and arguments[1].lower() != b"withscores"):
        raise ReplyError(SYNTAX)
    withscores = len(arguments) == 2
    if withscores and not -(LONG_MAX // 2) <= count <= LONG_MAX // 2:
        raise ReplyError(VALUE_OUT_OF_RANGE)
    zset = _sorted_set(session, key)
    if zset is None or count == 0:
        return []
    order, size = zset.order, len(zset)
    if count < 0:
        pairs = [order[random.randrange(size)] for _ in range(-count)]
    elif count >= size:
        pairs = list(reversed(order))  # Redis sends the whole set, highest first
    else:
        pairs = [order[index] for index in random.sample(range(size), count)]
    return reply_pairs(session, pairs, withscores)


def zscan(session, key, cursor, *options):
    """ZSCAN key cursor [MATCH pattern] [COUNT count]"""
    start = parse_cursor(cursor)
    if start is None:
        raise ReplyError(INVALID_CURSOR)
    zset = _sorted_set(session, key)
    if zset is None:
        return [b"0", []]
    match, count, _ = scan_options(options)
    # Scores go out as text, not RESP3 doubles: a skiplist's as "%.17Lg", a listpack's as it stores them.
    if zset.skiplist:
        following, members = session.db.cursors.scan(start, zset, zset, count, zset.__contains__)
    else:
        following, members = 0, [member for _, member in zset.order]  # a listpack is sent whole
    if match is not None:
        members = [member for member in members if match(member)]
    text = format_double if zset.skiplist else _listpack_text
    return [b"%d" % following, [item for member in members for item in (member, text(zset[member]))]]


def _listpack_text(score):
    """A score as a listpack holds it (Redis's d2string), which ZSCAN sends: whole numbers up to 2**62 as integers."""
    if score.is_integer() and abs(score) <= 2.0**62:
        return b"%d" % score
    return format_double(score)


COMMANDS = table(
    #       name                handler           arity flags                                      first last step
    Command("zadd", zadd, -4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("zincrby", zincrby, 4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("zrem", zrem, -3, ("write", "fast"), 1, 1, 1),
    Command("zscore", zscore, 3, ("readonly", "fast"), 1, 1, 1),
    Command("zmscore", zmscore, -3, ("readonly", "fast"), 1, 1, 1),
    Command("zcard", zcard, 2, ("readonly", "fast"), 1, 1, 1),
    Command("zcount", zcount, 4, ("readonly", "fast"), 1, 1, 1),
    Command("zlexcount", zlexcount, 4, ("readonly", "fast"), 1, 1, 1),
    Command("zrank", zrank, 3, ("readonly", "fast"), 1, 1, 1),
    Command("zrevrank", zrevrank, 3, ("readonly", "fast"), 1, 1, 1),
    Command("zrange", zrange, -4, ("readonly",), 1, 1, 1),
    Command("zrangestore", zrangestore, -5, ("write", "denyoom"), 1, 2, 1),
    Command("zrangebyscore", zrangebyscore, -4, ("readonly",), 1, 1, 1),
    Command("zrevrangebyscore", zrevrangebyscore, -4, ("readonly",), 1, 1, 1),
    Command("zrangebylex", zrangebylex, -4, ("readonly",), 1, 1, 1),
    Command("zrevrangebylex", zrevrangebylex, -4, ("readonly",), 1, 1, 1),
    Command("zrevrange", zrevrange, -4, ("readonly",), 1, 1, 1),
    Command("zremrangebyrank", zremrangebyrank, 4, ("write",), 1, 1, 1),
    Command("zremrangebyscore", zremrangebyscore, 4, ("write",), 1, 1, 1),
    Command("zremrangebylex", zremrangebylex, 4, ("write",), 1, 1, 1),
    Command("zpopmin", zpopmin, -2, ("write", "fast"), 1, 1, 1),
    Command("zpopmax", zpopmax, -2, ("write", "fast"), 1, 1, 1),
    Command("bzpopmin", bzpopmin, -3, ("write", "noscript", "blocking", "fast"), 1, -2, 1),
    Command("bzpopmax", bzpopmax, -3, ("write", "noscript", "blocking", "fast"), 1, -2, 1),
    Command("zmpop", zmpop, -4, ("write", "movablekeys"), 0, 0, 0),
    Command("bzmpop", bzmpop, -5, ("write", "blocking", "movablekeys"), 0, 0, 0),
    Command("zunionstore", zunionstore, -4, ("write", "denyoom", "movablekeys"), 1, 1, 1),
    Command("zinterstore", zinterstore, -4, ("write", "denyoom", "movablekeys"), 1, 1, 1),
    Command("zdiffstore", zdiffstore, -4, ("write", "denyoom", "movablekeys"), 1, 1, 1),
    Command("zunion", zunion, -3, ("readonly", "movablekeys"), 0, 0, 0),
    Command("zinter", zinter, -3, ("readonly", "movablekeys"), 0, 0, 0),
    Command("zdiff", zdiff, -3, ("readonly", "movablekeys"), 0, 0, 0),
    Command("zintercard", zintercard, -3, ("readonly", "movablekeys"), 0, 0, 0),
    Command("zrandmember", zrandmember, -2, ("readonly",), 1, 1, 1),
    Command("zscan", zscan, -3, ("readonly",), 1, 1, 1),
    group="sortedset",
)
