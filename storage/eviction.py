"""maxmemory: what the data costs, and Redis's eviction (evict.c) when it costs too much.

Accounting. Redis knows its used memory exactly, since zmalloc counts every
allocation; Python has no cheap equivalent, so we estimate. Every key costs
its own objects (key, value, the bookkeeping ints), rounded up as Python's
allocator rounds them; an aggregate is sized from its container's own
sys.getsizeof plus its member count times the mean of a few members. The
databases' hash tables cost what sys.getsizeof says (exact, O(1)): they do
not shrink when keys go, and neither does the process. While maxmemory is
set, Database.estimate sums its keys': Database.set and remove add and
subtract (a bytes value's estimate is computed again as it goes; a
mutable one's last estimate is kept in Database.sizes), and after a write
command the dispatcher re-measures the mutable values of the keys it names
(account()). With maxmemory 0 nothing is kept, so the hot path pays one
flag check, and INFO extrapolates from a sample.

Eviction follows performEvictions(): before each command, while used
memory is over maxmemory, pick a victim by the policy and delete it. The
LRU, LFU and TTL policies sample maxmemory-samples keys per database (all
keys, or those with a TTL) into a pool of the 16 best candidates seen and
evict the best one left; the random policies take a random key, visiting
the databases in turn. When nothing can be evicted the dispatcher refuses
commands flagged denyoom with Redis's OOM error.

LFU is Redis's: a logarithmic counter (LFULogIncr, lfu-log-factor) that
decays by one per lfu-decay-time minutes, packed with the minute of its
last decay in a 24-bit word; under an LFU policy Database.accessed holds
these words (an LfuTable) instead of access times.
"""
import bisect
import random
import sys
import time
from itertools import islice

from storage.events import EVICTED

POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
            "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")
EVICTION_POOL_SIZE = 16  # EVPOOL_SIZE
EVICTION_TIME_LIMIT_NS = 5_000_000  # per call; Redis allows 500us, Python evicts ~10x slower
LFU_INIT_VAL = 5
LRU_CLOCK_MAX = (1 << 24) - 1  # Redis's LRU clock: Unix seconds in 24 bits
# Redis 7.0's used_memory_startup: the server's own structures, so that a given
# maxmemory leaves about as much room for data as it does in Redis.
STARTUP_MEMORY = 876_256

# Object sizes on 64-bit CPython (sys.getsizeof), before the allocator's rounding.
BYTES_HEADER = 33  # bytes: header plus the trailing NUL
INT_SIZE = 32  # an int above 256 (small ones are shared)
FLOAT_SIZE = 32
PAIR_SIZE = 64  # a (score, member) tuple in a sorted set's order
POINTER = 8
TABLE_SLOT = 3 * POINTER  # a dict entry: hash, key, value (Redis counts its dictEntry likewise)
MEMBERS_SAMPLED = 16
EXACT_UP_TO = 10_000  # with maxmemory 0, INFO measures databases this small key by key, and samples bigger ones
SAMPLE_RUNS = 4


def allocated(size):
    """Bytes an object of this size really takes: pymalloc rounds to 16 up to 512, malloc adds a header."""
    return (size + 15) & ~15 if size <= 512 else size + 16


def string_size(value):
    if type(value) is bytearray:
        return allocated(sys.getsizeof(value))
    return allocated(BYTES_HEADER + len(value))


def _members_size(members, count, each, sampled=MEMBERS_SAMPLED):
    """The members' cost: exact up to `sampled` members, else count times the mean of the first `sampled`."""
    if count <= sampled:
        return sum(each(member) for member in members)
    sample = list(islice(members, sampled))
    return sum(each(member) for member in sample) * count // len(sample)


def _field_pair_size(item):
    return string_size(item[0]) + string_size(item[1])


def _zset_member_size(member):
    return string_size(member) + FLOAT_SIZE + PAIR_SIZE + POINTER


AGGREGATE_SIZES = {
    "list": lambda value, sampled: _members_size(value, len(value), string_size, sampled),
    "set": lambda value, sampled: _members_size(value, len(value), string_size, sampled),
    "hash": lambda value, sampled: _members_size(value.items(), len(value), _field_pair_size, sampled),
    "zset": lambda value, sampled: _members_size(value, len(value), _zset_member_size, sampled),
}


