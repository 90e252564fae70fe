"""Top-K: RedisBloom's TOPK.* commands and its TopK-TYPE values (topk.c, rm_topk.c).

HeavyKeeper: depth rows of width buckets, each a fingerprint (MurmurHash2 of the item, seed 1919)
and a count. An item's bucket in a row is MurmurHash2(item, seed=row) % width; a bucket holding
another fingerprint decays, one count at a time with probability decay**count, until it is empty
and the item takes it. A min-heap of the k items with the largest counts is what the sketch
reports. The decay draws random numbers, as RedisBloom's rand() does.
"""
import math
import random
import struct
from array import array

from modules.api import Error, ReplyError, Status
from modules.probabilistic.arguments import (
    OK, WRITES, add_commands, changed, double, info_reply, long_long, wrong_arity)
from modules.probabilistic.common import (
    MAX_ALLOCATION, READONLY, UINT32_MAX, SketchCommands, data_type, key_exists)
from modules.probabilistic.murmur2 import murmur2

TYPE_NAME = "TopK-TYPE"
ENCODING_VERSION = 0
FINGERPRINT_SEED = 1919  # topk.c's GA
DECAY_TABLE_SIZE = 256  # TOPK_DECAY_LOOKUP_TABLE
BUCKET_SIZE = 8  # sizeof(Bucket): fp, count
HEAP_BUCKET_SIZE = 24  # sizeof(HeapBucket): fp, itemlen, item pointer, count, padding
TOPK_SIZE = 2088  # sizeof(TopK): k, width, depth, decay, two pointers, the decay table
MAX_INCREMENT = 100000

NO_KEY = "TopK: key does not exist"
# The run of spaces is a line continuation inside RedisBloom's C string literal.
BAD_INCREMENT = ("TopK: increment must be an integer greater or equal to 0" + " " * 28 +
                 "and smaller or equal to 100,000")


