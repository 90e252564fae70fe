"""The byte-level pieces of an RDB file: CRC-64, LZF, and Redis's packed blobs (listpack, ziplist, intset).

crc64 is Redis's crc64.c: the Jones polynomial, reflected, no final xor
(crc64(b"123456789") == 0xe9c6d914c4b8d9ca), driven by a 256-entry table.
LZF is Marc Lehmann's format as Redis's lzf_d.c reads it and lzf_c.c writes it.
The packed decoders turn a blob into its entries as bytes, integers spelled
in decimal, which is how every command sees them.
"""
import struct

from protocol import string_to_int


class CorruptData(Exception):
    """A blob or a file that cannot be what Redis writes."""


# ------------------------------------------------------------------ CRC-64


def _crc64_table():
    reflected_poly = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9, bit-reversed
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ reflected_poly if crc & 1 else crc >> 1
        table.append(crc)
    return table


CRC64_TABLE = _crc64_table()


def crc64(crc, data):
    """Continue a CRC-64 over data (start with crc=0)."""
    table = CRC64_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


# ------------------------------------------------------------------ LZF


def lzf_decompress(data, expected_length):
    """Expand LZF data; it must come out exactly expected_length bytes long (never more is made)."""
    out = bytearray()
    position, end = 0, len(data)
    while position < end:
        control = data[position]
        position += 1
        if control < 32:  # a literal run of control + 1 bytes
            run = control + 1
            if position + run > end or len(out) + run > expected_length:
                raise CorruptData("LZF literal run past the end")
            out += data[position:position + run]
            position += run
            continue
        length = control >> 5
        if length == 7:
            if position >= end:
                raise CorruptData("LZF back reference cut short")
            length += data[position]
            position += 1
        if position >= end:
            raise CorruptData("LZF back reference cut short")
        reference = len(out) - ((control & 0x1F) << 8) - data[position] - 1
        position += 1
        if reference < 0 or len(out) + length + 2 > expected_length:
            raise CorruptData("LZF back reference before the start or past the end")
        for index in range(reference, reference + length + 2):  # may overlap what it writes
            out.append(out[index])
    if len(out) != expected_length:
        raise CorruptData("LZF data expands to %d bytes, not %d" % (len(out), expected_length))
    return bytes(out)


LZF_HASH_SIZE = 1 << 16  # HLOG 16
LZF_MAX_LITERAL = 1 << 5
LZF_MAX_OFFSET = 1 << 13
LZF_MAX_REFERENCE = (1 << 8) + (1 << 3)


def lzf_compress(data, out_len):
    """lzf_c.c's lzf_compress() (VERY_FAST, HLOG 16), so that its output is Redis's byte for byte: the
    same hash slots and collisions, the same two positions hashed after a match, the same give-up
    points. None when the result would not fit in out_len bytes (Redis then stores the data as it
    is). One difference: Redis leaves its hash table uninitialised, so a stale slot from an earlier
    call can very rarely add a match; ours starts empty.

    A slot depends only on the three bytes at a position, so all are computed up front; literal
    bytes are copied a run at a time. Where C's output pointer would stand is len(out) + 1 + lit
    (the byte reserved for the current run's length, then its bytes).
    """
    in_len = len(data)
    if in_len < 3 or not out_len:
        return None
    pairs = [first << 8 | second for first, second in zip(data, data[1:])]
    triples = [pair << 8 | last for pair, last in zip(pairs, data[2:])]
    slots = [(pair - 5 * following) & 0xFFFF for pair, following in zip(pairs, pairs[1:])]
    table = {}
    get = table.get
    out = bytearray()
    ip, lit_start = 0, 0
    end = in_len - 2
    while ip < end:
        slot = slots[ip]
        ref = get(slot, 0)
        table[slot] = ip
        if not (ref and ip - ref <= LZF_MAX_OFFSET and triples[ref] == triples[ip]):
            if len(out) + 1 + ip - lit_start >= out_len:
                return None
            ip += 1
            if ip - lit_start == LZF_MAX_LITERAL:
                out.append(LZF_MAX_LITERAL - 1)
                out += data[lit_start:ip]
                lit_start = ip
            continue
        lit = ip - lit_start
        if len(out) + 1 + lit + 4 >= out_len and len(out) + (1 if lit else 0) + lit + 4 >= out_len:
            return None
        if lit:
            out.append(lit - 1)
            out += data[lit_start:ip]
        offset = ip - ref - 1
        length = _lzf_match(data, ref, ip, min(in_len - ip - 2, LZF_MAX_REFERENCE)) - 2
        if length < 7:
            out.append((offset >> 8) + (length << 5))
        else:
            out.append((offset >> 8) + (7 << 5))
            out.append(length - 7)
        out.append(offset & 0xFF)
        ip += length + 2
        lit_start = ip
        if ip >= end:
            break
        table[slots[ip - 2]] = ip - 2
        table[slots[ip - 1]] = ip - 1
    if len(out) + 1 + ip - lit_start + 3 > out_len:
        return None
    for start in range(lit_start, in_len, LZF_MAX_LITERAL):
        run = data[start:min(start + LZF_MAX_LITERAL, in_len)]
        out.append(len(run) - 1)
        out += run
    return bytes(out)


