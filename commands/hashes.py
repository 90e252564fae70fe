"""Hash commands, as Redis's t_hash.c: fields and values, counters, random fields, HSCAN.

A hash is a Hash, a dict kept in insertion order. Redis keeps a small hash
in a listpack, also in insertion order (an overwritten field keeps its place,
HDEL closes the gap), so HGETALL, HKEYS and HVALS of a listpack hash come
out in the same order here as there. A hash that outgrows the listpack
limits becomes a hash table for good, and its order is Redis's hash order.
"""
import random
from itertools import islice

from commands import Command, table
from commands.arguments import keyword, scan_options
from errors import (HASH_NOT_FLOAT, HASH_NOT_INTEGER, INCREMENT_OVERFLOW, INVALID_CURSOR,
                    NAN_OR_INFINITY_ARGUMENT, SYNTAX, VALUE_OUT_OF_RANGE, ReplyError, wrong_arity)
from protocol import string_to_int
from storage.cursors import parse_cursor
from storage.events import HASH as HASH_EVENTS
from storage.hashes import Hash
from storage.numeric import (INT64_MAX, INT64_MIN, NAN_OR_INFINITY, NOT_FLOAT, Infinite, format_long_double,
                     parse_long_double, round_long_double, to_int, to_int_in_range)

WITHVALUES_COUNT_LIMIT = INT64_MAX // 2  # HRANDFIELD WITHVALUES: LONG_MAX/2, so count*2 cannot overflow


# ------------------------------------------------------------------ helpers


def _for_write(session, key):
    """Redis's hashTypeLookupWriteOrCreate: the hash at key, a new empty one stored if missing."""
    db = session.db
    hash_ = db.get_typed(key, Hash, read=False)
    if hash_ is None:
        hash_ = Hash()
        db.set(key, hash_)
    return hash_


def _store(session, hash_, field, value):
    """Redis's hashTypeSet: set the field; True if it is new. Converts a listpack that outgrew its limits."""
    config = session.server.config
    if hash_.compact:
        limit = config["hash-max-listpack-value"]
        if len(field) > limit or len(value) > limit:
            hash_.compact = False
    created = field not in hash_
    hash_[field] = value
    # Checked on updates too, as Redis does: a lowered limit converts at the next write.
    if hash_.compact and len(hash_) > config["hash-max-listpack-entries"]:
        hash_.compact = False
    return created


def _random_field(hash_):
    """One field picked uniformly (a dict has no random access: skip a random distance, at C speed)."""
    return next(islice(hash_, random.randrange(len(hash_)), None))


# ------------------------------------------------------------------ setting and getting


def _set_pairs(session, name, key, pairs):
    if len(pairs) % 2:
        raise wrong_arity(name)
    hash_ = _for_write(session, key)
    created = sum(_store(session, hash_, pairs[index], pairs[index + 1]) for index in range(0, len(pairs), 2))
    session.db.keyspace.dirty += len(pairs) // 2  # every field set counts, new or not, as in Redis
    if session.db.events is not None:
        session.db.notify(HASH_EVENTS, b"hset", key)
    return created


def hset(session, key, *pairs):
    """HSET key field value [field value ...]"""
    return _set_pairs(session, "hset", key, pairs)


def hmset(session, key, *pairs):
    """HMSET key field value [field value ...]"""
    _set_pairs(session, "hmset", key, pairs)
    return "OK"


def hsetnx(session, key, field, value):
    """HSETNX key field value"""
    hash_ = _for_write(session, key)
    if field in hash_:
        return 0
    _store(session, hash_, field, value)
    session.db.keyspace.dirty += 1
    session.db.notify(HASH_EVENTS, b"hset", key)
    return 1


def hget(session, key, field):
    """HGET key field"""
    hash_ = session.db.get_typed(key, Hash)
    return None if hash_ is None else hash_.get(field)


def hmget(session, key, *fields):
    """HMGET key field [field ...]"""
    hash_ = session.db.get_typed(key, Hash)
    if hash_ is None:
        return [None] * len(fields)
    return [hash_.get(field) for field in fields]


def hdel(session, key, *fields):
    """HDEL key field [field ...]"""
    db = session.db
    hash_ = db.get_typed(key, Hash, read=False)
    if hash_ is None:
        return 0
    deleted = sum(hash_.pop(field, None) is not None for field in fields)
    if deleted:
        db.keyspace.dirty += deleted
        db.notify(HASH_EVENTS, b"hdel", key)
        db.remove_if_empty(key, hash_)
    return deleted


def hlen(session, key):
    """HLEN key"""
    hash_ = session.db.get_typed(key, Hash)
    return 0 if hash_ is None else len(hash_)


def hstrlen(session, key, field):
    """HSTRLEN key field"""
    hash_ = session.db.get_typed(key, Hash)
    value = None if hash_ is None else hash_.get(field)
    return 0 if value is None else len(value)


def hexists(session, key, field):
    """HEXISTS key field"""
    hash_ = session.db.get_typed(key, Hash)
    return int(hash_ is not None and field in hash_)


def hkeys(session, key):
    """HKEYS key"""
    hash_ = session.db.get_typed(key, Hash)
    return [] if hash_ is None else list(hash_)


def hvals(session, key):
    """HVALS key"""
    hash_ = session.db.get_typed(key, Hash)
    return [] if hash_ is None else list(hash_.values())


def hgetall(session, key):
    """HGETALL key"""
    hash_ = session.db.get_typed(key, Hash)
    # A copy: inside MULTI the reply is written after later commands have run.
    return {} if hash_ is None else dict(hash_)


