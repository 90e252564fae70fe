"""A connection to a server and a pool of them: the socket, the handshake, reading replies back.

Sockets come from the plain ``socket`` module, looked up at call time, so after
gevent's ``monkey.patch_all()`` the same code waits cooperatively instead of
blocking the process, and the pool's lock becomes a greenlet lock.
"""
import socket
import threading
import time

from clientlib.commands import Status
from protocol import Error, ReplyReader, encode_command

RECV_SIZE = 64 * 1024
_NO_TIMEOUT_CHANGE = object()


class CommandError(Exception):
    """An error reply; str() is the server's text, e.g. "ERR syntax error"."""


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
