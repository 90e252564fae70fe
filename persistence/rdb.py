"""Redis's RDB snapshot format, version 10 (Redis 7.0): dump() writes a keyspace, load() reads one back.

    "REDIS0010"  AUX fields (0xFA name value)...
    per non-empty database: SELECTDB (0xFE) index, RESIZEDB (0xFB) keys expires,
        per key: [EXPIRETIME_MS (0xFC) 8-byte LE Unix ms] type key value
    EOF (0xFF)  CRC-64 of everything before it, 8 bytes LE (0 when rdbchecksum is off)

Each key's type and value are objects.py's, the codec DUMP and RESTORE share: Redis 7.0's own
encodings (quicklists of listpacks, intsets, listpack hashes and sorted sets) both ways, and every
older type Redis writes on the way in. Loaded aggregates get the encoding Redis would give them
with our limits.
"""
import os
import struct
import time

from persistence import written_whole
from persistence.codecs import CorruptData, crc64
from persistence.objects import (RDB_VERSION, Limits, RDBError, Reader, encode_length, encode_string, encode_value,
                                 load_value)

# Opcodes
OP_FUNCTION2, OP_FUNCTION, OP_MODULE_AUX, OP_IDLE, OP_FREQ = 245, 246, 247, 248, 249
OP_AUX, OP_RESIZEDB, OP_EXPIRETIME_MS, OP_EXPIRETIME, OP_SELECTDB, OP_EOF = 250, 251, 252, 253, 254, 255

REDIS_VERSION = b"7.0.15"
FLUSH_SIZE = 1 << 20


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


def _aux(name, value):
    return b"\xfa" + encode_string(name) + encode_string(value)


def dump(keyspace, file, limits, compress=True, checksum=True, used_memory=0, functions=(), repl_info=None,
         aof_base=False):
    """Write the whole keyspace (None: no keys) to an open binary file as Redis 7.0 would (limits: a list's
    quicklist nodes); functions are the function libraries' code, written after the aux fields as Redis's
    rdbSaveFunctions does.
    repl_info, (stream db, replication ID, offset), goes in the repl-* aux fields (rdbPopulateSaveInfo's),
    so a replica restarted from the file can continue with PSYNC. aof_base: the BASE of a multi-part AOF
    (aux aof-base 1)."""
    output = _Output(file, checksum)
    output.write(b"REDIS%04d" % RDB_VERSION)
    fields = [(b"redis-ver", REDIS_VERSION), (b"redis-bits", b"64"), (b"ctime", b"%d" % int(time.time())),
              (b"used-mem", b"%d" % used_memory)]
    if repl_info is not None:
        stream_db, replid, offset = repl_info
        fields += [(b"repl-stream-db", b"%d" % stream_db), (b"repl-id", replid.encode()),
                   (b"repl-offset", b"%d" % offset)]
    for name, value in fields + [(b"aof-base", b"1" if aof_base else b"0")]:
        output.write(_aux(name, value))
    for code in functions:
        output.write(bytes((OP_FUNCTION2,)) + encode_string(code, compress))
    for db in keyspace.databases if keyspace is not None else ():
        if not db.data:
            continue
        deadlines = db.expires.deadlines
        output.write(b"\xfe" + encode_length(db.index))
        output.write(b"\xfb" + encode_length(len(db.data)) + encode_length(len(deadlines)))
        for key, value in db.data.items():
            deadline = deadlines.get(key)
            if deadline is not None:
                output.write(struct.pack("<Bq", OP_EXPIRETIME_MS, deadline))
            kind, encoded = encode_value(value, compress, limits)
            output.write(bytes((kind,)))
            output.write(encode_string(key, compress))
            output.write(encoded)
    output.write(b"\xff")
    output.flush()
    file.write(struct.pack("<Q", output.crc))


def save(keyspace, path, limits, compress=True, checksum=True, used_memory=0, functions=(), repl_info=None):
    """Write a snapshot to a temporary file, fsync it, then rename it over path (never a half-written file)."""
    temporary = os.path.join(os.path.dirname(path) or ".", "temp-%d.rdb" % os.getpid())
    with written_whole(path, temporary) as file:
        dump(keyspace, file, limits, compress, checksum, used_memory, functions, repl_info)


# ------------------------------------------------------------------ reading


def read_string(data, position):
    """(one RDB string at position, the position after it): FUNCTION RESTORE's payload holds them."""
    source = Reader(data, position)
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
        self.end = 0  # the offset after the RDB: an AOF's commands may follow it


def load(path, keyspace, limits, checksum=True, drop_expired=True, progress=None):
    """Read an RDB file into the keyspace (adding to what it holds); raise RDBError if it is not sound."""
    with open(path, "rb") as file:
        data = file.read()
    return loads(data, keyspace, limits, checksum, drop_expired, progress)


def loads(data, keyspace, limits, checksum=True, drop_expired=True, progress=None):
    """load() from bytes. drop_expired: a master leaves out keys already expired; a replica keeps them,
    for its master's DEL to delete (rdbLoad's iAmMaster() test). progress: the server's LoadProgress,
    told how far the load is every loading-process-events-interval-bytes (it lets the clients in)."""
    now_ms = keyspace.clock() if drop_expired else -1 << 63
    data = memoryview(data)
    if len(data) < 9 or bytes(data[:5]) != b"REDIS":
        raise RDBError("Wrong signature trying to load DB from file")
    version = int(bytes(data[5:9])) if bytes(data[5:9]).isdigit() else -1
    if not 1 <= version <= RDB_VERSION:
        raise RDBError("Can't handle RDB format version %s" % bytes(data[5:9]).decode(errors="replace"))
    source = Reader(data, 9)
    result = LoadResult()
    listener = keyspace.events  # loaded keys are nobody's events, as Redis's dbAddRDBLoad announces nothing
    keyspace.listen(None)
    try:
        _load_body(source, keyspace, limits, now_ms, result, progress)
    except (CorruptData, IndexError, struct.error, ValueError) as error:
        raise RDBError("Internal error in RDB reading offset %d: %s" % (source.position, error)) from None
    finally:
        keyspace.listen(listener)
    if version >= 5:
        _check_crc(data, source, checksum, progress)
    result.end = source.position
    return result


def _check_crc(data, source, checksum, progress):
    stored = source.unpack("<Q")
    if stored == 0 or not checksum:
        return  # saved with rdbchecksum no, or we were told not to check
    end = source.position - 8
    step = progress.interval if progress is not None else end
    computed = 0
    for start in range(0, end, step):  # a slow loop in Python: the clients get their turns between the steps
        if progress is not None and end >= step:  # (a file shorter than a step loads without a turn)
            progress.advance(source.position)
        computed = crc64(computed, data[start:min(start + step, end)])
    if stored != computed:
        raise RDBError("Wrong RDB checksum expected: (%x) got (%x). Aborting now." % (stored, computed))


def _load_body(source, keyspace, limits, now_ms, result, progress):
    db = keyspace.databases[0]
    deadline = None
    interval = progress.interval if progress is not None else 0
    next_turn = interval or len(source.data) + 1  # where the clients get their next turn
    while True:
        if source.position >= next_turn:
            progress.advance(source.position, result)
            next_turn = (source.position // interval + 1) * interval
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
            value = load_value(source, kind, limits)
            if deadline is not None and deadline < now_ms:
                result.expired += 1  # as a master does: an expired key is not loaded
            elif value is not None:
                db.set(key, value)
                if deadline is not None:
                    db.set_deadline(key, deadline)
                result.loaded += 1
            deadline = None
