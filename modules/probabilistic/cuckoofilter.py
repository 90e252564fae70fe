"""RedisBloom's cuckoo filter (cuckoo.c, cf.c): one-byte fingerprints in buckets of bucket_size
slots, in sub-filters that grow by `expansion` when an insert finds no room.

An item's 64-bit MurmurHash64A (seed 0) h gives its fingerprint fp = h % 255 + 1 (0 marks an empty
slot) and its two buckets h and h ^ (fp * 0x5bd1e995), each taken modulo a sub-filter's bucket
count (a power of two). An insert takes the first free slot in either bucket, newest sub-filter
first; failing that it kicks fingerprints along their alternate buckets up to max_iterations
times in the newest sub-filter, undoes the kicks if that fails too, and then adds a sub-filter
(expansion 0: "Filter is full"). Deleting past a tenth of the items compacts: fingerprints move
from the newer sub-filters to older ones, and an emptied newest sub-filter is dropped.

SCANDUMP's header is cf.h's packed CFHeader; the chunks are the sub-filters' slot arrays,
addressed by 1-based byte positions across all of them.
"""
import struct

from storage.hyperloglog import MASK64, murmur64a

ALT_MULTIPLIER = 0x5bd1e995
MAX_CHUNK = 16 * 1024 * 1024  # MAX_SCANDUMP_SIZE
HEADER = struct.Struct("<QQQQHHH")  # numItems, numBuckets, numDeletes, numFilters, bucketSize, maxIterations, expansion
# Our bound, not RedisBloom's: a sub-filter's slots are a bytearray filled at once.
MAX_SUBFILTER_BYTES = 512 * 1024 * 1024
MAX_FILTERS = 0xFFFF  # numFilters is a uint16_t
# sizeof(CuckooFilter) and sizeof(SubCF) in RedisBloom's 64-bit build: CF.INFO's Size counts them.
FILTER_STRUCT_BYTES, SUBFILTER_STRUCT_BYTES = 40, 16
INSERTED, EXISTS, NO_SPACE = 1, 0, -1


def next_power_of_two(number):
    """getNextN2 over a uint64_t: 0 stays 0 (the decrement wraps and the increment wraps back)."""
    return 0 if number == 0 else 1 << (number - 1).bit_length()


def lookup(item):
    """getLookupParams: (fingerprint, first bucket hash, second bucket hash)."""
    digest = murmur64a(item, 0)
    fingerprint = digest % 255 + 1
    return fingerprint, digest, alternate(fingerprint, digest)


def alternate(fingerprint, index):
    return (index ^ (fingerprint * ALT_MULTIPLIER)) & MASK64


class SubFilter:
    """SubCF: num_buckets buckets of the filter's bucket_size one-byte slots."""

    __slots__ = ("num_buckets", "slots")

    def __init__(self, num_buckets, slots):
        self.num_buckets, self.slots = num_buckets, slots

    def bucket_starts(self, h1, h2, bucket_size):
        return (h1 % self.num_buckets) * bucket_size, (h2 % self.num_buckets) * bucket_size

    def free_slot(self, h1, h2, bucket_size):
        """Filter_FindAvailable: the first empty slot of the first bucket, then of the second."""
        slots = self.slots
        for start in self.bucket_starts(h1, h2, bucket_size):
            found = slots.find(0, start, start + bucket_size)
            if found >= 0:
                return found
        return -1


