"""HyperLogLog in Redis's own bytes (hyperloglog.c), so a value moves between Redis and us unchanged.

A HyperLogLog is a string: a 16-byte header, then the registers.

    "HYLL" | encoding (0 dense, 1 sparse) | 3 unused | cached cardinality, 8 bytes little-endian;
                                                       the top bit of its last byte: "stale"
    dense:  16384 registers of 6 bits, packed from each byte's low bits up (12288 bytes)
    sparse: run-length opcodes   00xxxxxx       ZERO   xxxxxx+1 registers at 0 (1..64)
                                 01xxxxxx yyyy  XZERO  the 14 bits+1 registers at 0 (1..16384)
                                 1vvvvvxx       VAL    xx+1 registers at vvvvv+1 (1..32)

An element's 64-bit MurmurHash64A (seed 0xadc83b19) picks a register with its low 14 bits; the
register keeps the longest run of zeros (plus one) seen in the other 50. A sparse value is edited
in place exactly as Redis edits it (the same splits, the same merging of neighbouring VALs), and
turns dense past hll-sparse-max-bytes or for a register above 32, so the bytes after the same
PFADDs are Redis's. The count is Ertl's improved estimator over the registers' histogram.

Values are bytearrays, edited in place: a PFADD costs no copy of the 12 KB dense form. The
registers as one byte each (PFCOUNT of several keys, PFMERGE) come from bytes.translate and
big-integer arithmetic rather than a Python loop per register.
"""
import math
import random
import re
import struct
from itertools import groupby

from errors import INVALID_HLL, WRONGTYPE_HLL, ReplyError

HEADER_SIZE = 16
REGISTERS = 1 << 14  # HLL_P = 14
INDEX_MASK = REGISTERS - 1
Q_BIT = 1 << 50  # HLL_Q = 64 - 14: caps a run of zeros at 51
DENSE_SIZE = HEADER_SIZE + REGISTERS * 6 // 8
DENSE, SPARSE = 0, 1
STALE_BIT = 0x80  # in byte 15, the cached cardinality's most significant byte
SPARSE_VAL_MAX = 32
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln(2)

MURMUR_M = 0xc6a4a7935bd1e995
MURMUR_SEED = 0xadc83b19
MASK64 = (1 << 64) - 1
LANES_AT_LEAST = 8  # elements of one length worth hashing together

EMPTY_SPARSE = b"HYLL\x01\x00\x00\x00" + bytes(8) + b"\x7f\xff"  # XZERO:16384, the cache valid at 0


def _table(function):
    return bytes(function(byte) & 0xff for byte in range(256))


# Byte maps for unpacking three dense bytes into four registers and back.
_LOW6, _TOP2, _LOW4_UP2, _TOP4, _LOW2_UP4, _TOP6 = (
    _table(lambda b: b & 63), _table(lambda b: b >> 6), _table(lambda b: (b & 15) << 2),
    _table(lambda b: b >> 4), _table(lambda b: (b & 3) << 4), _table(lambda b: b >> 2))
_UP6, _UP4, _UP2 = _table(lambda b: b << 6), _table(lambda b: b << 4), _table(lambda b: b << 2)
_BLOCK = struct.Struct("<Q")
# The sparse opcodes: XZERO's first byte, and each one-byte opcode's span (ZERO and VAL).
_XZERO = re.compile(rb"[\x40-\x7f]")
_SPANS = bytes(op + 1 if op < 0x40 else (op & 3) + 1 if op & 0x80 else 0 for op in range(256))
SCAN_CHUNK = 128
_LANE_TOPS = int.from_bytes(b"\x80" * REGISTERS, "little")


def murmur64a(data, seed=MURMUR_SEED):
    """Redis's MurmurHash64A: 8-byte little-endian blocks, then the tail (hashes() does many at once)."""
    length = len(data)
    h = (seed ^ (length * MURMUR_M)) & MASK64
    blocks = length >> 3
    if blocks:
        for k, in _BLOCK.iter_unpack(memoryview(data)[:blocks << 3]):
            k = (k * MURMUR_M) & MASK64
            h = ((h ^ (((k ^ (k >> 47)) * MURMUR_M) & MASK64)) * MURMUR_M) & MASK64
    if length & 7:
        h = ((h ^ int.from_bytes(data[blocks << 3:], "little")) * MURMUR_M) & MASK64
    h = ((h ^ (h >> 47)) * MURMUR_M) & MASK64
    return h ^ (h >> 47)


