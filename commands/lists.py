"""List commands, as Redis's t_list.c: pushes and pops at both ends, ranges, LPOS, moves, blocking pops.

A list is a deque (O(1) at both ends, like Redis's quicklist). Every push
signals the key as ready, so a client blocked in BLPOP, BLMOVE or BLMPOP is
served right after the pushing command (storage/blocking.py). Arguments are parsed
in Redis's order, so a command with a bad argument and a wrong-type key gets
the same error as from Redis.
"""
from functools import partial
from itertools import islice
from math import ceil

from commands import Command, table
from errors import (COUNT_NEGATIVE, COUNT_NOT_POSITIVE, INDEX_OUT_OF_RANGE, MAXLEN_NEGATIVE, MUST_BE_POSITIVE,
                    NO_SUCH_KEY, NUMKEYS_NOT_POSITIVE, RANK_ZERO, SYNTAX, TIMEOUT_NEGATIVE, TIMEOUT_NOT_FLOAT,
                    ReplyError, wrong_arity)
from protocol import NULL_ARRAY, Error, string_to_int
from storage.events import LIST as LIST_EVENTS
from storage.lists import List
from storage.numeric import INT64_MAX, INT64_MIN, Infinite, parse_long_double, round_long_double, to_int

FOREVER_SECONDS = 2**31  # a longer timeout is as good as none (and keeps the event loop's timers sane)


# ------------------------------------------------------------------ argument parsing


def _range_long(raw, low, error):
    """Redis's getRangeLongFromObjectOrReply with a message: one error for junk and for out of range."""
    value = string_to_int(raw)
    if value is None or not low <= value <= INT64_MAX:
        raise ReplyError(error)
    return value


def _left(raw):
    """LEFT or RIGHT (any case): True for LEFT."""
    side = raw.lower()
    if side not in (b"left", b"right"):
        raise ReplyError(SYNTAX)
    return side == b"left"


def parse_timeout(raw):
    """A blocking command's timeout in milliseconds (0 = forever), as Redis 7.0's getTimeoutFromObjectOrReply.

    Seconds are a long double, times 1000, rounded up: 0.0001 waits 1 ms, and
    -0.0001 rounds to 0, forever.
    """
    seconds = parse_long_double(raw)
    if seconds is None:
        raise ReplyError(TIMEOUT_NOT_FLOAT)
    milliseconds = _milliseconds(seconds)
    if milliseconds < 0:
        raise ReplyError(TIMEOUT_NEGATIVE)
    return milliseconds


def _milliseconds(seconds):
    """(long long) ceill(seconds * 1000): INT64_MIN when it does not fit or is infinite, as x86 converts."""
    if isinstance(seconds, float):  # parse_long_double's infinities
        return INT64_MIN
    try:
        milliseconds = ceil(round_long_double(seconds * 1000))
    except Infinite:
        return INT64_MIN
    return milliseconds if INT64_MIN <= milliseconds <= INT64_MAX else INT64_MIN


def _block_seconds(milliseconds):
    """What block_on takes: seconds, 0 for forever."""
    seconds = milliseconds / 1000
    return 0 if seconds >= FOREVER_SECONDS else seconds


# ------------------------------------------------------------------ shared helpers


def _pop_many(items, count, left):
    pop = items.popleft if left else items.pop
    return [pop() for _ in range(min(count, len(items)))]


_POP_EVENTS = {True: b"lpop", False: b"rpop"}
_POPS = {True: b"LPOP", False: b"RPOP"}
_PUSH_EVENTS = {True: b"lpush", False: b"rpush"}


def _popped(db, key, items, left):
    """After a pop from key: its event, and the key deleted if that emptied it (Redis's listElementsRemoved)."""
    db.notify(LIST_EVENTS, _POP_EVENTS[left], key)
    db.remove_if_empty(key, items)


