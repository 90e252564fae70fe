"""One value's RDB encoding, Redis's rdbSaveObject and rdbLoadObject: what dump.rdb (rdb.py) holds per
key and what a DUMP payload holds, so both share this codec.

    a type byte, then the value: a string; a list as a quicklist of listpacks; an intset or a
    plain set; a listpack or plain hash; a listpack or skiplist (binary scores) sorted set; a
    stream as its listpack nodes and groups (stream_rdb.py)

Lengths are 1, 2, 5 or 9 bytes (top two bits 00, 01, then 0x80, 0x81); top bits 11 mark a string
stored as an 8/16/32-bit integer or LZF-compressed. We write what Redis 7.0 writes for the same
encoding, so that a value kept the same way here and there serialises to the same bytes (a hash
table's order is Redis's dict order there and insertion order here). We read every type Redis 7.0
and earlier write, checked as Redis's deep sanitisation checks them (duplicates, NaN scores,
listpack and intset structure), and give the loaded value the encoding Redis would give it with
our limits. Any declared length is checked against the bytes left before anything is made.

A DUMP payload is a value, then the 2-byte RDB version and the CRC-64 of all before it
(cluster.c's createDumpPayload): dump_payload() and restore_payload().
"""
import math
import re
import struct

from persistence.codecs import (CorruptData, crc64, intset, intset_members, listpack, listpack_entries,
                                listpack_entry, lzf_compress, lzf_decompress, backlen_size, ziplist_entries)
from persistence.module_rdb import ModuleDataError, encode_module, load_module
from persistence.stream_rdb import encode_stream, load_stream
from protocol import string_to_int
from storage.hashes import Hash
from storage.keyspace import type_name
from storage.lists import List
from storage.module_values import ModuleTypes, ModuleValue
from storage.sets import INTSET_CAP, RedisSet
from storage.sorting import strtod
from storage.zsets import ZSet

RDB_VERSION = 10

# Value types
TYPE_STRING, TYPE_LIST, TYPE_SET, TYPE_ZSET, TYPE_HASH, TYPE_ZSET_2 = 0, 1, 2, 3, 4, 5
TYPE_MODULE, TYPE_MODULE_2 = 6, 7
TYPE_HASH_ZIPMAP, TYPE_LIST_ZIPLIST, TYPE_SET_INTSET, TYPE_ZSET_ZIPLIST, TYPE_HASH_ZIPLIST = 9, 10, 11, 12, 13
TYPE_LIST_QUICKLIST, TYPE_STREAM_LISTPACKS = 14, 15
TYPE_HASH_LISTPACK, TYPE_ZSET_LISTPACK, TYPE_LIST_QUICKLIST_2, TYPE_STREAM_LISTPACKS_2 = 16, 17, 18, 19

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0, 1, 2, 3
QUICKLIST_NODE_PLAIN, QUICKLIST_NODE_PACKED = 1, 2
LZF_MIN_LENGTH = 20  # Redis compresses only strings longer than this
LISTPACK_EMPTY = 7  # header and end byte
OPTIMIZATION_LEVELS = (4096, 8192, 16384, 32768, 65536)  # list-max-listpack-size -1 .. -5
SIZE_SAFETY_LIMIT = 8192
SIZE_ESTIMATE_OVERHEAD = 8
PACKED_THRESHOLD = 1 << 30  # an element this long gets a plain quicklist node (DEBUG QUICKLIST-PACKED-THRESHOLD)


class RDBError(Exception):
    """Bytes that are not a loadable RDB value or file: truncated, corrupt, or what we cannot load."""


class Limits:
    """The encoding thresholds of the server's config: what loaded values are encoded by, and how a
    list is cut into quicklist nodes when written."""

    def __init__(self, config, packed_threshold=PACKED_THRESHOLD, module_types=None):
        self.hash_entries = config["hash-max-listpack-entries"]
        self.hash_value = config["hash-max-listpack-value"]
        self.set_entries = min(config["set-max-intset-entries"], INTSET_CAP)
        self.zset = (config["zset-max-listpack-entries"], config["zset-max-listpack-value"])
        self.list_fill = config["list-max-listpack-size"]
        self.packed_threshold = packed_threshold
        self.module_types = ModuleTypes() if module_types is None else module_types  # what module values load as


# ------------------------------------------------------------------ writing


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
        packed = lzf_compress(value, len(value) - 4)
        if packed is not None:
            return b"%c%b%b%b" % (0xC0 | ENC_LZF, encode_length(len(packed)), encode_length(len(value)), packed)
    return encode_length(len(value)) + value


def quicklist_nodes(elements, fill, packed_threshold):
    """The list cut into quicklist nodes as pushes at its tail cut it (Redis 7.0's
    _quicklistNodeAllowInsert): lists of elements, or a lone element at least packed_threshold
    long, which gets a plain node (a tuple of one)."""
    nodes, node, size = [], [], 0
    for element in elements:
        length = len(element)
        if length >= packed_threshold:
            if node:
                nodes.append(node)
            nodes.append((element,))
            node = []
            continue
        if not (node and _allows_insert(size, len(node), fill, length)):
            if node:
                nodes.append(node)
            node, size = [], LISTPACK_EMPTY
        node.append(element)
        entry = len(listpack_entry(element))
        size += entry + backlen_size(entry)
    if node:
        nodes.append(node)
    return nodes