def hashes(elements):
    """murmur64a of every element, in no particular order (a dense value does not care). Elements of
    one length (there are usually many) are hashed together, one lane each of a big integer (see
    _lane_hashes); the rest one by one. The sort and the grouping run in C."""
    if len(elements) < LANES_AT_LEAST:
        return map(murmur64a, elements)
    result = []
    for length, group in groupby(sorted(elements, key=len), key=len):
        group = list(group)
        result.extend(_lane_hashes(group, length) if len(group) >= LANES_AT_LEAST else map(murmur64a, group))
    return result


def _lane_hashes(elements, length):
    """murmur64a of elements all `length` bytes long, at once: element i is lane i, the 64 low bits of
    the i-th 128-bit slot of one integer. A lane times the 64-bit constant fits its slot, so each of
    the hash's steps is one big-integer operation for every element, masked back to 64 bits a lane;
    the blocks go into the lanes by strided slices of the joined elements, 8 per block, whatever
    their number."""
    count = len(elements)
    joined = b"".join(elements)
    ones = _lane_ones(count)
    lanes64 = ones * MASK64
    h = ones * ((MURMUR_SEED ^ (length * MURMUR_M)) & MASK64)
    blocks, tail = length >> 3, length & 7
    slots = bytearray(16 * count)
    for block in range(blocks):
        for byte in range(8):
            slots[byte::16] = joined[block * 8 + byte::length]
        k = (int.from_bytes(slots, "little") * MURMUR_M) & lanes64
        k = ((k ^ ((k >> 47) & lanes64)) * MURMUR_M) & lanes64
        h = ((h ^ k) * MURMUR_M) & lanes64
    if tail:
        slots = bytearray(16 * count)
        for byte in range(tail):
            slots[byte::16] = joined[blocks * 8 + byte::length]
        h = ((h ^ int.from_bytes(slots, "little")) * MURMUR_M) & lanes64
    h = ((h ^ ((h >> 47) & lanes64)) * MURMUR_M) & lanes64
    h ^= (h >> 47) & lanes64
    return struct.unpack("<%dQ" % (2 * count), h.to_bytes(16 * count, "little"))[0::2]


def _lane_ones(count):
    """1 in the low bit of each of count 128-bit slots."""
    return int.from_bytes((b"\x01" + bytes(15)) * count, "little")


# ------------------------------------------------------------------ the value and its header


def is_hll(value):
    """isHLLObjectOrReply: long enough, the magic, a known encoding, and a dense one of its exact size."""
    return (len(value) >= HEADER_SIZE and value[:4] == b"HYLL" and value[4] <= SPARSE
            and (value[4] == SPARSE or len(value) == DENSE_SIZE))


def check(value):
    """The value as a HyperLogLog, or HLL's WRONGTYPE error."""
    if not is_hll(value):
        raise ReplyError(WRONGTYPE_HLL)
    return value


def new():
    return bytearray(EMPTY_SPARSE)


def invalidate(hll):
    hll[15] |= STALE_BIT


def cached_count(hll):
    """The cached cardinality, or None when it is stale."""
    return None if hll[15] & STALE_BIT else int.from_bytes(hll[8:16], "little")


def store_count(hll, count):
    hll[8:16] = count.to_bytes(8, "little")


# ------------------------------------------------------------------ registers one byte each


def _or_bytes(first, second):
    return (int.from_bytes(first, "little") | int.from_bytes(second, "little")).to_bytes(len(first), "little")


def _dense_registers(hll):
    packed = bytes(hll[HEADER_SIZE:DENSE_SIZE])
    b0, b1, b2 = packed[0::3], packed[1::3], packed[2::3]
    registers = bytearray(REGISTERS)
    registers[0::4] = b0.translate(_LOW6)
    registers[1::4] = _or_bytes(b0.translate(_TOP2), b1.translate(_LOW4_UP2))
    registers[2::4] = _or_bytes(b1.translate(_TOP4), b2.translate(_LOW2_UP4))
    registers[3::4] = b2.translate(_TOP6)
    return registers


