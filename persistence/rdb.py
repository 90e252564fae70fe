"""Redis's RDB snapshot format, version 10 (Redis 7.0): dump() writes a keyspace, load() reads one back.

    "REDIS0010"  AUX fields (0xFA name value)...
    per non-empty database: SELECTDB (0xFE) index, RESIZEDB (0xFB) keys expires,
        per key: [EXPIRETIME_MS (0xFC) 8-byte LE Unix ms] type key value
    EOF (0xFF)  CRC-64 of everything before it, 8 bytes LE (0 when rdbchecksum is off)

Lengths are 1, 2, 5 or 9 bytes (top two bits 00, 01, then 0x80, 0x81); top
bits 11 mark a string stored as an 8/16/32-bit integer or LZF-compressed.
We write the plain types (string, list, set, hash, zset with binary
doubles), which Redis 7.0 loads and re-encodes by its own thresholds; we
read those and every compact type Redis 7.0 and earlier write (quicklist of
listpacks or ziplists, listpack and ziplist hashes and zsets, intsets).
Loaded aggregates get the encoding Redis would give them with our limits.
"""
import os
import struct
import time

from persistence.codecs import (CorruptData, crc64, intset_members, listpack_entries, lzf_compress,
                                lzf_decompress, ziplist_entries)
from protocol import string_to_int
from storage.hashes import Hash
from storage.keyspace import type_name
from storage.lists import List
from storage.sets import INTSET_CAP, RedisSet
from storage.zsets import ZSet

RDB_VERSION = 10
REDIS_VERSION = b"7.0.15"

# Value types
TYPE_STRING, TYPE_LIST, TYPE_SET, TYPE_ZSET, TYPE_HASH, TYPE_ZSET_2 = 0, 1, 2, 3, 4, 5
TYPE_MODULE, TYPE_MODULE_2 = 6, 7
TYPE_HASH_ZIPMAP, TYPE_LIST_ZIPLIST, TYPE_SET_INTSET, TYPE_ZSET_ZIPLIST, TYPE_HASH_ZIPLIST = 9, 10, 11, 12, 13
TYPE_LIST_QUICKLIST, TYPE_STREAM_LISTPACKS = 14, 15
TYPE_HASH_LISTPACK, TYPE_ZSET_LISTPACK, TYPE_LIST_QUICKLIST_2, TYPE_STREAM_LISTPACKS_2 = 16, 17, 18, 19
# Opcodes
OP_FUNCTION2, OP_FUNCTION, OP_MODULE_AUX, OP_IDLE, OP_FREQ = 245, 246, 247, 248, 249
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 250, 251, 252, 253, 254, 255

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3
QUICKLIST_NODE_PLAIN = 1
LZF_MIN_LENGTH = 20  # Redis compresses only strings longer than this
FLUSH_SIZE = 1 << 20


class RDBError(Exception):
    """A file that is not a loadable RDB: truncated, corrupt, or holding what we cannot load."""


# ------------------------------------------------------------------ writing


class _Output:
    """A file written through a buffer, with the running CRC-64 of what went in."""

    def __init__(self, file, checksum):
        self.file = file
        self.checksum = checksum
        self.crc = 0
        self.buffer = bytearray()

    def write(self, data):
        self.buffer += data
        if len(self.buffer) >= FLUSH_SIZE:
            self.flush()

    def flush(self):
        if self.checksum:
            self.crc = crc64(self.crc, self.buffer)
        self.file.write(self.buffer)
        self.buffer = bytearray()


def encode_length(length):
    if length < 1 << 6:
        return bytes((length,))
    if length < 1 << 14:
        return bytes((0x40 | length >> 8, length & 0xFF))
    if length < 1 << 32:
        return b"\x80" + length.to_bytes(4, "big")
    return b"\x81" + length.to_bytes(8, "big")


def encode_string(value, compress=False):
    """A string as rdbSaveRawString writes it: as an integer when it is one, LZF when that pays."""
    if len(value) <= 11:
        number = string_to_int(value)
        if number is not None:
            if -(1 << 7) <= number < 1 << 7:
                return struct.pack("<Bb", 0xC0 | ENC_INT8, number)
            if -(1 << 15) <= number < 1 << 15:
                return struct.pack("<Bh", 0xC0 | ENC_INT16, number)
            if -(1 << 31) <= number < 1 << 31:
                return struct.pack("<Bi", 0xC0 | ENC_INT32, number)
    if compress and len(value) > LZF_MIN_LENGTH:
        packed = lzf_compress(bytes(value))
        if packed is not None and len(packed) < len(value) - 4:
            return b"%c%b%b%b" % (0xC0 | ENC_LZF, encode_length(len(packed)), encode_length(len(value)), packed)
    return encode_length(len(value)) + value