def _allows_insert(node_size, count, fill, length):
    new_size = node_size + length + SIZE_ESTIMATE_OVERHEAD
    if fill < 0 and -fill - 1 < len(OPTIMIZATION_LEVELS) and new_size <= OPTIMIZATION_LEVELS[-fill - 1]:
        return True
    if fill < 0 or new_size > SIZE_SAFETY_LIMIT:
        return False
    return count < fill


def _encode_list(value, string, limits):
    nodes = quicklist_nodes(value, limits.list_fill, limits.packed_threshold)
    parts = [encode_length(len(nodes))]
    for node in nodes:
        if type(node) is tuple:
            parts.append(encode_length(QUICKLIST_NODE_PLAIN) + string(node[0]))
        else:
            parts.append(encode_length(QUICKLIST_NODE_PACKED) + string(listpack(node)))
    return TYPE_LIST_QUICKLIST_2, b"".join(parts)


def _encode_set(value, string, limits):
    if not value.hashtable:
        return TYPE_SET_INTSET, string(intset(value))
    return TYPE_SET, encode_length(len(value)) + b"".join(map(string, value))


def _encode_hash(value, string, limits):
    if value.compact:
        return TYPE_HASH_LISTPACK, string(listpack([item for pair in value.items() for item in pair]))
    parts = [encode_length(len(value))]
    for field, item in value.items():
        parts.append(string(field))
        parts.append(string(item))
    return TYPE_HASH, b"".join(parts)


def listpack_score(score):
    """A score as zzlInsertAt writes it into a listpack (d2string): an integer when it is one."""
    if -4503599627370495.0 < score < 4503599627370496.0 and score == int(score):
        return b"%d" % int(score)
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return b"%.17g" % score


def _encode_zset(value, string, limits):
    if not value.skiplist:
        entries = []
        for score, member in value.order:
            entries.append(member)
            entries.append(listpack_score(score))
        return TYPE_ZSET_LISTPACK, string(listpack(entries))
    parts = [encode_length(len(value))]
    for score, member in reversed(value.order):  # Redis writes the skiplist tail first
        parts.append(string(member))
        parts.append(struct.pack("<d", score))
    return TYPE_ZSET_2, b"".join(parts)


def _encode_stream(value, string, limits):
    return TYPE_STREAM_LISTPACKS_2, encode_stream(value, string, encode_length)


_ENCODERS = {"list": _encode_list, "set": _encode_set, "hash": _encode_hash, "zset": _encode_zset,
             "stream": _encode_stream}


def encode_value(value, compress, limits):
    """(type byte, encoded value) for any stored value, as rdbSaveObjectType and rdbSaveObject write it."""
    if type(value) is ModuleValue:
        try:
            return TYPE_MODULE_2, encode_module(value, lambda item: encode_string(item, compress), encode_length)
        except ModuleDataError as error:
            raise RDBError(str(error)) from None
    kind = type_name(value)
    if kind == "string":
        return TYPE_STRING, encode_string(value, compress)
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        raise RDBError("cannot save a value of type %s" % kind)
    return encoder(value, lambda item: encode_string(item, compress), limits)


def serialized_length(value, compress, limits):
    """How many bytes the value takes serialised (DEBUG OBJECT's serializedlength, rdbSavedObjectLen)."""
    return len(encode_value(value, compress, limits)[1])


def dump_payload(value, compress, limits):
    """DUMP's serialisation: the type byte, the value, RDB_VERSION (2 bytes LE), the CRC-64 (8 bytes LE)."""
    kind, encoded = encode_value(value, compress, limits)
    body = bytes((kind,)) + encoded + struct.pack("<H", RDB_VERSION)
    return body + struct.pack("<Q", crc64(0, body))


# ------------------------------------------------------------------ reading


class Reader:
    """A cursor over RDB bytes; every read past the end is a truncation."""

    def __init__(self, data, position=0):
        self.data = data
        self.position = position

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
        """A length as rdbLoadLen(rdb, NULL) reads it: a special encoding's byte gives its low 6 bits."""
        return self.length()[0]

    def count(self, each=1):
        """A count of items that take at least `each` bytes apiece: never more than the bytes left can hold."""
        count = self.plain_length()
        if count * each > len(self.data) - self.position:
            raise RDBError("Length %d past the end of the data at offset %d" % (count, self.position))
        return count

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
            data = self.read(compressed)
            if not expanded:  # liblzf answers 0 for an error too, and Redis only compares that with the length
                return b""
            try:
                return lzf_decompress(data, expanded)
            except CorruptData as error:
                raise RDBError("Invalid LZF compressed string: %s" % error) from None
        raise RDBError("Unknown RDB string encoding type %d" % length)

    def old_double(self):
        """RDB_TYPE_ZSET's scores: a length byte then the number as text; 253-255 are nan, inf, -inf."""
        size = self.byte()
        special = {253: float("nan"), 254: float("inf"), 255: float("-inf")}
        return special[size] if size in special else _score(bytes(self.read(size)))


