"""A small Redis client: a connection pool, named commands, pipelines, transactions, pub/sub.

    client = Client.from_url("redis://:secret@127.0.0.1:4000/2")
    client.set("name", "Robbin Hood")            # True
    client.hgetall("user:1")                     # a dict, in RESP2 and RESP3 alike
    client.execute("OBJECT", "ENCODING", "k")    # any command, raw reply

Named methods come from the table in client_commands.py (``help(Client.zadd)``
shows the wire form); pipelines and WATCH live in client_pipeline.py, pub/sub in
client_pubsub.py, the redis-cli-like prompt (``python client.py``) in cli.py.

Sockets come from the plain ``socket`` module, looked up at call time, so after
gevent's ``monkey.patch_all()`` the same code waits cooperatively instead of
blocking the process, and the pool's lock becomes a greenlet lock.
"""
import socket
import sys
import threading
import time
from urllib.parse import unquote, urlsplit

import client_commands
from client_commands import Status, safe_to_repeat
from protocol import Error, ReplyReader, encode_command

RECV_SIZE = 64 * 1024
_NO_TIMEOUT_CHANGE = object()


class CommandError(Exception):
    """An error reply; str() is the server's text, e.g. "ERR syntax error"."""


class WatchError(Exception):
    """EXEC returned nil: a WATCHed key changed, so the transaction did not run."""


class PoolTimeout(ConnectionError):
    """Every connection of a bounded pool stayed checked out for the whole wait."""


class ClientReplyReader(ReplyReader):
    """protocol.ReplyReader, except that simple strings come back as Status.

    SET answers +OK and GET may answer $2 OK; only the first means "done".
    """

    def _parse(self, pos):
        if pos < len(self._buffer) and self._buffer[pos] == 0x2B:  # +
            line, pos = self._line(pos)
            return Status(line), pos
        return super()._parse(pos)


