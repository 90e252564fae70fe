"""XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, as t_stream.c's xinfoCommand.

Maps in RESP3, flat name/value arrays in RESP2, in Redis 7.0's field order. Groups and
consumers are listed by name, the order of Redis's radix trees.
"""
from commands import Command, subcommand_table, table
from commands.streams import entry_reply, get_stream, parse_long
from errors import NO_SUCH_KEY, ReplyError, no_such_group, subcommand_syntax
from storage.keyspace import wall_clock_ms
from storage.streams import INVALID_ENTRIES_READ, MAX_ID, id_bytes

XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
]
FULL_DEFAULT_COUNT = 10


def _existing(session, key):
    stream = get_stream(session.db, key)
    if stream is None:
        raise ReplyError(NO_SUCH_KEY)
    return stream


def _entries_read(group):
    return None if group.entries_read == INVALID_ENTRIES_READ else group.entries_read


def _head(stream):
    return {
        b"length": len(stream),
        b"radix-tree-keys": len(stream.nodes),
        b"radix-tree-nodes": stream.radix_tree_nodes(),
        b"last-generated-id": id_bytes(stream.last_id),
        b"max-deleted-entry-id": id_bytes(stream.max_deleted_id),
        b"entries-added": stream.entries_added,
        b"recorded-first-entry-id": id_bytes(stream.first_id),
    }


def xinfo_stream(session, key, *options):
    """XINFO STREAM key [FULL [COUNT count]]"""
    full, count = False, FULL_DEFAULT_COUNT
    if options:
        if options[0].lower() != b"full":
            raise subcommand_syntax(session.argv)
        full = True
        if len(options) > 1:
            if len(options) != 3 or options[1].lower() != b"count":
                raise subcommand_syntax(session.argv)
            count = parse_long(options[2])
            if count < 0:
                count = FULL_DEFAULT_COUNT
    stream = _existing(session, key)
    reply = _head(stream)
    if not full:
        reply[b"groups"] = len(stream.groups)
        first, last = stream.first_entry(), stream.last_entry()
        reply[b"first-entry"] = entry_reply(first) if first else None
        reply[b"last-entry"] = entry_reply(last) if last else None
        return reply
    limit = count or None
    reply[b"entries"] = [entry_reply(entry) for entry in stream.range(0, MAX_ID, limit)]
    reply[b"groups"] = [_full_group(stream, group, limit) for _, group in sorted(stream.groups.items())]
    return reply


def _full_group(stream, group, limit):
    pending = [[id_bytes(stream_id), nack.consumer.name, nack.delivery_time, nack.delivery_count]
               for stream_id, nack in _first(group.pel, limit)]
    consumers = []
    for name, consumer in sorted(group.consumers.items()):
        consumers.append({
            b"name": name,
            b"seen-time": consumer.seen_time,
            b"pel-count": len(consumer.pel),
            b"pending": [[id_bytes(stream_id), nack.delivery_time, nack.delivery_count]
                         for stream_id, nack in _first(consumer.pel, limit)],
        })
    return {
        b"name": group.name,
        b"last-delivered-id": id_bytes(group.last_id),
        b"entries-read": _entries_read(group),
        b"lag": stream.lag(group),
        b"pel-count": len(group.pel),
        b"pending": pending,
        b"consumers": consumers,
    }


def _first(pel, limit):
    items = pel.items()
    return items if limit is None else items[:limit]


def xinfo_groups(session, key):
    """XINFO GROUPS key"""
    stream = _existing(session, key)
    return [{
        b"name": name,
        b"consumers": len(group.consumers),
        b"pending": len(group.pel),
        b"last-delivered-id": id_bytes(group.last_id),
        b"entries-read": _entries_read(group),
        b"lag": stream.lag(group),
    } for name, group in sorted(stream.groups.items())]


def xinfo_consumers(session, key, name):
    """XINFO CONSUMERS key group"""
    stream = _existing(session, key)
    group = stream.groups.get(name)
    if group is None:
        raise no_such_group(key, name)
    now = wall_clock_ms()
    return [{b"name": consumer_name, b"pending": len(consumer.pel), b"idle": max(0, now - consumer.seen_time)}
            for consumer_name, consumer in sorted(group.consumers.items())]


def xinfo_help(session):
    """XINFO HELP"""
    return XINFO_HELP


XINFO_SUBCOMMANDS = subcommand_table(
    "xinfo",
    Command("stream", xinfo_stream, -3, ("readonly",), 2, 2, 1),
    Command("groups", xinfo_groups, 3, ("readonly",), 2, 2, 1),
    Command("consumers", xinfo_consumers, 4, ("readonly",), 2, 2, 1),
    Command("help", xinfo_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("xinfo", None, -2, (), 0, 0, 0, XINFO_SUBCOMMANDS),
    group="stream",
)