class TopK:
    """The buckets (fingerprints and counts, row after row) and the heap of the k heaviest items."""

    __slots__ = ("k", "width", "depth", "decay", "fingerprints", "counts", "heap_counts",
                 "heap_fingerprints", "heap_items", "positions", "decay_table", "random")

    def __init__(self, k, width, depth, decay, rng=random):
        self.k, self.width, self.depth, self.decay = k, width, depth, decay
        self.fingerprints = array("I", bytes(4 * width * depth))
        self.counts = array("I", bytes(4 * width * depth))
        # The heap: a min-heap on count, in three parallel arrays, and where each item sits in them.
        self.heap_counts = array("I", bytes(4 * k))
        self.heap_fingerprints = array("I", bytes(4 * k))
        self.heap_items = [None] * k
        self.positions = {}
        self.decay_table = [decay ** power for power in range(DECAY_TABLE_SIZE)]
        self.random = rng

    def _decay_chance(self, count):
        if count < DECAY_TABLE_SIZE:
            return self.decay_table[count]
        last = DECAY_TABLE_SIZE - 1
        return self.decay_table[last] ** (count // last) * self.decay_table[count % last]

    def _decayed(self, count, increment):
        """A bucket of another item met increment times: (its count after decaying, what is left of
        increment when it emptied, or 0). Each meeting decays it with chance decay**count; runs of
        misses are drawn at once (geometrically), which is the same distribution as one draw each."""
        while increment > 0:
            chance = self._decay_chance(count)
            if chance <= 0:
                return count, 0
            if chance < 1:
                misses = math.log(1.0 - self.random.random()) / math.log1p(-chance)  # inf for a tiny chance
                if misses >= increment:
                    return count, 0
                increment -= int(misses)
            count -= 1
            if count == 0:
                return 0, increment
            increment -= 1
        return count, 0

    def add(self, item, increment=1):
        """TopK_Add: counts item increment times; returns the item it pushed out of the heap, or None."""
        fingerprint = murmur2(item, FINGERPRINT_SEED)
        fingerprints, counts, width = self.fingerprints, self.counts, self.width
        heap_min = self.heap_counts[0]
        largest = 0
        for row in range(self.depth):
            location = murmur2(item, row) % width + row * width
            count = counts[location]
            if count == 0:
                fingerprints[location] = fingerprint
                count = increment
            elif fingerprints[location] == fingerprint:
                count = (count + increment) & UINT32_MAX
            else:
                count, left = self._decayed(count, increment)
                if count == 0:
                    fingerprints[location] = fingerprint
                    count = left
                else:
                    counts[location] = count
                    continue
            counts[location] = count
            largest = max(largest, count)
        if largest < heap_min:
            return None
        position = self.positions.get(item)
        if position is not None:
            self.heap_counts[position] = largest
            self._sift_down(position)
            return None
        expelled = self.heap_items[0]
        if expelled is not None:
            del self.positions[expelled]
        self.place(0, largest, fingerprint, item)
        self._sift_down(0)
        return expelled

    def place(self, index, count, fingerprint, item):
        self.heap_counts[index], self.heap_fingerprints[index], self.heap_items[index] = count, fingerprint, item
        if item is not None:
            self.positions[item] = index

    def _sift_down(self, start):
        """heapifyDown, step for step (which of two equal children moves up shows in TOPK.LIST)."""
        counts, size = self.heap_counts, self.k
        if size < 2 or (size - 2) // 2 < start:
            return
        child = 2 * start + 1
        if child + 1 < size and counts[child] > counts[child + 1]:
            child += 1
        if counts[child] > counts[start]:
            return
        top = counts[start], self.heap_fingerprints[start], self.heap_items[start]
        while True:
            self.place(start, counts[child], self.heap_fingerprints[child], self.heap_items[child])
            start = child
            if (size - 2) // 2 < child:
                break
            child = 2 * child + 1
            if child + 1 < size and counts[child] > counts[child + 1]:
                child += 1
            if not counts[child] < top[0]:
                break
        self.place(start, *top)

    def query(self, item):
        """TopK_Query: 1 if the item is in the heap, else 0."""
        return int(item in self.positions)

    def count(self, item):
        """TopK_Count: the item's largest bucket count (a heap member's only where it reaches the heap's minimum)."""
        fingerprint = murmur2(item, FINGERPRINT_SEED)
        heap_min = self.heap_counts[0]
        in_heap = item in self.positions
        largest = 0
        for row in range(self.depth):
            location = murmur2(item, row) % self.width + row * self.width
            count = self.counts[location]
            if self.fingerprints[location] == fingerprint and (not in_heap or count >= heap_min):
                largest = max(largest, count)
        return largest

    def listing(self):
        """TopK_List: the heap's (item, count) by count, largest first (glibc's qsort keeps ties in heap
        order), up to the first empty slot."""
        ordered = sorted(zip(self.heap_counts, self.heap_items), key=lambda entry: -entry[0])
        listed = []
        for count, item in ordered:
            if count == 0:
                break
            listed.append((item, count))
        return listed

    def copy(self):
        clone = TopK.__new__(TopK)
        clone.k, clone.width, clone.depth, clone.decay = self.k, self.width, self.depth, self.decay
        clone.fingerprints, clone.counts = array("I", self.fingerprints), array("I", self.counts)
        clone.heap_counts, clone.heap_fingerprints = array("I", self.heap_counts), array("I", self.heap_fingerprints)
        clone.heap_items = list(self.heap_items)
        clone.positions = dict(self.positions)
        clone.decay_table, clone.random = self.decay_table, self.random
        return clone


def allocation(k, width, depth):
    """The bytes RedisBloom allocates for a Top-K of these dimensions."""
    return TOPK_SIZE + width * depth * BUCKET_SIZE + k * HEAP_BUCKET_SIZE


def simple(item):
    """An item as RedisBloom replies it, a simple string of a C string: cut at NUL (CR and LF become
    spaces here, where RedisBloom would break the protocol)."""
    text = item.split(b"\0", 1)[0].replace(b"\r", b" ").replace(b"\n", b" ")
    return Status(text.decode("utf-8", "surrogateescape"))


# ---------------------------------------------------------------- type callbacks


def save(writer, topk):
    writer.unsigned(topk.k)
    writer.unsigned(topk.width)
    writer.unsigned(topk.depth)
    writer.double(topk.decay)
    buckets = array("I", bytes(8 * topk.width * topk.depth))
    buckets[0::2], buckets[1::2] = topk.fingerprints, topk.counts
    writer.string(buckets.tobytes())
    writer.string(b"".join(struct.pack("<IIQI4x", fingerprint, len(item or b""), 0, count)
                           for count, fingerprint, item in zip(topk.heap_counts, topk.heap_fingerprints,
                                                               topk.heap_items)))
    for item in topk.heap_items:
        writer.string((item.split(b"\0", 1)[0] if item is not None else b"") + b"\0")


def load(reader, encoding_version):
    if encoding_version > ENCODING_VERSION:
        return None  # a newer RedisBloom wrote it
    k, width, depth = reader.unsigned(), reader.unsigned(), reader.unsigned()
    decay = reader.double()
    buckets, heap = reader.string(), reader.string()
    if not (0 < k <= UINT32_MAX and 0 < width <= UINT32_MAX and 0 < depth <= UINT32_MAX and 0 < decay <= 1) \
            or len(buckets) != BUCKET_SIZE * width * depth or len(heap) != HEAP_BUCKET_SIZE * k:
        raise ValueError("a Top-K's buckets or heap do not match its dimensions")
    topk = TopK(k, width, depth, decay)
    cells = array("I")
    cells.frombytes(buckets)
    topk.fingerprints, topk.counts = cells[0::2], cells[1::2]
    for index, (fingerprint, _, _, count) in enumerate(struct.iter_unpack("<IIQI4x", heap)):
        item = reader.string()
        item = item[:-1] if len(item) > 1 else None  # RedisBloom reads a bare NUL as an empty slot
        topk.place(index, count, fingerprint, item)
    return topk


def memory_usage(topk):
    """TopKMemUsage: the struct, the buckets and the heap (the items' own bytes left out)."""
    return allocation(topk.k, topk.width, topk.depth)



# ---------------------------------------------------------------- commands


class TopKCommands(SketchCommands):
    """The TOPK.* handlers over one registered TopK-TYPE."""

    missing = NO_KEY

    def reserve(self, ctx, *args):
        """TOPK.RESERVE key topk [width depth decay]"""
        if len(args) not in (2, 5):
            raise wrong_arity("topk.reserve")
        if key_exists(ctx, args[0], self.type):
            raise ReplyError("TopK: key already exists")
        k = long_long(args[1])
        if k is None or not 1 <= k <= UINT32_MAX:
            raise ReplyError("TopK: invalid k")
        width, depth, decay = 8, 7, 0.9
        if len(args) == 5:
            width, depth, decay = long_long(args[2]), long_long(args[3]), double(args[4])
            if width is None or not 1 <= width <= UINT32_MAX:
                raise ReplyError("TopK: invalid width")
            if depth is None or not 1 <= depth <= UINT32_MAX:
                raise ReplyError("TopK: invalid depth")
            if decay is None or not 0 < decay <= 1:
                raise ReplyError("TopK: invalid decay value. must be '<= 1' & '> 0'")
        if allocation(k, width, depth) > MAX_ALLOCATION:
            raise ReplyError("ERR Insufficient memory to create topk data structure")
        ctx.set_value(args[0], self.type, TopK(k, width, depth, decay))
        return OK

    def add(self, ctx, *args):
        """TOPK.ADD key item [item ...]: the items each addition pushed out of the list, or nulls"""
        if len(args) < 2:
            raise wrong_arity("topk.add")
        topk = self.existing(ctx, args[0])
        expelled = [topk.add(item) for item in args[1:]]
        changed(ctx, args[0])
        return [simple(item) if item is not None else None for item in expelled]

    def incrby(self, ctx, *args):
        """TOPK.INCRBY key item increment [item increment ...]

        RedisBloom stops at an increment it refuses, with the error in the item's place, after
        announcing every item's reply; the array here ends at the error instead (the same bytes
        when the refused increment is the last one), so the connection stays in step."""
        if len(args) < 3 or len(args) % 2 == 0:
            raise wrong_arity("topk.incrby")
        topk = self.existing(ctx, args[0])
        replies = []
        for item, raw in zip(args[1::2], args[2::2]):
            increment = long_long(raw)
            if increment is None or not 0 <= increment <= MAX_INCREMENT:
                replies.append(Error(BAD_INCREMENT))
                break
            expelled = topk.add(item, increment)
            replies.append(simple(expelled) if expelled is not None else None)
        changed(ctx, args[0])
        return replies

    def query(self, ctx, *args):
        """TOPK.QUERY key item [item ...]"""
        return self.each_item(ctx, args, "topk.query", TopK.query)

    def count(self, ctx, *args):
        """TOPK.COUNT key item [item ...] (deprecated in RedisBloom, still served)"""
        ctx.propagate()  # a write command as RedisBloom registers it, which it never replicates: nothing changed
        return self.each_item(ctx, args, "topk.count", TopK.count)

    def list(self, ctx, *args):
        """TOPK.LIST key [WITHCOUNT]: any prefix of WITHCOUNT, in any case, is taken for it"""
        if len(args) not in (1, 2):
            raise wrong_arity("topk.list")
        with_count = len(args) == 2
        if with_count and not (len(args[1]) <= 9 and b"WITHCOUNT".startswith(args[1].upper())):
            raise ReplyError("WITHCOUNT keyword expected")
        topk = self.existing(ctx, args[0])
        reply = []
        for item, count in topk.listing():
            reply.append(simple(item))
            if with_count:
                reply.append(count)
        return reply

    def info(self, ctx, *args):
        """TOPK.INFO key"""
        if len(args) != 1:
            raise wrong_arity("topk.info")
        topk = self.existing(ctx, args[0])
        return info_reply((("k", topk.k), ("width", topk.width), ("depth", topk.depth), ("decay", float(topk.decay))))


def register(module):
    """Registers TopK-TYPE and the TOPK.* commands, flagged and keyed as RedisBloom registers them
    (TOPK.COUNT as a write command, as it does)."""
    topk_type = data_type(module, TYPE_NAME, ENCODING_VERSION, save=save, load=load,
                          memory_usage=memory_usage, copy=TopK.copy)
    commands = TopKCommands(topk_type)
    add_commands(module, (
        ("topk.reserve", commands.reserve, WRITES),
        ("topk.add", commands.add, WRITES),
        ("topk.incrby", commands.incrby, WRITES),
        ("topk.query", commands.query, READONLY),
        ("topk.count", commands.count, "write"),
        ("topk.list", commands.list, READONLY),
        ("topk.info", commands.info, READONLY)))