def _push(session, key, elements, left, only_existing=False):
    db = session.db
    items = db.get_typed(key, List, read=False)
    if items is None:
        if only_existing:
            return 0
        items = List()
        db.set(key, items)
    if left:
        items.extendleft(elements)
    else:
        items.extend(elements)
    db.keyspace.dirty += len(elements)
    db.signal_ready(key)
    if db.events is not None:
        db.notify(LIST_EVENTS, _PUSH_EVENTS[left], key)
    return len(items)


def _move(db, source, items, destination, from_left, to_left):
    """Pop from items (the list at source) and push onto destination; the element moved.

    WRONGTYPE (before anything changes) if destination holds another type.
    """
    target = db.get_typed(destination, List, read=False)
    value = items.popleft() if from_left else items.pop()
    if target is None:
        target = List()
        db.set(destination, target)
    if to_left:
        target.appendleft(value)
    else:
        target.append(value)
    db.notify(LIST_EVENTS, _PUSH_EVENTS[to_left], destination)
    _popped(db, source, items, from_left)
    db.signal_ready(destination)
    return value


def _normalise_range(start, end, length):
    """LRANGE/LTRIM's index arithmetic: (start, end) inclusive, or None when the range is empty."""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start = max(start, 0)
    if start > end or start >= length:
        return None
    return start, min(end, length - 1)


# ------------------------------------------------------------------ pushes and pops


def lpush(session, key, *elements):
    """LPUSH key element [element ...]"""
    return _push(session, key, elements, left=True)


def rpush(session, key, *elements):
    """RPUSH key element [element ...]"""
    return _push(session, key, elements, left=False)


def lpushx(session, key, *elements):
    """LPUSHX key element [element ...]"""
    return _push(session, key, elements, left=True, only_existing=True)


def rpushx(session, key, *elements):
    """RPUSHX key element [element ...]"""
    return _push(session, key, elements, left=False, only_existing=True)


def _pop(session, name, key, count, left):
    if len(count) > 1:
        raise wrong_arity(name)
    count = _range_long(count[0], 0, MUST_BE_POSITIVE) if count else None
    db = session.db
    items = db.get_typed(key, List, read=False)
    if items is None:
        return None if count is None else NULL_ARRAY
    if count is None:
        value = items.popleft() if left else items.pop()
        db.keyspace.dirty += 1
    elif count == 0:
        return []
    else:
        value = _pop_many(items, count, left)
        db.keyspace.dirty += len(value)
    if db.events is not None:
        db.notify(LIST_EVENTS, _POP_EVENTS[left], key)
    db.remove_if_empty(key, items)
    return value


def lpop(session, key, *count):
    """LPOP key [count]"""
    return _pop(session, "lpop", key, count, left=True)


def rpop(session, key, *count):
    """RPOP key [count]"""
    return _pop(session, "rpop", key, count, left=False)


# ------------------------------------------------------------------ reading and changing in place


def llen(session, key):
    """LLEN key"""
    items = session.db.get_typed(key, List)
    return 0 if items is None else len(items)


def lrange(session, key, start, stop):
    """LRANGE key start stop"""
    start, stop = to_int(start), to_int(stop)
    items = session.db.get_typed(key, List)
    if items is None:
        return []
    length = len(items)
    bounds = _normalise_range(start, stop, length)
    if bounds is None:
        return []
    start, stop = bounds
    if start <= length - 1 - stop:
        return list(islice(items, start, stop + 1))
    # Nearer the tail: walk from that end, as the quicklist seeks from the nearer end.
    tail = list(islice(reversed(items), length - 1 - stop, length - start))
    tail.reverse()
    return tail


def lindex(session, key, index):
    """LINDEX key index"""
    items = session.db.get_typed(key, List)
    if items is None:
        return None
    index = to_int(index)
    if index < 0:
        index += len(items)
    return items[index] if 0 <= index < len(items) else None


def lset(session, key, index, element):
    """LSET key index element"""
    items = session.db.get_typed(key, List, read=False)
    if items is None:
        raise ReplyError(NO_SUCH_KEY)
    index = to_int(index)
    if index < 0:
        index += len(items)
    if not 0 <= index < len(items):
        raise ReplyError(INDEX_OUT_OF_RANGE)
    items[index] = element
    session.db.keyspace.dirty += 1
    session.db.notify(LIST_EVENTS, b"lset", key)
    return "OK"