class Connection:
    """One socket and its reply reader; connect() also runs HELLO 3 / AUTH / SELECT as configured.

    Any failure half way through a command (timeout, reset, garbage, even
    KeyboardInterrupt) leaves an unread reply on the wire that the next command
    would take for its own, so the socket is closed whatever the exception.
    """

    def __init__(self, host="127.0.0.1", port=4000, *, db=0, username=None, password=None,
                 protocol=2, socket_timeout=None, connect_timeout=None,
                 reader_class=ClientReplyReader):
        self.host, self.port, self.db = host, port, db
        self.username, self.password, self.protocol = username, password, protocol
        self.socket_timeout, self.connect_timeout = socket_timeout, connect_timeout
        self.reader_class = reader_class
        self.sock = self.reader = None
        self.write_lock = threading.Lock()

    @property
    def is_open(self):
        return self.sock is not None

    def connect(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.settimeout(self.socket_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.reader = sock, self.reader_class()
        try:
            for command in self._handshake():
                reply = self.round_trip(encode_command(command))
                if isinstance(reply, Error):
                    raise CommandError(reply.message)
        except BaseException:
            self.close()
            raise

    def _handshake(self):
        if self.protocol == 3:
            auth = ("AUTH", self.username or "default", self.password) if self.password else ()
            yield ("HELLO", 3, *auth)
        elif self.password is not None:
            yield ("AUTH", self.username, self.password) if self.username else ("AUTH", self.password)
        if self.db:
            yield ("SELECT", self.db)

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = self.reader = None

    def send(self, request):
        """Write one request (or a whole pipeline) in one call, connecting first if needed."""
        try:
            if self.sock is None:
                self.connect()
            with self.write_lock:
                self.sock.sendall(request)
        except BaseException:
            self.close()
            raise

    def read_reply(self, timeout=_NO_TIMEOUT_CHANGE):
        """The next reply. With timeout, waiting longer returns None and keeps the connection."""
        try:
            while True:
                for reply in self.reader.frames():
                    return reply
                data = self._recv(timeout)
                if data is None:
                    return None
                if not data:
                    raise ConnectionError("server closed the connection")
                self.reader.feed(data)
        except BaseException:
            self.close()
            raise

    def _recv(self, timeout):
        if timeout is _NO_TIMEOUT_CHANGE:
            return self.sock.recv(RECV_SIZE)
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(RECV_SIZE)
        except (socket.timeout, BlockingIOError):
            return None
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.socket_timeout)

    def round_trip(self, request):
        self.send(request)
        return self.read_reply()


class ConnectionPool:
    """Idle connections on a lock-protected free list, shared by threads and greenlets.

    get() hands out an idle connection or makes a new one; with max_connections
    it waits up to `timeout` seconds (None: forever) for one to come back, then
    raises PoolTimeout. release() puts an open connection back; a closed one
    (dropped, timed out) just frees its place.
    """

    def __init__(self, max_connections=None, timeout=None, **connection_settings):
        self.max_connections = max_connections
        self.timeout = timeout
        self.settings = connection_settings
        self._idle = []
        self._count = 0
        self._available = threading.Condition(threading.Lock())

    def new_connection(self):
        """A connection outside the pool's count, for a caller that keeps it (pub/sub)."""
        return Connection(**self.settings)

    def get(self):
        with self._available:
            deadline = None if self.timeout is None else time.monotonic() + self.timeout
            while not self._idle and self.max_connections and self._count >= self.max_connections:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise PoolTimeout("no connection came back to the pool within %ss" % self.timeout)
                self._available.wait(left)
            if self._idle:
                return self._idle.pop()
            self._count += 1
        return self.new_connection()

    def release(self, connection):
        with self._available:
            if connection.is_open:
                self._idle.append(connection)
            else:
                self._count -= 1
            self._available.notify()

    def disconnect(self):
        """Close the idle connections; those checked out close when they come back closed or not."""
        with self._available:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
            self._available.notify_all()
        for connection in idle:
            connection.close()


@client_commands.install
class Client:
    """Talks to a server at host:port through a pool, checking a connection out per command.

    With decode_responses, bulk and simple strings come back as UTF-8 str
    instead of bytes. protocol=3 sends HELLO 3 on connect, so replies come back
    as dicts, sets, floats and bools. close() (or leaving a ``with`` block)
    drops the idle connections; a later command opens a new one.
    """

    def __init__(self, host="127.0.0.1", port=4000, *, db=0, username=None, password=None,
                 protocol=2, decode_responses=False, socket_timeout=None, connect_timeout=None,
                 max_connections=None, pool_timeout=None):
        self.decode_responses = decode_responses
        self.pool = ConnectionPool(max_connections, pool_timeout, host=host, port=port, db=db,
                                   username=username, password=password, protocol=protocol,
                                   socket_timeout=socket_timeout, connect_timeout=connect_timeout)

    @classmethod
    def from_url(cls, url, **settings):
        """redis://[[user]:password@]host[:port][/db]; keyword settings override the URL's."""
        parts = urlsplit(url)
        if parts.scheme != "redis":
            raise ValueError("only redis:// URLs are supported, not %r" % url)
        from_url = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 6379,
                    "db": int(parts.path.strip("/") or 0),
                    "username": unquote(parts.username) if parts.username else None,
                    "password": unquote(parts.password) if parts.password is not None else None}
        return cls(**{**from_url, **settings})

    @property
    def socket_timeout(self):
        """Seconds a command may wait for its reply; a change applies to connections opened later."""
        return self.pool.settings["socket_timeout"]

    @socket_timeout.setter
    def socket_timeout(self, seconds):
        self.pool.settings["socket_timeout"] = seconds

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.pool.disconnect()

    def execute(self, *args):
        """Send any command and return its reply; an error reply raises CommandError."""
        return self._command(args, None)

    def pipeline(self, transaction=True):
        """A Pipeline: commands buffered until execute(), inside MULTI/EXEC when transaction."""
        from client_pipeline import Pipeline
        return Pipeline(self, transaction)

    def transaction(self, func, *watched_keys, retries=None, value_from_callable=False):
        """Run func(pipe) under WATCH watched_keys until EXEC succeeds, as redis-py does.

        func reads through the pipe (commands run at once while watching), calls
        pipe.multi(), then queues its writes. A WatchError starts over, at most
        `retries` more times (None: until it succeeds). Returns EXEC's results,
        or func's return value with value_from_callable.
        """
        attempts_left = retries
        with self.pipeline(True) as pipe:
            while True:
                try:
                    if watched_keys:
                        pipe.watch(*watched_keys)
                    value = func(pipe)
                    results = pipe.execute()
                    return value if value_from_callable else results
                except WatchError:
                    if attempts_left is not None:
                        if attempts_left <= 0:
                            raise
                        attempts_left -= 1
                    pipe.reset()

    def pubsub(self, ignore_subscribe_messages=False):
        """A PubSub on its own connection (a subscribed connection takes no other commands)."""
        from client_pubsub import PubSub
        return PubSub(self.pool.new_connection(), self.decode_responses, ignore_subscribe_messages)

    def _command(self, argv, transform):
        reply = self._call(argv)
        if transform is not None:
            reply = transform(reply)
        return decode(reply) if self.decode_responses else reply

    def _call(self, argv):
        """Run one command, retrying once on a fresh connection if a reused one was dropped.

        Servers close idle connections; that shows up as a reset on send or an
        EOF on read only when we next use the socket. Only a command that is
        safe to repeat is resent (client_commands.safe_to_repeat), since the
        server may have run it before the connection died. A connection opened
        for this very command is not retried: its failure is not a stale socket.
        """
        request = encode_command(argv)
        connection = self.pool.get()
        try:
            reused = connection.is_open
            try:
                reply = connection.round_trip(request)
            except ConnectionError:
                if not (reused and safe_to_repeat(argv)):
                    raise
                reply = connection.round_trip(request)
        finally:
            self.pool.release(connection)
        if isinstance(reply, Error):
            raise CommandError(reply.message)
        return reply


def decode(reply):
    """bytes to str, inside lists, sets and maps too; other values pass through."""
    if isinstance(reply, bytes):
        return reply.decode()
    if isinstance(reply, (list, set)):
        return type(reply)(decode(item) for item in reply)
    if isinstance(reply, dict):
        return {decode(key): decode(value) for key, value in reply.items()}
    return reply


if __name__ == "__main__":
    from cli import main
    sys.exit(main())
