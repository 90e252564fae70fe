"""Consumer-group commands, as t_stream.c: XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.

A group (storage/streams.py's Group) keeps its last delivered ID, its read counter and its
pending-entries list; each consumer keeps its own view of the same pending entries. What a
claim changes is logged as Redis propagates it: one XCLAIM ... FORCE JUSTID LASTID per entry
claimed (or dropped because its entry was deleted), so that a replay ends with the same PEL.
"""
from itertools import islice

from commands import Command, subcommand_table, table
from commands.streams import (META_EVENTS, consumer_of, entry_reply, get_stream, interval_id, parse_id, parse_long,
                              range_bounds, strict_id)
from errors import (AUTOCLAIM_COUNT, BUSYGROUP, ENTRIES_READ_INVALID, INVALID_IDLE, INVALID_MIN_IDLE,
                    INVALID_MIN_IDLE_AUTOCLAIM, INVALID_RETRYCOUNT, INVALID_START_ID, INVALID_TIME,
                    SYNTAX, XGROUP_NO_KEY, ReplyError, no_such_group, printed, subcommand_syntax)
from protocol import NULL_ARRAY, string_to_int
from storage.keyspace import wall_clock_ms
from storage.streams import INVALID_ENTRIES_READ, MAX_ID, Group, Nack, Stream, id_bytes

XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
]


def _nogroup_plain(key, group):
    """XPENDING, XCLAIM and XAUTOCLAIM's NOGROUP, which names no command."""
    return ReplyError("NOGROUP No such key '%s' or consumer group '%s'" % (printed(key), printed(group)))


def _long_or(raw, message):
    value = string_to_int(raw)
    if value is None:
        raise ReplyError(message)
    return value


# ------------------------------------------------------------------ XGROUP


def _group_options(session, arguments, create):
    """CREATE's MKSTREAM and ENTRIESREAD, SETID's ENTRIESREAD: (mkstream, entries_read)."""
    mkstream, entries_read = False, INVALID_ENTRIES_READ
    index = 0
    while index < len(arguments):
        option = arguments[index].lower()
        if create and option == b"mkstream":
            mkstream = True
            index += 1
        elif option == b"entriesread" and index + 1 < len(arguments):
            entries_read = parse_long(arguments[index + 1])
            if entries_read < 0 and entries_read != INVALID_ENTRIES_READ:
                raise ReplyError(ENTRIES_READ_INVALID)
            index += 2
        else:
            raise subcommand_syntax(session.argv)
    return mkstream, entries_read


def _stream_and_group(session, key, name, required=True):
    """xgroupCommand's common part: the stream (the key must exist), and the group, which SETID,
    CREATECONSUMER and DELCONSUMER need."""
    stream = get_stream(session.db, key, read=False)
    if stream is None:
        raise ReplyError(XGROUP_NO_KEY)
    group = stream.groups.get(name)
    if group is None and required:
        raise no_such_group(key, name)
    return stream, group


def xgroup_create(session, key, name, raw_id, *options):
    """XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD entries-read]"""
    if len(options) > 3:
        raise subcommand_syntax(session.argv)
    mkstream, entries_read = _group_options(session, options, True)
    db = session.db
    stream = get_stream(db, key, read=False)
    if stream is None and not mkstream:
        raise ReplyError(XGROUP_NO_KEY)
    if raw_id == b"$":
        last_id = stream.last_id if stream is not None else 0
    else:
        last_id = strict_id(raw_id)
    if stream is None:
        stream = Stream()
        db.set(key, stream)
    if name in stream.groups:
        raise ReplyError(BUSYGROUP)
    stream.groups[name] = Group(name, last_id, entries_read)
    db.keyspace.dirty += 1
    db.notify(META_EVENTS, b"xgroup-create", key)
    return "OK"