def _encode_value(value, compress):
    """(type byte, encoded value) for any stored value."""
    kind = type_name(value)
    string = (lambda item: encode_string(item, compress))
    if kind == "string":
        return TYPE_STRING, string(value)
    parts = [encode_length(len(value))]
    if kind == "list" or kind == "set":
        parts.extend(map(string, value))
        return (TYPE_LIST if kind == "list" else TYPE_SET), b"".join(parts)
    if kind == "hash":
        for field, item in value.items():
            parts.append(string(field))
            parts.append(string(item))
        return TYPE_HASH, b"".join(parts)
    if kind == "zset":
        for score, member in reversed(value.order):  # Redis writes the skiplist tail first
            parts.append(string(member))
            parts.append(struct.pack("<d", score))
        return TYPE_ZSET_2, b"".join(parts)
    raise RDBError("cannot save a value of type %s" % kind)


def serialized_length(value, compress=True):
    """How many bytes the value takes in our dump (DEBUG OBJECT's serializedlength)."""
    return len(_encode_value(value, compress)[1])


def _aux(name, value):
    return b"\xfa" + encode_string(name) + encode_string(value)


def dump(keyspace, file, compress=True, checksum=True, used_memory=0, functions=()):
    """Write the whole keyspace to an open binary file as Redis 7.0 would; functions are the function
    libraries' code, written after the aux fields as Redis's rdbSaveFunctions does."""
    output = _Output(file, checksum)
    output.write(b"REDIS%04d" % RDB_VERSION)
    for name, value in ((b"redis-ver", REDIS_VERSION), (b"redis-bits", b"64"),
                        (b"ctime", b"%d" % int(time.time())), (b"used-mem", b"%d" % used_memory),
                        (b"aof-base", b"0")):
        output.write(_aux(name, value))
    for code in functions:
        output.write(bytes((OP_FUNCTION2,)) + encode_string(code, compress))
    for db in keyspace.databases:
        if not db.data:
            continue
        deadlines = db.expires.deadlines
        output.write(b"\xfe" + encode_length(db.index))
        output.write(b"\xfb" + encode_length(len(db.data)) + encode_length(len(deadlines)))
        for key, value in db.data.items():
            deadline = deadlines.get(key)
            if deadline is not None:
                output.write(struct.pack("<Bq", OP_EXPIRETIME_MS, deadline))
            kind, encoded = _encode_value(value, compress)
            output.write(bytes((kind,)))
            output.write(encode_string(key, compress))
            output.write(encoded)
    output.write(b"\xff")
    output.flush()
    file.write(struct.pack("<Q", output.crc))


def save(keyspace, path, compress=True, checksum=True, used_memory=0, functions=()):
    """Write a snapshot to a temporary file, fsync it, then rename it over path (never a half-written file)."""
    temporary = os.path.join(os.path.dirname(path) or ".", "temp-%d.rdb" % os.getpid())
    try:
        with open(temporary, "wb") as file:
            dump(keyspace, file, compress, checksum, used_memory, functions)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------ reading


class Limits:
    """The encoding thresholds loaded values are checked against (the server's config)."""

    def __init__(self, config):
        self.hash_entries = config["hash-max-listpack-entries"]
        self.hash_value = config["hash-max-listpack-value"]
        self.set_entries = min(config["set-max-intset-entries"], INTSET_CAP)
        self.zset = (config["zset-max-listpack-entries"], config["zset-max-listpack-value"])


