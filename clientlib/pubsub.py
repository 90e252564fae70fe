"""Pub/Sub for client.Client: subscriptions on a connection of their own, messages as dicts.

A subscribed connection only takes (P)SUBSCRIBE, (P)UNSUBSCRIBE and PING, and
the server writes to it whenever someone publishes, so PubSub owns one outside
the pool. Messages look like redis-py's::

    {"type": "message", "pattern": None, "channel": b"news", "data": b"hello"}
    {"type": "pmessage", "pattern": b"n*", "channel": b"news", "data": b"hello"}
    {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}

In RESP2 they arrive as arrays, in RESP3 as push frames (protocol.Push); both
read the same. A handler given as subscribe(news=callable) receives its
channel's messages instead of get_message().
"""
import threading

from clientlib.commands import decode
from clientlib.connection import CommandError
from protocol import Error, encode_command

MESSAGE_KINDS = frozenset((b"message", b"pmessage", b"subscribe", b"unsubscribe",
                           b"psubscribe", b"punsubscribe", b"pong"))
SUBSCRIBE_KINDS = frozenset(("subscribe", "unsubscribe", "psubscribe", "punsubscribe"))


def _name(channel):
    return channel.encode() if isinstance(channel, str) else bytes(channel)


class PubSub:
    """Subscriptions and the messages they bring, read with get_message() or listen()."""

    def __init__(self, connection, decode_responses=False, ignore_subscribe_messages=False):
        self.connection = connection
        self.decode_responses = decode_responses
        self.ignore_subscribe_messages = ignore_subscribe_messages
        self.channels = {}  # name (bytes) -> handler or None
        self.patterns = {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.connection.close()
        self.channels, self.patterns = {}, {}

    @property
    def subscribed(self):
        return bool(self.channels or self.patterns)

    def subscribe(self, *channels, **handlers):
        """SUBSCRIBE channel [channel ...]; keyword channels get a handler(message) each."""
        self._subscribe("SUBSCRIBE", self.channels, channels, handlers)

    def psubscribe(self, *patterns, **handlers):
        """PSUBSCRIBE pattern [pattern ...]; keyword patterns get a handler(message) each."""
        self._subscribe("PSUBSCRIBE", self.patterns, patterns, handlers)

    def unsubscribe(self, *channels):
        """UNSUBSCRIBE [channel ...]: none means all of them."""
        self._unsubscribe("UNSUBSCRIBE", self.channels, channels)

    def punsubscribe(self, *patterns):
        """PUNSUBSCRIBE [pattern ...]: none means all of them."""
        self._unsubscribe("PUNSUBSCRIBE", self.patterns, patterns)

    def ping(self, message=None):
        """PING [message]: answered in the message stream, as {"type": "pong", ...}."""
        self.connection.send(encode_command(("PING",) if message is None else ("PING", message)))

    def _subscribe(self, command, table, names, handlers):
        wanted = {_name(name): None for name in names}
        wanted.update({_name(name): handler for name, handler in handlers.items()})
        if wanted:
            table.update(wanted)
            self.connection.send(encode_command((command, *wanted)))

    def _unsubscribe(self, command, table, names):
        for name in names or list(table):
            table.pop(_name(name), None)
        if self.connection.is_open:
            self.connection.send(encode_command((command, *names)))

    def get_message(self, timeout=0.0, ignore_subscribe_messages=None):
        """The next message as a dict, or None if none came within timeout seconds (None: wait).

        Also None for a message its handler took, and (when ignored) for
        subscribe confirmations.
        """
        if not self.connection.is_open:
            return None
        reply = self.connection.read_reply(timeout)
        if reply is None:
            return None
        if isinstance(reply, Error):
            raise CommandError(reply.message)
        message = self._message(reply)
        if message is None:
            return None
        if ignore_subscribe_messages is None:
            ignore_subscribe_messages = self.ignore_subscribe_messages
        if message["type"] in SUBSCRIBE_KINDS and ignore_subscribe_messages:
            return None
        handler = self._handler(message)
        if handler is not None:
            handler(message)
            return None
        return message

    def _message(self, reply):
        """An array or push frame as a message dict; anything else (a stray reply) as None."""
        if not isinstance(reply, list) or not reply or bytes(reply[0]).lower() not in MESSAGE_KINDS:
            return None
        kind = bytes(reply[0]).lower().decode()
        if kind == "pmessage":
            pattern, channel, data = reply[1:4]
        elif kind == "pong":
            pattern, channel, data = None, None, reply[1] if len(reply) > 1 else b""
        else:
            pattern, (channel, data) = None, reply[1:3]
        if self.decode_responses:
            pattern, channel, data = decode(pattern), decode(channel), decode(data)
        return {"type": kind, "pattern": pattern, "channel": channel, "data": data}

    def _handler(self, message):
        if message["type"] == "message":
            return self.channels.get(_name(message["channel"]))
        if message["type"] == "pmessage":
            return self.patterns.get(_name(message["pattern"]))
        return None

    def listen(self):
        """Yield messages as they come (handlers take theirs), until nothing is subscribed."""
        while self.connection.is_open:
            message = self.get_message(timeout=None)
            if message is not None:
                yield message
            if not self.subscribed and message is not None and message["type"] in SUBSCRIBE_KINDS \
                    and message["data"] == 0:
                return

    def run_in_thread(self, sleep_time=0.1, daemon=True):
        """Run every message through its handler on a background thread; stop() ends it.

        Every subscription needs a handler, since nobody else reads the
        messages. Under gevent's monkey patching threading.Thread starts a
        greenlet, so the same code runs as a greenlet there. sleep_time bounds
        how long the worker waits for a message before it checks for stop().
        """
        missing = [name for table in (self.channels, self.patterns)
                   for name, handler in table.items() if handler is None]
        if missing:
            raise ValueError("no handler for %s" % b", ".join(missing).decode(errors="replace"))
        worker = PubSubWorker(self, sleep_time, daemon)
        worker.start()
        return worker


class PubSubWorker(threading.Thread):
    """The background reader of run_in_thread(): get_message() in a loop until stop()."""

    def __init__(self, pubsub, sleep_time, daemon=True):
        super().__init__(daemon=daemon)
        self.pubsub = pubsub
        self.sleep_time = sleep_time
        self._stopping = threading.Event()

    def run(self):
        while not self._stopping.is_set() and self.pubsub.connection.is_open:
            try:
                self.pubsub.get_message(timeout=self.sleep_time, ignore_subscribe_messages=True)
            except (ConnectionError, OSError):
                if not self._stopping.is_set():
                    raise

    def stop(self):
        """End the loop, wait for it, and close the subscriptions' connection."""
        self._stopping.set()
        if threading.current_thread() is not self:
            self.join()
        self.pubsub.close()