def xgroup_setid(session, key, name, raw_id, *options):
    """XGROUP SETID key group id|$ [ENTRIESREAD entries-read]"""
    if len(options) not in (0, 2):
        raise subcommand_syntax(session.argv)
    _, entries_read = _group_options(session, options, False)
    stream, group = _stream_and_group(session, key, name)
    group.last_id = stream.last_id if raw_id == b"$" else parse_id(raw_id)[0]
    group.entries_read = entries_read
    session.db.keyspace.dirty += 1
    session.db.notify(META_EVENTS, b"xgroup-setid", key)
    return "OK"


def xgroup_destroy(session, key, name):
    """XGROUP DESTROY key group"""
    stream, group = _stream_and_group(session, key, name, required=False)
    if group is None:
        return 0
    del stream.groups[name]
    session.db.keyspace.dirty += 1
    session.db.notify(META_EVENTS, b"xgroup-destroy", key)
    session.db.signal_ready(key)  # a blocked XREADGROUP on it answers NOGROUP
    return 1


def xgroup_createconsumer(session, key, name, consumer):
    """XGROUP CREATECONSUMER key group consumer"""
    _, group = _stream_and_group(session, key, name)
    if consumer in group.consumers:
        return 0
    consumer_of(session.db, key, group, consumer, wall_clock_ms())
    return 1


def xgroup_delconsumer(session, key, name, consumer):
    """XGROUP DELCONSUMER key group consumer"""
    _, group = _stream_and_group(session, key, name)
    if consumer not in group.consumers:
        return 0
    session.db.keyspace.dirty += 1
    session.db.notify(META_EVENTS, b"xgroup-delconsumer", key)
    return group.remove_consumer(consumer)


def xgroup_help(session):
    """XGROUP HELP"""
    return XGROUP_HELP


# ------------------------------------------------------------------ XACK, XPENDING


def xack(session, key, name, *ids):
    """XACK key group id [id ...]"""
    stream = get_stream(session.db, key)
    group = stream.groups.get(name) if stream is not None else None
    if group is None:
        return 0
    parsed = [strict_id(raw) for raw in ids]
    acknowledged = sum(group.acknowledge(stream_id) for stream_id in parsed)
    session.db.keyspace.dirty += acknowledged
    return acknowledged


def xpending(session, key, name, *arguments):
    """XPENDING key group [[IDLE min-idle-time] start end count [consumer]]"""
    if arguments and not 3 <= len(arguments) <= 6:
        raise ReplyError(SYNTAX)
    min_idle = 0
    consumer_name = None
    if arguments:
        rest = arguments
        if rest[0].lower() == b"idle":
            min_idle = parse_long(rest[1])
            if len(rest) < 5:
                raise ReplyError(SYNTAX)
            rest = rest[2:]
        count = max(0, parse_long(rest[2]))
        start, end = range_bounds(rest[0], rest[1])
        if len(rest) > 3:
            consumer_name = rest[3]
    stream = get_stream(session.db, key)
    group = stream.groups.get(name) if stream is not None else None
    if group is None:
        raise _nogroup_plain(key, name)
    if not arguments:
        return _pending_summary(group)
    pel = group.pel
    if consumer_name is not None:
        consumer = group.consumers.get(consumer_name)
        if consumer is None:
            return []
        pel = consumer.pel
    now = wall_clock_ms()
    reply = []
    for stream_id in pel.irange(start, end):
        if len(reply) >= count:
            break
        nack = pel[stream_id]
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        reply.append([id_bytes(stream_id), nack.consumer.name, max(0, now - nack.delivery_time),
                      nack.delivery_count])
    return reply


def _pending_summary(group):
    if not group.pel:
        return [0, None, None, NULL_ARRAY]
    consumers = [[name, b"%d" % len(consumer.pel)] for name, consumer in sorted(group.consumers.items())
                 if consumer.pel]
    return [len(group.pel), id_bytes(group.pel.keys()[0]), id_bytes(group.pel.keys()[-1]), consumers]


# ------------------------------------------------------------------ XCLAIM, XAUTOCLAIM