def lrem(session, key, count, element):
    """LREM key count element"""
    count = to_int(count)
    db = session.db
    items = db.get_typed(key, List, read=False)
    if items is None:
        return 0
    limit = abs(count) if count else len(items)
    kept, removed = [], 0
    for item in (reversed(items) if count < 0 else items):
        if removed < limit and item == element:
            removed += 1
        else:
            kept.append(item)
    if removed:
        if count < 0:
            kept.reverse()
        items.clear()
        items.extend(kept)
        db.keyspace.dirty += removed
        db.notify(LIST_EVENTS, b"lrem", key)
        db.remove_if_empty(key, items)
    return removed


def ltrim(session, key, start, stop):
    """LTRIM key start stop"""
    start, stop = to_int(start), to_int(stop)
    db = session.db
    items = db.get_typed(key, List, read=False)
    if items is None:
        return "OK"
    length = len(items)
    bounds = _normalise_range(start, stop, length)
    if bounds is None:
        items.clear()
    else:
        for _ in range(bounds[0]):
            items.popleft()
        for _ in range(length - 1 - bounds[1]):
            items.pop()
    db.keyspace.dirty += length - len(items)  # the elements trimmed: with none, nothing to log
    db.notify(LIST_EVENTS, b"ltrim", key)
    db.remove_if_empty(key, items)
    return "OK"


def linsert(session, key, where, pivot, element):
    """LINSERT key BEFORE|AFTER pivot element"""
    where = where.lower()
    if where not in (b"before", b"after"):
        raise ReplyError(SYNTAX)
    db = session.db
    items = db.get_typed(key, List, read=False)
    if items is None:
        return 0
    try:
        position = items.index(pivot)
    except ValueError:
        return -1
    items.insert(position + (where == b"after"), element)
    db.keyspace.dirty += 1
    db.notify(LIST_EVENTS, b"linsert", key)
    return len(items)


def lpos(session, key, element, *options):
    """LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]"""
    rank, count, maxlen = 1, None, 0
    index = 0
    while index < len(options):
        option = options[index].lower()
        if index + 1 >= len(options) or option not in (b"rank", b"count", b"maxlen"):
            raise ReplyError(SYNTAX)
        raw = options[index + 1]
        if option == b"rank":
            rank = to_int(raw)
            if rank == 0:
                raise ReplyError(RANK_ZERO)
        elif option == b"count":
            count = _range_long(raw, 0, COUNT_NEGATIVE)
        else:
            maxlen = _range_long(raw, 0, MAXLEN_NEGATIVE)
        index += 2
    items = session.db.get_typed(key, List)
    if items is None:
        return None if count is None else []
    return _find_positions(items, element, rank, count, maxlen)


def _find_positions(items, element, rank, count, maxlen):
    """LPOS's scan. RANK INT64_MIN stays negative when C negates it, so it scans from the tail
    and, as there, its COUNT never stops the scan (the overflowing check is never true)."""
    from_tail = rank < 0
    if from_tail and rank != INT64_MIN:
        rank = -rank
    length = len(items)
    found, matches = [], 0
    scanned = reversed(items) if from_tail else iter(items)
    for index, item in enumerate(islice(scanned, maxlen or None)):
        if item != element:
            continue
        matches += 1
        if matches < rank:
            continue
        found.append(length - 1 - index if from_tail else index)
        if count is None or (count and rank != INT64_MIN and matches - rank + 1 >= count):
            break
    if count is None:
        return found[0] if found else None
    return found


# ------------------------------------------------------------------ moves and multi-key pops


def lmove(session, source, destination, wherefrom, whereto):
    """LMOVE source destination LEFT|RIGHT LEFT|RIGHT"""
    return _lmove(session, source, destination, _left(wherefrom), _left(whereto))


def rpoplpush(session, source, destination):
    """RPOPLPUSH source destination"""
    return _lmove(session, source, destination, False, True)


