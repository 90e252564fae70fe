"""Time to live: EXPIRE PEXPIRE EXPIREAT PEXPIREAT, TTL PTTL EXPIRETIME PEXPIRETIME, PERSIST (Redis's expire.c).

Deadlines are Unix milliseconds, as Redis keeps them. Setting one that has
already passed deletes the key on the spot and still answers 1. TTL and
EXPIRETIME round to the nearest second, half up, as Redis's (ms+500)/1000.
"""
from commands import Command, table
from commands.arguments import keyword
from commands.keys import read_untouched
from errors import EXPIRE_GT_LT_CONFLICT, EXPIRE_NX_CONFLICT, ReplyError, invalid_expire_time, unsupported_option
from storage.events import GENERIC
from storage.numeric import INT64_MAX, to_int

SECONDS_LIMIT = INT64_MAX // 1000  # LLONG_MAX/1000; C's LLONG_MIN/1000 is its negation


def _condition(options):
    """The NX|XX|GT|LT flags as a set of lowercase names, checked as Redis checks them."""
    flags = set()
    for option in options:
        name = keyword(option)
        if name not in (b"nx", b"xx", b"gt", b"lt"):
            raise unsupported_option(option)
        flags.add(name)
    if b"nx" in flags and len(flags) > 1:
        raise ReplyError(EXPIRE_NX_CONFLICT)
    if b"gt" in flags and b"lt" in flags:
        raise ReplyError(EXPIRE_GT_LT_CONFLICT)
    return flags


def _allowed(flags, current, deadline):
    """Whether NX|XX|GT|LT let a key whose deadline is `current` (None: none) take `deadline`."""
    if b"nx" in flags and current is not None:
        return False
    if b"xx" in flags and current is None:
        return False
    if b"gt" in flags and (current is None or deadline <= current):
        return False  # no deadline counts as an infinite one
    if b"lt" in flags and current is not None and deadline >= current:
        return False
    return True


def _expire(session, fullname, key, amount, options, relative, in_seconds):
    """The EXPIRE family: options first, then the number, then the key, as Redis's expireGenericCommand."""
    flags = _condition(options)
    deadline = to_int(amount)
    if in_seconds:
        if not -SECONDS_LIMIT <= deadline <= SECONDS_LIMIT:
            raise invalid_expire_time(fullname)
        deadline *= 1000
    db = session.db
    now = db.keyspace.clock()
    base = now if relative else 0
    if deadline > INT64_MAX - base:
        raise invalid_expire_time(fullname)
    deadline += base
    if db.lookup(key) is None or (flags and not _allowed(flags, db.expires.get(key), deadline)):
        return 0
    db.keyspace.dirty += 1
    if deadline <= now:
        db.remove(key)
        db.notify(GENERIC, b"del", key)
        session.propagate([b"DEL", key])
    else:
        db.set_deadline(key, deadline)
        db.notify(GENERIC, b"expire", key)
        if relative or in_seconds:  # logged absolute, to expire at the same moment on a replay; flags kept
            session.propagate([b"PEXPIREAT", key, b"%d" % deadline, *session.argv[3:]])
    return 1


def expire(session, key, seconds, *condition):
    """EXPIRE key seconds [NX|XX|GT|LT]"""
    return _expire(session, "expire", key, seconds, condition, relative=True, in_seconds=True)


def pexpire(session, key, milliseconds, *condition):
    """PEXPIRE key milliseconds [NX|XX|GT|LT]"""
    return _expire(session, "pexpire", key, milliseconds, condition, relative=True, in_seconds=False)


def expireat(session, key, unix_time_seconds, *condition):
    """EXPIREAT key unix-time-seconds [NX|XX|GT|LT]"""
    return _expire(session, "expireat", key, unix_time_seconds, condition, relative=False, in_seconds=True)


def pexpireat(session, key, unix_time_milliseconds, *condition):
    """PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]"""
    return _expire(session, "pexpireat", key, unix_time_milliseconds, condition,
                   relative=False, in_seconds=False)


def _time_to_live(session, key, absolute, in_seconds):
    """TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for one without a deadline."""
    db = session.db
    if read_untouched(db, key) is None:
        return -2
    deadline = db.expires.get(key)
    if deadline is None:
        return -1
    left = max(0, deadline if absolute else deadline - db.keyspace.clock())
    return (left + 500) // 1000 if in_seconds else left


def ttl(session, key):
    """TTL key"""
    return _time_to_live(session, key, absolute=False, in_seconds=True)


def pttl(session, key):
    """PTTL key"""
    return _time_to_live(session, key, absolute=False, in_seconds=False)


def expiretime(session, key):
    """EXPIRETIME key"""
    return _time_to_live(session, key, absolute=True, in_seconds=True)


def pexpiretime(session, key):
    """PEXPIRETIME key"""
    return _time_to_live(session, key, absolute=True, in_seconds=False)


def persist(session, key):
    """PERSIST key"""
    db = session.db
    if db.lookup(key) is None or not db.persist(key):
        return 0
    db.keyspace.dirty += 1
    db.notify(GENERIC, b"persist", key)
    return 1


COMMANDS = table(
    #       name           handler      arity flags               first last step
    Command("expire", expire, -3, ("write", "fast"), 1, 1, 1),
    Command("pexpire", pexpire, -3, ("write", "fast"), 1, 1, 1),
    Command("expireat", expireat, -3, ("write", "fast"), 1, 1, 1),
    Command("pexpireat", pexpireat, -3, ("write", "fast"), 1, 1, 1),
    Command("ttl", ttl, 2, ("readonly", "fast"), 1, 1, 1),
    Command("pttl", pttl, 2, ("readonly", "fast"), 1, 1, 1),
    Command("expiretime", expiretime, 2, ("readonly", "fast"), 1, 1, 1),
    Command("pexpiretime", pexpiretime, 2, ("readonly", "fast"), 1, 1, 1),
    Command("persist", persist, 2, ("write", "fast"), 1, 1, 1),
    group="keyspace",
)