def claim_argv(key, group, stream_id, nack):
    """streamPropagateXCLAIM: the XCLAIM that sets one pending entry as it now is."""
    return [b"XCLAIM", key, group.name, nack.consumer.name if nack.consumer else b"", b"0", id_bytes(stream_id),
            b"TIME", b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count, b"FORCE", b"JUSTID",
            b"LASTID", id_bytes(group.last_id)]


def _stream_group_or_nogroup(session, key, name):
    stream = get_stream(session.db, key)
    group = stream.groups.get(name) if stream is not None else None
    if group is None:
        raise _nogroup_plain(key, name)
    return stream, group


def _move_nack(group, stream_id, nack, consumer):
    if nack.consumer is not consumer:
        if nack.consumer is not None:
            del nack.consumer.pel[stream_id]
        consumer.pel[stream_id] = nack
        nack.consumer = consumer


def _drop_deleted(key, group, stream_id, nack, logged):
    """A pending entry whose stream entry is gone leaves the PEL, logged as the XCLAIM that drops it."""
    logged.append(claim_argv(key, group, stream_id, nack))
    del group.pel[stream_id]
    if nack.consumer is not None:
        del nack.consumer.pel[stream_id]


def _claim_options(stream_group, options, now):
    """XCLAIM's options after the IDs: (force, justid, delivery time or None, retrycount or None, bumped)."""
    _, group = stream_group
    force = justid = bumped = False
    delivery_time = retrycount = None
    index = 0
    while index < len(options):
        option = options[index].lower()
        more = len(options) - 1 - index
        if option == b"force":
            force = True
        elif option == b"justid":
            justid = True
        elif option == b"idle" and more:
            index += 1
            delivery_time = now - _long_or(options[index], INVALID_IDLE)
        elif option == b"time" and more:
            index += 1
            delivery_time = _long_or(options[index], INVALID_TIME)
        elif option == b"retrycount" and more:
            index += 1
            retrycount = _long_or(options[index], INVALID_RETRYCOUNT)
        elif option == b"lastid" and more:
            index += 1
            last_id = strict_id(options[index])
            if last_id > group.last_id:
                group.last_id = last_id
                bumped = True
        else:
            raise ReplyError("ERR Unrecognized XCLAIM option '%s'" % printed(options[index]))
        index += 1
    if delivery_time is not None and not 0 <= delivery_time <= now:
        delivery_time = now
    return force, justid, now if delivery_time is None else delivery_time, retrycount, bumped


def _parse_ids_prefix(arguments):
    ids = []
    for raw in arguments:
        try:
            ids.append(strict_id(raw))
        except ReplyError:
            break
    return ids


def xclaim(session, key, name, consumer_name, min_idle_raw, *arguments):
    """XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-ms] [RETRYCOUNT count] [FORCE]
    [JUSTID] [LASTID lastid]"""
    stream, group = _stream_group_or_nogroup(session, key, name)
    min_idle = max(0, _long_or(min_idle_raw, INVALID_MIN_IDLE))
    ids = _parse_ids_prefix(arguments)
    now = wall_clock_ms()
    force, justid, delivery_time, retrycount, bumped = _claim_options((stream, group), arguments[len(ids):], now)
    consumer = None
    reply, logged = [], []
    for stream_id in ids:
        nack = group.pel.get(stream_id)
        fields = stream.get(stream_id)
        if fields is None:
            if nack is not None:
                _drop_deleted(key, group, stream_id, nack, logged)
                bumped = False
            continue
        if force and nack is None:
            nack = group.pel[stream_id] = Nack(None, now)
        if nack is None:
            continue
        if nack.consumer is not None and min_idle and now - nack.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = consumer_of(session.db, key, group, consumer_name, now)
        _move_nack(group, stream_id, nack, consumer)
        nack.delivery_time = delivery_time
        if retrycount is not None:
            nack.delivery_count = retrycount
        elif not justid:
            nack.delivery_count += 1
        reply.append(id_bytes(stream_id) if justid else entry_reply((stream_id, fields)))
        logged.append(claim_argv(key, group, stream_id, nack))
        bumped = False
    if bumped:
        logged.append([b"XGROUP", b"SETID", key, group.name, id_bytes(group.last_id), b"ENTRIESREAD",
                       b"%d" % group.entries_read])
    session.db.keyspace.dirty += len(logged)  # a change per claim, per deleted entry dropped, and for LASTID
    session.propagate(*logged)
    return reply


