"""Redis's cluster.c as a server without cluster support runs it: MIGRATE, RESTORE-ASKING, and the
CLUSTER, ASKING, READONLY and READWRITE commands, which answer that cluster support is disabled.

MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password | AUTH2 username
password] [KEYS key ...] sends each key as RESTORE key ttl <DUMP payload> [REPLACE] to another
server, then deletes it here (unless COPY) and logs that as DEL. Like Redis it waits for the target
with blocking socket calls, so no other client runs meanwhile and the keys cannot change between
their DUMP and their DEL; the connections are kept for the next MIGRATE (MigrateSockets).
"""
import socket
import time

from commands import Command, subcommand_table, table
from commands.dump import payload_limits, restore
from errors import (CLUSTER_DISABLED, MIGRATE_CONNECT_FAILED, MIGRATE_IO_FAILED, MIGRATE_KEYS_NEEDS_EMPTY_KEY,
                    MIGRATE_TARGET_ERROR, SYNTAX, ReplyError)
from persistence.aof_format import encode
from persistence.objects import dump_payload
from storage.events import GENERIC
from storage.numeric import to_int

SOCKET_CACHE_ITEMS = 64  # MIGRATE_SOCKET_CACHE_ITEMS
SOCKET_CACHE_SECONDS = 10  # MIGRATE_SOCKET_CACHE_TTL: a connection unused this long is closed
LINE_MAX = 1024  # the bytes of a reply line Redis reads back (its buffers' size)
CHUNK = 64 * 1024  # Redis writes the commands in 64 kB pieces


class _TargetError(Exception):
    """A socket error talking to the target: while writing or reading, whether it was a timeout, whether a
    new connection may try again (nothing was processed yet), and the target's error already read."""

    def __init__(self, writing, timed_out=False):
        super().__init__()
        self.writing = writing
        self.timed_out = timed_out
        self.retry = True
        self.target_error = None


class MigrateSocket:
    """One cached connection to a MIGRATE target (Redis's migrateCachedSocket): the database it last
    selected there (-1: unknown, SELECT again) and when it was last used."""

    def __init__(self, sock):
        self.sock = sock
        self.last_db = -1
        self.last_use = time.monotonic()
        self._pending = b""

    def send(self, data, timeout):
        self.sock.settimeout(timeout)
        try:
            for start in range(0, len(data), CHUNK):
                self.sock.sendall(data[start:start + CHUNK])
        except OSError as error:
            raise _TargetError(True, isinstance(error, socket.timeout)) from None

    def read_line(self, timeout):
        """One reply line (without CRLF), as connSyncReadLine reads it."""
        self.sock.settimeout(timeout)
        while b"\n" not in self._pending:
            try:
                chunk = self.sock.recv(LINE_MAX)
            except OSError as error:
                raise _TargetError(False, isinstance(error, socket.timeout)) from None
            if not chunk:
                raise _TargetError(False, False)
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.rstrip(b"\r")[:LINE_MAX - 1]

    def close(self):
        self.sock.close()


class MigrateSockets:
    """A server's cached MIGRATE connections by "host:port", at most 64, each closed after 10 idle seconds."""

    def __init__(self):
        self._sockets = {}

    def get(self, host, port, timeout):
        """The cached connection, or a new one; None if it cannot connect (connBlockingConnect failed)."""
        name = host + b":" + port
        cached = self._sockets.get(name)
        if cached is not None:
            cached.last_use = time.monotonic()
            return cached
        if len(self._sockets) == SOCKET_CACHE_ITEMS:
            self._sockets.pop(next(iter(self._sockets))).close()
        try:
            sock = socket.create_connection((host.decode(errors="replace"), to_int(port) & 0xFFFF), timeout)
        except ConnectionRefusedError:
            # Redis's non-blocking connect takes a refused connection for a made one: its first write fails.
            raise _TargetError(writing=True) from None
        except (OSError, ReplyError):
            return None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        cached = self._sockets[name] = MigrateSocket(sock)
        return cached

    def close(self, host, port):
        cached = self._sockets.pop(host + b":" + port, None)
        if cached is not None:
            cached.close()

    def close_idle(self, now):
        """From the cron: close the connections MIGRATE has not used for SOCKET_CACHE_SECONDS."""
        for name, cached in list(self._sockets.items()):
            if now - cached.last_use > SOCKET_CACHE_SECONDS:
                del self._sockets[name]
                cached.close()


