"""RedisBloom's scalable Bloom filter (sb.c over bloom.c): a chain of sub-filters ("links").

A link sized for `entries` items at error rate e has bpe = -ln(e) / ln(2)^2 bits per entry,
int(entries * bpe) bits rounded up to whole 64-bit words, and ceil(ln(2) * bpe) hash functions.
An item's two 64-bit MurmurHash64A values (seed 0xc6a4a7935bd1e995, then the first as seed) give
its bits (a + i * b) mod 2^64 mod bits, i < hashes. When the newest link holds `entries` items
the chain adds a link `growth` times larger at half the error rate (the first link already
takes half the requested rate), so the chain's rate stays under the requested one; a
NONSCALING chain refuses instead, and keeps the requested rate for its single link.

SCANDUMP's header is sb.c's packed little-endian structs: the chain (size, nfilters, options,
growth), then per link (bytes, bits, size, error, bpe, hashes, entries, n2); the chunks after
it are the links' bit arrays, addressed by 1-based byte positions across all of them.
"""
import math
import struct

from storage.hyperloglog import MASK64, murmur64a

NOROUND, ENTS_IS_BITS, FORCE64, NO_SCALING = 1, 2, 4, 8  # bloom.h's BLOOM_OPT_* bits
KNOWN_OPTIONS = NOROUND | ENTS_IS_BITS | FORCE64 | NO_SCALING
TIGHTENING = 0.5  # ERROR_TIGHTENING_RATIO
HASH_SEED = 0xc6a4a7935bd1e995
LN2 = 0.693147180559945
LN2_SQUARED = 0.480453013918201
MAX_CHUNK = 16 * 1024 * 1024  # MAX_SCANDUMP_SIZE
# Our bound, not RedisBloom's (which callocs whatever it is asked for): a sub-filter's bit array
# is a Python bytearray filled at once, so a huge CAPACITY or EXPANSION must not take the machine.
MAX_LINK_BYTES = 512 * 1024 * 1024
MAX_HASHES = 2048  # a header's hashes are checked against its bpe; this bounds a forged bpe's cost
CHAIN_HEADER = struct.Struct("<QIII")
LINK_HEADER = struct.Struct("<QQQddIQB")
# SBChain (32 bytes) and one SBLink (64 bytes) in RedisBloom's 64-bit build: BF.INFO SIZE counts them.
CHAIN_STRUCT_BYTES, LINK_STRUCT_BYTES = 32, 64


class FilterError(Exception):
    """The chain could not be built or grown as asked; the command replies with its text."""


def bits_per_entry(error):
    return abs(math.log(error) / LN2_SQUARED)


def item_hashes(item):
    """bloom_calc_hash64: the two 64-bit hashes every link derives its bit positions from."""
    first = murmur64a(item, HASH_SEED)
    return first, murmur64a(item, first)


