"""Pub/Sub: who listens to which channel, pattern or shard channel, and delivery of published messages.

Delivery never waits for a subscriber: a message is encoded once per
protocol version and handed to each subscriber's Session.deliver(), which
only queues it for that client's connection (server.py bounds the queue).
"""
from storage import patterns


class PubSub:
    """The channel and pattern subscriptions of one server."""

    def __init__(self):
        self.channels = {}  # channel -> {session id: session}, in subscription order
        self.patterns = {}  # pattern -> {session id: session}
        self.shard_channels = {}  # shard channel -> {session id: session}: SSUBSCRIBE's, apart from the others
        self._matchers = {}  # pattern -> compiled glob

    def subscribe(self, session, channel):
        """True if this is a new subscription for the session."""
        return _add(self.channels, channel, session)

    def unsubscribe(self, session, channel):
        return _discard(self.channels, channel, session)

    def psubscribe(self, session, pattern):
        if pattern not in self.patterns:
            self._matchers[pattern] = patterns.compile_pattern(pattern)
        return _add(self.patterns, pattern, session)

    def punsubscribe(self, session, pattern):
        removed = _discard(self.patterns, pattern, session)
        if pattern not in self.patterns:
            self._matchers.pop(pattern, None)
        return removed

    def ssubscribe(self, session, channel):
        return _add(self.shard_channels, channel, session)

    def sunsubscribe(self, session, channel):
        return _discard(self.shard_channels, channel, session)

    def spublish(self, channel, message):
        """SPUBLISH: to the shard channel's subscribers only (patterns never match one); how many got it."""
        encoded = _Encoded()
        subscribers = self.shard_channels.get(channel, {})
        for session in subscribers.values():
            session.deliver(encoded.get(session.protocol, (b"smessage", channel, message)))
        return len(subscribers)

    def publish(self, channel, message):
        """Send to every subscriber of the channel and of every matching pattern; how many got it."""
        receivers = 0
        encoded = _Encoded()
        for session in self.channels.get(channel, {}).values():
            session.deliver(encoded.get(session.protocol, (b"message", channel, message)))
            receivers += 1
        for pattern, sessions in self.patterns.items():
            if self._matchers[pattern](channel):
                for session in sessions.values():
                    session.deliver(encoded.get(session.protocol, (b"pmessage", pattern, channel, message)))
                    receivers += 1
        return receivers

    def channels_matching(self, pattern=None, shard=False):
        """PUBSUB CHANNELS, or SHARDCHANNELS: the channels with subscribers, those matching pattern if given."""
        table = self.shard_channels if shard else self.channels
        if pattern is None:
            return list(table)
        matcher = patterns.compile_pattern(pattern)
        return [channel for channel in table if matcher(channel)]

    def subscriber_count(self, channel, shard=False):
        return len((self.shard_channels if shard else self.channels).get(channel, ()))


class _Encoded:
    """A publish's frames, encoded once per protocol version and kind of message."""

    def __init__(self):
        self._cache = {}

    def get(self, protocol, items):
        """The push of these bulk strings (kind, pattern or channel, ..., message): written here rather than
        by a ReplyWriter, which costs more to make than the message (a keyspace event publishes two)."""
        key = (protocol, items[0], items[1])
        data = self._cache.get(key)
        if data is None:
            data = self._cache[key] = b"".join([b"%b%d\r\n" % (b">" if protocol == 3 else b"*", len(items)),
                                                *(b"$%d\r\n%b\r\n" % (len(item), item) for item in items)])
        return data


def _add(table, name, session):
    subscribers = table.setdefault(name, {})
    if session.id in subscribers:
        return False
    subscribers[session.id] = session
    return True


def _discard(table, name, session):
    subscribers = table.get(name)
    if not subscribers or subscribers.pop(session.id, None) is None:
        return False
    if not subscribers:
        del table[name]
    return True
