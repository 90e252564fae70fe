"""A full resynchronisation on the replica's side: the master's RDB received whole, checked, then put in
place of our data (Redis's readSyncBulkPayload).

The payload comes as $<length> or, from a diskless master, as $EOF:<40-byte mark> and ends with the
mark. With repl-diskless-load disabled it goes to a temporary file first (which becomes dump.rdb once
loaded), otherwise it is kept in memory. Either way it is parsed into a keyspace of its own, so a
corrupt or truncated RDB (a bad CRC, a cut) is refused while our data stays as it was; only a sound
one replaces it, with its function libraries, in one step no client's command straddles.

The parse hands the event loop to the clients every loading-process-events-interval-bytes, as Redis's
loader does (persistence/progress.py). What they meet meanwhile is what Redis's clients meet: -LOADING
for what is not flagged `loading` (from the payload's first byte when it is not received on disk,
where Redis parses it as it comes), except in an async load (repl-diskless-load swapdb, and the master
goes on with the history our data belongs to), where they keep reading our old data.
"""
import logging
import os
import time

import gevent

from errors import ReplyError
from persistence import rdb
from persistence.aof import OFF
from replication.stream import LinkError
from storage.keyspace import Keyspace

log = logging.getLogger("mini-redis")
EOF_MARK_SIZE = 40  # RDB_EOF_MARK_SIZE
SCRIPT_WAIT_SECONDS = 0.001  # how often a loaded RDB waiting to go in looks whether the running script ended


class Transfer:
    """The payload being received: INFO's master_sync_* fields read it."""

    def __init__(self, path):
        self.path = path  # the temporary file, or None when loading from memory
        self.size = 0  # the announced length; 0 with an EOF mark (unknown until the end), as in Redis
        self.read = 0
        self.last_io = time.monotonic()
        self.chunks = []


def receive(channel, transfer, on_wait, on_header):
    """The RDB's bytes after +FULLRESYNC; on_wait() is called for each newline the master sends while it
    prepares them (they keep the link alive), on_header() once the payload's header came."""
    while True:
        header = channel.line()
        if header:
            break
        on_wait()
    if header.startswith(b"-"):
        raise LinkError("MASTER aborted replication with an error: %s" % header[1:].decode(errors="replace"))
    if not header.startswith(b"$"):
        raise LinkError("Bad protocol from MASTER, the first byte is not '$' (we received '%s'), are you sure "
                        "the host and port are right?" % header.decode(errors="replace"))
    target = "disk" if transfer.path else "parser"
    if header.startswith(b"$EOF:") and len(header) == 5 + EOF_MARK_SIZE:
        log.info("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to %s", target)
        on_header()
        return _until_mark(channel, transfer, header[5:])
    if not header[1:].isdigit():
        raise LinkError("Bad RDB length from MASTER: %s" % header.decode(errors="replace"))
    transfer.size = int(header[1:])
    log.info("MASTER <-> REPLICA sync: receiving %d bytes from master to %s", transfer.size, target)
    on_header()
    while transfer.read < transfer.size:
        _keep(transfer, channel.take(transfer.size - transfer.read))
    return _payload(transfer)


def _until_mark(channel, transfer, mark):
    """Read until the payload ends with the mark; what follows it stays in the channel for the stream."""
    tail = b""
    while True:
        chunk = channel.take(1 << 20)
        window = tail + chunk
        found = window.find(mark)
        if found >= 0:
            end = found - len(tail)  # where the mark starts within chunk (negative: it began in an earlier one)
            channel.buffer[:0] = window[found + len(mark):]
            if end >= 0:
                _keep(transfer, chunk[:end])
            else:
                _drop_tail(transfer, -end)
            transfer.read += len(mark)  # as Redis's repl_transfer_read, which counts the mark it cuts off
            return _payload(transfer)
        _keep(transfer, chunk)
        tail = window[-(len(mark) - 1):]


def _keep(transfer, data):
    transfer.read += len(data)
    transfer.last_io = time.monotonic()
    if transfer.path is None:
        transfer.chunks.append(data)
        return
    with open(transfer.path, "ab") as file:
        file.write(data)


def _drop_tail(transfer, count):
    """The mark's first bytes were kept as data: take them back."""
    transfer.read -= count
    if transfer.path is None:
        data = b"".join(transfer.chunks)
        transfer.chunks = [data[:-count]]
        return
    with open(transfer.path, "r+b") as file:
        file.truncate(os.path.getsize(transfer.path) - count)


def _payload(transfer):
    if transfer.path is None:
        data, transfer.chunks = b"".join(transfer.chunks), []
        return data
    with open(transfer.path, "rb") as file:
        return file.read()


def temporary_path(config):
    """Where a disk-loading replica receives the RDB: temp-<unix time>.<pid>.rdb in dir, as Redis names it."""
    return os.path.join(config["dir"], "temp-%d.%d.rdb" % (int(time.time()), os.getpid()))


def load(server, data, transfer, before_swap):
    """Parse the received RDB apart from our data, then put it in place, calling before_swap() just before:
    LinkError if it is not sound. The server's LoadProgress is on (started here for an RDB received on
    disk, else with the transfer)."""
    config = server.config
    progress = server.loading
    if not progress.active:
        progress.start(len(data))
    log.info("MASTER <-> REPLICA sync: Loading DB in memory")
    fresh = Keyspace(len(server.keyspace), server.keyspace.clock)
    fresh.memory.configure(config)
    try:
        result = rdb.loads(data, fresh, rdb.Limits(config, server.keyspace.quicklist_packed_threshold),
                           config["rdbchecksum"], drop_expired=False, progress=progress)
    except rdb.RDBError as error:
        raise LinkError("Failed trying to load the MASTER synchronization DB: %s" % error) from None
    while server.scripting.running() is not None:  # a script that yielded mid-run must not see its data go
        gevent.sleep(SCRIPT_WAIT_SECONDS)
    # From here to the end nothing yields: every client's command runs before the swap or after it.
    _replace_functions(server.scripting.functions, result.functions)
    before_swap()
    log.info("MASTER <-> REPLICA sync: Flushing old data")
    aof = server.aof
    if aof.state != OFF:  # as Redis: the AOF is written anew from the loaded data
        aof.stop()
    keyspace = server.keyspace
    for mine, theirs in zip(keyspace.databases, fresh.databases):
        mine.swap_contents(theirs)
        mine.accessed = keyspace.memory.access_table(mine.accessed)
    server.tracking.invalidate_all()
    if transfer.path is not None:  # the master's snapshot is our dump.rdb from now on, as in Redis
        os.replace(transfer.path, os.path.join(config["dir"], config["dbfilename"]))
        transfer.path = None
    log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", result.loaded, result.expired)
    progress.record(result)
    progress.stop()
    if config["appendonly"]:
        aof.start()


def _replace_functions(functions, codes):
    """The master's libraries in place of ours; if one does not load, ours stay and the RDB is refused."""
    old = functions.codes()
    functions.flush()
    try:
        for code in codes:
            functions.load(code, replace=True)
    except ReplyError as error:
        functions.flush()
        for code in old:
            functions.load(code, replace=True)
        raise LinkError("Failed loading library from the MASTER's RDB: %s" % error.message) from None


def discard(transfer):
    """A transfer that failed: its temporary file goes."""
    if transfer is not None and transfer.path is not None:
        try:
            os.unlink(transfer.path)
        except OSError:
            pass
