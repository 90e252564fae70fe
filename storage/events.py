"""Keyspace events: Redis's NOTIFY_* classes (server.h), the bits notify-keyspace-events' letters select.

A change to a key is announced with Database.notify(class, event name, key), where Redis calls
notifyKeyspaceEvent; the server decides what to publish (and whom to invalidate) for it.
"""
MODIFIED = 0  # no class: a change nobody is notified of (Redis's signalModifiedKey alone), which tracking hears
KEYSPACE = 1  # K: publish on __keyspace@<db>__:<key>
KEYEVENT = 2  # E: publish on __keyevent@<db>__:<event>
GENERIC = 4  # g: del, expire, rename_from, ...
STRING = 8  # $
LIST = 16  # l
SET = 32  # s
HASH = 64  # h
ZSET = 128  # z
EXPIRED = 256  # x
EVICTED = 512  # e
STREAM = 1024  # t
KEY_MISS = 2048  # m: a read found no key (not part of A)
MODULE = 4096  # d
NEW = 8192  # n: a key was created (not part of A)
UNCHANGED = 1 << 16  # with a class: an event that is no change for clients' caches (Redis calls no signalModifiedKey)
ALL = GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE  # A
