"""XREAD and XREADGROUP, as t_stream.c's xreadCommand and blocked.c's serveClientsBlockedOnStreamKey.

A read that finds nothing and was given BLOCK waits on its keys (storage/blocking.py): an XADD
signals the key, and the waiters are served in the order they blocked, each from the ID it
waits past (a group's last ID at that moment, for XREADGROUP's `>`). A waiting XREADGROUP whose
group is destroyed answers NOGROUP; one whose key is deleted or replaced by another type answers
UNBLOCKED, as Redis 7.0 does. Inside MULTI nothing blocks: the reply is a null array at once.

What XREADGROUP changes is logged as Redis propagates it: an XCLAIM per entry it delivered to
the pending list, then XGROUP SETID with the group's new last ID and read counter.
"""
from functools import partial

from commands import Command, table
from commands.lists import FOREVER_SECONDS
from commands.streams import consumer_of, entries_reply, get_stream, parse_long, strict_id
from errors import (DOLLAR_IN_XREADGROUP, GREATER_ONLY_XREADGROUP, GROUP_ONLY_XREADGROUP, MISSING_GROUP,
                    NOACK_ONLY_XREADGROUP, STREAM_KEY_GONE, SYNTAX, TIMEOUT_NEGATIVE, ReplyError,
                    nogroup, unbalanced_streams)
from protocol import NULL_ARRAY, Error, string_to_int
from storage.keyspace import wall_clock_ms
from storage.streams import MAX_ID, Nack, Stream, id_bytes

BLOCKED_DEFAULT_COUNT = 1000  # XREAD_BLOCKED_DEFAULT_COUNT: a woken read without COUNT takes at most this many
GROUP_GONE = "NOGROUP the consumer group this client was blocked on no longer exists"
TIMEOUT_NOT_INTEGER = "ERR timeout is not an integer or out of range"


class ReadRequest:
    """What one XREAD or XREADGROUP asked for."""

    __slots__ = ("keys", "ids", "count", "block", "group", "consumer", "noack")

    def __init__(self):
        self.keys = self.ids = ()
        self.count = 0
        self.block = None  # milliseconds, None without BLOCK
        self.group = self.consumer = None
        self.noack = False


def _parse(arguments, xreadgroup):
    request = ReadRequest()
    name = "xreadgroup" if xreadgroup else "xread"
    streams_at = None
    index = 0
    while index < len(arguments):
        more = len(arguments) - index - 1
        option = arguments[index].lower()
        if option == b"block" and more:
            index += 1
            block = string_to_int(arguments[index])
            if block is None:
                raise ReplyError(TIMEOUT_NOT_INTEGER)
            if block < 0:
                raise ReplyError(TIMEOUT_NEGATIVE)
            request.block = block
        elif option == b"count" and more:
            index += 1
            request.count = max(0, parse_long(arguments[index]))
        elif option == b"streams" and more:
            streams_at = index + 1
            if (len(arguments) - streams_at) % 2:
                raise unbalanced_streams(name, ">" if xreadgroup else "$")
            break
        elif option == b"group" and more >= 2:
            if not xreadgroup:
                raise ReplyError(GROUP_ONLY_XREADGROUP)
            request.group, request.consumer = arguments[index + 1], arguments[index + 2]
            index += 2
        elif option == b"noack":
            if not xreadgroup:
                raise ReplyError(NOACK_ONLY_XREADGROUP)
            request.noack = True
        else:
            raise ReplyError(SYNTAX)
        index += 1
    if streams_at is None:
        raise ReplyError(SYNTAX)
    if xreadgroup and request.group is None:
        raise ReplyError(MISSING_GROUP)
    half = (len(arguments) - streams_at) // 2
    request.keys = arguments[streams_at:streams_at + half]
    request.ids = arguments[streams_at + half:]
    return request


def _resolve(db, request):
    """Each key's (stream or None, group or None, the ID to read past: MAX_ID standing for '>')."""
    resolved = []
    for key, raw in zip(request.keys, request.ids):
        stream = get_stream(db, key)
        group = None
        if request.group is not None:
            group = stream.groups.get(request.group) if stream is not None else None
            if group is None:
                raise nogroup(key, request.group, "XREADGROUP")
        if raw == b"$":
            if request.group is not None:
                raise ReplyError(DOLLAR_IN_XREADGROUP)
            resolved.append((stream, group, stream.last_id if stream is not None else 0))
        elif raw == b">":
            if request.group is None:
                raise ReplyError(GREATER_ONLY_XREADGROUP)
            resolved.append((stream, group, MAX_ID))
        else:
            resolved.append((stream, group, strict_id(raw)))
    return resolved


def _last_valid_id(stream):
    last = stream.last_entry()
    return last[0] if last is not None else 0


def consumer_for(db, key, group, name, noack, propagated):
    """The reading consumer, made if new; a new one reading with NOACK is logged as XGROUP CREATECONSUMER,
    since no XCLAIM will make it on a replay."""
    if noack and name not in group.consumers:
        propagated.append([b"XGROUP", b"CREATECONSUMER", key, group.name, name])
    return consumer_of(db, key, group, name, wall_clock_ms())


