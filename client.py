"""A small Redis client: a connection pool, named commands, pipelines, transactions, pub/sub.

    client = Client.from_url("redis://:secret@127.0.0.1:4000/2")
    client.set("name", "Robbin Hood")            # True
    client.hgetall("user:1")                     # a dict, in RESP2 and RESP3 alike
    client.execute("OBJECT", "ENCODING", "k")    # any command, raw reply

This is the entry users import; the rest of the library is the clientlib package.
Named methods come from the table in clientlib/commands.py (``help(Client.zadd)``
shows the wire form); connections and the pool live in clientlib/connection.py,
pipelines and WATCH in clientlib/pipeline.py, pub/sub in clientlib/pubsub.py,
the redis-cli-like prompt (``python client.py``) in clientlib/cli.py.
"""
import sys
from urllib.parse import unquote, urlsplit

from clientlib import commands as client_commands
from clientlib.commands import decode, safe_to_repeat
from clientlib.connection import CommandError, ConnectionPool, PoolTimeout
from clientlib.pipeline import Pipeline, WatchError
from clientlib.pubsub import PubSub
from protocol import Error, encode_command

__all__ = ["Client", "CommandError", "PoolTimeout", "WatchError"]


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


if __name__ == "__main__":
    from clientlib.cli import main  # the prompt: only `python client.py` needs it
    sys.exit(main())
