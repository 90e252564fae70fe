"""DUMP and RESTORE, as Redis's cluster.c: a key's value serialised as RDB writes it, and back.

The payload is persistence/objects.py's (the type byte and the value as dump.rdb holds them, the
2-byte RDB version, the CRC-64), so payloads move between us and Redis 7.0 both ways. MIGRATE,
which sends them to another server, is in commands/cluster.py.
"""
from commands import Command, table
from errors import (BAD_DATA_FORMAT, BAD_PAYLOAD, BUSYKEY, INVALID_FREQ, INVALID_IDLETIME, INVALID_TTL, SYNTAX,
                    ReplyError)
from persistence.objects import Limits, PayloadError, dump_payload, restore_payload
from storage.eviction import set_lru_or_lfu
from storage.events import GENERIC
from storage.numeric import INT64_MAX, to_int


def payload_limits(session):
    return Limits(session.server.config, session.server.keyspace.quicklist_packed_threshold,
                  session.server.keyspace.module_types)


def dump(session, key):
    """DUMP key"""
    value = session.db.lookup_read(key)
    if value is None:
        return None
    return dump_payload(value, session.server.config["rdbcompression"], payload_limits(session))


def _restore_options(options):
    """(replace, absttl, idle seconds or None, frequency or None), checked in order as restoreCommand
    does: IDLETIME and FREQ exclude each other, and an option missing its value is a syntax error."""
    replace = absolute = False
    idle = frequency = None
    index = 0
    while index < len(options):
        option = options[index].lower()
        has_value = index + 1 < len(options)
        if option == b"replace":
            replace = True
        elif option == b"absttl":
            absolute = True
        elif option == b"idletime" and has_value and frequency is None:
            idle = to_int(options[index + 1])
            if idle < 0:
                raise ReplyError(INVALID_IDLETIME)
            index += 1
        elif option == b"freq" and has_value and idle is None:
            frequency = to_int(options[index + 1])
            if not 0 <= frequency <= 255:
                raise ReplyError(INVALID_FREQ)
            index += 1
        else:
            raise ReplyError(SYNTAX)
        index += 1
    return replace, absolute, idle, frequency


def restore(session, key, ttl, payload, *options):
    """RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]

    Checked in Redis's order: options, an existing key, the TTL, then the payload, which is read
    whole before anything changes. A relative TTL is logged to the AOF as an absolute one with
    ABSTTL added; a TTL already past leaves no key (and is logged as the DEL of the one replaced).
    """
    replace, absolute, idle, frequency = _restore_options(options)
    db = session.db
    if not replace and db.lookup(key) is not None:
        raise ReplyError(BUSYKEY)
    deadline = to_int(ttl)
    if deadline < 0:
        raise ReplyError(INVALID_TTL)
    try:
        value = restore_payload(payload, payload_limits(session))
    except PayloadError as error:
        raise ReplyError(BAD_PAYLOAD if error.checksum else BAD_DATA_FORMAT) from None
    deleted = replace and db.remove(key)
    now = db.keyspace.clock()
    if deadline and not absolute:
        deadline += now
        if deadline > INT64_MAX:  # Redis's long long wraps negative: a deadline long past
            deadline -= 1 << 64
    if deadline and deadline <= now:
        if deleted:
            db.keyspace.dirty += 1
            db.notify(GENERIC, b"del", key)
            session.propagate([b"DEL", key])
        return "OK"
    db.set(key, value)
    db.keyspace.dirty += 1
    db.signal_ready(key)  # Redis's dbAdd: a client blocked on the key may now be served
    if deadline:
        db.set_deadline(key, deadline)
        if not absolute:
            argv = list(session.argv)
            argv[2] = b"%d" % deadline
            session.propagate(argv + [b"ABSTTL"])
    set_lru_or_lfu(db, key, idle, frequency)
    db.notify(GENERIC, b"restore", key)
    return "OK"


COMMANDS = table(
    #       name       handler  arity flags                 first last step
    Command("dump", dump, 2, ("readonly",), 1, 1, 1),
    Command("restore", restore, -4, ("write", "denyoom"), 1, 1, 1),
    group="keyspace",
)
