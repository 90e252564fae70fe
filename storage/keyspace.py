"""The databases: what the keys hold and when they expire, kept apart from any protocol.

A value's Python type is its Redis type: bytes or bytearray for a string
(bytearray once APPEND or SETRANGE changed it in place, which Redis calls
the "raw" encoding), and for an aggregate one of this package's value types:
List, Hash, RedisSet, ZSet.

Expiry is lazy and active, as in Redis: every lookup drops a key whose time
has passed, and Keyspace.expire_cycle(), run hz times a second, samples
keys that carry a TTL and deletes the expired ones, so keys nobody reads
are reclaimed too.
"""
import random
import sys
import time
from itertools import islice

from errors import WRONGTYPE, ReplyError
from storage.blocking import Blocking
from storage.cursors import CursorTable
from storage.eviction import Memory, charge, discharge
from storage.events import EXPIRED, GENERIC, KEY_MISS, NEW
from storage.module_values import ModuleTypes, ModuleValue

STRING = (bytes, bytearray)

# Redis's ACTIVE_EXPIRE_CYCLE_* defaults, which active-expire-effort (1 to 10) raises as expire.c does.
ACTIVE_EXPIRE_KEYS_PER_LOOP = 20
ACTIVE_EXPIRE_ACCEPTABLE_STALE = 10  # percent: keep sampling a database while more than this was expired
ACTIVE_EXPIRE_SLOW_TIME_PERC = 25  # percent of the cron's period a cycle may take


class FloatString(bytes):
    """An INCRBYFLOAT result: Redis stores it as a plain string even when it reads as an integer."""

    __slots__ = ()

    def encoding(self):
        return "embstr" if len(self) <= 44 else "raw"


def wall_clock_ms():
    """The one clock expiry reads: Unix time in milliseconds, as Redis's mstime()."""
    return time.time_ns() // 1_000_000


def type_name(value):
    """Redis's TYPE name for a stored value: strings by their Python type, aggregates by their redis_type."""
    name = TYPE_NAMES.get(type(value))
    return name if name is not None else value.redis_type


TYPE_NAMES = {bytes: "string", bytearray: "string", FloatString: "string"}


