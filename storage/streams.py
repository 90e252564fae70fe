"""The stream value, as Redis's t_stream.c keeps it: entries in ID order, the listpack nodes they fill,
and consumer groups with their pending entries.

An ID is one int, ms << 64 | seq, so IDs compare, sort and bisect as Python ints. Entries are
(id, fields) pairs in a SortedList, fields a flat tuple (field, value, field, value...): an append
lands at the end of the last sublist (O(1) amortised), a range is a bisection and a slice
(O(log n + m)), and a delete or trim removes pairs without copying the stream.

Redis packs entries into listpack nodes of a radix tree (stream-node-max-bytes and -entries
decide when a new node starts) and trims with `~` only whole nodes, so the nodes are modelled
beside the entries: each Node knows its master ID and fields, its live and deleted counts, its
listpack's exact size and its last ID, as Redis's listpack holds them. XTRIM ~, XINFO's
radix-tree figures and the RDB's node layout follow from them.
"""
import sys
from bisect import bisect_right

from sortedcontainers import SortedDict, SortedList

from protocol import string_to_int

SEQ_BITS = 64
SEQ_MASK = (1 << 64) - 1
MAX_ID = (1 << 128) - 1
INVALID_ENTRIES_READ = -1  # SCG_INVALID_ENTRIES_READ: a group whose read counter is unknown
LISTPACK_MAX_SIZE = 1 << 30  # STREAM_LISTPACK_MAX_SIZE
FLAG_DELETED, FLAG_SAMEFIELDS = 1, 2
LISTPACK_OVERHEAD = 7  # header (6) and end byte
# MEMORY USAGE's estimate (sys.getsizeof on CPython 3.11, 64-bit): an (id, fields) pair with its int,
# a Node, a Group or Consumer, a pending entry in a SortedDict with its Nack; MEMORY_SAMPLES as MEMORY USAGE's default
POINTER, ENTRY_SIZE, NODE_SIZE, GROUP_SIZE, PENDING_SIZE = 8, 64 + 44 + 8, 96, 120, 120
MEMORY_SAMPLES = 5


def make_id(ms, seq):
    return ms << SEQ_BITS | seq


def id_parts(stream_id):
    return stream_id >> SEQ_BITS, stream_id & SEQ_MASK


def id_bytes(stream_id):
    """The ID as Redis writes it: b'ms-seq'."""
    return b"%d-%d" % (stream_id >> SEQ_BITS, stream_id & SEQ_MASK)


# ------------------------------------------------------------------ listpack sizes


def _backlen(size):
    for groups, limit in enumerate((128, 16383, 2097151, 268435455), 1):
        if size < limit:
            return groups
    return 5


def integer_size(number):
    """Bytes of an integer listpack entry, back-length included (lpEncodeIntegerGetType)."""
    if 0 <= number <= 127:
        return 2
    if -4096 <= number <= 4095:
        return 3
    if -(1 << 15) <= number < 1 << 15:
        return 4
    if -(1 << 23) <= number < 1 << 23:
        return 5
    if -(1 << 31) <= number < 1 << 31:
        return 6
    return 10


def string_size(entry):
    """Bytes of a string listpack entry (an integer when it reads as one), back-length included."""
    number = string_to_int(entry) if len(entry) <= 20 else None
    if number is not None:
        return integer_size(number)
    size = len(entry)
    head = 1 if size < 64 else 2 if size < 4096 else 5
    return head + size + _backlen(head + size)


def _signed64(number):
    """An int64 as C's uint64 subtraction wraps it (a seq below the master's goes negative)."""
    number &= SEQ_MASK
    return number - (1 << 64) if number >= 1 << 63 else number