class CuckooFilter:
    """CuckooFilter: the sub-filters and the counters CF.INFO shows."""

    __slots__ = ("num_buckets", "num_items", "num_deletes", "bucket_size", "max_iterations", "expansion",
                 "filters")

    def __init__(self, num_buckets, bucket_size, max_iterations, expansion, num_items=0, num_deletes=0):
        self.num_buckets, self.bucket_size = num_buckets, bucket_size
        self.max_iterations, self.expansion = max_iterations, expansion
        self.num_items, self.num_deletes = num_items, num_deletes
        self.filters = []

    @classmethod
    def create(cls, capacity, bucket_size, max_iterations, expansion):
        """CuckooFilter_Init; None when the first sub-filter would pass our memory bound."""
        num_buckets = next_power_of_two(capacity // bucket_size) or 1
        if num_buckets * bucket_size > MAX_SUBFILTER_BYTES:
            return None
        cf = cls(num_buckets, bucket_size, max_iterations, next_power_of_two(expansion) & 0xFFFF)
        cf._grow()
        return cf

    def subfilter_buckets(self, index):
        return self.num_buckets * self.expansion ** index

    def _grow(self):
        """CuckooFilter_Grow: False when the new sub-filter would pass our memory bound or the count."""
        buckets = self.subfilter_buckets(len(self.filters))
        if buckets * self.bucket_size > MAX_SUBFILTER_BYTES or len(self.filters) >= MAX_FILTERS:
            return False
        self.filters.append(SubFilter(buckets, bytearray(buckets * self.bucket_size)))
        return True

    def contains(self, item):
        fingerprint, h1, h2 = lookup(item)
        return self._contains(fingerprint, h1, h2)

    def _contains(self, fingerprint, h1, h2):
        size = self.bucket_size
        for sub in self.filters:
            for start in sub.bucket_starts(h1, h2, size):
                if fingerprint in sub.slots[start:start + size]:
                    return True
        return False

    def count(self, item):
        fingerprint, h1, h2 = lookup(item)
        size = self.bucket_size
        return sum(sub.slots[start:start + size].count(fingerprint)
                   for sub in self.filters for start in sub.bucket_starts(h1, h2, size))

    def insert(self, item, unique=False):
        """CuckooFilter_Insert[Unique]: INSERTED, EXISTS (unique only) or NO_SPACE; None when the
        filter had to grow and could not."""
        fingerprint, h1, h2 = lookup(item)
        if unique and self._contains(fingerprint, h1, h2):
            return EXISTS
        while True:
            for sub in reversed(self.filters):
                slot = sub.free_slot(h1, h2, self.bucket_size)
                if slot >= 0:
                    sub.slots[slot] = fingerprint
                    self.num_items += 1
                    return INSERTED
            if self._kick_insert(self.filters[-1], fingerprint, h1):
                self.num_items += 1
                return INSERTED
            if self.expansion == 0:
                return NO_SPACE
            if not self._grow():
                return None

    def _kick_insert(self, sub, fingerprint, h1):
        """Filter_KOInsert: evict along alternate buckets; on failure undo every swap, in reverse."""
        size, slots, buckets = self.bucket_size, sub.slots, sub.num_buckets
        victim, index = 0, h1 % buckets
        for _ in range(self.max_iterations):
            at = index * size + victim
            slots[at], fingerprint = fingerprint, slots[at]
            index = alternate(fingerprint, index) % buckets
            free = slots.find(0, index * size, index * size + size)
            if free >= 0:
                slots[free] = fingerprint
                return True
            victim = (victim + 1) % size
        for _ in range(self.max_iterations):
            victim = (victim + size - 1) % size
            index = alternate(fingerprint, index) % buckets
            at = index * size + victim
            slots[at], fingerprint = fingerprint, slots[at]
        return False

    def delete(self, item):
        """CuckooFilter_Delete: removes one copy of the fingerprint, newest sub-filter first."""
        fingerprint, h1, h2 = lookup(item)
        size = self.bucket_size
        for sub in reversed(self.filters):
            for start in sub.bucket_starts(h1, h2, size):
                found = sub.slots.find(fingerprint, start, start + size)
                if found >= 0:
                    sub.slots[found] = 0
                    self.num_items -= 1
                    self.num_deletes += 1
                    if len(self.filters) > 1 and self.num_deletes > self.num_items * 0.10:
                        self.compact(keep_going=False)
                    return 1
        return 0

    def compact(self, keep_going):
        """CuckooFilter_Compact: move fingerprints to older sub-filters, newest first; drop the
        newest when it empties. Without keep_going it stops at the first sub-filter that keeps some."""
        for index in range(len(self.filters) - 1, 0, -1):
            if not self._compact_one(index) and not keep_going:
                break
        self.num_deletes = 0

    def _compact_one(self, index):
        sub, size = self.filters[index], self.bucket_size
        moved_all = True
        for bucket in range(sub.num_buckets):
            for at in range(bucket * size, bucket * size + size):
                fingerprint = sub.slots[at]
                if fingerprint and not self._relocate(fingerprint, bucket, index):
                    moved_all = False
                elif fingerprint:
                    sub.slots[at] = 0
        if moved_all and index == len(self.filters) - 1:
            self.filters.pop()
        return moved_all

    def _relocate(self, fingerprint, bucket, index):
        h2 = alternate(fingerprint, bucket)
        for older in self.filters[:index]:
            slot = older.free_slot(bucket, h2, self.bucket_size)
            if slot >= 0:
                older.slots[slot] = fingerprint
                return True
        return False

    def memory_usage(self):
        """CFSize / CFMemUsage: the structs and every sub-filter's slots."""
        return (FILTER_STRUCT_BYTES + SUBFILTER_STRUCT_BYTES * len(self.filters)
                + sum(len(sub.slots) for sub in self.filters))

    def copy(self):
        clone = CuckooFilter(self.num_buckets, self.bucket_size, self.max_iterations, self.expansion,
                             self.num_items, self.num_deletes)
        clone.filters = [SubFilter(sub.num_buckets, bytearray(sub.slots)) for sub in self.filters]
        return clone

    # ------------------------------------------------------------ SCANDUMP / LOADCHUNK

    def encoded_header(self):
        return HEADER.pack(self.num_items, self.num_buckets, self.num_deletes, len(self.filters),
                           self.bucket_size, self.max_iterations, self.expansion)

    def encoded_chunk(self, position):
        """CF_GetEncodedChunk: (next position, bytes), or None past the last sub-filter."""
        offset = position - 1
        for sub in self.filters:
            length = len(sub.slots)
            if offset < length:
                if length <= MAX_CHUNK:
                    return position + length, bytes(sub.slots)
                chunk = bytes(sub.slots[offset:offset + MAX_CHUNK])
                return position + len(chunk), chunk
            offset -= length
        return None

    def load_chunk(self, position, chunk):
        """CF_LoadEncodedChunk, with the bounds checks RedisBloom 2.6 added: False if the chunk does
        not fall inside one sub-filter."""
        offset = position - len(chunk) - 1
        if not chunk or offset < 0:
            return False
        for sub in self.filters:
            if offset < len(sub.slots):
                if offset + len(chunk) > len(sub.slots):
                    return False
                sub.slots[offset:offset + len(chunk)] = chunk
                return True
            offset -= len(sub.slots)
        return False

    @classmethod
    def from_header(cls, header):
        """CFHeader_Load: an empty filter shaped as the header says, or None if it makes no sense."""
        items, buckets, deletes, count, bucket_size, iterations, expansion = HEADER.unpack(header)
        cf = cls(buckets, bucket_size, iterations, expansion, items, deletes)
        if not cf._shape_is_valid(count):
            return None
        cf.filters = [SubFilter(cf.subfilter_buckets(i), bytearray(cf.subfilter_buckets(i) * bucket_size))
                      for i in range(count)]
        return cf

    def _shape_is_valid(self, count):
        if not (1 <= count <= MAX_FILTERS and self.bucket_size >= 1 and self.max_iterations >= 1
                and self.num_buckets >= 1 and next_power_of_two(self.num_buckets) == self.num_buckets
                and next_power_of_two(self.expansion) == self.expansion and (count == 1 or self.expansion)):
            return False
        return self.subfilter_buckets(count - 1) * self.bucket_size <= MAX_SUBFILTER_BYTES

    @classmethod
    def from_fields(cls, fields, subfilters):
        """A filter read back from RDB: CFRdbLoad's counters, then (buckets, slots) per sub-filter."""
        buckets, items, deletes, bucket_size, iterations, expansion = fields
        cf = cls(buckets, bucket_size, iterations, expansion, items, deletes)
        if not cf._shape_is_valid(len(subfilters)):
            return None
        for count, slots in subfilters:
            if count < 1 or len(slots) != count * bucket_size:
                return None
            cf.filters.append(SubFilter(count, bytearray(slots)))
        return cf
