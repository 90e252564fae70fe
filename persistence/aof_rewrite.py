"""The AOF rewrite's content: the keyspace as the fewest commands that rebuild it (Redis's
rewriteAppendOnlyFileRio), which BGREWRITEAOF's child writes as a new BASE when aof-use-rdb-preamble is no;
write_base() writes a BASE in either form."""
import os
import time

from persistence import written_whole
from persistence.aof_format import encode
from storage.keyspace import type_name
from storage.module_values import ModuleValue
from storage.streams import id_bytes

ITEMS_PER_COMMAND = 64  # AOF_REWRITE_ITEMS_PER_CMD: elements per RPUSH/SADD/HMSET/ZADD of a rewrite
WRITE_CHUNK = 1 << 20


def _score(score):
    """A sorted-set score as Redis writes it in a rewrite (%.17g: exact, and 'inf'/'-inf')."""
    return b"%.17g" % score


def _chunks(items, make):
    items = list(items)
    for start in range(0, len(items), ITEMS_PER_COMMAND):
        yield make(items[start:start + ITEMS_PER_COMMAND])


def rebuild(key, value):
    """The commands that recreate one key's value (Redis's rewriteAppendOnlyFileRio)."""
    if type(value) is ModuleValue:
        return _rebuild_module_value(key, value)
    kind = type_name(value)
    if kind == "string":
        return [[b"SET", key, value]]
    if kind == "list":
        return list(_chunks(value, lambda chunk: [b"RPUSH", key, *chunk]))
    if kind == "set":
        return list(_chunks(value, lambda chunk: [b"SADD", key, *chunk]))
    if kind == "hash":
        return list(_chunks(value.items(), lambda chunk: [b"HMSET", key, *(x for pair in chunk for x in pair)]))
    if kind == "zset":
        return list(_chunks(value.items(), lambda chunk: [b"ZADD", key, *(x for member, score in chunk
                                                                          for x in (_score(score), member))]))
    if kind == "stream":
        return list(_rebuild_stream(key, value))
    raise ValueError("cannot rewrite a value of type %s" % kind)


def _rebuild_module_value(key, value):
    """rewriteModuleObject: the commands the type's rewrite callback gives (argv lists of bytes)."""
    rewrite = value.module_type.rewrite
    if rewrite is None:
        raise ValueError("module type %s has no rewrite callback" % value.module_type.name)
    commands = [list(argv) for argv in rewrite(key, value.value)]
    if not all(argv and all(isinstance(argument, bytes) for argument in argv) for argv in commands):
        raise ValueError("module type %s's rewrite callback gave something other than lists of bytes"
                         % value.module_type.name)
    return commands


def _rebuild_stream(key, stream):
    """rewriteStreamObject: an XADD per entry (an empty stream made by XADD MAXLEN 0), XSETID, then each
    group, its consumers and their pending entries as XCLAIM ... JUSTID FORCE."""
    if len(stream):
        for stream_id, fields in stream.entries:
            yield [b"XADD", key, id_bytes(stream_id), *fields]
    else:
        yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
    yield [b"XSETID", key, id_bytes(stream.last_id), b"ENTRIESADDED", b"%d" % stream.entries_added,
           b"MAXDELETEDID", id_bytes(stream.max_deleted_id)]
    for name, group in sorted(stream.groups.items()):
        yield [b"XGROUP", b"CREATE", key, name, id_bytes(group.last_id), b"ENTRIESREAD", b"%d" % group.entries_read]
        for consumer_name, consumer in sorted(group.consumers.items()):
            if not consumer.pel:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, consumer_name]
            for stream_id, nack in consumer.pel.items():
                yield [b"XCLAIM", key, name, consumer_name, b"0", id_bytes(stream_id), b"TIME",
                       b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count, b"JUSTID", b"FORCE"]


def rewrite_commands(keyspace, now, functions=()):
    """Every command of a rewritten AOF: a FUNCTION LOAD per function library (rewriteFunctions), then
    per database a SELECT, then each live key and its deadline."""
    for code in functions:
        yield [b"FUNCTION", b"LOAD", code]
    for db in keyspace.databases:
        if not db.data:
            continue
        yield [b"SELECT", b"%d" % db.index]
        deadlines = db.expires.deadlines
        for key, value in db.data.items():
            deadline = deadlines.get(key)
            if deadline is not None and deadline < now:
                continue  # already expired: the parent logs its DEL anyway
            yield from rebuild(key, value)
            if deadline is not None:
                yield [b"PEXPIREAT", key, b"%d" % deadline]


def write_rewrite(keyspace, file, functions=(), timestamp=None):
    """Write the rewritten AOF into an open file (a BASE in command form), after a #TS: annotation when
    aof-timestamp-enabled gives one (timestamp, Unix seconds)."""
    chunk = bytearray(b"#TS:%d\r\n" % timestamp if timestamp is not None else b"")
    for argv in rewrite_commands(keyspace, keyspace.clock(), functions):
        chunk += encode(argv)
        if len(chunk) >= WRITE_CHUNK:
            file.write(chunk)
            chunk = bytearray()
    file.write(chunk)


def write_base(aof, path):
    """rewriteAppendOnlyFile: the keyspace as an RDB (aof-use-rdb-preamble) or as commands, into a temporary
    file in dir, fsynced, then renamed to path (an AOF's BASE). OSError if it failed (the temporary file is
    removed). aof: the server's persistence.aof.AppendOnly."""
    config = aof.config
    temporary = os.path.join(config["dir"], "temp-rewriteaof-%d.aof" % os.getpid())
    with written_whole(path, temporary) as file:
        if config["aof-use-rdb-preamble"]:
            aof.server.snapshots.dump_to(file, aof_base=True)
        else:
            if config["aof-timestamp-enabled"]:  # genAofTimestampAnnotationIfNeeded(1)
                aof.timestamp = int(time.time())
            write_rewrite(aof.server.keyspace, file, aof.server.scripting.functions.codes(),
                          aof.timestamp if config["aof-timestamp-enabled"] else None)
