"""Bits of a string value, as SETBIT, BITCOUNT, BITPOS, BITOP and BITFIELD read and write them.

Redis numbers a string's bits from the most significant bit of its first byte, which is the
order of int.from_bytes(..., "big"): bit i of n bytes is bit 8n-1-i of that integer. So counting,
searching and combining go through big integers made from slices of the buffer, a chunk at a
time, and no Python loop runs per bit or per byte: a 512 MB string is never one 4-gigabit
integer, and a search stops at the first chunk that holds what it looks for.
"""

CHUNK = 1 << 16  # bytes turned into one integer at a time (measured: larger chunks are no faster)

WRAP, SAT, FAIL = "wrap", "sat", "fail"  # BITFIELD's OVERFLOW behaviours


def count_bits(buffer, first, last):
    """How many bits are set in the bit range [first, last] (inclusive, inside the buffer)."""
    if first > last:
        return 0
    first_byte, last_byte = first >> 3, last >> 3
    view = memoryview(buffer)
    total = 0
    for start in range(first_byte, last_byte + 1, CHUNK):
        total += int.from_bytes(view[start:min(start + CHUNK, last_byte + 1)], "big").bit_count()
    view.release()
    total -= (buffer[first_byte] >> (8 - (first & 7))).bit_count()  # bits of the first byte before `first`
    total -= (buffer[last_byte] & ((1 << (7 - (last & 7))) - 1)).bit_count()  # of the last byte after `last`
    return total


def find_bit(buffer, bit, first, last):
    """The position of the first bit equal to `bit` (0 or 1) in the bit range [first, last], or -1.

    The chunks grow from 64 bytes, so that a bit found near the start costs little.
    """
    first_byte, last_byte = first >> 3, last >> 3
    view = memoryview(buffer)
    start, step = first_byte, 64
    try:
        while start <= last_byte:
            stop = min(start + step, last_byte + 1)
            width = (stop - start) * 8
            number = int.from_bytes(view[start:stop], "big")
            if not bit:
                number ^= (1 << width) - 1
            if start == first_byte:
                number &= (1 << (width - (first & 7))) - 1
            if stop == last_byte + 1:
                number &= ~((1 << (7 - (last & 7))) - 1)
            if number:
                return start * 8 + width - number.bit_length()
            start, step = stop, min(step * 4, CHUNK)
        return -1
    finally:
        view.release()


def combine(operation, sources):
    """BITOP's result: the sources (byte strings, at least one not empty) combined bit by bit, the
    shorter ones read as padded with zero bytes to the longest; operation is b"and", b"or", b"xor"
    or b"not" (of one source). Worked a chunk at a time, which keeps the integers in the CPU's cache."""
    size = max(len(source) for source in sources)
    result = bytearray(size)
    views = [memoryview(source) for source in sources]
    ones = (1 << (8 * CHUNK)) - 1
    for start in range(0, size, CHUNK):
        width = min(CHUNK, size - start)
        numbers = [int.from_bytes(view[start:start + width], "big") << (8 * max(0, start + width - len(view)))
                   for view in views]
        combined = numbers[0]
        if operation == b"not":
            combined ^= ones >> (8 * (CHUNK - width))
        elif operation == b"and":
            for number in numbers[1:]:
                combined &= number
        elif operation == b"or":
            for number in numbers[1:]:
                combined |= number
        else:
            for number in numbers[1:]:
                combined ^= number
        result[start:start + width] = combined.to_bytes(width, "big")
    for view in views:
        view.release()
    return result


def set_bit(buffer, offset, bit):
    """Set one bit of a bytearray long enough to hold it; its old value."""
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    old = 1 if buffer[byte] & mask else 0
    if bit:
        buffer[byte] |= mask
    else:
        buffer[byte] &= ~mask
    return old


def get_bit(buffer, offset):
    byte = offset >> 3
    return 1 if byte < len(buffer) and buffer[byte] & (0x80 >> (offset & 7)) else 0


# ------------------------------------------------------------------ BITFIELD's integers


def read_field(buffer, offset, bits, signed):
    """The integer of `bits` bits at bit `offset`, the buffer read as padded with zeros past its end."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    span = buffer[first:last + 1]
    number = int.from_bytes(span, "big") << (8 * (last + 1 - first - len(span)))
    value = (number >> ((last + 1) * 8 - offset - bits)) & ((1 << bits) - 1)
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def write_field(buffer, offset, bits, value):
    """Store the low `bits` bits of value at bit `offset` of a bytearray long enough to hold them."""
    first, last = offset >> 3, (offset + bits - 1) >> 3
    shift = (last + 1) * 8 - offset - bits
    mask = ((1 << bits) - 1) << shift
    number = int.from_bytes(buffer[first:last + 1], "big")
    number = (number & ~mask) | ((value << shift) & mask)
    buffer[first:last + 1] = number.to_bytes(last + 1 - first, "big")


def fit_field(value, bits, signed, overflow):
    """(the value to store, whether it overflowed) for an exact result of SET or INCRBY, as Redis's
    check(Un)signedBitfieldOverflow fits it: wrapped modulo 2**bits, saturated at the type's limits,
    or None under FAIL."""
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if low <= value <= high:
        return value, False
    if overflow == FAIL:
        return None, True
    if overflow == SAT:
        return (high if value > high else low), True
    wrapped = value % (1 << bits)
    return (wrapped - (1 << bits) if wrapped > high else wrapped), True