def _lzf_match(data, ref, ip, maxlen):
    """How far the match at ref runs on at ip, as lzf_c.c counts it: its unrolled first 16 steps
    compare up to offset 18 whatever maxlen says, so the result may pass maxlen by one or two."""
    if maxlen > 16:
        length = _common(data, ref, ip, 3, 19)
        return length if length < 19 else max(19, _common(data, ref, ip, 19, maxlen))
    return max(3, _common(data, ref, ip, 3, maxlen))


def _common(data, ref, ip, start, stop):
    """The first offset in [start, stop) where the bytes at ref and ip differ, else stop."""
    if stop <= start or data[ref + start:ref + stop] == data[ip + start:ip + stop]:
        return max(start, stop)
    while data[ref + start] == data[ip + start]:
        start += 1
    return start


# ------------------------------------------------------------------ listpack

LISTPACK_HEADER = 6  # 4-byte total size, 2-byte count
LISTPACK_COUNT_UNKNOWN = 65535
_LP_INTEGERS = {0xF1: (2, "<h"), 0xF2: (3, None), 0xF3: (4, "<i"), 0xF4: (8, "<q")}
# lpEncodeIntegerGetType: (lowest, highest, first byte or None for the 7/13-bit forms, width)
_LP_INTEGER_FORMS = ((-(1 << 15), (1 << 15) - 1, 0xF1, 2), (-(1 << 23), (1 << 23) - 1, 0xF2, 3),
                     (-(1 << 31), (1 << 31) - 1, 0xF3, 4), (-(1 << 63), (1 << 63) - 1, 0xF4, 8))


def listpack(entries):
    """A listpack of the entries (bytes) as Redis's lpAppend writes them: an entry that reads as a
    64-bit integer (string2ll) in the smallest integer form, any other as a string."""
    body = bytearray()
    for entry in entries:
        encoded = listpack_entry(entry)
        body += encoded
        body += _backlen(len(encoded))
    count = len(entries) if len(entries) < LISTPACK_COUNT_UNKNOWN else LISTPACK_COUNT_UNKNOWN
    return struct.pack("<IH", LISTPACK_HEADER + len(body) + 1, count) + body + b"\xff"


def listpack_entry(entry):
    """One entry's encoding and data, without its back-length."""
    number = string_to_int(entry) if len(entry) <= 20 else None
    if number is None:
        size = len(entry)
        if size < 64:
            return bytes((0x80 | size,)) + entry
        if size < 4096:
            return bytes((0xE0 | size >> 8, size & 0xFF)) + entry
        return b"\xf0" + struct.pack("<I", size) + entry
    if 0 <= number <= 127:
        return bytes((number,))
    if -4096 <= number <= 4095:
        number &= 0x1FFF
        return bytes((0xC0 | number >> 8, number & 0xFF))
    for lowest, highest, first, width in _LP_INTEGER_FORMS:
        if lowest <= number <= highest:
            return bytes((first,)) + number.to_bytes(width, "little", signed=True)
    raise CorruptData("integer out of range")  # string_to_int keeps to 64 bits: never reached


def _backlen(size):
    """lpEncodeBacklen: the entry's size in 7-bit groups, most significant first; every group but
    the first carries the 128 bit, so that it reads from the right."""
    groups = backlen_size(size)
    return bytes((size >> 7 * (groups - 1 - index)) & 127 | (128 if index else 0) for index in range(groups))


def backlen_size(entry_size):
    """How many bytes lpEncodeBacklen takes for an entry of this size."""
    for size, limit in enumerate((128, 16383, 2097151, 268435455), 1):
        if entry_size < limit:
            return size
    return 5


def listpack_entries(blob):
    """The entries of a listpack, checked as Redis's deep lpValidateIntegrity checks them: header
    size and count, each entry inside the blob, each back-length right, the 0xFF terminator."""
    if len(blob) < LISTPACK_HEADER + 1 or blob[-1] != 0xFF:
        raise CorruptData("listpack header or terminator is wrong")
    size, count = struct.unpack_from("<IH", blob)
    if size != len(blob):
        raise CorruptData("listpack header or terminator is wrong")
    entries = []
    position, end = LISTPACK_HEADER, len(blob) - 1
    while position < end:
        entry, entry_end = _listpack_entry_at(blob, position, end)
        backlen = backlen_size(entry_end - position)
        if entry_end + backlen > end or blob[entry_end:entry_end + backlen] != _backlen(entry_end - position):
            raise CorruptData("listpack entry past the end or with a wrong back-length")
        entries.append(entry)
        position = entry_end + backlen
    if count != LISTPACK_COUNT_UNKNOWN and count != len(entries):
        raise CorruptData("listpack count is wrong")
    return entries