def value_size(value, sampled=MEMBERS_SAMPLED):
    """A value's estimated bytes: its own memory_usage() if its type offers one, else by its Redis type
    (an aggregate from its first `sampled` members)."""
    if isinstance(value, (bytes, bytearray)):
        return string_size(value)
    own = getattr(value, "memory_usage", None)
    if own is not None:
        return own()
    return sys.getsizeof(value) + AGGREGATE_SIZES[value.redis_type](value, sampled)


def key_usage(key, value, sampled):
    """MEMORY USAGE: the key, the value (sized from `sampled` members) and its slot in the keys' table."""
    return allocated(BYTES_HEADER + len(key)) + value_size(value, sampled) + TABLE_SLOT


def entry_size(key, value):
    """One key's own objects: the key, the value, and for a mutable value the int Database.sizes keeps."""
    size = allocated(BYTES_HEADER + len(key)) + value_size(value)
    return size if isinstance(value, bytes) else size + INT_SIZE


def charge(db, key, value):
    """Database.set and replace, while tracking: the key's estimate becomes the new value's.

    A bytes value never changes, so its estimate can be computed again when
    it goes; a mutable one (bytearray, aggregates) changes in place, so the
    estimate last added for it is kept in Database.sizes.
    """
    old = db.data.get(key)
    if old is not None:
        discharge(db, key, old)
    size = entry_size(key, value)
    if not isinstance(value, bytes):
        db.sizes[key] = size
    db.estimate += size


def discharge(db, key, value):
    """Database.remove, while tracking: take the key's estimate out."""
    size = db.sizes.pop(key, None)
    db.estimate -= entry_size(key, value) if size is None else size


def tables_size(db, getsizeof=sys.getsizeof):
    """The database's hash tables and lists, as allocated now (O(1)), and the ints of its TTLs and LFU words."""
    accessed = db.accessed
    size = getsizeof(db.data) + getsizeof(accessed)
    if db.sizes:
        size += getsizeof(db.sizes)
    expires = db.expires
    if expires.deadlines:
        size += expires.table_sizes() + len(expires.deadlines) * 2 * INT_SIZE
    return size + len(accessed) * INT_SIZE if type(accessed) is LfuTable else size


# ------------------------------------------------------------------ LFU


class LfuTable(dict):
    """Database.accessed under an LFU policy: key -> (minutes << 8) | counter, Redis's LFU word.

    Storing an access time in it counts an access instead (decay, then
    LFULogIncr), as lookupKey's updateLFU; a new key starts at LFU_INIT_VAL.
    A write counts one access, as Redis's lookupKeyWrite before it does.
    """

    __slots__ = ("memory",)

    def __init__(self, memory, items=()):
        super().__init__(items)
        self.memory = memory

    def __setitem__(self, key, clock):
        word = self.get(key)
        memory = self.memory
        if word is None:
            dict.__setitem__(self, key, memory.lfu_minutes() << 8 | LFU_INIT_VAL)
        else:
            counter = memory.log_increment(memory.lfu_decayed(word))
            dict.__setitem__(self, key, memory.lfu_minutes() << 8 | counter)