class _Input:
    """A cursor over the file's bytes; every read past the end is a truncated file."""

    def __init__(self, data):
        self.data = data
        self.position = 0

    def read(self, size):
        start, end = self.position, self.position + size
        if end > len(self.data):
            raise RDBError("Short read or OOM loading DB: the file is truncated (offset %d)" % start)
        self.position = end
        return self.data[start:end]

    def byte(self):
        return self.read(1)[0]

    def unpack(self, layout):
        return struct.unpack(layout, self.read(struct.calcsize(layout)))[0]

    def length(self):
        """(length, False), or (special encoding, True) for an integer or LZF string."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return self.unpack(">I"), False
        if first == 0x81:
            return self.unpack(">Q"), False
        raise RDBError("Unknown length encoding 0x%02x at offset %d" % (first, self.position - 1))

    def plain_length(self):
        length, special = self.length()
        if special:
            raise RDBError("Encoded string where a length belongs at offset %d" % self.position)
        return length

    def string(self):
        length, special = self.length()
        if not special:
            return bytes(self.read(length))
        if length == ENC_INT8:
            return b"%d" % self.unpack("<b")
        if length == ENC_INT16:
            return b"%d" % self.unpack("<h")
        if length == ENC_INT32:
            return b"%d" % self.unpack("<i")
        if length == ENC_LZF:
            compressed, expanded = self.plain_length(), self.plain_length()
            try:
                return lzf_decompress(self.read(compressed), expanded)
            except CorruptData as error:
                raise RDBError("Invalid LZF compressed string: %s" % error) from None
        raise RDBError("Unknown RDB string encoding type %d" % length)

    def old_double(self):
        """RDB_TYPE_ZSET's scores: a length byte then the number as text; 253-255 are nan, inf, -inf."""
        size = self.byte()
        special = {253: float("nan"), 254: float("inf"), 255: float("-inf")}
        return special[size] if size in special else float(bytes(self.read(size)))


def read_string(data, position):
    """(one RDB string at position, the position after it): FUNCTION RESTORE's payload holds them."""
    source = _Input(data)
    source.position = position
    value = source.string()
    return value, source.position


class LoadResult:
    """What a load found: keys loaded and skipped as expired, the file's aux fields, and the function
    libraries' code (the loader hands it to the server's scripting)."""

    def __init__(self):
        self.loaded = 0
        self.expired = 0
        self.aux = {}
        self.functions = []


def load(path, keyspace, limits, checksum=True, now_ms=None):
    """Read an RDB file into the keyspace (adding to what it holds); raise RDBError if it is not sound."""
    with open(path, "rb") as file:
        data = file.read()
    return loads(data, keyspace, limits, checksum, now_ms)


def loads(data, keyspace, limits, checksum=True, now_ms=None):
    now_ms = keyspace.clock() if now_ms is None else now_ms
    data = memoryview(data)
    if len(data) < 9 or bytes(data[:5]) != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file")
    version = int(bytes(data[5:9])) if bytes(data[5:9]).isdigit() else -1
    if not 1 <= version <= RDB_VERSION:
        raise RDBError("Can't handle RDB format version %s" % bytes(data[5:9]).decode(errors="replace"))
    source = _Input(data)
    source.position = 9
    result = LoadResult()
    try:
        _load_body(source, keyspace, limits, now_ms, result)
    except (CorruptData, IndexError, struct.error, ValueError) as error:
        raise RDBError("Internal error in RDB reading offset %d: %s" % (source.position, error)) from None
    if version >= 5:
        _check_crc(data, source, checksum)
    return result


def _check_crc(data, source, checksum):
    stored = source.unpack("<Q")
    if stored == 0 or not checksum:
        return  # saved with rdbchecksum no, or we were told not to check
    computed = crc64(0, data[:source.position - 8])
    if stored != computed:
        raise RDBError("Wrong RDB checksum expected: (%x) got (%x). Aborting now." % (stored, computed))