def deliver(db, key, stream, group, consumer, after, count, noack, propagated):
    """streamReplyWithRange for a group's `>`: entries after `after`, each into the pending list
    (unless noack) and logged as an XCLAIM; with noack the group's new last ID is logged as XGROUP SETID."""
    now = wall_clock_ms()
    entries = stream.range(after + 1, MAX_ID, count or None)
    for stream_id, _ in entries:
        if stream_id > group.last_id:
            stream.advance_group(group, stream_id)
        if noack:
            continue
        nack = group.pel.get(stream_id)
        if nack is None:
            nack = group.pel[stream_id] = Nack(consumer, now)
        else:
            del nack.consumer.pel[stream_id]
            nack.consumer, nack.delivery_time, nack.delivery_count = consumer, now, 1
        consumer.pel[stream_id] = nack
        propagated.append([b"XCLAIM", key, group.name, consumer.name, b"0", id_bytes(stream_id),
                           b"TIME", b"%d" % now, b"RETRYCOUNT", b"%d" % nack.delivery_count, b"FORCE", b"JUSTID",
                           b"LASTID", id_bytes(group.last_id)])
    if entries and noack:  # otherwise each XCLAIM's LASTID carries the group's last ID
        propagated.append(setid_argv(key, stream, group))
    return entries_reply(entries)


def setid_argv(key, stream, group):
    return [b"XGROUP", b"SETID", key, group.name, id_bytes(group.last_id), b"ENTRIESREAD",
            b"%d" % group.entries_read]


def history(db, stream, consumer, after, count):
    """streamReplyWithRangeFromConsumerPEL: the consumer's pending entries from `after` on, each
    delivered once more (an entry deleted since shows as its ID and a null)."""
    now = wall_clock_ms()
    reply = []
    for stream_id in consumer.pel.irange(after):
        if count and len(reply) >= count:
            break
        fields = stream.get(stream_id)
        if fields is None:
            reply.append([id_bytes(stream_id), NULL_ARRAY])
            continue
        nack = consumer.pel[stream_id]
        nack.delivery_time = now
        nack.delivery_count += 1
        reply.append([id_bytes(stream_id), list(fields)])
    return reply


def _keyed(session, pairs):
    """XREAD's reply: [key, entries] pairs in RESP2, a map in RESP3."""
    return dict(pairs) if session.protocol == 3 else [list(pair) for pair in pairs]


def read_streams(session, arguments, xreadgroup):
    request = _parse(arguments, xreadgroup)
    db = session.db
    resolved = _resolve(db, request)
    served, logged = [], []
    for key, (stream, group, after) in zip(request.keys, resolved):
        if stream is None:
            continue
        if group is not None:
            if after != MAX_ID:
                consumer = consumer_for(db, key, group, request.consumer, request.noack, logged)
                served.append((key, history(db, stream, consumer, after, request.count)))
                continue
            if not len(stream) or _last_valid_id(stream) <= group.last_id:
                continue
            consumer = consumer_for(db, key, group, request.consumer, request.noack, logged)
            served.append((key, deliver(db, key, stream, group, consumer, group.last_id, request.count,
                                        request.noack, logged)))
        elif len(stream) and _last_valid_id(stream) > after:
            served.append((key, entries_reply(stream.range(after + 1, MAX_ID, request.count or None))))
    if xreadgroup:
        db.keyspace.dirty += len(served)  # a change per stream a group read served now (later: none), as Redis
        session.propagate(*logged)
    if served:
        return _keyed(session, served)
    if request.block is None or session.in_exec:
        return NULL_ARRAY
    waits = {key: after for key, (_, _, after) in zip(request.keys, resolved)}
    count = request.count or BLOCKED_DEFAULT_COUNT
    serve = partial(_serve_blocked, session, db, waits, request, count)
    seconds = request.block / 1000
    if xreadgroup:
        db.stream_waiters += 1
    try:
        reply = session.block_on(list(waits), serve, 0 if seconds >= FOREVER_SECONDS else seconds)
    finally:
        if xreadgroup:
            db.stream_waiters -= 1
    if reply is None:
        return NULL_ARRAY
    if type(reply) is Error:
        raise ReplyError(reply.message)
    return reply


def _serve_blocked(session, db, waits, request, count, key):
    """A blocked read's turn on a key that got data (or lost its stream or group); None to keep waiting."""
    stream = db.lookup(key, touch=False)
    if not isinstance(stream, Stream):
        return Error(STREAM_KEY_GONE) if request.group is not None else None
    group = None
    after = waits[key]
    if request.group is not None:
        group = stream.groups.get(request.group)
        if group is None:
            return Error(GROUP_GONE)
        after = group.last_id
    if stream.last_id <= after:
        return None
    if group is None:
        entries = entries_reply(stream.range(after + 1, MAX_ID, count))
    else:
        propagated = []
        consumer = consumer_for(db, key, group, request.consumer, request.noack, propagated)
        entries = deliver(db, key, stream, group, consumer, after, count, request.noack, propagated)
        db.keyspace.propagate(db.index, *propagated)
    return _keyed(session, [(key, entries)])


def xread(session, *arguments):
    """XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]"""
    return read_streams(session, arguments, False)


def xreadgroup(session, *arguments):
    """XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]"""
    return read_streams(session, arguments, True)


COMMANDS = table(
    Command("xread", xread, -4, ("readonly", "blocking", "movablekeys"), 0, 0, 0),
    Command("xreadgroup", xreadgroup, -7, ("write", "blocking", "movablekeys"), 0, 0, 0),
    group="stream",
)