def _pack(registers):
    """The 12288 dense bytes of 16384 one-byte registers (each below 64)."""
    r0, r1, r2, r3 = (bytes(registers[lane::4]) for lane in range(4))
    packed = bytearray(DENSE_SIZE - HEADER_SIZE)
    packed[0::3] = _or_bytes(r0, r1.translate(_UP6))
    packed[1::3] = _or_bytes(r1.translate(_TOP6), r2.translate(_UP4))
    packed[2::3] = _or_bytes(r2.translate(_TOP4), r3.translate(_UP2))
    return packed


def _sparse_registers(hll):
    """The registers a sparse value encodes; INVALIDOBJ unless its opcodes cover exactly 16384."""
    registers = bytearray(REGISTERS)
    data = bytes(hll) + b"\x00"  # Redis reads an XZERO cut short against the string's NUL
    end, position, index = len(hll), HEADER_SIZE, 0
    while position < end:
        op = data[position]
        if op & 0x80:
            run = (op & 3) + 1
            if index + run > REGISTERS:
                break
            registers[index:index + run] = bytes((((op >> 2) & 31) + 1,)) * run
            position += 1
        elif op & 0x40:
            run = ((op & 0x3f) << 8 | data[position + 1]) + 1
            if index + run > REGISTERS:
                break
            position += 2
        else:
            run = op + 1
            if index + run > REGISTERS:
                break
            position += 1
        index += run
    if index != REGISTERS or position < end:
        raise ReplyError(INVALID_HLL)
    return registers


def registers(hll):
    """The 16384 registers, one byte each."""
    return _dense_registers(hll) if hll[4] == DENSE else _sparse_registers(hll)


def union(values):
    """PFCOUNT's and PFMERGE's merge: (the registers of several HyperLogLogs, each the highest of its
    column; whether any of them was dense). The max is taken over 16384 byte lanes of one integer at
    once, by subtraction: each lane holds at most 63, so none borrows from the next."""
    merged, any_dense = 0, False
    for hll in values:
        any_dense = any_dense or hll[4] == DENSE
        other = int.from_bytes(registers(hll), "little")
        at_least = (((merged | _LANE_TOPS) - other) & _LANE_TOPS) >> 7  # 1 in each lane where merged >= other
        keep = at_least * 0xff
        merged = (merged & keep) | (other & ~keep)
    return merged.to_bytes(REGISTERS, "little"), any_dense


# ------------------------------------------------------------------ the estimate


def _sigma(x):
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x):
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if previous == z:
            return z / 3


def estimate(one_byte_registers):
    """hllCount: Ertl's estimator over the histogram of the registers' values, rounded as llroundl."""
    histogram = [0] * 64
    left = REGISTERS
    for value in range(64):
        histogram[value] = found = one_byte_registers.count(value)
        left -= found
        if not left:
            break
    m = float(REGISTERS)
    z = m * _tau((m - histogram[51]) / m)
    for value in range(50, 0, -1):
        z += histogram[value]
        z *= 0.5
    z += m * _sigma(histogram[0] / m)
    quotient = ALPHA_INF * m * m / z
    rounded = math.floor(quotient)
    return rounded + 1 if quotient - rounded >= 0.5 else rounded


def count(hll):
    return estimate(registers(hll))


# ------------------------------------------------------------------ adding


def _dense_add(hll, hashes):
    """Raise the register each hash picks to its run of zeros, if lower: how many rose."""
    updated = 0
    for h in hashes:
        rest = (h >> 14) | Q_BIT
        value = (rest & -rest).bit_length()
        bit = (h & INDEX_MASK) * 6
        byte, shift = HEADER_SIZE + (bit >> 3), bit & 7
        if shift <= 2:  # the register sits in one byte (the last one has no byte after it)
            current = hll[byte]
            if value > (current >> shift) & 63:
                hll[byte] = (current & ~(63 << shift) & 0xff) | (value << shift)
                updated += 1
            continue
        pair = hll[byte] | hll[byte + 1] << 8
        if value > (pair >> shift) & 63:
            pair = (pair & ~(63 << shift)) | (value << shift)
            hll[byte] = pair & 0xff
            hll[byte + 1] = pair >> 8
            updated += 1
    return updated


def add(hll, elements, sparse_max_bytes):
    """PFADD's registers: how many elements raised one. A sparse value takes them one at a time, in
    order (the bytes depend on it), until it turns dense; a dense one takes the rest at once. A
    corrupt sparse value raises INVALIDOBJ, keeping what the elements before changed, as Redis does."""
    updated = 0
    for position, element in enumerate(elements):
        if hll[4] == DENSE:
            return updated + _dense_add(hll, hashes(elements[position:]))
        h = murmur64a(element)
        rest = (h >> 14) | Q_BIT
        updated += sparse_set(hll, h & INDEX_MASK, (rest & -rest).bit_length(), sparse_max_bytes)
    return updated