def _load_body(source, keyspace, limits, now_ms, result):
    db = keyspace.databases[0]
    deadline = None
    while True:
        kind = source.byte()
        if kind == OP_EOF:
            return
        if kind == OP_SELECTDB:
            index = source.plain_length()
            if index >= len(keyspace.databases):
                raise RDBError("FATAL: Data file was created with a Redis server configured to handle more "
                               "than %d databases. Exiting" % len(keyspace.databases))
            db = keyspace.databases[index]
        elif kind == OP_RESIZEDB:
            source.plain_length()
            source.plain_length()
        elif kind == OP_EXPIRETIME_MS:
            deadline = source.unpack("<q")
        elif kind == OP_EXPIRETIME:
            deadline = source.unpack("<i") * 1000
        elif kind == OP_IDLE:
            source.plain_length()
        elif kind == OP_FREQ:
            source.byte()
        elif kind == OP_AUX:
            name = source.string()
            result.aux[name] = source.string()
        elif kind == OP_FUNCTION2:
            result.functions.append(source.string())
        elif kind == OP_FUNCTION:
            raise RDBError("Pre-release function format not supported")
        elif kind == OP_MODULE_AUX:
            raise RDBError("Module auxiliary data found, but modules are not supported")
        else:
            key = source.string()
            value = _load_value(source, kind, limits)
            if deadline is not None and deadline < now_ms:
                result.expired += 1  # as a master does: an expired key is not loaded
            elif value is not None:
                db.set(key, value)
                if deadline is not None:
                    db.set_deadline(key, deadline)
                result.loaded += 1
            deadline = None


def _load_value(source, kind, limits):
    """One value of the given type; None for an empty aggregate (Redis skips those)."""
    loader = _LOADERS.get(kind)
    if loader is None:
        if kind in (TYPE_MODULE, TYPE_MODULE_2):
            raise RDBError("Module value found, but modules are not supported")
        if kind in (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2):
            raise RDBError("Stream value found, but streams are not supported")
        raise RDBError("Unknown RDB value type %d" % kind)
    return loader(source, limits)


def _strings(source):
    return [source.string() for _ in range(source.plain_length())]


def _string_pairs(source):
    return [(source.string(), source.string()) for _ in range(source.plain_length())]


def _pairs(items):
    return list(zip(items[::2], items[1::2]))


def _make_list(elements):
    return List(elements) if elements else None


def _make_set(members, limits):
    return RedisSet.built(members, limits.set_entries) if members else None


def _make_hash(pairs, limits):
    if not pairs:
        return None
    hash_ = Hash(pairs)
    hash_.compact = len(hash_) <= limits.hash_entries and all(
        len(field) <= limits.hash_value and len(value) <= limits.hash_value for field, value in pairs)
    return hash_


def _make_zset(pairs, limits):
    """pairs of (member, score)."""
    return ZSet.from_scores(dict(pairs), limits.zset) if pairs else None


def _load_quicklist(source, limits, version):
    elements = []
    for _ in range(source.plain_length()):
        if version == 2:
            container = source.plain_length()
            blob = source.string()
            elements.extend([blob] if container == QUICKLIST_NODE_PLAIN else listpack_entries(blob))
        else:
            elements.extend(ziplist_entries(source.string()))
    return _make_list(elements)


def _load_zset_2(source, limits):
    return _make_zset([(source.string(), source.unpack("<d")) for _ in range(source.plain_length())], limits)


def _load_zset_1(source, limits):
    return _make_zset([(source.string(), source.old_double()) for _ in range(source.plain_length())], limits)


def _packed_zset(entries, limits):
    return _make_zset([(member, float(score)) for member, score in _pairs(entries)], limits)


_LOADERS = {
    TYPE_STRING: lambda source, limits: source.string(),
    TYPE_LIST: lambda source, limits: _make_list(_strings(source)),
    TYPE_SET: lambda source, limits: _make_set(_strings(source), limits),
    TYPE_ZSET: _load_zset_1,
    TYPE_HASH: lambda source, limits: _make_hash(_string_pairs(source), limits),
    TYPE_ZSET_2: _load_zset_2,
    TYPE_LIST_ZIPLIST: lambda source, limits: _make_list(ziplist_entries(source.string())),
    TYPE_SET_INTSET: lambda source, limits: _make_set(intset_members(source.string()), limits),
    TYPE_ZSET_ZIPLIST: lambda source, limits: _packed_zset(ziplist_entries(source.string()), limits),
    TYPE_HASH_ZIPLIST: lambda source, limits: _make_hash(_pairs(ziplist_entries(source.string())), limits),
    TYPE_LIST_QUICKLIST: lambda source, limits: _load_quicklist(source, limits, 1),
    TYPE_HASH_LISTPACK: lambda source, limits: _make_hash(_pairs(listpack_entries(source.string())), limits),
    TYPE_ZSET_LISTPACK: lambda source, limits: _packed_zset(listpack_entries(source.string()), limits),
    TYPE_LIST_QUICKLIST_2: lambda source, limits: _load_quicklist(source, limits, 2),
}
