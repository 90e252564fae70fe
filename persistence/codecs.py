"""The byte-level pieces of an RDB file: CRC-64, LZF, and Redis's packed blobs (listpack, ziplist, intset).

crc64 is Redis's crc64.c: the Jones polynomial, reflected, no final xor
(crc64(b"123456789") == 0xe9c6d914c4b8d9ca), driven by a 256-entry table.
LZF is Marc Lehmann's format as Redis's lzf_d.c reads it and lzf_c.c writes it.
The packed decoders turn a blob into its entries as bytes, integers spelled
in decimal, which is how every command sees them.
"""
import struct


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
    """Expand LZF data; it must come out exactly expected_length bytes long."""
    out = bytearray()
    position, end = 0, len(data)
    while position < end:
        control = data[position]
        position += 1
        if control < 32:  # a literal run of control + 1 bytes
            run = control + 1
            if position + run > end:
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
        if reference < 0:
            raise CorruptData("LZF back reference before the start")
        for index in range(reference, reference + length + 2):  # may overlap what it writes
            out.append(out[index])
    if len(out) != expected_length:
        raise CorruptData("LZF data expands to %d bytes, not %d" % (len(out), expected_length))
    return bytes(out)


LZF_HASH_LOG = 16
LZF_MAX_OFFSET = 1 << 13
LZF_MAX_REFERENCE = (1 << 8) + (1 << 3)


def lzf_compress(data):
    """LZF-compress data; None unless the result is shorter (Redis then stores the string as is)."""
    length = len(data)
    if length < 4:
        return None
    out = bytearray()
    table = {}
    literal = bytearray()
    position = 0
    while position < length - 2:
        triple = data[position:position + 3]
        reference = table.get(triple)
        table[triple] = position
        offset = position - reference - 1 if reference is not None else -1
        if 0 <= offset < LZF_MAX_OFFSET:
            maximum = min(LZF_MAX_REFERENCE, length - position)
            match = 3
            while match < maximum and data[reference + match] == data[position + match]:
                match += 1
            _flush_literal(out, literal)
            encoded = match - 2
            if encoded < 7:
                out.append((encoded << 5) | (offset >> 8))
            else:
                out.append((7 << 5) | (offset >> 8))
                out.append(encoded - 7)
            out.append(offset & 0xFF)
            position += match
            continue
        literal.append(data[position])
        position += 1
    literal += data[position:]
    _flush_literal(out, literal)
    return bytes(out) if len(out) < length else None


def _flush_literal(out, literal):
    for start in range(0, len(literal), 32):
        chunk = literal[start:start + 32]
        out.append(len(chunk) - 1)
        out += chunk
    literal.clear()


# ------------------------------------------------------------------ listpack

_LP_INTEGERS = {0xF1: (2, "<h"), 0xF2: (3, None), 0xF3: (4, "<i"), 0xF4: (8, "<q")}


def listpack_entries(blob):
    """The entries of a listpack: 4-byte total size, 2-byte count, entries with back-lengths, 0xFF."""
    if len(blob) < 7 or struct.unpack_from("<I", blob)[0] != len(blob) or blob[-1] != 0xFF:
        raise CorruptData("listpack header or terminator is wrong")
    entries = []
    position, end = 6, len(blob) - 1
    while position < end:
        start = position
        first = blob[position]
        if first < 0x80:  # 7-bit unsigned
            entry, position = b"%d" % first, position + 1
        elif first < 0xC0:  # string, 6-bit length
            size = first & 0x3F
            entry, position = blob[position + 1:position + 1 + size], position + 1 + size
        elif first < 0xE0:  # 13-bit signed
            value = ((first & 0x1F) << 8) | blob[position + 1]
            entry, position = b"%d" % (value - (1 << 13) if value >= 1 << 12 else value), position + 2
        elif first < 0xF0:  # string, 12-bit length
            size = ((first & 0x0F) << 8) | blob[position + 1]
            entry, position = blob[position + 2:position + 2 + size], position + 2 + size
        elif first == 0xF0:  # string, 32-bit length
            size = struct.unpack_from("<I", blob, position + 1)[0]
            entry, position = blob[position + 5:position + 5 + size], position + 5 + size
        elif first in _LP_INTEGERS:
            size, layout = _LP_INTEGERS[first]
            raw = blob[position + 1:position + 1 + size]
            value = struct.unpack(layout, raw)[0] if layout else int.from_bytes(raw, "little", signed=True)
            entry, position = b"%d" % value, position + 1 + size
        else:
            raise CorruptData("listpack entry with unknown encoding 0x%02x" % first)
        position += _backlen_size(position - start)
        if position > end:
            raise CorruptData("listpack entry past the end")
        entries.append(bytes(entry))
    return entries


def _backlen_size(entry_size):
    for size, limit in enumerate((127, 16383, 2097151, 268435455), 1):
        if entry_size <= limit:
            return size
    return 5


# ------------------------------------------------------------------ ziplist (RDB files before Redis 7)

_ZL_INTEGERS = {0xC0: (2, "<h"), 0xD0: (4, "<i"), 0xE0: (8, "<q"), 0xF0: (3, None), 0xFE: (1, "<b")}


def ziplist_entries(blob):
    """The entries of a ziplist: 4-byte size, 4-byte tail offset, 2-byte count, entries, 0xFF."""
    if len(blob) < 11 or struct.unpack_from("<I", blob)[0] != len(blob) or blob[-1] != 0xFF:
        raise CorruptData("ziplist header or terminator is wrong")
    entries = []
    position, end = 10, len(blob) - 1
    while position < end:
        position += 5 if blob[position] == 0xFE else 1  # the previous entry's length
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
    return entries


# ------------------------------------------------------------------ intset

_INTSET_LAYOUTS = {2: "h", 4: "i", 8: "q"}


def intset_members(blob):
    """An intset's members as decimal bytes: 4-byte width, 4-byte count, sorted little-endian integers."""
    if len(blob) < 8:
        raise CorruptData("intset header cut short")
    width, count = struct.unpack_from("<II", blob)
    layout = _INTSET_LAYOUTS.get(width)
    if layout is None or len(blob) != 8 + width * count:
        raise CorruptData("intset of a wrong size")
    return [b"%d" % value for value in struct.unpack_from("<%d%s" % (count, layout), blob, 8)]