def _migrate_options(arguments):
    """(copy, replace, auth argv or None, the keys' position in arguments, or None for the key argument)."""
    copy = replace = False
    auth = None
    index = 5
    while index < len(arguments):
        option, more = arguments[index].lower(), len(arguments) - 1 - index
        if option == b"copy":
            copy = True
        elif option == b"replace":
            replace = True
        elif option == b"auth" and more >= 1:
            auth = [b"AUTH", arguments[index + 1]]
            index += 1
        elif option == b"auth2" and more >= 2:
            auth = [b"AUTH", arguments[index + 1], arguments[index + 2]]
            index += 2
        elif option == b"keys":
            if arguments[2]:
                raise ReplyError(MIGRATE_KEYS_NEEDS_EMPTY_KEY)
            return copy, replace, auth, index + 1
        else:
            raise ReplyError(SYNTAX)
        index += 1
    return copy, replace, auth, None


def migrate(session, host, port, key, db_index, timeout, *options):
    """MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password] [AUTH2 username
    password] [KEYS key [key ...]]"""
    arguments = (host, port, key, db_index, timeout) + options
    copy, replace, auth, keys_at = _migrate_options(arguments)
    timeout, db_index = to_int(timeout), to_int(db_index)
    seconds = (timeout if timeout > 0 else 1000) / 1000
    db = session.db
    present = [name for name in (arguments[keys_at:] if keys_at is not None else (key,))
               if db.lookup_read(name) is not None]
    session.propagate()  # nothing, unless keys move (then their DEL)
    if not present:
        return "NOKEY"
    sockets = session.server.migrate_sockets
    for attempt in (1, 2):  # a cached connection the target closed is worth one new one
        try:
            cached = sockets.get(host, port, seconds)
            if cached is None:
                raise ReplyError(MIGRATE_CONNECT_FAILED)
            error = _send_keys(session, cached, present, auth, db_index, copy, replace, seconds)
        except _TargetError as failure:
            sockets.close(host, port)
            if failure.retry and not failure.timed_out and attempt == 1:
                continue
            raise ReplyError(failure.target_error or MIGRATE_IO_FAILED
                             % ("writing" if failure.writing else "reading")) from None
        if error is not None:
            raise ReplyError(error)
        return "OK"


def _send_keys(session, cached, present, auth, db_index, copy, replace, seconds):
    """One attempt of migrateCommand's transfer: the commands in one write, then the replies in order. The
    keys the target took are deleted (unless COPY); the first error it sent back is returned."""
    db = session.db
    select = cached.last_db != db_index
    commands = [auth] if auth else []
    if select:
        commands.append([b"SELECT", b"%d" % db_index])
    now = db.keyspace.clock()
    limits = payload_limits(session)
    compress = session.server.config["rdbcompression"]
    sent = []
    for name in present:
        deadline = db.expires.get(name)
        ttl = 0
        if deadline is not None:
            ttl = deadline - now
            if ttl < 0:
                continue  # expired since it was looked up
            ttl = max(ttl, 1)
        commands.append([b"RESTORE", name, b"%d" % ttl, dump_payload(db.lookup(name), compress, limits)]
                        + ([b"REPLACE"] if replace else []))
        sent.append(name)
    cached.send(b"".join(encode(argv) for argv in commands), seconds)
    auth_reply = cached.read_line(seconds) if auth else b""
    select_reply = cached.read_line(seconds) if select else b""
    error, moved = None, []
    try:
        for position, name in enumerate(sent):
            reply = cached.read_line(seconds)
            failed = next((line for line in (auth_reply, select_reply, reply) if line[:1] == b"-"), None)
            if failed is not None:
                if error is None:
                    cached.last_db = -1
                    error = MIGRATE_TARGET_ERROR % failed[1:].decode(errors="replace")
            elif not copy:
                moved.append(name)
    except _TargetError as failure:
        failure.retry = position == 0  # no RESTORE reply read yet, so nothing was taken: a new connection may try
        failure.target_error = error
        raise
    finally:
        _deleted(session, moved)
    if error is None:
        cached.last_db = db_index
    return error