def _lmove(session, source, destination, from_left, to_left):
    db = session.db
    items = db.get_typed(source, List, read=False)
    if items is None:
        return None
    moved = _move(db, source, items, destination, from_left, to_left)
    db.keyspace.dirty += 1
    return moved


def _parse_mpop(numkeys, rest):
    """LMPOP/BLMPOP's numkeys key [key ...] LEFT|RIGHT [COUNT count]: (keys, left, count)."""
    numkeys = _range_long(numkeys, 1, NUMKEYS_NOT_POSITIVE)
    if numkeys >= len(rest):
        raise ReplyError(SYNTAX)
    keys, left, options = rest[:numkeys], _left(rest[numkeys]), rest[numkeys + 1:]
    count = None
    index = 0
    while index < len(options):
        if count is not None or options[index].lower() != b"count" or index + 1 >= len(options):
            raise ReplyError(SYNTAX)
        count = _range_long(options[index + 1], 1, COUNT_NOT_POSITIVE)
        index += 2
    return keys, left, count or 1


def lmpop(session, numkeys, *rest):
    """LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]"""
    keys, left, count = _parse_mpop(numkeys, rest)
    db = session.db
    for key in keys:
        items = db.get_typed(key, List, read=False)
        if items is not None:
            popped = _pop_many(items, count, left)
            db.keyspace.dirty += len(popped)
            _popped(db, key, items, left)
            session.propagate([_POPS[left], key, b"%d" % len(popped)])  # as Redis logs it
            return [key, popped]
    return NULL_ARRAY


# ------------------------------------------------------------------ blocking


def _serve_pop(db, left, count, key):
    """A blocked BLPOP/BRPOP (count None) or BLMPOP's pop from a key that became ready; None if it cannot."""
    items = db.lookup(key)
    if not isinstance(items, List) or not items:
        return None
    pop = _POPS[left]
    if count is None:
        reply = [key, items.popleft() if left else items.pop()]
        db.keyspace.propagate(db.index, [pop, key])  # the AOF replays the pop, never a wait
    else:
        reply = [key, _pop_many(items, count, left)]
        db.keyspace.propagate(db.index, [pop, key, b"%d" % len(reply[1])])
    if count is not None:  # BLMPOP's pops count, served now or later; see _blocking_pop
        db.keyspace.dirty += len(reply[1])
    _popped(db, key, items, left)
    return reply


_SIDES = {True: b"left", False: b"right"}  # Redis's shared objects, in a served BLMOVE's LMOVE


def _serve_move(db, destination, from_left, to_left, logged, key):
    """A BLMOVE's (or BRPOPLPUSH's) move from a key that has data, logged as the LMOVE (or RPOPLPUSH) logged;
    a WRONGTYPE destination ends its wait with the error."""
    items = db.lookup(key)
    if not isinstance(items, List) or not items:
        return None
    try:
        moved = _move(db, key, items, destination, from_left, to_left)
    except ReplyError as error:
        return Error(error.message)
    db.keyspace.propagate(db.index, logged)
    return moved


def _blocking_pop(session, keys, left, milliseconds, count=None):
    """Pop from the first non-empty key now, or block until a push serves this client (or it times out)."""
    session.propagate()  # _serve_pop logs the pop it makes, now or later
    db = session.db
    for key in keys:
        items = db.get_typed(key, List, read=False)
        if items is not None:
            if count is None:  # a change served now; served later, Redis counts none (serveClientBlockedOnList)
                db.keyspace.dirty += 1
            return _serve_pop(db, left, count, key)
    unique_keys = list(dict.fromkeys(keys))  # a key named twice must not serve this client twice
    reply = session.block_on(unique_keys, partial(_serve_pop, db, left, count), _block_seconds(milliseconds))
    return NULL_ARRAY if reply is None else reply