def _listpack_entry_at(blob, position, end):
    """(entry as bytes, where its data ends) for the entry at position."""
    first = blob[position]
    if first < 0x80:  # 7-bit unsigned
        return b"%d" % first, position + 1
    if first < 0xC0:  # string, 6-bit length
        start, size = position + 1, first & 0x3F
    elif first < 0xE0:  # 13-bit signed
        if position + 2 > end:
            raise CorruptData("listpack entry past the end")
        value = ((first & 0x1F) << 8) | blob[position + 1]
        return b"%d" % (value - (1 << 13) if value >= 1 << 12 else value), position + 2
    elif first < 0xF0:  # string, 12-bit length
        if position + 2 > end:
            raise CorruptData("listpack entry past the end")
        start, size = position + 2, ((first & 0x0F) << 8) | blob[position + 1]
    elif first == 0xF0:  # string, 32-bit length
        if position + 5 > end:
            raise CorruptData("listpack entry past the end")
        start, size = position + 5, struct.unpack_from("<I", blob, position + 1)[0]
    elif first in _LP_INTEGERS:
        width, layout = _LP_INTEGERS[first]
        if position + 1 + width > end:
            raise CorruptData("listpack entry past the end")
        raw = blob[position + 1:position + 1 + width]
        value = struct.unpack(layout, raw)[0] if layout else int.from_bytes(raw, "little", signed=True)
        return b"%d" % value, position + 1 + width
    else:
        raise CorruptData("listpack entry with unknown encoding 0x%02x" % first)
    if start + size > end:
        raise CorruptData("listpack entry past the end")
    return bytes(blob[start:start + size]), start + size


# ------------------------------------------------------------------ ziplist (RDB files before Redis 7)

_ZL_INTEGERS = {0xC0: (2, "<h"), 0xD0: (4, "<i"), 0xE0: (8, "<q"), 0xF0: (3, None), 0xFE: (1, "<b")}


def ziplist_entries(blob):
    """The entries of a ziplist: 4-byte size, 4-byte tail offset, 2-byte count, entries, 0xFF; checked
    as Redis's deep ziplistValidateIntegrity checks them (each entry's record of the previous one's
    size, the tail offset, the count)."""
    if len(blob) < 11 or struct.unpack_from("<I", blob)[0] != len(blob) or blob[-1] != 0xFF:
        raise CorruptData("ziplist header or terminator is wrong")
    _, tail, count = struct.unpack_from("<IIH", blob)
    entries = []
    position, end, start, previous = 10, len(blob) - 1, 10, 0
    while position < end:
        start = position
        if blob[position] == 0xFE:
            recorded, position = struct.unpack_from("<I", blob, position + 1)[0], position + 5
        else:
            recorded, position = blob[position], position + 1
        if recorded != previous:
            raise CorruptData("ziplist entry with a wrong previous length")
        first = blob[position]
        kind = first >> 6
        if kind == 0:
            size, position = first & 0x3F, position + 1
        elif kind == 1:
            size, position = ((first & 0x3F) << 8) | blob[position + 1], position + 2
        elif kind == 2:
            size, position = struct.unpack_from(">I", blob, position + 1)[0], position + 5
        else:
            size = None
        if size is not None:
            entries.append(bytes(blob[position:position + size]))
            position += size
        elif first in _ZL_INTEGERS:
            width, layout = _ZL_INTEGERS[first]
            raw = blob[position + 1:position + 1 + width]
            value = struct.unpack(layout, raw)[0] if layout else int.from_bytes(raw, "little", signed=True)
            entries.append(b"%d" % value)
            position += 1 + width
        elif 0xF1 <= first <= 0xFD:  # a 4-bit immediate 0..12
            entries.append(b"%d" % ((first & 0x0F) - 1))
            position += 1
        else:
            raise CorruptData("ziplist entry with unknown encoding 0x%02x" % first)
        if position > end:
            raise CorruptData("ziplist entry past the end")
        previous = position - start
    if tail != start or (count != 0xFFFF and count != len(entries)):
        raise CorruptData("ziplist tail offset or count is wrong")
    return entries


# ------------------------------------------------------------------ intset

_INTSET_LAYOUTS = {2: "h", 4: "i", 8: "q"}


def intset(members):
    """An intset of the integer members: the narrowest width that holds them all, ascending."""
    numbers = sorted(int(member) for member in members)
    width = 2 if -(1 << 15) <= numbers[0] and numbers[-1] < 1 << 15 else \
        4 if -(1 << 31) <= numbers[0] and numbers[-1] < 1 << 31 else 8
    return struct.pack("<II%d%s" % (len(numbers), _INTSET_LAYOUTS[width]), width, len(numbers), *numbers)


def intset_members(blob):
    """An intset's members as decimal bytes: 4-byte width, 4-byte count, little-endian integers, which
    must ascend strictly (Redis's deep intsetValidateIntegrity)."""
    if len(blob) < 8:
        raise CorruptData("intset header cut short")
    width, count = struct.unpack_from("<II", blob)
    layout = _INTSET_LAYOUTS.get(width)
    if layout is None or len(blob) != 8 + width * count:
        raise CorruptData("intset of a wrong size")
    numbers = struct.unpack_from("<%d%s" % (count, layout), blob, 8)
    if any(a >= b for a, b in zip(numbers, numbers[1:])):
        raise CorruptData("intset not in ascending order")
    return [b"%d" % value for value in numbers]
