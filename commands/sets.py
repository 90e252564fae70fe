"""Set commands, as Redis's t_set.c: members, random picks, SINTER/SUNION/SDIFF and their STORE forms, SSCAN.

Redis 7.0 keeps a set as an intset (sorted int64s) while every member is an
integer and there are at most set-max-intset-entries of them, else as a hash
table, for good. The encoding shows in more than OBJECT ENCODING: an intset
is walked in ascending numeric order, so SMEMBERS, SUNION, SSCAN... of one
answer in that order, and we do too. A hash table's order is Redis's hash
order, which nobody can match; ours is Python's.
"""
import random

from commands import Command, table
from commands.arguments import keyword, scan_options
from errors import (INVALID_CURSOR, LIMIT_NEGATIVE, MUST_BE_POSITIVE, NUMKEYS_NOT_POSITIVE, NUMKEYS_TOO_MANY,
                    SYNTAX, WRONGTYPE, ReplyError)
from protocol import SetReply, string_to_int
from storage.cursors import parse_cursor
from storage.events import GENERIC, SET as SET_EVENTS
from storage.numeric import INT64_MAX, to_int_in_range
from storage.sets import INTSET_CAP, RedisSet, all_integers

SPOP_MOVE_STRATEGY_MUL = 5  # SPOP with a count rebuilds the set when few members stay


def intset_limit(session):
    return min(session.server.config["set-max-intset-entries"], INTSET_CAP)


def source_sets(db, keys):
    """The sets the keys hold (None for a missing one, an empty set to Redis), type-checked in order."""
    return [db.get_typed(key, RedisSet) for key in keys]


def store(db, destination, result, event):
    """A *STORE's result replaces the destination (and its TTL) whatever it held, with the command's event
    (sinterstore...); empty deletes it, a "del" if it was there. Either is one change; an empty result
    with no destination to delete changes nothing."""
    if result:
        db.set(destination, result)
        db.keyspace.dirty += 1
        db.notify(SET_EVENTS, event, destination)
    elif db.remove(destination):
        db.keyspace.dirty += 1
        db.notify(GENERIC, b"del", destination)
    return len(result)


# ------------------------------------------------------------------ members


def sadd(session, key, *members):
    """SADD key member [member ...]"""
    db = session.db
    value = db.get_typed(key, RedisSet, read=False)
    if value is None:
        value = RedisSet()
        db.set(key, value)
    limit = intset_limit(session)
    added = sum(value.add_member(member, limit) for member in members)
    db.keyspace.dirty += added
    if added and db.events is not None:
        db.notify(SET_EVENTS, b"sadd", key)
    return added


def srem(session, key, *members):
    """SREM key member [member ...]"""
    db = session.db
    value = db.get_typed(key, RedisSet, read=False)
    if value is None:
        return 0
    removed = 0
    for member in members:
        if member in value:
            value.discard(member)
            removed += 1
    if removed:
        db.keyspace.dirty += removed
        db.notify(SET_EVENTS, b"srem", key)
        db.remove_if_empty(key, value)
    return removed


def smembers(session, key):
    """SMEMBERS key"""
    return sinter(session, key)  # as in Redis 7.0, where SMEMBERS is SINTER of one key


def sismember(session, key, member):
    """SISMEMBER key member"""
    value = session.db.get_typed(key, RedisSet)
    return int(value is not None and member in value)


def smismember(session, key, *members):
    """SMISMEMBER key member [member ...]"""
    value = session.db.get_typed(key, RedisSet)
    return [int(value is not None and member in value) for member in members]


def scard(session, key):
    """SCARD key"""
    value = session.db.get_typed(key, RedisSet)
    return 0 if value is None else len(value)


def smove(session, source, destination, member):
    """SMOVE source destination member"""
    db = session.db
    origin, target = db.lookup(source), db.lookup(destination)
    if origin is None:
        return 0  # before any type check, even of the destination
    if not isinstance(origin, RedisSet) or (target is not None and not isinstance(target, RedisSet)):
        raise ReplyError(WRONGTYPE)
    if origin is target:
        return int(member in origin)
    if member not in origin:
        return 0
    origin.discard(member)
    db.keyspace.dirty += 1
    db.notify(SET_EVENTS, b"srem", source)
    db.remove_if_empty(source, origin)
    if target is None:
        target = RedisSet()
        db.set(destination, target)
    if target.add_member(member, intset_limit(session)):
        db.keyspace.dirty += 1  # Redis counts the add apart from the removal
        db.notify(SET_EVENTS, b"sadd", destination)
    return 1