def _blocking_move(session, source, destination, from_left, to_left, milliseconds, rpoplpush=False):
    """Move now, logged as the LMOVE with the sides as sent (or RPOPLPUSH), or block until a push lets it
    move, logged with Redis's own words for the sides."""
    session.propagate()  # _serve_move logs the move it makes, now or later
    db = session.db
    items = db.get_typed(source, List, read=False)
    if items is not None:
        logged = [b"RPOPLPUSH", source, destination] if rpoplpush else [b"LMOVE", *session.argv[1:5]]
        reply = _serve_move(db, destination, from_left, to_left, logged, source)
        if type(reply) is Error:
            raise ReplyError(reply.message)
        db.keyspace.dirty += 1  # a change served now; served later, Redis counts none
        return reply
    logged = [b"RPOPLPUSH", source, destination] if rpoplpush else [
        b"LMOVE", source, destination, _SIDES[from_left], _SIDES[to_left]]
    reply = session.block_on([source], partial(_serve_move, db, destination, from_left, to_left, logged),
                             _block_seconds(milliseconds))
    if reply is None:
        # Inside MULTI it answers as LMOVE on a missing key; a timeout is a null array, as for BLPOP.
        return None if session.in_exec else NULL_ARRAY
    if type(reply) is Error:
        raise ReplyError(reply.message)
    return reply


def blpop(session, *keys_and_timeout):
    """BLPOP key [key ...] timeout"""
    *keys, timeout = keys_and_timeout
    return _blocking_pop(session, keys, True, parse_timeout(timeout))


def brpop(session, *keys_and_timeout):
    """BRPOP key [key ...] timeout"""
    *keys, timeout = keys_and_timeout
    return _blocking_pop(session, keys, False, parse_timeout(timeout))


def blmpop(session, timeout, numkeys, *rest):
    """BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]"""
    keys, left, count = _parse_mpop(numkeys, rest)
    return _blocking_pop(session, keys, left, parse_timeout(timeout), count)


def blmove(session, source, destination, wherefrom, whereto, timeout):
    """BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout"""
    from_left, to_left = _left(wherefrom), _left(whereto)
    return _blocking_move(session, source, destination, from_left, to_left, parse_timeout(timeout))


def brpoplpush(session, source, destination, timeout):
    """BRPOPLPUSH source destination timeout"""
    return _blocking_move(session, source, destination, False, True, parse_timeout(timeout), rpoplpush=True)


COMMANDS = table(
    #       name           handler      arity flags                                          first last step
    Command("lpush", lpush, -3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("rpush", rpush, -3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("lpushx", lpushx, -3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("rpushx", rpushx, -3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("lpop", lpop, -2, ("write", "fast"), 1, 1, 1),
    Command("rpop", rpop, -2, ("write", "fast"), 1, 1, 1),
    Command("llen", llen, 2, ("readonly", "fast"), 1, 1, 1),
    Command("lrange", lrange, 4, ("readonly",), 1, 1, 1),
    Command("lindex", lindex, 3, ("readonly",), 1, 1, 1),
    Command("lset", lset, 4, ("write", "denyoom"), 1, 1, 1),
    Command("lrem", lrem, 4, ("write",), 1, 1, 1),
    Command("ltrim", ltrim, 4, ("write",), 1, 1, 1),
    Command("linsert", linsert, 5, ("write", "denyoom"), 1, 1, 1),
    Command("lpos", lpos, -3, ("readonly",), 1, 1, 1),
    Command("lmove", lmove, 5, ("write", "denyoom"), 1, 2, 1),
    Command("rpoplpush", rpoplpush, 3, ("write", "denyoom"), 1, 2, 1),
    Command("lmpop", lmpop, -4, ("write", "movablekeys"), 0, 0, 0),
    Command("blpop", blpop, -3, ("write", "noscript", "blocking"), 1, -2, 1),
    Command("brpop", brpop, -3, ("write", "noscript", "blocking"), 1, -2, 1),
    Command("blmove", blmove, 6, ("write", "denyoom", "noscript", "blocking"), 1, 2, 1),
    Command("brpoplpush", brpoplpush, 4, ("write", "denyoom", "noscript", "blocking"), 1, 2, 1),
    Command("blmpop", blmpop, -5, ("write", "blocking", "movablekeys"), 0, 0, 0),
    group="list",
)
