"""Cursors for SCAN, HSCAN, SSCAN and ZSCAN over Python collections, which have no buckets to walk.

Redis promises that a full iteration returns every element present from its
start to its end at least once, while elements come and go, across any
number of connections. Redis walks hash-table buckets in reverse-binary
order to keep that promise; a dict has no buckets, and resuming an iteration
of it at position n costs O(n). So the first call (cursor 0) takes a
snapshot of the collection's members (list(collection): O(n) once, at C
speed), and each later call goes on through the snapshot from where the
cursor says, skipping members that have gone since: O(COUNT) per call.

A cursor is a decimal unsigned 64-bit integer: a random token naming the
snapshot in the high bits, the position in the low 40. Snapshots live in a
small table with least-recently-used eviction, bounded in number and in
total members, and dropped when their iteration ends. A cursor the table
does not know (evicted, from before a restart, or made up) ends the
iteration cleanly: cursor 0, no elements, no error, as Redis accepts any
cursor. A client that abandons many iterations half way can thus end
another's early; the bounds are generous so that this takes real abuse.
"""
import random
from collections import OrderedDict

POSITION_BITS = 40
POSITION_MASK = (1 << POSITION_BITS) - 1
TOKEN_LIMIT = 1 << (64 - POSITION_BITS)
MAX_SNAPSHOTS = 64
MAX_SNAPSHOT_MEMBERS = 8 * 1024 * 1024  # references (8 bytes each) held by all snapshots of one table
MAX_EXAMINED_PER_WANTED = 10  # Redis's dictScan gives up after COUNT*10 empty buckets


class Snapshot:
    """The members of one collection at the start of an iteration, and what they were taken from."""

    __slots__ = ("owner", "members")

    def __init__(self, owner, members):
        self.owner = owner
        self.members = members


class CursorTable:
    """The live iterations over one database's collections (the key space itself, or one key's value).

    `owner` ties a snapshot to what it was taken from, compared by identity:
    SCAN passes the Database, HSCAN/SSCAN/ZSCAN the container value, so a
    cursor presented for another key, or for a key whose value was replaced,
    ends the iteration instead of wandering through the wrong members.
    """

    def __init__(self, max_snapshots=MAX_SNAPSHOTS, max_members=MAX_SNAPSHOT_MEMBERS):
        self.max_snapshots = max_snapshots
        self.max_members = max_members
        self._snapshots = OrderedDict()  # token -> Snapshot, least recently used first
        self._members = 0

    def __len__(self):
        return len(self._snapshots)

    def scan(self, cursor, owner, collection, count, alive=None):
        """One step of an iteration: (next cursor, members), next cursor 0 at the end.

        cursor is the client's (an int), collection what owner holds now (a
        dict, set or anything list() takes). Up to `count` members are
        returned, each still present by alive(member) when alive is given;
        at most count*10 are examined, so a snapshot thinned out by
        deletions cannot make one call slow. Filtering by pattern or type is
        the caller's, after this, as in Redis.
        """
        if cursor == 0:
            if len(collection) <= count:
                return 0, _living(list(collection), alive)
            token, snapshot, position = *self._start(owner, list(collection)), 0
        else:
            token, position = cursor >> POSITION_BITS, cursor & POSITION_MASK
            snapshot = self._resume(token, position, owner)
            if snapshot is None:
                return 0, []
        members, position = self._advance(snapshot.members, position, count, alive)
        if position >= len(snapshot.members):
            self._drop(token)
            return 0, members
        return (token << POSITION_BITS) | position, members

    def _advance(self, snapshot, position, count, alive):
        end = len(snapshot)
        if alive is None:
            stop = min(end, position + count)
            return snapshot[position:stop], stop
        members, budget = [], count * MAX_EXAMINED_PER_WANTED
        while position < end and len(members) < count and budget:
            member = snapshot[position]
            position += 1
            budget -= 1
            if alive(member):
                members.append(member)
        return members, position

    def _start(self, owner, members):
        token = random.randrange(1, TOKEN_LIMIT)
        while token in self._snapshots:
            token = random.randrange(1, TOKEN_LIMIT)
        snapshot = Snapshot(owner, members)
        self._snapshots[token] = snapshot
        self._members += len(members)
        while len(self._snapshots) > 1 and (len(self._snapshots) > self.max_snapshots
                                            or self._members > self.max_members):
            self._drop(next(iter(self._snapshots)))
        return token, snapshot

    def _resume(self, token, position, owner):
        """The snapshot a cursor names, if it is live and was taken from owner."""
        snapshot = self._snapshots.get(token)
        if snapshot is None or snapshot.owner is not owner or position > len(snapshot.members):
            return None
        self._snapshots.move_to_end(token)
        return snapshot

    def _drop(self, token):
        snapshot = self._snapshots.pop(token, None)
        if snapshot is not None:
            self._members -= len(snapshot.members)

    def clear(self):
        self._snapshots.clear()
        self._members = 0


def _living(members, alive):
    return members if alive is None else [member for member in members if alive(member)]


def parse_cursor(raw):
    """A cursor argument as Redis's strtoul reads it, or None when Redis says 'invalid cursor'.

    Like strtoul: an optional sign ('-' negates modulo 2**64), decimal digits,
    nothing after them; the empty string is cursor 0; a leading space is refused.
    """
    raw = raw.split(b"\0", 1)[0]  # Redis hands strtoul the argument as a C string
    sign, digits = (raw[:1], raw[1:]) if raw[:1] in (b"+", b"-") else (b"", raw)
    if digits and not digits.isdigit():
        return None
    if not digits:
        # strtoul consumed nothing: the cursor is 0 only if nothing was there to consume.
        return 0 if not raw else None
    value = int(digits)
    if value >= 1 << 64:
        return None
    return (-value) % (1 << 64) if sign == b"-" else value
