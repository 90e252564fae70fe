"""HyperLogLog commands, as Redis's hyperloglog.c: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

A HyperLogLog is a string holding Redis's bytes (storage/hyperloglog.py). A command that changes
one first makes it a bytearray (Redis's dbUnshareStringValue makes it "raw"), then edits it in
place. Changes are counted as Redis counts them, which decides what reaches the AOF: a PFADD that
raised no register, and the PFDEBUG reads, log nothing; a PFCOUNT that refreshed the cached count
logs itself, as it changed the string.
"""
from commands import Command, table
from errors import HLL_NO_KEY, HLL_NOT_SPARSE, ReplyError, unknown_pfdebug
from storage import hyperloglog as hll
from storage.events import MODIFIED, STRING as STRING_EVENTS
from storage.keyspace import STRING


def _sparse_limit(session):
    return session.server.config["hll-sparse-max-bytes"]


def _unshared(db, key, value):
    """The key's HyperLogLog as a bytearray to edit in place."""
    if type(value) is not bytearray:
        value = bytearray(value)
        db.replace(key, value)
    return value


def _sources(db, keys):
    """Each key's HyperLogLog in turn (missing keys left out), checked as it is reached: the first bad
    one answers, as Redis checks and merges key after key."""
    for key in keys:
        value = db.get_typed(key, STRING)
        if value is not None:
            yield hll.check(value)


def pfadd(session, key, *elements):
    """PFADD key [element ...]"""
    db = session.db
    value = db.get_typed(key, STRING, read=False)
    created = value is None
    if created:
        value = hll.new()
        db.set(key, value)
    else:
        value = _unshared(db, key, hll.check(value))
    changes = hll.add(value, elements, _sparse_limit(session)) + created  # as Redis counts them
    if not changes:
        return 0
    db.keyspace.dirty += changes
    hll.invalidate(value)
    db.notify(STRING_EVENTS, b"pfadd", key)
    return 1


def pfcount(session, key, *keys):
    """PFCOUNT key [key ...]"""
    db = session.db
    if keys:
        registers, _ = hll.union(_sources(db, (key, *keys)))
        return hll.estimate(registers)
    value = db.get_typed(key, STRING)
    if value is None:
        return 0
    value = _unshared(db, key, hll.check(value))
    cached = hll.cached_count(value)
    if cached is not None:
        return cached
    count = hll.count(value)
    hll.store_count(value, count)
    # The cache is part of the string: the refresh is a change, logged and seen by WATCH.
    db.keyspace.dirty += 1
    db.keyspace.touch(db.index, key)
    db.notify(MODIFIED, b"", key)
    return count


def pfmerge(session, destination, *sources):
    """PFMERGE destkey [sourcekey ...]"""
    db = session.db
    registers, any_dense = hll.union(_sources(db, (destination, *sources)))
    target = db.get_typed(destination, STRING, read=False)
    if target is None:
        target = hll.new()
        db.set(destination, target)
    else:
        target = _unshared(db, destination, target)  # checked with the sources
    if any_dense:
        hll.to_dense(target)
    hll.set_registers(target, registers, _sparse_limit(session))
    db.keyspace.dirty += 1
    db.notify(STRING_EVENTS, b"pfadd", destination)  # as Redis names PFMERGE's event
    return "OK"


def pfdebug(session, subcommand, key):
    """PFDEBUG <GETREG|DECODE|ENCODING|TODENSE> key"""
    db = session.db
    value = db.get_typed(key, STRING, read=False)
    if value is None:
        raise ReplyError(HLL_NO_KEY)
    value = _unshared(db, key, hll.check(value))
    name = subcommand.lower()
    if name in (b"getreg", b"todense"):
        converted = hll.to_dense(value)
        if converted:  # a change, which Redis logs; the reads are not
            db.keyspace.dirty += 1
            db.notify(MODIFIED, b"", key)
        return list(hll.registers(value)) if name == b"getreg" else int(converted)
    if name == b"decode":
        if value[4] != hll.SPARSE:
            raise ReplyError(HLL_NOT_SPARSE)
        return hll.decode(value)
    if name == b"encoding":
        return "sparse" if value[4] == hll.SPARSE else "dense"
    raise unknown_pfdebug(subcommand)


def pfselftest(session):
    """PFSELFTEST"""
    failure = hll.self_test(_sparse_limit(session))
    if failure is not None:
        raise ReplyError(failure)
    return "OK"


COMMANDS = table(
    #       name          handler     arity flags                                first last step
    Command("pfadd", pfadd, -2, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("pfcount", pfcount, -2, ("readonly",), 1, -1, 1),
    Command("pfmerge", pfmerge, -2, ("write", "denyoom"), 1, -1, 1),
    Command("pfdebug", pfdebug, 3, ("write", "denyoom", "admin"), 2, 2, 1),
    Command("pfselftest", pfselftest, 1, ("admin",), 0, 0, 0),
    group="hyperloglog",
)