def load_value(source, kind, limits):
    """One value of the given type (rdbLoadObject); None for an empty aggregate, which Redis skips in
    a file and refuses in a payload. RDBError if the bytes are not a sound value."""
    loader = _LOADERS.get(kind)
    if loader is None:
        if kind == TYPE_MODULE:
            raise RDBError("Pre-release module format not supported")
        raise RDBError("Unknown RDB value type %d" % kind)
    try:
        return loader(source, limits)
    except ModuleDataError as error:
        raise RDBError(str(error)) from None
    except (CorruptData, IndexError, struct.error, ValueError, OverflowError) as error:
        raise RDBError("Internal error in RDB reading offset %d: %s" % (source.position, error)) from None


class PayloadError(Exception):
    """A RESTORE payload refused: `checksum` tells a wrong version or CRC from a malformed value."""

    def __init__(self, checksum):
        super().__init__("payload version or checksum" if checksum else "payload value")
        self.checksum = checksum


def restore_payload(payload, limits):
    """The value of a DUMP payload (verifyDumpPayload, then rdbLoadObjectType and rdbLoadObject).

    As in Redis the value is read from the payload's start and what follows it is not looked at;
    an empty aggregate is refused, as Redis's rdbLoadObject refuses it.
    """
    if len(payload) < 10:
        raise PayloadError(checksum=True)
    version, stored = struct.unpack_from("<HQ", payload, len(payload) - 10)
    if version > RDB_VERSION or crc64(0, memoryview(payload)[:-8]) != stored:
        raise PayloadError(checksum=True)
    source = Reader(memoryview(payload))
    try:
        value = load_value(source, source.byte(), limits)
    except RDBError:
        raise PayloadError(checksum=False) from None
    if value is None:
        raise PayloadError(checksum=False)
    return value


_SCORE = re.compile(rb"[-+]?(?:inf|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)", re.IGNORECASE)


def _score(raw):
    """A score written as text (listpacks, RDB_TYPE_ZSET): a number, never NaN."""
    if not _SCORE.fullmatch(raw):
        raise RDBError("Zset with a score that is not a number")
    return float(raw)


def _no_duplicates(items, what):
    if len(set(items)) != len(items):
        raise RDBError("Duplicate %s detected" % what)
    return items


def _strings(source):
    return [source.string() for _ in range(source.count())]


def _string_pairs(source):
    return [(source.string(), source.string()) for _ in range(source.count(2))]


def _pairs(items):
    if len(items) % 2:
        raise RDBError("Listpack or ziplist with an odd number of entries where pairs belong")
    return list(zip(items[::2], items[1::2]))


def _make_list(elements):
    return List(elements) if elements else None


def _make_set(members, limits):
    _no_duplicates(members, "set members")
    return RedisSet.built(members, limits.set_entries) if members else None


def _make_hash(pairs, limits):
    if not pairs:
        return None
    hash_ = Hash(pairs)
    if len(hash_) != len(pairs):
        raise RDBError("Duplicate hash fields detected")
    hash_.compact = len(hash_) <= limits.hash_entries and all(
        len(field) <= limits.hash_value and len(value) <= limits.hash_value for field, value in pairs)
    return hash_


def _make_zset(pairs, limits):
    """pairs of (member, score)."""
    if not pairs:
        return None
    scores = dict(pairs)
    if len(scores) != len(pairs):
        raise RDBError("Duplicate zset fields detected")
    if any(math.isnan(score) for score in scores.values()):
        raise RDBError("Zset with NAN score detected")
    return ZSet.from_scores(scores, limits.zset)


def _load_quicklist(source, limits, version):
    elements = []
    for _ in range(source.count()):
        if version == 2:
            container = source.plain_length()
            blob = source.string()
            if container == QUICKLIST_NODE_PLAIN:
                elements.append(blob)
            elif container == QUICKLIST_NODE_PACKED:
                elements.extend(listpack_entries(blob))  # an empty listpack is skipped, as Redis skips it
            else:
                raise RDBError("Quicklist integrity check failed")
        else:
            elements.extend(ziplist_entries(source.string()))
    return _make_list(elements)


def _load_zset_2(source, limits):
    return _make_zset([(source.string(), source.unpack("<d")) for _ in range(source.count(9))], limits)


def _load_zset_1(source, limits):
    return _make_zset([(source.string(), source.old_double()) for _ in range(source.count(2))], limits)


def _packed_zset(entries, limits):
    """A listpack's or ziplist's pairs: Redis reads each score with zzlStrtod (strtod of its first 127
    bytes) and never checks it, even sanitizing, so text that is not a number reads as its prefix."""
    return _make_zset([(member, strtod(score[:127])) for member, score in _pairs(entries)], limits)


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
    TYPE_STREAM_LISTPACKS: lambda source, limits: load_stream(source, 1),
    TYPE_STREAM_LISTPACKS_2: lambda source, limits: load_stream(source, 2),
    TYPE_MODULE_2: lambda source, limits: load_module(source, limits.module_types),
}