def set_lru_or_lfu(db, key, idle=None, frequency=None):
    """objectSetLRUOrLFU, for RESTORE's IDLETIME and FREQ: under an LFU policy the key's counter is
    set to frequency, under any other its idle time to idle seconds, as Redis's 24-bit LRU clock
    (seconds) holds it: an access time before the clock's zero wraps round it once, what remains
    is cut to 24 bits, and idle * 1000 wraps as Redis's 64-bit arithmetic does. The other is ignored."""
    memory = db.keyspace.memory
    if memory.lfu:
        if frequency is not None:
            dict.__setitem__(db.accessed, key, memory.lfu_minutes() << 8 | frequency)
        return
    if idle is None:
        return
    now = db.keyspace.access_clock
    clock = now // 1000 & LRU_CLOCK_MAX
    scaled = (idle * 1000 + (1 << 63)) % (1 << 64) - (1 << 63)
    lru = clock - (abs(scaled) // 1000 if scaled >= 0 else -(abs(scaled) // 1000))  # C's division truncates
    if lru < 0:
        lru += LRU_CLOCK_MAX
    lru &= LRU_CLOCK_MAX  # the object's 24-bit lru field
    seconds = clock - lru if clock >= lru else clock + LRU_CLOCK_MAX - lru  # estimateObjectIdleTime
    db.accessed[key] = now - seconds * 1000


# ------------------------------------------------------------------ sampling


class KeySample:
    """Random keys of one database's dict, O(1) each: a dict cannot index, so draw from a snapshot of its keys.

    A draw takes one random key from each of count equal stretches of the
    snapshot, so it spreads over the keys' ages. Keys deleted since the snapshot
    are dropped from it when drawn; it is taken again when fewer than half
    the live keys are in it, so the copy costs O(1) per eviction on average.
    Keys added since are not drawn until then, which suits LRU and LFU:
    they are the freshest anyway.
    """

    __slots__ = ("keys",)

    def __init__(self):
        self.keys = []

    def sample(self, data, count):
        keys = self.keys
        if len(keys) * 2 < len(data):
            keys = self.keys = list(data)
        size = len(keys)
        if count >= size:
            indexes = range(size)
        else:
            step, draw = size / count, random.random
            indexes = [min(int((stretch + draw()) * step), size - 1) for stretch in range(count)]
        picked = [keys[index] for index in indexes if keys[index] in data]
        if len(picked) < len(indexes):
            for index in reversed(indexes):  # ascending, so swap-remove from the end keeps the others in place
                if keys[index] not in data:
                    keys[index] = keys[-1]
                    keys.pop()
            if not picked and data:
                self.keys = []
                return self.sample(data, count)
        return picked


# ------------------------------------------------------------------ the state


class Memory:
    """One keyspace's memory settings and eviction state; the estimates live in its databases."""

    def __init__(self, keyspace):
        self.keyspace = keyspace
        self.maxmemory = 0
        self.policy = "noeviction"
        self.samples = 5
        self.lfu_log_factor = 10
        self.lfu_decay_time = 1
        self.ignored_on_replica = True  # replica-ignore-maxmemory
        self.peak = 0
        self.exceeded_ns = 0  # how long used memory was over maxmemory, in the runs that ended
        self.over_since_ns = None  # when the current run over the limit began (monotonic ns)
        self._allkeys = False
        self._pool = []  # (score, db index, key), ascending: the best candidate is last
        self._samples = [KeySample() for _ in keyspace.databases]
        self._next_db = 0

    @property
    def lfu(self):
        return self.policy.endswith("-lfu")

    def configure(self, config):
        """Take up the maxmemory settings: start or stop tracking sizes, switch LRU and LFU data."""
        lfu_before = self.lfu
        self.policy = config["maxmemory-policy"]
        self._allkeys = self.policy.startswith("allkeys")
        self.samples = config["maxmemory-samples"]
        self.lfu_log_factor = config["lfu-log-factor"]
        self.lfu_decay_time = config["lfu-decay-time"]
        self.ignored_on_replica = config["replica-ignore-maxmemory"]
        maxmemory = config["maxmemory"]
        if bool(maxmemory) != bool(self.maxmemory):
            for db in self.keyspace.databases:
                db.tracking = bool(maxmemory)
                self._measure(db)
        self.maxmemory = maxmemory
        if self.lfu != lfu_before:
            self._switch_access_tables()
        self._pool.clear()
        if not self._allkeys:
            for sample in self._samples:
                sample.keys = []

    @staticmethod
    def _measure(db):
        """Size every key from scratch (tracking starts), or forget the sizes (it stops)."""
        db.sizes, db.estimate = {}, 0
        if db.tracking:
            for key, value in db.data.items():
                size = entry_size(key, value)
                if not isinstance(value, bytes):
                    db.sizes[key] = size
                db.estimate += size

    def _switch_access_tables(self):
        """Redis reads the old field with the new meaning; we start LFU counters or idle times afresh."""
        keyspace = self.keyspace
        fresh = self.lfu_minutes() << 8 | LFU_INIT_VAL if self.lfu else keyspace.access_clock
        for db in keyspace.databases:
            db.accessed = self.access_table(dict.fromkeys(db.accessed, fresh))

    def access_table(self, items=()):
        """A new Database.accessed for the current policy."""
        return LfuTable(self, items) if self.lfu else dict(items)

    # -- accounting

    def account(self, db, command, arguments):
        """After a write command: re-measure the mutable values of the keys it names (its key positions)."""
        first = command.first_key
        if first <= 0:
            return
        last = command.last_key
        end = last if last > 0 else len(arguments) + 1 + last
        data, sizes = db.data, db.sizes
        for key in arguments[first - 1:end:command.step]:
            value = data.get(key)
            if value is not None and not isinstance(value, bytes):
                size = entry_size(key, value)
                db.estimate += size - sizes.get(key, 0)
                sizes[key] = size

    def used(self):
        """Redis's used_memory: the server's own share, the tables, and the keys."""
        used = STARTUP_MEMORY
        tracking = bool(self.maxmemory)
        for db in self.keyspace.databases:
            if db.data:
                used += tables_size(db) + (db.estimate if tracking else self._extrapolated(db))
        if self._allkeys:
            used += sum(sys.getsizeof(sample.keys) for sample in self._samples if sample.keys)
        if used > self.peak:
            self.peak = used
        return used

    @staticmethod
    def _extrapolated(db):
        """Without maxmemory no sizes are kept: measure every key of a small database; of a big one,
        runs of keys from random places (islice skips at C speed: milliseconds per million keys)."""
        data = db.data
        if len(data) <= EXACT_UP_TO:
            return sum(entry_size(key, value) for key, value in data.items())
        total = 0
        for _ in range(SAMPLE_RUNS):
            start = random.randrange(len(data) - MEMBERS_SAMPLED)
            run = islice(data.items(), start, start + MEMBERS_SAMPLED)
            total += sum(entry_size(key, value) for key, value in run)
        return total * len(data) // (SAMPLE_RUNS * MEMBERS_SAMPLED)

    # -- LFU

    def lfu_minutes(self):
        """LFUGetTimeInMinutes: the 16-bit minute clock of the LFU words."""
        return self.keyspace.access_clock // 60_000 & 65535

    def lfu_decayed(self, word):
        """LFUDecrAndReturn: the counter less one per lfu-decay-time minutes since the word's minute."""
        counter = word & 255
        if not self.lfu_decay_time:
            return counter
        now, then = self.lfu_minutes(), word >> 8
        elapsed = now - then if now >= then else 65535 - then + now
        return max(0, counter - elapsed // self.lfu_decay_time)

    def log_increment(self, counter):
        """LFULogIncr: the higher the counter, the less likely an access bumps it."""
        if counter == 255:
            return 255
        base = max(0, counter - LFU_INIT_VAL)
        return counter + 1 if random.random() < 1.0 / (base * self.lfu_log_factor + 1) else counter

    def frequency(self, db, key):
        """OBJECT FREQ of a key under an LFU policy."""
        word = db.accessed.get(key)
        return LFU_INIT_VAL if word is None else self.lfu_decayed(word)

    # -- eviction

    def perform_evictions(self, budget_ns=EVICTION_TIME_LIMIT_NS):
        """performEvictions(): evict until used memory fits; False if it is still over and nothing can go.

        Running out of time is not a failure: the rest is evicted by the
        next commands and by the cron, as Redis's eviction time proc does.
        Like Redis, it times how long memory stays over the limit (INFO's
        *_eviction_exceeded_time) and reports each deletion and the whole
        run to the latency monitor (eviction-del, eviction-cycle).
        """
        if self.keyspace.paused:  # a CLIENT PAUSE holds eviction, as in Redis
            return True
        if self.keyspace.replica and self.ignored_on_replica:  # isSafeToPerformEvictions: the master decides
            return True
        used = self.used()
        if used <= self.maxmemory:
            self._fits_again()
            return True
        if self.over_since_ns is None:
            self.over_since_ns = time.monotonic_ns()
        if self.policy == "noeviction":
            return False
        to_free, freed, evicted = used - self.maxmemory, 0, 0
        started = time.perf_counter_ns()
        record = self.keyspace.latency_event
        try:
            while freed < to_free:
                victim = self._victim()
                if victim is None:
                    return False
                deleting = time.perf_counter_ns()
                freed += self._evict(*victim)
                record("eviction-del", deleting)
                evicted += 1
                if evicted % 16 == 0 and time.perf_counter_ns() - started > budget_ns:
                    return True
            self._fits_again()
            return True
        finally:
            record("eviction-cycle", started)

    def _fits_again(self):
        """Memory is under the limit: the time it was over joins the total."""
        if self.over_since_ns is not None:
            self.exceeded_ns += time.monotonic_ns() - self.over_since_ns
            self.over_since_ns = None

    def exceeded_ms(self):
        """INFO's (total_eviction_exceeded_time, current_eviction_exceeded_time) in milliseconds."""
        current = time.monotonic_ns() - self.over_since_ns if self.over_since_ns is not None else 0
        return (self.exceeded_ns + current) // 1_000_000, current // 1_000_000

    def cron(self):
        """Keep evicting in the background while over the limit (after CONFIG SET maxmemory, say)."""
        if self.maxmemory and self.policy != "noeviction":
            self.perform_evictions(budget_ns=25_000_000)

    def _evict(self, db, key):
        """Delete one victim, logged as a DEL as Redis propagates it; the bytes it freed."""
        before = db.estimate
        if key in db.expires:
            before += 2 * INT_SIZE  # counted with the tables: see tables_size()
        if type(db.accessed) is LfuTable:
            before += INT_SIZE
        db.remove(key)
        keyspace = self.keyspace
        keyspace.evicted_keys += 1
        db.notify(EVICTED, b"evicted", key)
        keyspace.propagate(db.index, [b"DEL", key])
        if keyspace.watched:
            keyspace.touch(db.index, key)
        return before - db.estimate

    def _draw(self, db, count):
        """Up to count random keys among the database's candidates."""
        if self._allkeys:
            return self._samples[db.index].sample(db.data, count)
        return db.expires.sample_distinct(count)

    def _victim(self):
        """(database, key) to evict by the policy, or None if no key qualifies."""
        databases, allkeys = self.keyspace.databases, self._allkeys
        if self.policy.endswith("-random"):
            for _ in range(len(databases)):
                self._next_db = (self._next_db + 1) % len(databases)
                db = databases[self._next_db]
                if db.data if allkeys else db.expires.deadlines:
                    keys = self._draw(db, 1)
                    if keys:
                        return db, keys[0]
            return None
        pool, score = self._pool, self._score
        while True:
            found = False
            for db in databases:
                if db.data if allkeys else db.expires.deadlines:
                    self._populate(db, score(db), self._draw(db, self.samples))
                    found = True
            if not found:
                return None
            while pool:
                _, index, key = pool.pop()
                db = databases[index]
                if key in (db.data if allkeys else db.expires.deadlines):
                    return db, key

    def _score(self, db):
        """How good an eviction candidate a key is, the higher the better (evictionPoolPopulate's idle)."""
        if self.policy.endswith("-lru"):
            now, get = self.keyspace.access_clock, db.accessed.get
            return lambda key: now - get(key, now)
        if self.policy.endswith("-lfu"):
            get, decayed = db.accessed.get, self.lfu_decayed
            return lambda key: 255 - decayed(get(key, LFU_INIT_VAL))
        deadlines = db.expires.deadlines  # volatile-ttl: the sooner the deadline, the better
        return lambda key: -deadlines[key]

    def _populate(self, db, score, keys):
        """Put the sampled keys in the pool, which keeps the 16 best candidates seen, in ascending order."""
        pool, index = self._pool, db.index
        for key in keys:
            entry = (score(key), index, key)
            if len(pool) >= EVICTION_POOL_SIZE:
                if entry < pool[0]:
                    continue
                del pool[0]
            bisect.insort(pool, entry)


def evict_or_refuse(command, session):
    """Before any command while maxmemory is set: evict as needed (performEvictions), and say whether
    the command is refused because memory stays over the limit (processCommand's reject_cmd_on_oom).

    Inside MULTI everything but EXEC, DISCARD, QUIT and RESET is refused,
    since queuing takes memory too; EXEC is refused when it would run a
    denyoom command.
    """
    if session.server.keyspace.memory.perform_evictions():
        return False
    if "denyoom" in command.flags:
        return True
    queued = session.multi
    if queued is None:
        return False
    if command.name == "exec":
        return any("denyoom" in queued_command.flags for queued_command, _, _ in queued)
    return command.name not in ("discard", "quit", "reset")