def to_dense(hll):
    """hllSparseToDense, in place: the header is kept (cache included), the encoding byte says dense."""
    if hll[4] == DENSE:
        return False
    _write_dense(hll, _sparse_registers(hll))
    return True


def _write_dense(hll, one_byte_registers):
    header = hll[:HEADER_SIZE]
    header[4] = DENSE
    hll[:] = header + _pack(one_byte_registers)


def set_registers(hll, merged, sparse_max_bytes):
    """PFMERGE's write: raise each register to its merged value, register by register while sparse
    (so the bytes are Redis's), all at once once dense (merged already holds the value's own)."""
    if hll[4] == SPARSE:
        for index, value in enumerate(merged):
            if value and hll[4] == SPARSE:
                sparse_set(hll, index, value, sparse_max_bytes)
    if hll[4] == DENSE:
        hll[HEADER_SIZE:] = _pack(merged)
    invalidate(hll)


def _sparse_op(value, run):
    return 0x80 | (value - 1) << 2 | (run - 1)


def _zeros(run):
    """ZERO or XZERO for a run of zeros, as Redis splits one."""
    if run > 64:
        run -= 1
        return bytes((0x40 | run >> 8, run & 0xff))
    return bytes((run - 1,))


def sparse_set(hll, index, value, sparse_max_bytes):
    """hllSparseSet: raise register index of a sparse value to value; 1 if it rose, else 0. Past
    sparse_max_bytes or above 32 the value turns dense first."""
    if value > SPARSE_VAL_MAX:
        return _promote(hll, index, value)
    # Step 1: the opcode that covers index.
    position, first, previous, span = _covering_opcode(hll, index)
    end = len(hll)
    if position >= end:
        raise ReplyError(INVALID_HLL)
    op = hll[position]
    is_val, is_xzero = op & 0x80, 0x40 <= op < 0x80
    # Step 2: the easy cases in place, else the opcode's replacement.
    if is_val:
        current = ((op >> 2) & 31) + 1
        if current >= value:
            return 0
    if span == 1 and not is_xzero:  # a VAL or a ZERO of one register
        hll[position] = _sparse_op(value, 1)
    else:
        last = first + span - 1
        if is_val:
            before = bytes((_sparse_op(current, index - first),)) if index != first else b""
            after = bytes((_sparse_op(current, last - index),)) if index != last else b""
        else:
            before = _zeros(index - first) if index != first else b""
            after = _zeros(last - index) if index != last else b""
        replacement = before + bytes((_sparse_op(value, 1),)) + after
        # Step 3: put it in, unless that takes the value past its sparse limit.
        delta = len(replacement) - (2 if is_xzero else 1)
        if delta > 0 and end + delta > sparse_max_bytes:
            return _promote(hll, index, value)
        hll[position:position + (2 if is_xzero else 1)] = replacement
        end += delta
        del hll[end:]  # an XZERO cut short by the string's end: Redis's length counts its missing byte
    _merge_neighbours(hll, previous if previous >= 0 else HEADER_SIZE, end)
    invalidate(hll)
    return 1


def _covering_opcode(hll, index):
    """(position, first register, the previous opcode's position or -1, span) of the opcode holding
    register index; position is the end when none does. The one-byte opcodes between two XZEROs
    (found by a regular expression) are summed in chunks at C speed, one by one only in the chunk
    that holds index: Redis walks them one at a time, which in Python costs a loop per opcode."""
    end, position, first, previous = len(hll), HEADER_SIZE, 0, -1
    while position < end:
        xzero = _XZERO.search(hll, position)
        stop = xzero.start() if xzero else end
        spans = hll[position:stop].translate(_SPANS)
        for offset in range(0, len(spans), SCAN_CHUNK):
            chunk = spans[offset:offset + SCAN_CHUNK]
            total = sum(chunk)
            if index >= first + total:
                first += total
                continue
            for at, span in enumerate(chunk, position + offset):
                if index < first + span:
                    return at, first, (at - 1 if at > position else previous), span
                first += span
        if stop > position:
            previous = stop - 1
        if stop == end:
            break
        span = ((hll[stop] & 0x3f) << 8 | (hll[stop + 1] if stop + 1 < end else 0)) + 1
        if index < first + span:
            return stop, first, previous, span
        previous, first, position = stop, first + span, stop + 2
    return end, first, previous, 0