# ------------------------------------------------------------------ counters


def hincrby(session, key, field, increment):
    """HINCRBY key field increment"""
    amount = to_int(increment)
    hash_ = _for_write(session, key)
    current = hash_.get(field)
    value = 0 if current is None else string_to_int(current)
    if value is None:
        raise ReplyError(HASH_NOT_INTEGER)
    result = value + amount
    if not INT64_MIN <= result <= INT64_MAX:
        raise ReplyError(INCREMENT_OVERFLOW)
    _store(session, hash_, field, b"%d" % result)
    session.db.keyspace.dirty += 1
    session.db.notify(HASH_EVENTS, b"hincrby", key)
    return result


def hincrbyfloat(session, key, field, increment):
    """HINCRBYFLOAT key field increment"""
    amount = parse_long_double(increment)
    if amount is None:
        raise ReplyError(NOT_FLOAT)
    if isinstance(amount, float):
        raise ReplyError(NAN_OR_INFINITY_ARGUMENT)
    hash_ = _for_write(session, key)
    current = hash_.get(field)
    value = 0 if current is None else parse_long_double(current)
    if value is None:
        raise ReplyError(HASH_NOT_FLOAT)
    if isinstance(value, float):  # the field holds "inf": the sum is infinite
        raise ReplyError(NAN_OR_INFINITY)
    try:
        result = format_long_double(round_long_double(value + amount))
    except Infinite:
        raise ReplyError(NAN_OR_INFINITY) from None
    _store(session, hash_, field, result)
    session.db.keyspace.dirty += 1
    session.db.notify(HASH_EVENTS, b"hincrbyfloat", key)
    session.propagate([b"HSET", key, field, result])  # the AOF replays the result, not the arithmetic
    return result


# ------------------------------------------------------------------ HRANDFIELD


def hrandfield(session, key, *options):
    """HRANDFIELD key [count [WITHVALUES]]"""
    if not options:
        hash_ = session.db.get_typed(key, Hash)
        return None if hash_ is None else _random_field(hash_)
    count = to_int_in_range(options[0], -INT64_MAX, INT64_MAX)
    if len(options) > 2 or (len(options) == 2 and keyword(options[1]) != b"withvalues"):
        raise ReplyError(SYNTAX)
    with_values = len(options) == 2
    if with_values and not -WITHVALUES_COUNT_LIMIT <= count <= WITHVALUES_COUNT_LIMIT:
        raise ReplyError(VALUE_OUT_OF_RANGE)
    hash_ = session.db.get_typed(key, Hash)
    if hash_ is None or count == 0:
        return []
    fields = _random_fields(hash_, count)
    if not with_values:
        return fields
    if session.protocol >= 3:
        return [[field, hash_[field]] for field in fields]
    return [item for field in fields for item in (field, hash_[field])]


def _random_fields(hash_, count):
    """Redis's picks: a negative count may repeat fields; a positive one gives distinct fields."""
    if count < 0 or count == 1:
        if count == 1:
            return [_random_field(hash_)]
        fields = list(hash_)
        return [random.choice(fields) for _ in range(-count)]
    if count >= len(hash_):
        return list(hash_)
    fields = list(hash_)
    # Distinct fields in the hash's own order, as Redis's lpRandomPairsUnique gives them.
    return [fields[index] for index in sorted(random.sample(range(len(fields)), count))]


# ------------------------------------------------------------------ HSCAN


def hscan(session, key, cursor, *options):
    """HSCAN key cursor [MATCH pattern] [COUNT count]"""
    start = parse_cursor(cursor)
    if start is None:
        raise ReplyError(INVALID_CURSOR)
    db = session.db
    hash_ = db.get_typed(key, Hash)
    if hash_ is None:
        return [b"0", []]
    match, count, _ = scan_options(options)
    if hash_.compact:
        # Redis answers a listpack whole, whatever the cursor and COUNT.
        following, fields = 0, list(hash_)
    else:
        following, fields = db.cursors.scan(start, hash_, hash_, count, hash_.__contains__)
    if match is not None:
        fields = [field for field in fields if match(field)]
    return [b"%d" % following, [item for field in fields for item in (field, hash_[field])]]


COMMANDS = table(
    #       name             handler       arity flags                           first last step
    Command("hset", hset, -4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("hsetnx", hsetnx, 4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("hget", hget, 3, ("readonly", "fast"), 1, 1, 1),
    Command("hmget", hmget, -3, ("readonly", "fast"), 1, 1, 1),
    Command("hmset", hmset, -4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("hdel", hdel, -3, ("write", "fast"), 1, 1, 1),
    Command("hlen", hlen, 2, ("readonly", "fast"), 1, 1, 1),
    Command("hstrlen", hstrlen, 3, ("readonly", "fast"), 1, 1, 1),
    Command("hexists", hexists, 3, ("readonly", "fast"), 1, 1, 1),
    Command("hkeys", hkeys, 2, ("readonly",), 1, 1, 1),
    Command("hvals", hvals, 2, ("readonly",), 1, 1, 1),
    Command("hgetall", hgetall, 2, ("readonly",), 1, 1, 1),
    Command("hincrby", hincrby, 4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("hincrbyfloat", hincrbyfloat, 4, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("hrandfield", hrandfield, -2, ("readonly",), 1, 1, 1),
    Command("hscan", hscan, -3, ("readonly",), 1, 1, 1),
    group="hash",
)