class Node:
    """One listpack of the radix tree: master ID and fields, counts, size, last ID (deleted or not)."""

    __slots__ = ("master_id", "master_fields", "live", "deleted", "body", "last_id")

    def __init__(self, master_id, master_fields):
        self.master_id = master_id
        self.master_fields = master_fields
        self.live = 0
        self.deleted = 0
        self.last_id = master_id
        # the master entry less its two counters: num-fields, the fields, the zero terminator
        self.body = integer_size(len(master_fields)) + sum(map(string_size, master_fields)) + 2

    def size(self):
        """lpBytes() of the node's listpack."""
        return LISTPACK_OVERHEAD + integer_size(self.live) + integer_size(self.deleted) + self.body

    def add(self, stream_id, fields):
        """streamAppendItem's entry: flags, ms and seq deltas, the fields unless they are the master's,
        the values, the lp-count."""
        names = fields[0::2]
        same = names == self.master_fields
        master_ms, master_seq = id_parts(self.master_id)
        ms, seq = id_parts(stream_id)
        size = 2 + integer_size(_signed64(ms - master_ms)) + integer_size(_signed64(seq - master_seq))
        count = len(names) + 3
        if same:
            size += sum(map(string_size, fields[1::2]))
        else:
            size += integer_size(len(names)) + sum(map(string_size, fields))
            count += len(names) + 1
        self.body += size + integer_size(count)
        self.live += 1
        self.last_id = stream_id


# ------------------------------------------------------------------ consumer groups


class Nack:
    """A pending entry: when it was last delivered, how often, and to whom."""

    __slots__ = ("delivery_time", "delivery_count", "consumer")

    def __init__(self, consumer, delivery_time, delivery_count=1):
        self.consumer = consumer
        self.delivery_time = delivery_time
        self.delivery_count = delivery_count


class Consumer:
    __slots__ = ("name", "seen_time", "pel")

    def __init__(self, name, seen_time):
        self.name = name
        self.seen_time = seen_time
        self.pel = SortedDict()  # id -> Nack, the same objects as the group's


class Group:
    __slots__ = ("name", "last_id", "entries_read", "pel", "consumers")

    def __init__(self, name, last_id, entries_read):
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = SortedDict()  # id -> Nack
        self.consumers = {}  # name -> Consumer (listed in name order, as Redis's rax)

    def consumer(self, name, now, create=True):
        """streamLookupConsumer: the consumer seen now (made if create), or None."""
        consumer = self.consumers.get(name)
        if consumer is None:
            if not create:
                return None
            consumer = self.consumers[name] = Consumer(name, now)
        consumer.seen_time = now
        return consumer

    def remove_consumer(self, name):
        """XGROUP DELCONSUMER: the consumer's pending entries leave the group too; how many it had."""
        consumer = self.consumers.pop(name)
        for stream_id in consumer.pel:
            del self.pel[stream_id]
        return len(consumer.pel)

    def acknowledge(self, stream_id):
        nack = self.pel.pop(stream_id, None)
        if nack is None:
            return False
        del nack.consumer.pel[stream_id]
        return True

    def copy(self):
        other = Group(self.name, self.last_id, self.entries_read)
        for name, consumer in self.consumers.items():
            twin = other.consumers[name] = Consumer(name, consumer.seen_time)
            for stream_id, nack in consumer.pel.items():
                twin.pel[stream_id] = other.pel[stream_id] = Nack(twin, nack.delivery_time, nack.delivery_count)
        return other

    def state(self):
        """Everything the group holds, comparable (for WATCH's change test)."""
        return (self.last_id, self.entries_read,
                [(stream_id, nack.consumer.name, nack.delivery_time, nack.delivery_count)
                 for stream_id, nack in self.pel.items()],
                sorted((name, consumer.seen_time) for name, consumer in self.consumers.items()))


# ------------------------------------------------------------------ the stream