class Link:
    """One Bloom filter of the chain (bloom.c's struct bloom) and the items it took (size)."""

    __slots__ = ("entries", "error", "hashes", "bpe", "bits", "n2", "array", "size")

    def __init__(self, entries, error, hashes, bpe, bits, n2, array, size=0):
        self.entries, self.error, self.hashes, self.bpe = entries, error, hashes, bpe
        self.bits, self.n2, self.array, self.size = bits, n2, array, size

    @classmethod
    def sized(cls, entries, error):
        """bloom_init with BLOOM_OPT_NOROUND, the only way RedisBloom 2.x creates links."""
        if entries < 1 or not 0 < error < 1:
            raise FilterError("ERR could not create filter")
        bpe = bits_per_entry(error)
        bits = int(entries * bpe) or 1
        size = ((bits // 64) + 1) * 8 if bits % 64 else bits // 8
        if size > MAX_LINK_BYTES:
            raise FilterError("ERR could not create filter")
        return cls(entries, error, math.ceil(LN2 * bpe), bpe, size * 8, 0, bytearray(size))

    def is_valid(self):
        """bloom_validate_integrity, and our bounds on the memory and hashing a header may ask for."""
        return (0 < self.error < 1 and self.n2 <= 63 and (self.n2 == 0 or self.bits >= 1 << self.n2)
                and self.bits != 0 and self.bits == len(self.array) * 8 and self.hashes <= MAX_HASHES
                and self.hashes == math.ceil(LN2 * self.bpe))

    def positions(self, first, second):
        """The item's bits in this link: (a + i * b) mod 2^64, modulo the bit count (2^n2 for old filters)."""
        modulus = (1 << self.n2) if self.n2 else self.bits
        return [((first + i * second) & MASK64) % modulus for i in range(self.hashes)]

    def has_all(self, positions):
        array = self.array
        for bit in positions:
            if not array[bit >> 3] & (1 << (bit & 7)):
                return False
        return True

    def set_all(self, positions):
        """Sets the bits; True (and one more item counted) when one of them was clear."""
        array, fresh = self.array, False
        for bit in positions:
            mask = 1 << (bit & 7)
            if not array[bit >> 3] & mask:
                array[bit >> 3] |= mask
                fresh = True
        if fresh:
            self.size += 1
        return fresh


class ScalableBloom:
    """SBChain: the links, the items added (size), the BLOOM_OPT_* options and the growth factor."""

    __slots__ = ("links", "size", "options", "growth")

    def __init__(self, links, size, options, growth):
        self.links, self.size, self.options, self.growth = links, size, options, growth

    @classmethod
    def create(cls, capacity, error, growth, nonscaling=False):
        """SB_NewChain(capacity, error, FORCE64 | NOROUND [| NO_SCALING], growth)."""
        options = NOROUND | FORCE64 | (NO_SCALING if nonscaling else 0)
        first = Link.sized(capacity, error * (1 if nonscaling else TIGHTENING))
        return cls([first], 0, options, growth & 0xFFFFFFFF)

    @property
    def scaling(self):
        return not self.options & NO_SCALING

    def contains(self, item):
        first, second = item_hashes(item)
        return any(link.has_all(link.positions(first, second)) for link in reversed(self.links))

    def add(self, item):
        """SBChain_Add: 1 if the item was new, 0 if it seemed present; FilterError when the chain is full
        (NONSCALING) or its next link cannot be made."""
        first, second = item_hashes(item)
        newest = self.links[-1]
        newest_positions = newest.positions(first, second)  # checked first, and set if the item is new
        if newest.has_all(newest_positions) or any(link.has_all(link.positions(first, second))
                                                   for link in reversed(self.links[:-1])):
            return 0
        if newest.size >= newest.entries:
            if not self.scaling:
                raise FilterError("ERR non scaling filter is full")
            newest = Link.sized(newest.entries * self.growth, newest.error * TIGHTENING)
            self.links.append(newest)
            newest_positions = newest.positions(first, second)
        if newest.set_all(newest_positions):
            self.size += 1
            return 1
        return 0

    def capacity(self):
        return sum(link.entries for link in self.links)

    def memory_usage(self):
        """BFMemUsage: the structs and every link's bit array, as BF.INFO SIZE and MEMORY USAGE report."""
        return CHAIN_STRUCT_BYTES + sum(LINK_STRUCT_BYTES + len(link.array) for link in self.links)

    def copy(self):
        links = [Link(link.entries, link.error, link.hashes, link.bpe, link.bits, link.n2,
                      bytearray(link.array), link.size) for link in self.links]
        return ScalableBloom(links, self.size, self.options, self.growth)

    # ------------------------------------------------------------ SCANDUMP / LOADCHUNK

    def encoded_header(self):
        """SBChain_GetEncodedHeader: what SCANDUMP returns at iterator 0."""
        parts = [CHAIN_HEADER.pack(self.size, len(self.links), self.options, self.growth)]
        parts += [LINK_HEADER.pack(len(link.array), link.bits, link.size, link.error, link.bpe,
                                   link.hashes, link.entries, link.n2) for link in self.links]
        return b"".join(parts)

    def _link_at(self, position):
        """getLinkPos: the link holding 1-based byte position `position`, and the offset in it."""
        if position < 1:
            return None, 0
        offset = position - 1
        for link in self.links:
            if offset < len(link.array):
                return link, offset
            offset -= len(link.array)
        return None, 0

    def encoded_chunk(self, position):
        """SBChain_GetEncodedChunk: (next iterator, bytes), (0, b"") past the last link."""
        link, offset = self._link_at(position)
        if link is None:
            return 0, b""
        chunk = bytes(link.array[offset:offset + MAX_CHUNK])
        return position + len(chunk), chunk

    def load_chunk(self, position, chunk):
        """SBChain_LoadEncodedChunk: `position` is the iterator SCANDUMP returned with the chunk."""
        if position <= 0 or position < len(chunk):
            raise FilterError("ERR received bad data")
        link, offset = self._link_at(position - len(chunk))
        if link is None:
            raise FilterError("ERR invalid offset - no link found")
        if len(chunk) > len(link.array) - offset:
            raise FilterError("ERR invalid chunk - Too big for current filter")
        link.array[offset:offset + len(chunk)] = chunk

    @classmethod
    def from_header(cls, header):
        """SB_NewChainFromHeader: an empty chain shaped as the header says, or FilterError."""
        if len(header) < CHAIN_HEADER.size:
            raise FilterError("ERR received bad data")
        size, count, options, growth = CHAIN_HEADER.unpack_from(header)
        if count <= 0 or len(header) != CHAIN_HEADER.size + LINK_HEADER.size * count:
            raise FilterError("ERR received bad data")
        links = []
        for index in range(count):
            fields = LINK_HEADER.unpack_from(header, CHAIN_HEADER.size + LINK_HEADER.size * index)
            links.append(_checked_link(*fields))
        return _checked_chain(links, size, options, growth)


def _checked_link(length, bits, size, error, bpe, hashes, entries, n2, array=None):
    if length > MAX_LINK_BYTES or (array is not None and len(array) != length):
        raise FilterError("ERR received bad data")
    link = Link(entries, error, hashes, bpe, bits, n2, bytearray(length) if array is None else array, size)
    if not link.is_valid():
        raise FilterError("ERR received bad data")
    return link


def _checked_chain(links, size, options, growth):
    """SB_ValidateIntegrity. Chains without FORCE64 (RedisBloom 1.x's 32-bit hashing) are refused too."""
    if options & ~KNOWN_OPTIONS or not options & FORCE64 or size != sum(link.size for link in links):
        raise FilterError("ERR received bad data")
    return ScalableBloom(links, size, options, growth)


def chain_from_fields(size, options, growth, links):
    """A chain read back from RDB: links as (entries, error, hashes, bpe, bits, n2, array, size)."""
    checked = [_checked_link(len(array), bits, link_size, error, bpe, hashes, entries, n2, bytearray(array))
               for entries, error, hashes, bpe, bits, n2, array, link_size in links]
    return _checked_chain(checked, size, options, growth)