# ------------------------------------------------------------------ random members


def spop(session, key, *count):
    """SPOP key [count]"""
    if count:
        if len(count) > 1:
            raise ReplyError(SYNTAX)
        return _spop_count(session, key, count[0])
    db = session.db
    value = db.get_typed(key, RedisSet, read=False)
    if value is None:
        return None
    member = value.random_member()
    value.discard(member)
    db.keyspace.dirty += 1
    db.notify(SET_EVENTS, b"spop", key)
    db.remove_if_empty(key, value)
    session.propagate([b"SREM", key, member])  # the AOF replays the members drawn, not the draw
    return member


def _spop_count(session, key, raw):
    """SPOP with a count: Redis's three strategies, which decide the reply's order and the set's encoding."""
    count = string_to_int(raw)
    if count is None or count < 0:
        raise ReplyError(MUST_BE_POSITIVE)
    db = session.db
    value = db.get_typed(key, RedisSet, read=False)
    if value is None or count == 0:
        return SetReply()
    limit = intset_limit(session)
    db.keyspace.dirty += min(count, len(value))
    db.notify(SET_EVENTS, b"spop", key)
    if count >= len(value):  # all of it, answered as SUNION of the one set, which reads the key (a hit)
        db.lookup_read(key)
        db.remove(key)
        db.notify(GENERIC, b"del", key)
        session.propagate([b"DEL", key])
        return SetReply(RedisSet.built(value, limit).ordered())
    remaining = len(value) - count
    if remaining * SPOP_MOVE_STRATEGY_MUL > count:
        popped = random.sample(list(value), count)
        value.difference_update(popped)
        session.propagate([b"SREM", key, *popped])  # the AOF replays the members drawn, not the draw
        return SetReply(popped)
    # Few stay: Redis moves the staying ones to a new set (a fresh encoding) and sends the rest in order.
    staying = set(random.sample(list(value), remaining))
    popped = [member for member in value.ordered() if member not in staying]
    value.intersection_update(staying)
    value.reset_encoding(limit)
    session.propagate([b"SREM", key, *popped])
    return SetReply(popped)


def srandmember(session, key, *count):
    """SRANDMEMBER key [count]"""
    if not count:
        value = session.db.get_typed(key, RedisSet)
        return None if value is None else value.random_member()
    if len(count) > 1:
        raise ReplyError(SYNTAX)
    wanted = to_int_in_range(count[0], -INT64_MAX, INT64_MAX)
    value = session.db.get_typed(key, RedisSet)
    if value is None or wanted == 0:
        return []
    if wanted in (1, -1):
        return [value.random_member()]
    if wanted < 0:  # members may repeat
        return random.choices(list(value), k=-wanted)
    if wanted >= len(value):
        return value.ordered()
    return random.sample(list(value), wanted)


# ------------------------------------------------------------------ set algebra


def _intersection(sets, limit=0):
    """The members common to all the sets, in the order Redis finds them: walking the smallest set."""
    if not sets or any(value is None for value in sets):
        return []
    ordered = sorted(sets, key=len)  # stable, as glibc's qsort: the first of equal sizes is walked
    smallest = ordered[0]
    common = set.intersection(smallest, *ordered[1:])
    members = sorted(common, key=int) if not smallest.hashtable else list(common)
    return members[:limit] if limit else members


def _union(sets, limit):
    return RedisSet.built(set().union(*(value for value in sets if value is not None)), limit)


def _difference(sets, limit):
    """SDIFF's result, with the encoding Redis's choice of algorithm gives it.

    Redis either adds to the result only the first set's members missing from
    the others, or adds all of the first set and then removes the others'
    members: then the result is a hash table whenever the first set's
    members would make one, whatever is left.
    """
    first, others = sets[0], [value for value in sets[1:] if value is not None]
    if first is None:
        return RedisSet()
    result = RedisSet(set.difference(first, *others))
    every_member_work = len(first) * (1 + len(others)) // 2
    every_set_work = len(first) + sum(len(value) for value in others)
    if every_member_work <= every_set_work:
        result.reset_encoding(limit)
    else:
        result.hashtable = len(first) > limit or (first.hashtable and not all_integers(first))
    return result