class ExpiryTable:
    """Deadlines (Unix ms) of the keys that have one, with O(1) random sampling.

    A plain dict cannot pick a random key without a full scan, so keys also
    sit in a list; a removed key's slot takes the list's last key.
    """

    __slots__ = ("deadlines", "_keys", "_slots")

    def __init__(self):
        self.deadlines = {}
        self._keys = []
        self._slots = {}

    def __len__(self):
        return len(self.deadlines)

    def __contains__(self, key):
        return key in self.deadlines

    def get(self, key):
        return self.deadlines.get(key)

    def set(self, key, deadline):
        if key not in self.deadlines:
            self._slots[key] = len(self._keys)
            self._keys.append(key)
        self.deadlines[key] = deadline

    def discard(self, key):
        """Forget the key's deadline; True if it had one."""
        if self.deadlines.pop(key, None) is None:
            return False
        slot = self._slots.pop(key)
        last = self._keys.pop()
        if slot < len(self._keys):
            self._keys[slot] = last
            self._slots[last] = slot
        return True

    def sample(self, count):
        keys = self._keys
        return [keys[random.randrange(len(keys))] for _ in range(min(count, len(keys)))]

    def sample_distinct(self, count):
        """Up to count different keys, at random (eviction's candidates)."""
        keys = self._keys
        if count >= len(keys):
            return list(keys)
        size, draw = len(keys), random.random
        return list({keys[int(draw() * size)] for _ in range(count)})

    def table_sizes(self):
        """Bytes of its dicts and list as allocated (sys.getsizeof), for maxmemory's estimate."""
        return sys.getsizeof(self.deadlines) + sys.getsizeof(self._slots) + sys.getsizeof(self._keys)

    def average_ttl(self, now):
        if not self.deadlines:
            return 0
        sample = self.sample(64)
        return max(0, sum(self.deadlines[key] - now for key in sample) // len(sample))


class Database:
    """One numbered database: keys to values, and keys to deadlines."""

    __slots__ = ("keyspace", "index", "data", "expires", "accessed", "tracking", "estimate", "sizes", "cursors",
                 "_peak", "events", "stream_waiters")

    def __init__(self, keyspace, index):
        self.keyspace = keyspace
        self.index = index
        self.data = {}
        self.expires = ExpiryTable()
        self.accessed = {}  # key -> keyspace.access_clock at its last read or write (OBJECT IDLETIME)
        # While maxmemory is set (storage/eviction.py): the keys' estimated bytes, and each mutable value's last estimate.
        self.tracking = False
        self.estimate = 0
        self.sizes = {}
        self.cursors = CursorTable()  # SCAN/HSCAN/SSCAN/ZSCAN iterations over this database
        self._peak = 0  # the most keys held since the dict was last compacted
        self.events = keyspace.events  # None, or what notify() calls: see Keyspace.listen()
        self.stream_waiters = 0  # XREADGROUPs blocked here: a stream deleted or overwritten must wake them

    def __len__(self):
        return len(self.data)

    # -- reading

    def _expire_if_due(self, key):
        """Delete the key if its deadline passed; True if it did, or would but for a CLIENT PAUSE (then
        the key reads as missing and stays until the pause ends, as Redis's expireIfNeeded keeps it)."""
        deadline = self.expires.get(key)
        if deadline is None or deadline > self.keyspace.clock():
            return False
        if not self.keyspace.paused:
            self.delete_expired(key)
        return True

    def delete_expired(self, key):
        """Expiry's delete: counted in INFO, logged as a DEL, and a change that breaks a WATCH like any other."""
        self.remove(key)
        self.notify(EXPIRED, b"expired", key)
        self.keyspace.expired_keys += 1
        if self.keyspace.propagator is not None:
            self.keyspace.propagator.feed(self.index, [b"DEL", key])
        if self.keyspace.watched:
            self.keyspace.touch(self.index, key)

    def lookup(self, key, touch=True):
        """The key's value, or None if it is missing or expired; touch=False leaves its idle time alone."""
        if self.expires.deadlines and self._expire_if_due(key):
            return None
        value = self.data.get(key)
        if touch and value is not None:
            self.accessed[key] = self.keyspace.access_clock
        return value

    def lookup_read(self, key, touch=True):
        """lookup() for a read command: counts keyspace hits and misses as INFO shows them."""
        value = self.lookup(key, touch)
        if value is None:
            self.keyspace.misses += 1
            if self.events is not None:
                self.notify(KEY_MISS, b"keymiss", key)
        else:
            self.keyspace.hits += 1
        return value

    def get_typed(self, key, kind, read=True):
        """The key's value if it is of the kind (a type or tuple of types), None if missing; else WRONGTYPE."""
        value = self.lookup_read(key) if read else self.lookup(key)
        if value is not None and not isinstance(value, kind):
            raise ReplyError(WRONGTYPE)
        return value

    def get(self, key):
        return self.lookup_read(key)

    def exists(self, key):
        return self.lookup(key) is not None

    def touched_at(self, key):
        """Unix ms of the key's last access (to the access clock's tenth of a second), or None."""
        return self.accessed.get(key)

    def ttl_ms(self, key):
        """Milliseconds left, -1 without a deadline, -2 if the key is missing (TTL/PTTL's answers)."""
        if self.lookup(key) is None:
            return -2
        deadline = self.expires.get(key)
        return -1 if deadline is None else max(0, deadline - self.keyspace.clock())

    def keys(self):
        """A snapshot of the live keys (expired ones are dropped on the way)."""
        if self.expires.deadlines:
            now = self.keyspace.clock()
            deadlines = self.expires.deadlines
            expired = [k for k, deadline in deadlines.items() if deadline <= now]
            if self.keyspace.paused or self.keyspace.replica:  # kept (see _expire_if_due): left out, not deleted
                expired = set(expired)
                return [key for key in self.data if key not in expired]
            for key in expired:
                self.delete_expired(key)
        return list(self.data)

    def random_key(self):
        """A random live key or None, as RANDOMKEY: expired picks are deleted and another is tried."""
        tries = 100  # under a CLIENT PAUSE expired keys stay: give up looking for a live one
        while self.data:
            # A dict has no random access: skip a random distance into it (C speed, no copy).
            key = next(islice(self.data, random.randrange(len(self.data)), None))
            if not self._expire_if_due(key):
                return key
            tries -= 1
            if not tries and (self.keyspace.paused or self.keyspace.replica):
                return None
        return None

    # -- writing

    def notify(self, kind, event, key):
        """Redis's notifyKeyspaceEvent: a command (or expiry, eviction) did event to key, an event of class
        kind (GENERIC, STRING_EVENTS... NEW). What listens publishes it on the __keyspace@db__ and
        __keyevent@db__ channels if notify-keyspace-events selects the class, and invalidates the key for
        clients that track it (a key's every change has its event, as signalModifiedKey goes with
        Redis's notifications). While nothing listens this is a single attribute test."""
        if self.events is not None:
            self.events(self.index, kind, event, key)

    def set(self, key, value, keep_ttl=False):
        """Store a value; like Redis's SET, it drops any deadline unless keep_ttl. A key it creates
        gets the "new" event, as Redis's dbAdd gives it."""
        if self.events is not None:
            if self.expires.deadlines and key in self.data:
                self._expire_if_due(key)  # expired first, as Redis's setKey looks the key up
            if key not in self.data:
                self.notify(NEW, b"new", key)
        if not keep_ttl and self.expires.deadlines:
            self.expires.discard(key)
        if self.tracking:
            charge(self, key, value)
        if self.stream_waiters:
            self.signal_ready(key)
        self.data[key] = value
        self.accessed[key] = self.keyspace.access_clock
        if len(self.data) > self._peak:
            self._peak = len(self.data)

    def replace(self, key, value):
        """Change a key's value in place (INCR, APPEND...): its deadline stays."""
        if self.tracking:
            charge(self, key, value)
        self.data[key] = value
        self.accessed[key] = self.keyspace.access_clock

    def remove(self, key):
        """Delete without looking at the deadline; True if the key was there."""
        value = self.data.pop(key, None)
        if value is None:
            return False
        if self.stream_waiters:
            self.signal_ready(key)  # Redis's signalDeletedKeyAsReady: a blocked XREADGROUP answers UNBLOCKED
        self.accessed.pop(key, None)
        if self.expires.deadlines:
            self.expires.discard(key)
        if self.tracking:
            discharge(self, key, value)
        return True

    def delete(self, key):
        """DEL's delete: an expired key counts as missing."""
        if self.lookup(key) is None:
            return False
        return self.remove(key)

    def remove_if_empty(self, key, value):
        """Redis deletes an aggregate (list, hash, set, zset) the moment it holds nothing, with a "del"
        event after the command's own."""
        if not value:
            self.remove(key)
            self.notify(GENERIC, b"del", key)

    def signal_ready(self, key):
        """A push or add made key able to feed a blocked client (BLPOP, BZPOPMIN...)."""
        self.keyspace.blocking.signal(self.index, key)

    def set_deadline(self, key, deadline):
        self.expires.set(key, deadline)

    def persist(self, key):
        return self.expires.discard(key)

    def flush(self):
        """Empty the database; return how many keys it held."""
        self.keyspace.touch_existing(self)
        count = len(self.data)
        self.data = {}
        self.expires = ExpiryTable()
        self.accessed = self.keyspace.memory.access_table()
        self.estimate = 0
        self.sizes = {}
        self.cursors.clear()
        self._peak = 0
        return count

    def swap_contents(self, other):
        self.keyspace.touch_existing(self, other)
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self.accessed, other.accessed = other.accessed, self.accessed
        self.sizes, other.sizes = other.sizes, self.sizes
        self.estimate, other.estimate = other.estimate, self.estimate
        self._peak, other._peak = other._peak, self._peak
        self.cursors.clear()
        other.cursors.clear()

    def compact(self):
        """Give memory back after mass deletion: Python dicts never shrink by themselves."""
        if self._peak > 1024 and len(self.data) * 4 < self._peak:
            self.data = dict(self.data)
            self.accessed = self.keyspace.memory.access_table(self.accessed)
            self.sizes = dict(self.sizes)
            self._peak = len(self.data)

    def expire_some(self, now, deadline_ns, keys_per_loop, acceptable_stale):
        """One database's share of the active expire cycle: (keys sampled, keys expired, whether the
        cycle's time ran out)."""
        expires = self.expires
        sampled = expired_count = 0
        while expires.deadlines:
            sample = expires.sample(keys_per_loop)
            expired = [key for key in set(sample) if expires.deadlines[key] <= now]
            for key in expired:
                self.delete_expired(key)
            sampled += len(sample)
            expired_count += len(expired)
            if time.monotonic_ns() > deadline_ns:
                return sampled, expired_count, True
            if len(expired) * 100 <= len(sample) * acceptable_stale:
                break
        return sampled, expired_count, False


class ReplicaDatabase(Database):
    """A replica's database (Keyspace.set_replica swaps the class, so a master's pays nothing for it): an
    expired key reads as missing and stays until the master's DEL, which the master's own commands see
    it for (expireIfNeeded on a replica); a TTL set by the replica's own clients (a writable replica) is
    remembered for expire_replica_keys (rememberSlaveKeyWithExpire)."""

    __slots__ = ()

    def _expire_if_due(self, key):
        deadline = self.expires.get(key)
        if deadline is None or deadline > self.keyspace.clock():
            return False
        return not self.keyspace.obeying_master

    def set_deadline(self, key, deadline):
        self.expires.set(key, deadline)
        if not self.keyspace.obeying_master:
            self.keyspace.replica_keys_with_ttl.set((self.index, key), deadline)


def _no_latency_monitor(event, started_ns):
    """What a keyspace reports its slow steps to until a server gives it its latency monitor."""


def _state(db, key):
    """(value, a copy of its contents if mutable, deadline): enough to tell whether a write changed a key."""
    value = db.data.get(key)
    if value is None or isinstance(value, bytes):
        contents = value
    elif isinstance(value, ModuleValue):
        contents = object()  # a module's write changes what it likes inside: as Redis signals every write of one
    else:
        contents = value.copy()
    return value, contents, db.expires.get(key)


class Keyspace:
    """All databases of one server, the clock they share, and their statistics."""

    def __init__(self, count=16, clock=wall_clock_ms):
        self.clock = clock
        self.events = None  # see listen()
        self.databases = [Database(self, index) for index in range(count)]
        self.blocking = Blocking()
        self.watched = {}  # (db index, key) -> {session id: session} of clients that WATCH it
        self.access_clock = clock()  # a coarse "now" for idle times, advanced by the cron: no clock call per read
        self.memory = Memory(self)  # maxmemory: size estimates and eviction
        self.dirty = 0  # writes since the last snapshot (INFO's rdb_changes_since_last_save, save points)
        self.propagator = None  # the append-only file while it logs (persistence/aof.py): see propagate()
        self.paused = False  # a CLIENT PAUSE is on: expiry and eviction wait (serving/pause.py)
        self.replica = False  # we are a replica: expired keys read as missing, and stay until the master's DEL
        self.obeying_master = False  # running our master's stream: its commands see expired keys as there
        self.replica_keys_with_ttl = ExpiryTable()  # (db index, key) given a TTL by a writable replica's clients
        self.active_expire = True  # DEBUG SET-ACTIVE-EXPIRE 0 leaves expired keys until they are read
        self.quicklist_packed_threshold = 1 << 30  # a list element this long takes a node alone (DEBUG OBJECT)
        self.latency_event = _no_latency_monitor  # the server's: latency_event(name, started perf_counter_ns)
        self.module_types = ModuleTypes()  # the data types loaded modules registered (storage/module_values.py)
        self.reset_stats()

    def reset_stats(self):
        self.memory.exceeded_ns, self.memory.over_since_ns = 0, None
        self.expired_keys = 0
        self.expired_stale_share = 0.0
        self.expire_time_cap_reached = 0
        self.evicted_keys = 0
        self.hits = 0
        self.misses = 0

    def __getitem__(self, index):
        return self.databases[index]

    def __len__(self):
        return len(self.databases)

    def propagate(self, index, *commands):
        """Log a change made outside the command that is running (an eviction, a blocked client served)
        as the commands that replay it (argv lists of bytes, run in database index; several go in MULTI/EXEC)."""
        if self.propagator is not None:
            self.propagator.feed(index, *commands)

    def listen(self, events):
        """Have events(db index, class, event, key) called for every keyspace event (Database.notify), or
        nothing when events is None: the server listens while notifications are on or a client tracks keys."""
        self.events = events
        for database in self.databases:
            database.events = events

    # -- WATCH: a change to a watched key makes its watchers' EXEC fail

    def watch(self, session, index, key):
        self.watched.setdefault((index, key), {})[session.id] = session

    def unwatch(self, session, index, key):
        watchers = self.watched.get((index, key))
        if watchers is not None:
            watchers.pop(session.id, None)
            if not watchers:
                del self.watched[(index, key)]

    def touch(self, index, key):
        for session in self.watched.get((index, key), {}).values():
            session.watch_dirty = True

    def touch_existing(self, *databases):
        """FLUSHDB, FLUSHALL (one database), SWAPDB (two): watched keys of theirs that either holds changed."""
        indexes = {db.index for db in databases}
        for index, key in list(self.watched):
            if index in indexes and any(key in db.data for db in databases):
                self.touch(index, key)

    def fingerprints(self, arguments=None):
        """Before a write: the state of every watched key among its arguments (all watched keys
        when None), in any database."""
        if arguments is None:
            return [(index, key, *_state(self.databases[index], key)) for index, key in self.watched]
        watched_names = {key for _, key in self.watched}
        found = []
        for key in arguments:
            if key in watched_names:
                for index, name in self.watched:
                    if name == key:
                        found.append((index, key, *_state(self.databases[index], key)))
        return found

    def serve_blocked(self):
        """Serve the clients blocked on keys that just got data; what their pops change breaks WATCHes too."""
        watched = self.fingerprints() if self.watched else None
        self.blocking.serve_ready()
        if watched:
            self.touch_changed(watched)

    def touch_changed(self, fingerprints):
        """After the write: touch the watched keys whose value or deadline it changed."""
        for index, key, value, contents, deadline in fingerprints:
            now_value, now_contents, now_deadline = _state(self.databases[index], key)
            if now_value is not value or now_contents != contents or now_deadline != deadline:
                self.touch(index, key)

    def flush_all(self):
        """Empty every database; return how many keys they held."""
        return sum(database.flush() for database in self.databases)

    def swap(self, first, second):
        """SWAPDB: clients on either database see the other's data from now on."""
        self.databases[first].swap_contents(self.databases[second])
        self.blocking.swap_databases(first, second)

    def set_replica(self, replica):
        """We become a replica (or a master again): the databases take the class for it."""
        self.replica = replica
        for database in self.databases:
            database.__class__ = ReplicaDatabase if replica else Database

    def expire_replica_keys(self):
        """Redis's expireSlaveKeys, a replica's cron instead of the expire cycle: the keys its own clients gave
        a TTL (the master's expire when it says so) are deleted once expired and forgotten once they have no
        TTL; it stops after more than three it must keep, or a millisecond."""
        tracked = self.replica_keys_with_ttl
        now, started = self.clock(), time.monotonic_ns()
        cycles = kept = 0
        while len(tracked):
            slot = tracked.sample(1)[0]
            index, key = slot
            db = self.databases[index]
            deadline = db.expires.get(key)
            cycles += 1
            if deadline is not None and deadline > now:
                kept += 1
                if kept > 3:
                    break
                continue
            if deadline is not None:
                db.delete_expired(key)
            tracked.discard(slot)
            if cycles % 64 == 0 and time.monotonic_ns() - started > 1_000_000:
                break

    def expire_cycle(self, hz=10, effort=1):
        """Redis's slow active-expire cycle: sample keys with a TTL, delete the expired, within a share
        of the cron's period; active-expire-effort samples more, accepts fewer stale keys and takes
        longer, as in expire.c. As Redis, it keeps INFO's expired_stale_perc (a running average of the
        share of sampled keys found expired, each cycle weighing 5%) and counts the cycles cut short."""
        now = self.access_clock = self.clock()
        effort -= 1
        keys_per_loop = ACTIVE_EXPIRE_KEYS_PER_LOOP + ACTIVE_EXPIRE_KEYS_PER_LOOP // 4 * effort
        acceptable_stale = ACTIVE_EXPIRE_ACCEPTABLE_STALE - effort
        budget_ns = (ACTIVE_EXPIRE_SLOW_TIME_PERC + 2 * effort) * 10_000_000 // hz
        deadline_ns = time.monotonic_ns() + budget_ns
        total_sampled = total_expired = 0
        for database in self.databases:
            if database.expires.deadlines and self.active_expire:
                sampled, expired, out_of_time = database.expire_some(now, deadline_ns, keys_per_loop,
                                                                     acceptable_stale)
                total_sampled += sampled
                total_expired += expired
                if out_of_time:
                    self.expire_time_cap_reached += 1
                    break
            database.compact()
            if time.monotonic_ns() > deadline_ns:
                break
        if self.active_expire:
            current = total_expired / total_sampled if total_sampled else 0
            self.expired_stale_share = current * 0.05 + self.expired_stale_share * 0.95
