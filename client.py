"""A small blocking Redis client: one connection, one command at a time.

It uses the plain ``socket`` module, looked up at call time, so after gevent's
``monkey.patch_all()`` the same code waits cooperatively instead of blocking
the process.
"""
import socket
from collections.abc import Mapping

from protocol import Error, ReplyReader, encode_command

RECV_SIZE = 64 * 1024


class CommandError(Exception):
    """An error reply; str() is the server's text, e.g. "ERR syntax error"."""


class Client:
    """Talks to a server at host:port, connecting on the first command.

    With decode_responses, bulk and simple strings come back as UTF-8 str
    instead of bytes. close() (or leaving a ``with`` block) drops the
    connection; a later command opens a new one.
    """

    def __init__(self, host="127.0.0.1", port=4000, *, decode_responses=False,
                 socket_timeout=None, connect_timeout=None):
        self.host = host
        self.port = port
        self.decode_responses = decode_responses
        self.socket_timeout = socket_timeout
        self.connect_timeout = connect_timeout
        self._sock = None
        self._reader = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = self._reader = None

    def execute(self, *args):
        """Send any command and return its reply; an error reply raises CommandError."""
        reply = self._call(args)
        return _decode(reply) if self.decode_responses else reply

    def get(self, key):
        return self.execute("GET", key)

    def set(self, key, value):
        return self._call(("SET", key, value)) == b"OK"

    def delete(self, *keys):
        """DEL key [key ...]: how many of the keys existed."""
        return self.execute("DEL", *keys)

    def flush(self):
        """FLUSH (mini-redis only): empty the current database and return how many keys it held."""
        return self.execute("FLUSH")

    def mget(self, *keys):
        return self.execute("MGET", *keys)

    def mset(self, *pairs):
        """MSET from a dict, mset({"a": 1}), or from alternating keys and values, mset("a", 1)."""
        if len(pairs) == 1 and isinstance(pairs[0], Mapping):
            pairs = [item for pair in pairs[0].items() for item in pair]
        return self._call(("MSET", *pairs)) == b"OK"

    def _call(self, args):
        """Run one command, retrying once on a fresh connection if the old one was dropped.

        Servers close idle connections; that shows up as a reset on send or an
        EOF on read only when we next use the socket. A connection opened for
        this very command is not retried: its failure is not a stale socket.
        """
        request = encode_command(args)
        reused = self._sock is not None
        try:
            reply = self._round_trip(request)
        except ConnectionError:
            if not reused:
                raise
            reply = self._round_trip(request)
        if isinstance(reply, Error):
            raise CommandError(reply.message)
        return reply

    def _round_trip(self, request):
        # A failure half way (timeout, reset, garbage, even KeyboardInterrupt) leaves an
        # unread reply on the wire that the next command would take for its own, so
        # the connection is dropped whatever the exception.
        try:
            if self._sock is None:
                self._connect()
            self._sock.sendall(request)
            return self._read_reply()
        except BaseException:
            self.close()
            raise

    def _connect(self):
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.settimeout(self.socket_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._reader = sock, ReplyReader()

    def _read_reply(self):
        while True:
            for reply in self._reader.frames():
                return reply
            data = self._sock.recv(RECV_SIZE)
            if not data:
                raise ConnectionError("server closed the connection")
            self._reader.feed(data)


def _decode(reply):
    """bytes to str, inside lists, sets and maps too; other values pass through."""
    if isinstance(reply, bytes):
        return reply.decode()
    if isinstance(reply, (list, set)):
        return type(reply)(_decode(item) for item in reply)
    if isinstance(reply, dict):
        return {_decode(key): _decode(value) for key, value in reply.items()}
    return reply