def sinter(session, *keys):
    """SINTER key [key ...]"""
    return SetReply(_intersection(source_sets(session.db, keys)))


def sunion(session, *keys):
    """SUNION key [key ...]"""
    return SetReply(_union(source_sets(session.db, keys), intset_limit(session)).ordered())


def sdiff(session, *keys):
    """SDIFF key [key ...]"""
    return SetReply(_difference(source_sets(session.db, keys), intset_limit(session)).ordered())


def sinterstore(session, destination, *keys):
    """SINTERSTORE destination key [key ...]"""
    db = session.db
    members = _intersection(source_sets(db, keys))
    return store(db, destination, RedisSet.built(members, intset_limit(session)), b"sinterstore")


def sunionstore(session, destination, *keys):
    """SUNIONSTORE destination key [key ...]"""
    db = session.db
    return store(db, destination, _union(source_sets(db, keys), intset_limit(session)), b"sunionstore")


def sdiffstore(session, destination, *keys):
    """SDIFFSTORE destination key [key ...]"""
    db = session.db
    return store(db, destination, _difference(source_sets(db, keys), intset_limit(session)), b"sdiffstore")


def sintercard(session, numkeys, *arguments):
    """SINTERCARD numkeys key [key ...] [LIMIT limit]"""
    count = string_to_int(numkeys)
    if count is None or count < 1:
        raise ReplyError(NUMKEYS_NOT_POSITIVE)
    if count > len(arguments):
        raise ReplyError(NUMKEYS_TOO_MANY)
    keys, options, limit = arguments[:count], arguments[count:], 0
    position = 0
    while position < len(options):
        if keyword(options[position]) == b"limit" and position + 1 < len(options):
            limit = string_to_int(options[position + 1])
            if limit is None or limit < 0:
                raise ReplyError(LIMIT_NEGATIVE)
            position += 2
        else:
            raise ReplyError(SYNTAX)
    return len(_intersection(source_sets(session.db, keys), limit))


# ------------------------------------------------------------------ SSCAN


def sscan(session, key, cursor, *options):
    """SSCAN key cursor [MATCH pattern] [COUNT count]"""
    start = parse_cursor(cursor)
    if start is None:
        raise ReplyError(INVALID_CURSOR)
    db = session.db
    value = db.get_typed(key, RedisSet)
    if value is None:
        return [b"0", []]
    match, count, _ = scan_options(options)
    if value.hashtable:
        following, members = db.cursors.scan(start, value, value, count, value.__contains__)
    else:
        following, members = 0, value.ordered()  # an intset goes whole, whatever the cursor
    if match is not None:
        members = [member for member in members if match(member)]
    return [b"%d" % following, members]


COMMANDS = table(
    #       name           handler      arity flags                      first last step
    Command("sadd", sadd, -3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("srem", srem, -3, ("write", "fast"), 1, 1, 1),
    Command("smembers", smembers, 2, ("readonly",), 1, 1, 1),
    Command("sismember", sismember, 3, ("readonly", "fast"), 1, 1, 1),
    Command("smismember", smismember, -3, ("readonly", "fast"), 1, 1, 1),
    Command("scard", scard, 2, ("readonly", "fast"), 1, 1, 1),
    Command("smove", smove, 4, ("write", "fast"), 1, 2, 1),
    Command("spop", spop, -2, ("write", "fast"), 1, 1, 1),
    Command("srandmember", srandmember, -2, ("readonly",), 1, 1, 1),
    Command("sinter", sinter, -2, ("readonly",), 1, -1, 1),
    Command("sunion", sunion, -2, ("readonly",), 1, -1, 1),
    Command("sdiff", sdiff, -2, ("readonly",), 1, -1, 1),
    Command("sinterstore", sinterstore, -3, ("write", "denyoom"), 1, -1, 1),
    Command("sunionstore", sunionstore, -3, ("write", "denyoom"), 1, -1, 1),
    Command("sdiffstore", sdiffstore, -3, ("write", "denyoom"), 1, -1, 1),
    Command("sintercard", sintercard, -3, ("readonly", "movablekeys"), 0, 0, 0),
    Command("sscan", sscan, -3, ("readonly",), 1, 1, 1),
    group="set",
)
