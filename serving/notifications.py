"""Keyspace notifications: what happens to keys, published as Redis's notifyKeyspaceEvent publishes it.

Commands, expiry and eviction announce each change with Database.notify(class, event, key)
(storage/events.py lists the classes). The keyspace calls the server's listener only while someone
listens, notify-keyspace-events selects a class or a client tracks keys, so with both off a change
costs one attribute test. A selected event goes out on __keyspace@<db>__:<key> (the event as message)
and on __keyevent@<db>__:<event> (the key), as an ordinary PUBLISH would send it; every event but a
key miss, and those marked UNCHANGED (a consumer group's, which Redis announces without calling
signalModifiedKey), also invalidates the key for the clients that track it (serving/tracking.py),
as Redis's signalModifiedKey goes with its notifications.
"""
from storage.events import KEY_MISS, KEYEVENT, KEYSPACE, UNCHANGED


class Notifications:
    """One server's listener: its pub/sub registry, its tracking table, and the classes selected."""

    def __init__(self, pubsub, tracking, databases=()):
        self.pubsub = pubsub
        self.databases = databases  # the keyspace's, for the modules' callbacks
        self.tracking = tracking
        self.flags = 0  # notify-keyspace-events, as serving/values.py parses it
        self.subscribers = []  # modules' callbacks (modules/loader.py's Subscription), called first, whatever flags says

    def listening(self):
        """Whether the keyspace must call emit() at all."""
        return bool(self.flags) or self.tracking.active() or bool(self.subscribers)

    def emit(self, index, kind, event, key):
        if self.subscribers:  # as moduleNotifyKeyspaceEvent, before the publishing
            for subscriber in list(self.subscribers):
                subscriber(self.databases[index], kind, event, key)
        flags = self.flags
        if flags & kind:
            if flags & KEYSPACE:
                self.pubsub.publish(b"__keyspace@%d__:%b" % (index, key), event)
            if flags & KEYEVENT:
                self.pubsub.publish(b"__keyevent@%d__:%b" % (index, event), key)
        if kind != KEY_MISS and not kind & UNCHANGED and (self.tracking.clients or self.tracking.table):
            self.tracking.invalidate(key)