def _merge_neighbours(hll, position, end):
    """Step 4: from the opcode before the change, up to five opcodes on, fold each pair of adjacent
    VALs of one value whose runs add up to at most 4 into one."""
    scans = 5
    while position < end and scans:
        scans -= 1
        op = hll[position]
        if op < 0x80:
            position += 2 if op & 0x40 else 1
            continue
        if position + 1 < end and hll[position + 1] & 0x80:
            following = hll[position + 1]
            if (op >> 2) & 31 == (following >> 2) & 31:
                run = (op & 3) + (following & 3) + 2
                if run <= 4:
                    hll[position + 1] = _sparse_op(((op >> 2) & 31) + 1, run)
                    del hll[position]
                    end -= 1
                    continue
        position += 1


def _promote(hll, index, value):
    """Turn dense with register index raised to value (always a rise: the sparse set stopped short of it)."""
    one_byte_registers = _sparse_registers(hll)
    one_byte_registers[index] = value
    _write_dense(hll, one_byte_registers)
    return 1


# ------------------------------------------------------------------ PFDEBUG DECODE


def decode(hll):
    """The sparse opcodes as PFDEBUG DECODE spells them: z:<run> Z:<run> v:<value>,<run>."""
    data = bytes(hll) + b"\x00"
    words, position, end = [], HEADER_SIZE, len(hll)
    while position < end:
        op = data[position]
        if op & 0x80:
            words.append(b"v:%d,%d" % (((op >> 2) & 31) + 1, (op & 3) + 1))
            position += 1
        elif op & 0x40:
            words.append(b"Z:%d" % (((op & 0x3f) << 8 | data[position + 1]) + 1))
            position += 2
        else:
            words.append(b"z:%d" % (op + 1))
            position += 1
    return b" ".join(words)


# ------------------------------------------------------------------ PFSELFTEST

SELF_TEST_CYCLES = 10  # Redis runs 1000 register cycles and 10M elements: scaled to Python's speed
SELF_TEST_ELEMENTS = 100_000


def self_test(sparse_max_bytes, rng=random):
    """PFSELFTEST: the dense registers set, packed and read back, then a dense and a sparse
    HyperLogLog fed the same elements, compared with each other and with the truth at every power
    of ten. The error text, or None."""
    for _ in range(SELF_TEST_CYCLES):
        expected = bytes(rng.randint(0, Q_BIT.bit_length()) for _ in range(REGISTERS))
        dense = bytearray(DENSE_SIZE)
        _dense_add(dense, [index | 1 << (13 + value) for index, value in enumerate(expected) if value])
        packed = bytes(HEADER_SIZE) + _pack(expected)
        for candidate in (_dense_registers(dense), _dense_registers(packed)):
            if candidate != expected:
                index = next(i for i in range(REGISTERS) if candidate[i] != expected[i])
                return "TESTFAILED Register %d should be %d but is %d" % (index, expected[index], candidate[index])
    dense, sparse = bytearray(b"HYLL") + bytes(DENSE_SIZE - 4), new()
    relative_error = 1.04 / math.sqrt(REGISTERS)
    seed, checkpoint, added = rng.getrandbits(64), 1, 0
    while checkpoint <= SELF_TEST_ELEMENTS:
        elements = [(number ^ seed).to_bytes(8, "little") for number in range(added + 1, checkpoint + 1)]
        add(dense, elements, sparse_max_bytes)
        add(sparse, elements, sparse_max_bytes)
        added = checkpoint
        if checkpoint < sparse_max_bytes // 2 and sparse[4] != SPARSE:
            return "TESTFAILED sparse encoding not used"
        estimated = count(dense)
        if estimated != count(sparse):
            return "TESTFAILED dense/sparse disagree"
        allowed = 1 if checkpoint == 10 else math.ceil(relative_error * 6 * checkpoint)
        if abs(checkpoint - estimated) > allowed:
            return "TESTFAILED Too big error. card:%d abserr:%d" % (checkpoint, abs(checkpoint - estimated))
        checkpoint *= 10
    return None