ATTEMPTS_FACTOR = 10
AUTOCLAIM_MAX_COUNT = (2**63 - 1) // 16


def xautoclaim(session, key, name, consumer_name, min_idle_raw, start_raw, *options):
    """XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]"""
    min_idle = max(0, _long_or(min_idle_raw, INVALID_MIN_IDLE_AUTOCLAIM))
    start, exclusive = interval_id(start_raw, 0)
    if exclusive:
        if start == MAX_ID:
            raise ReplyError(INVALID_START_ID)
        start += 1
    count, justid = 100, False
    index = 0
    while index < len(options):
        option = options[index].lower()
        if option == b"count" and index + 1 < len(options):
            count = string_to_int(options[index + 1])
            if count is None or not 1 <= count <= AUTOCLAIM_MAX_COUNT:
                raise ReplyError(AUTOCLAIM_COUNT)
            index += 1
        elif option == b"justid":
            justid = True
        else:
            raise ReplyError(SYNTAX)
        index += 1
    stream, group = _stream_group_or_nogroup(session, key, name)
    attempts = count * ATTEMPTS_FACTOR
    now = wall_clock_ms()
    candidates = list(islice(group.pel.irange(start), attempts + 1))
    consumer = None
    claimed, deleted, logged = [], [], []
    position = 0
    while attempts and count and position < len(candidates):
        attempts -= 1
        stream_id = candidates[position]
        position += 1
        nack = group.pel[stream_id]
        fields = stream.get(stream_id)
        if fields is None:
            _drop_deleted(key, group, stream_id, nack, logged)
            deleted.append(id_bytes(stream_id))
            continue
        if min_idle and now - nack.delivery_time < min_idle:
            continue
        if consumer is None:
            consumer = consumer_of(session.db, key, group, consumer_name, now)
        _move_nack(group, stream_id, nack, consumer)
        nack.delivery_time = now
        if not justid:
            nack.delivery_count += 1
        claimed.append(id_bytes(stream_id) if justid else entry_reply((stream_id, fields)))
        count -= 1
        logged.append(claim_argv(key, group, stream_id, nack))
    cursor = candidates[position] if position < len(candidates) else 0
    session.db.keyspace.dirty += len(logged)  # a change per claim and per deleted entry dropped
    session.propagate(*logged)
    return [id_bytes(cursor), claimed, deleted]


XGROUP_SUBCOMMANDS = subcommand_table(
    "xgroup",
    Command("create", xgroup_create, -5, ("write", "denyoom"), 2, 2, 1),
    Command("setid", xgroup_setid, -5, ("write",), 2, 2, 1),
    Command("destroy", xgroup_destroy, 4, ("write",), 2, 2, 1),
    Command("createconsumer", xgroup_createconsumer, 5, ("write", "denyoom"), 2, 2, 1),
    Command("delconsumer", xgroup_delconsumer, 5, ("write",), 2, 2, 1),
    Command("help", xgroup_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("xgroup", None, -2, (), 0, 0, 0, XGROUP_SUBCOMMANDS),
    Command("xack", xack, -4, ("write", "fast"), 1, 1, 1),
    Command("xpending", xpending, -3, ("readonly",), 1, 1, 1),
    Command("xclaim", xclaim, -6, ("write", "fast"), 1, 1, 1),
    Command("xautoclaim", xautoclaim, -6, ("write", "fast"), 1, 1, 1),
    group="stream",
)