def _deleted(session, moved):
    """The keys the target took, deleted here and logged as one DEL (MIGRATE's rewrite)."""
    db = session.db
    for name in moved:
        db.remove(name)
        db.keyspace.dirty += 1
        db.notify(GENERIC, b"del", name)
    if moved:
        session.propagate([b"DEL", *moved])


def cluster_disabled(session, *arguments):
    """CLUSTER <subcommand>, ASKING, READONLY, READWRITE on a server without cluster support."""
    raise ReplyError(CLUSTER_DISABLED)


def restore_asking(session, key, ttl, payload, *options):
    """RESTORE-ASKING key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]"""
    return restore(session, key, ttl, payload, *options)


_ADMIN = ("admin", "stale", "no_async_loading")
CLUSTER_SUBCOMMANDS = subcommand_table(
    "cluster",
    #       name                    handler           arity flags
    Command("addslots", cluster_disabled, -3, _ADMIN, 0, 0, 0),
    Command("addslotsrange", cluster_disabled, -4, _ADMIN, 0, 0, 0),
    Command("bumpepoch", cluster_disabled, 2, _ADMIN, 0, 0, 0),
    Command("count-failure-reports", cluster_disabled, 3, ("admin", "stale"), 0, 0, 0),
    Command("countkeysinslot", cluster_disabled, 3, ("stale",), 0, 0, 0),
    Command("delslots", cluster_disabled, -3, _ADMIN, 0, 0, 0),
    Command("delslotsrange", cluster_disabled, -4, _ADMIN, 0, 0, 0),
    Command("failover", cluster_disabled, -2, _ADMIN, 0, 0, 0),
    Command("flushslots", cluster_disabled, 2, _ADMIN, 0, 0, 0),
    Command("forget", cluster_disabled, 3, _ADMIN, 0, 0, 0),
    Command("getkeysinslot", cluster_disabled, 4, ("stale",), 0, 0, 0),
    Command("help", cluster_disabled, 2, ("loading", "stale"), 0, 0, 0),
    Command("info", cluster_disabled, 2, ("stale",), 0, 0, 0),
    Command("keyslot", cluster_disabled, 3, ("stale",), 0, 0, 0),
    Command("links", cluster_disabled, 2, ("stale",), 0, 0, 0),
    Command("meet", cluster_disabled, -4, _ADMIN, 0, 0, 0),
    Command("myid", cluster_disabled, 2, ("stale",), 0, 0, 0),
    Command("nodes", cluster_disabled, 2, ("stale",), 0, 0, 0),
    Command("replicas", cluster_disabled, 3, ("admin", "stale"), 0, 0, 0),
    Command("replicate", cluster_disabled, 3, _ADMIN, 0, 0, 0),
    Command("reset", cluster_disabled, -2, ("admin", "noscript", "stale"), 0, 0, 0),
    Command("saveconfig", cluster_disabled, 2, _ADMIN, 0, 0, 0),
    Command("set-config-epoch", cluster_disabled, 3, _ADMIN, 0, 0, 0),
    Command("setslot", cluster_disabled, -4, _ADMIN, 0, 0, 0),
    Command("shards", cluster_disabled, 2, ("stale",), 0, 0, 0),
    Command("slaves", cluster_disabled, 3, ("admin", "stale"), 0, 0, 0),
    Command("slots", cluster_disabled, 2, ("stale",), 0, 0, 0),
)

COMMANDS = table(
    #       name              handler           arity flags                                 first last step
    Command("migrate", migrate, -6, ("write", "movablekeys"), 3, 3, 1),
    Command("restore-asking", restore_asking, -4, ("write", "denyoom", "asking"), 1, 1, 1),
    Command("cluster", None, -2, (), 0, 0, 0, CLUSTER_SUBCOMMANDS),
    Command("asking", cluster_disabled, 1, ("fast",), 0, 0, 0),
    Command("readonly", cluster_disabled, 1, ("loading", "stale", "fast"), 0, 0, 0),
    Command("readwrite", cluster_disabled, 1, ("loading", "stale", "fast"), 0, 0, 0),
    group="keyspace",
)