class Stream:
    """A stream: entries, the nodes they fill, the ID bookkeeping, the consumer groups."""

    __slots__ = ("entries", "node_ids", "nodes", "last_id", "first_id", "max_deleted_id", "entries_added", "groups")
    redis_type = "stream"

    def __init__(self):
        self.entries = SortedList()  # (id, fields)
        self.node_ids = []  # the nodes' master IDs, for bisection
        self.nodes = []
        self.last_id = 0
        self.first_id = 0
        self.max_deleted_id = 0
        self.entries_added = 0
        self.groups = {}  # name -> Group

    def __len__(self):
        return len(self.entries)

    def __bool__(self):
        return True  # an empty stream is still a key: Redis never deletes one for being empty

    def encoding(self):
        return "stream"

    def copy(self):
        other = Stream()
        other.entries = self.entries.copy()
        other.node_ids = list(self.node_ids)
        for node in self.nodes:
            twin = Node.__new__(Node)
            for slot in Node.__slots__:
                setattr(twin, slot, getattr(node, slot))
            other.nodes.append(twin)
        other.last_id, other.first_id = self.last_id, self.first_id
        other.max_deleted_id, other.entries_added = self.max_deleted_id, self.entries_added
        other.groups = {name: group.copy() for name, group in self.groups.items()}
        return other

    def __eq__(self, other):
        return (isinstance(other, Stream) and self.entries == other.entries and self.last_id == other.last_id
                and self.max_deleted_id == other.max_deleted_id and self.entries_added == other.entries_added
                and self.first_id == other.first_id and len(self.nodes) == len(other.nodes)
                and {name: group.state() for name, group in self.groups.items()}
                == {name: group.state() for name, group in other.groups.items()})

    __hash__ = None

    # -- adding

    def append(self, stream_id, fields, max_bytes, max_entries):
        """streamAppendItem: the entry goes into the last node, or a new one when that is full."""
        node = self.nodes[-1] if self.nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX_SIZE else LISTPACK_MAX_SIZE
            if node.size() + sum(map(len, fields)) >= limit \
                    or (max_entries and node.live + node.deleted >= max_entries):
                node = None
        if node is None:
            node = Node(stream_id, fields[0::2])
            self.nodes.append(node)
            self.node_ids.append(stream_id)
        node.add(stream_id, fields)
        self.entries.add((stream_id, fields))
        if not self.first_id or len(self.entries) == 1:
            self.first_id = stream_id
        self.last_id = stream_id
        self.entries_added += 1

    # -- reading

    def range(self, start, end, count=None, reverse=False):
        """Entries with start <= id <= end, oldest first (newest first if reverse), at most count."""
        entries = self.entries
        low = entries.bisect_left((start,))
        high = entries.bisect_left((end + 1,)) if end < MAX_ID else len(entries)
        if low >= high:
            return []
        if count is not None and count < high - low:
            if reverse:
                low = high - count
            else:
                high = low + count
        found = entries[low:high]
        if reverse:
            found.reverse()
        return found

    def get(self, stream_id):
        """The entry's fields, or None if no entry has that ID."""
        entries = self.entries
        index = entries.bisect_left((stream_id,))
        if index < len(entries) and entries[index][0] == stream_id:
            return entries[index][1]
        return None

    def first_entry(self):
        return self.entries[0] if self.entries else None

    def last_entry(self):
        return self.entries[-1] if self.entries else None

    # -- deleting

    def _node_index(self, stream_id):
        return bisect_right(self.node_ids, stream_id) - 1

    def _drop_node(self, index):
        del self.nodes[index]
        del self.node_ids[index]

    def delete(self, stream_id):
        """streamDeleteItem: True if the entry was there; a node left without live entries goes."""
        fields = self.get(stream_id)
        if fields is None:
            return False
        self.entries.remove((stream_id, fields))
        index = self._node_index(stream_id)
        node = self.nodes[index]
        if node.live == 1:
            self._drop_node(index)
        else:
            node.live -= 1
            node.deleted += 1
        return True

    def trim(self, maxlen=None, minid=None, approx=False, limit=0):
        """streamTrim: by MAXLEN or MINID, whole nodes first; with approx, only whole nodes; at most
        limit entries (0: no limit). Returns how many entries went."""
        deleted = 0
        entries = self.entries
        while self.nodes:
            if maxlen is not None and len(entries) <= maxlen:
                break
            node = self.nodes[0]
            if limit and deleted + node.live > limit:
                break
            if maxlen is not None:
                remove_node = len(entries) - node.live >= maxlen
            else:
                remove_node = node.last_id < minid
            if remove_node:
                stop = self.node_ids[1] if len(self.nodes) > 1 else MAX_ID + 1
                del entries[:entries.bisect_left((stop,))]
                self._drop_node(0)
                deleted += node.live
                continue
            if approx:
                break
            if maxlen is not None:
                drop = len(entries) - maxlen
            else:
                drop = entries.bisect_left((minid,))
            del entries[:drop]
            node.live -= drop
            node.deleted += drop
            deleted += drop
            break
        if deleted:
            self.first_id = entries[0][0] if entries else 0
        return deleted

    # -- consumer groups

    def estimate_entries_read(self, stream_id):
        """streamEstimateDistanceFromFirstEverEntry: the read counter an ID stands for, or -1 if unknown."""
        if not self.entries_added:
            return 0
        if not self.entries and stream_id <= self.last_id:
            return self.entries_added
        if stream_id == self.last_id:
            return self.entries_added
        if stream_id > self.last_id:
            return INVALID_ENTRIES_READ
        if not self.max_deleted_id or self.max_deleted_id < self.first_id:
            if stream_id < self.first_id:
                return self.entries_added - len(self.entries)
            if stream_id == self.first_id:
                return self.entries_added - len(self.entries) + 1
        return INVALID_ENTRIES_READ

    def has_tombstones_from(self, start):
        """streamRangeHasTombstones(start, end of stream)."""
        if not self.entries or not self.max_deleted_id or self.first_id > self.max_deleted_id:
            return False
        return start <= self.max_deleted_id

    def lag(self, group):
        """XINFO's lag: entries not yet delivered to the group, or None where deletions hide it."""
        if not self.entries_added:
            return 0
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones_from(group.last_id):
            return self.entries_added - group.entries_read
        entries_read = self.estimate_entries_read(group.last_id)
        if entries_read == INVALID_ENTRIES_READ:
            return None
        return self.entries_added - entries_read

    def advance_group(self, group, stream_id):
        """XREADGROUP's `>` delivered stream_id: the group's last ID and read counter follow."""
        if group.entries_read != INVALID_ENTRIES_READ and not self.has_tombstones_from(stream_id):
            group.entries_read += 1
        elif self.entries_added:
            group.entries_read = self.estimate_entries_read(stream_id)
        group.last_id = stream_id

    def memory_usage(self, sampled=MEMORY_SAMPLES):
        """MEMORY USAGE's estimate: the entries (the first `sampled` measured, the rest taken as their
        mean), the nodes, and every pending entry of every group."""
        entries = self.entries
        sample = entries[:sampled] if sampled else entries
        size = sys.getsizeof(entries) + len(self.nodes) * (NODE_SIZE + POINTER)
        if sample:
            measured = sum(ENTRY_SIZE + sys.getsizeof(fields) + sum(map(sys.getsizeof, fields)) for _, fields in sample)
            size += measured * len(entries) // len(sample)
        for group in self.groups.values():
            size += GROUP_SIZE + len(group.pel) * 2 * PENDING_SIZE
            size += sum(GROUP_SIZE + sys.getsizeof(name) for name in group.consumers)
        return size

    # -- the radix tree's shape (XINFO STREAM)

    def radix_tree_nodes(self):
        """raxSize's companion: how many nodes a rax of the master IDs (16 bytes, big-endian) has."""
        return rax_node_count([node_id.to_bytes(16, "big") for node_id in self.node_ids])


def rax_node_count(keys):
    """Nodes of Redis's rax holding these keys (sorted, equal length): a compressed trie whose nodes
    each hold a run of single-child bytes, plus one node per key end and per branching."""
    if not keys:
        return 1
    return 1 + _rax_below(keys, 0)


def _rax_below(keys, depth):
    """Nodes strictly below a node at `depth` whose keys all share the first depth bytes."""
    length = len(keys[0])
    if depth == length:
        return 0
    groups = {}
    for key in keys:
        groups.setdefault(key[depth], []).append(key)
    if len(groups) == 1:
        # a run of bytes every key shares: one compressed node, then what follows it
        shared = depth
        first, last = keys[0], keys[-1]
        while shared < length and first[shared] == last[shared]:
            shared += 1
        return 1 + _rax_below(keys, shared)
    return sum(1 + _rax_below(group, depth + 1) for group in groups.values())
