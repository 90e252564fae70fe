"""DEBUG, as Redis 7.0's debug.c: the subcommands that tools and test suites use.

Allowed only as enable-debug-command says (see serving/access.py). Every
subcommand checks its own argument count, as Redis does, and one it does
not know, or given the wrong count, answers Redis's "unknown subcommand or
wrong number of arguments" error. DEBUG SLEEP stops the whole server, as in
Redis: it sleeps without yielding to the other greenlets.
"""
import hashlib
import logging
import os
import re
import struct
import time

from commands import Command, table
from commands.keys import encoding, refcount
from errors import NO_SUCH_KEY, ReplyError, subcommand_syntax
from persistence import aof_load
from persistence.aof import AOFError
from persistence.codecs import listpack
from persistence.objects import Limits, encode_value, quicklist_nodes, serialized_length
from persistence.rdb import RDBError
from protocol import Attribute, BigNumber, Frames, Push, SetReply, Verbatim
from serving.values import memtoull
from storage.keyspace import type_name
from storage.module_values import ModuleValue

log = logging.getLogger("mini-redis")

RELOAD_OPTIONS = "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
RELOAD_FAILED = "ERR Error trying to load the RDB dump, check server logs."
PACKED_THRESHOLD_RANGE = "ERR argument must be a memory value bigger than 1 and smaller than 4gb"
NOT_A_LISTPACK = "ERR Not a listpack encoded object."
PROTOCOL_TYPES = "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"

DEBUG_HELP = [
    'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
    'AOF-FLUSH-SLEEP <microsec>',
    '    Server will sleep before flushing the AOF, this is used for testing.',
    'ASSERT',
    '    Crash by assertion failed.',
    'CHANGE-REPL-ID',
    '    Change the replication IDs of the instance.',
    '    Dangerous: should be used only for testing the replication subsystem.',
    'CONFIG-REWRITE-FORCE-ALL',
    '    Like CONFIG REWRITE but writes all configuration options, including',
    '    keywords not listed in original configuration file or default values.',
    'CRASH-AND-RECOVER [<milliseconds>]',
    '    Hard crash and restart after a <milliseconds> delay (default 0).',
    'DIGEST',
    '    Output a hex signature representing the current DB content.',
    'DIGEST-VALUE <key> [<key> ...]',
    '    Output a hex signature of the values of all the specified keys.',
    'ERROR <string>',
    '    Return a Redis protocol error with <string> as message. Useful for clients',
    '    unit tests to simulate Redis errors.',
    'LEAK <string>',
    '    Create a memory leak of the input string.',
    'LOG <message>',
    '    Write <message> to the server log.',
    'HTSTATS <dbid>',
    '    Return hash table statistics of the specified Redis database.',
    'HTSTATS-KEY <key>',
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    'LOADAOF',
    '    Flush the AOF buffers on disk and reload the AOF in memory.',
    'REPLICATE <string>',
    '    Replicates the provided string to replicas, allowing data divergence.',
    'MALLCTL <key> [<val>]',
    '    Get or set a malloc tuning integer.',
    'MALLCTL-STR <key> [<val>]',
    '    Get or set a malloc tuning string.',
    'OBJECT <key>',
    '    Show low level info about `key` and associated value.',
    'DROP-CLUSTER-PACKET-FILTER <packet-type>',
    '    Drop all packets that match the filtered type. Set to -1 allow all packets.',
    'OOM',
    '    Crash the server simulating an out-of-memory error.',
    'PANIC',
    '    Crash the server simulating a panic.',
    'POPULATE <count> [<prefix>] [<size>]',
    '    Create <count> string keys named key:<num>. If <prefix> is specified then',
    "    it is used instead of the 'key' prefix. These are not propagated to",
    '    replicas. Cluster slots are not respected so keys not belonging to the',
    '    current node can be created in cluster mode.',
    'PROTOCOL <type>',
    '    Reply with a test value of the specified type. <type> can be: string,',
    '    integer, double, bignum, null, array, set, map, attrib, push, verbatim,',
    '    true, false.',
    'RELOAD [option ...]',
    '    Save the RDB on disk and reload it back to memory. Valid <option> values:',
    '    * MERGE: conflicting keys will be loaded from RDB.',
    '    * NOFLUSH: the existing database will not be removed before load, but',
    '      conflicting keys will generate an exception and kill the server.',
    '    * NOSAVE: the database will be loaded from an existing RDB file.',
    '    Examples:',
    '    * DEBUG RELOAD: verify that the server is able to persist, flush and reload',
    '      the database.',
    '    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an',
    '      existing RDB file.',
    '    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB',
    '      file to the database.',
    'RESTART [<milliseconds>]',
    '    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).',
    'SDSLEN <key>',
    '    Show low level SDS string info representing `key` and value.',
    'SEGFAULT',
    '    Crash the server with sigsegv.',
    'SET-ACTIVE-EXPIRE <0|1>',
    '    Setting it to 0 disables expiring keys in background when they are not',
    '    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the',
    '    default.',
    'QUICKLIST-PACKED-THRESHOLD <size>',
    '    Sets the threshold for elements to be inserted as plain vs packed nodes',
    '    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.',
    'SET-SKIP-CHECKSUM-VALIDATION <0|1>',
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    'SLEEP <seconds>',
    '    Stop the server for <seconds>. Decimals allowed.',
    'STRINGMATCH-TEST',
    '    Run a fuzz tester against the stringmatchlen() function.',
    'STRUCTSIZE',
    '    Return the size of different Redis core C structures.',
    'LISTPACK <key>',
    '    Show low level info about the listpack encoding of <key>.',
    'QUICKLIST <key> [<0|1>]',
    '    Show low level info about the quicklist encoding of <key>.',
    '    The optional argument (0 by default) sets the level of detail',
    'CLIENT-EVICTION',
    '    Show low level client eviction pools info (maxmemory-clients).',
    'PAUSE-CRON <0|1>',
    '    Stop periodic cron job processing.',
    'REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>',
    '    Sets the time (in milliseconds) to wait between client reply buffer peak resets.',
    '    In case NEVER is provided the last observed peak will never be reset',
    '    In case RESET is provided the peak reset time will be restored to the default value',
    'REPLYBUFFER RESIZING <0|1>',
    '    Enable or disable the reply buffer resize cron job',
    'CLUSTERLINK KILL <to|from|all> <node-id>',
    '    Kills the link based on the direction to/from (both) with the provided node.',
    'HELP',
    '    Prints this help.',
]


def debug(session, subcommand, *arguments):
    """DEBUG subcommand [argument ...]"""
    found = SUBCOMMANDS.get(subcommand.lower())
    if found is None or not _count_ok(found[1], len(arguments) + 2):
        raise subcommand_syntax(session.argv)
    return found[0](session, *arguments)


def _count_ok(arity, count):
    return count == arity if arity >= 0 else count >= -arity


def debug_help(session):
    """DEBUG HELP"""
    return DEBUG_HELP


# ------------------------------------------------------------------ OBJECT


def debug_object(session, key):
    """DEBUG OBJECT key: the value's low-level description (found without expiring it, as Redis does)."""
    db = session.db
    value = db.data.get(key)
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    keyspace = session.server.keyspace
    kind = encoding(value)
    kind = kind.decode() if isinstance(kind, bytes) else kind
    config = session.server.config
    serialized = serialized_length(value, config["rdbcompression"], Limits(config, keyspace.quicklist_packed_threshold))
    lru = _lru_field(db, key)
    clock = keyspace.access_clock // 1000 & LRU_CLOCK_MAX
    idle = clock - lru if clock >= lru else LRU_CLOCK_MAX - lru + clock
    text = "Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d" % (
        id(value), refcount(value), kind, serialized, lru, idle)
    if kind == "quicklist":
        text += _quicklist_fields(value, session.server.config["list-max-listpack-size"],
                                  keyspace.quicklist_packed_threshold)
    return text


LRU_CLOCK_MAX = (1 << 24) - 1


def _lru_field(db, key):
    """The object's lru field: the LRU clock (seconds) of its last access, or its LFU word under LFU."""
    touched = db.touched_at(key)
    if db.keyspace.memory.lfu:
        return touched if touched is not None else 0
    return (db.keyspace.access_clock if touched is None else touched) // 1000 & LRU_CLOCK_MAX


def _quicklist_fields(elements, fill, packed_threshold):
    """The ql_* fields of a list laid out as Redis lays out one built by pushes at its tail."""
    nodes = quicklist_nodes(elements, fill, packed_threshold)
    size = sum(len(node[0]) if type(node) is tuple else len(listpack(node)) for node in nodes)
    return " ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:0 ql_uncompressed_size:%d" % (
        len(nodes), len(elements) / len(nodes) if nodes else 0, fill, size)


def debug_listpack(session, key):
    """DEBUG LISTPACK key: Redis prints the listpack on its standard output; we log its entries."""
    value = session.db.data.get(key)
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    kind = encoding(value)
    if (kind.decode() if isinstance(kind, bytes) else kind) != "listpack":
        raise ReplyError(NOT_A_LISTPACK)
    log.info("Listpack of %r: %r", key, list(value.items()))
    return "Listpack structure printed on stdout"


# ------------------------------------------------------------------ DIGEST


TYPE_CODES = {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4, "stream": 6}  # Redis's OBJ_* numbers
OBJ_MODULE = 5


def _sha1(data):
    return int.from_bytes(hashlib.sha1(data).digest(), "big")


def _mix(digest, data):
    """mixDigest: xor in the data's SHA1, then take the SHA1 of the result."""
    return _sha1((digest ^ _sha1(data)).to_bytes(20, "big"))


def value_digest(db, key, value, digest=0):
    """xorObjectDigest: the value's type and contents mixed into digest, and whether it has a TTL.
    (Redis's xorDigest xors in the SHA1 of what it is given, a 20-byte digest included.)"""
    if type(value) is ModuleValue:  # Redis mixes in what the type's digest callback gives; ours, what save() writes
        digest = _mix(_mix(digest, struct.pack(">I", OBJ_MODULE)), encode_value(value, False, None)[1])
        return digest ^ _sha1(b"!!expire!!") if key in db.expires else digest
    kind = type_name(value)
    digest = _mix(digest, struct.pack(">I", TYPE_CODES[kind]))
    if kind == "string":
        digest = _mix(digest, bytes(value))
    elif kind == "list":
        for element in value:
            digest = _mix(digest, element)
    elif kind == "set":
        for member in value:
            digest ^= _sha1(member)
    elif kind == "zset":
        for member, score in value.items():
            digest ^= _sha1(_mix(_mix(0, member), b"%.17g" % score).to_bytes(20, "big"))
    elif kind == "hash":
        for field, item in value.items():
            digest ^= _sha1(_mix(_mix(0, field), item).to_bytes(20, "big"))
    elif kind == "stream":
        for stream_id, fields in value.entries:
            digest = _mix(digest, b"%d.%d" % (stream_id >> 64, stream_id & (2**64 - 1)))
            for item in fields:
                digest = _mix(digest, item)
    if key in db.expires:
        digest ^= _sha1(b"!!expire!!")
    return digest


def dataset_digest(keyspace):
    """computeDatasetDigest: each database's number, then every key and value, in an order-free mix."""
    final = 0
    for db in keyspace.databases:
        if not db.data:
            continue
        final = _mix(final, struct.pack(">I", db.index))
        for key, value in db.data.items():
            final ^= _sha1(value_digest(db, key, value, _mix(0, key)).to_bytes(20, "big"))
    return final


def debug_digest(session):
    """DEBUG DIGEST"""
    return "%040x" % dataset_digest(session.server.keyspace)


def debug_digest_value(session, *keys):
    """DEBUG DIGEST-VALUE [key ...]"""
    db = session.db
    digests = []
    for key in keys:
        value = db.lookup_read(key, touch=False)
        digests.append("%040x" % (0 if value is None else value_digest(db, key, value)))
    return digests


# ------------------------------------------------------------------ the server's state


def debug_sleep(session, seconds):
    """DEBUG SLEEP seconds: the whole server stops, as Redis's nanosleep stops it (no greenlet runs)."""
    microseconds = _strtod(seconds) * 1_000_000
    if microseconds == microseconds and 1 <= microseconds < 2**63:  # what C's cast and nanosleep do with it
        time.sleep(int(microseconds) / 1_000_000)
    return "OK"


_STRTOD = re.compile(rb"\s*([+-]?(?:inf(?:inity)?|nan|(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))", re.IGNORECASE)


def _strtod(raw):
    """C's strtod: the number at the start of raw, 0.0 when there is none."""
    found = _STRTOD.match(raw)
    return float(found.group(1)) if found else 0.0


def _atoi(raw):
    found = re.match(rb"\s*[+-]?\d+", raw)
    return int(found.group()) if found else 0


def debug_set_active_expire(session, enabled):
    """DEBUG SET-ACTIVE-EXPIRE 0|1: whether the cron deletes expired keys nobody reads."""
    session.server.keyspace.active_expire = bool(_atoi(enabled))
    return "OK"


def debug_quicklist_packed_threshold(session, size):
    """DEBUG QUICKLIST-PACKED-THRESHOLD size: the element size from which a list node holds one plain element."""
    threshold = memtoull(size.decode("utf-8", "surrogateescape"))
    if threshold is None or threshold > (1 << 32) - (1 << 20):
        raise ReplyError(PACKED_THRESHOLD_RANGE)
    session.server.keyspace.quicklist_packed_threshold = threshold or 1 << 30
    return "OK"


def debug_change_repl_id(session):
    """DEBUG CHANGE-REPL-ID"""
    log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    return "OK"


def debug_reload(session, *options):
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the keyspace, load the file back."""
    flags = {option.lower() for option in options}
    if not flags <= {b"merge", b"noflush", b"nosave"}:
        raise ReplyError(RELOAD_OPTIONS)
    server = session.server
    snapshots = server.snapshots
    if b"nosave" not in flags:
        snapshots.kill_child()
        if not snapshots.save():
            raise ReplyError("ERR")
    if b"noflush" not in flags:
        server.keyspace.flush_all()
        server.tracking.invalidate_all()  # Redis's emptyData signals the flush to tracking clients
    try:
        loaded = snapshots.load(drop_expired=server.replication.master is None)
    except RDBError as error:
        log.warning("%s", error)
        loaded = False
    if not loaded:
        raise ReplyError(RELOAD_FAILED)
    log.warning("DB reloaded by DEBUG RELOAD")
    return "OK"


def debug_loadaof(session, *ignored):
    """DEBUG LOADAOF: (Redis ignores any argument after it) write out what is buffered, empty the keyspace and replay the AOF. Like Redis, the
    server exits when there is no AOF to load or it is damaged."""
    server = session.server
    keyspace = server.keyspace
    aof = server.aof
    aof.write_buffer()
    keyspace.flush_all()
    server.tracking.invalidate_all()
    propagator, keyspace.propagator = keyspace.propagator, None  # what is replayed is in the file already
    try:
        loaded = aof_load.reload(aof, server.replayer())
    except AOFError as error:
        log.warning("%s", error)
        loaded = False
    finally:
        keyspace.propagator = propagator
    if not loaded:
        log.warning("DEBUG LOADAOF: no append only file could be loaded, exiting")
        os._exit(1)
    keyspace.dirty = 0
    log.warning("Append Only File loaded by DEBUG LOADAOF")
    return "OK"


# ------------------------------------------------------------------ PROTOCOL


def debug_protocol(session, kind):
    """DEBUG PROTOCOL type: a sample reply of each RESP3 type, as a client library's tests want them."""
    name = kind.lower()
    if name == b"push":
        if session.protocol == 2:
            raise ReplyError("ERR RESP2 is not supported by this command")
        return Frames([Push([b"server-cpu-usage", 42]), b"Some real reply following the push reply"])
    if name not in PROTOCOL_SAMPLES:
        raise ReplyError("ERR Wrong protocol type name. Please use one of the following: " + PROTOCOL_TYPES)
    return PROTOCOL_SAMPLES[name]


PROTOCOL_SAMPLES = {
    b"string": b"Hello World", b"integer": 12345, b"double": 3.141,
    b"bignum": BigNumber(1234567999999999999999999999999999999), b"null": None, b"array": [0, 1, 2],
    b"set": SetReply([0, 1, 2]), b"map": {0: False, 1: True, 2: False},
    b"attrib": Frames([Attribute({b"key-popularity": [b"key:123", 90]}),
                       b"Some real reply following the attribute"]),
    b"verbatim": Verbatim("txt", b"This is a verbatim\nstring"), b"true": True, b"false": False,
}

# name -> (handler, argument count with DEBUG and the subcommand, negative for at least)
SUBCOMMANDS = {
    b"help": (debug_help, 2), b"object": (debug_object, 3), b"listpack": (debug_listpack, 3),
    b"digest": (debug_digest, 2), b"digest-value": (debug_digest_value, -2), b"sleep": (debug_sleep, 3),
    b"set-active-expire": (debug_set_active_expire, 3),
    b"quicklist-packed-threshold": (debug_quicklist_packed_threshold, 3),
    b"change-repl-id": (debug_change_repl_id, 2), b"reload": (debug_reload, -2), b"loadaof": (debug_loadaof, -2),
    b"protocol": (debug_protocol, 3),
}

COMMANDS = table(
    Command("debug", debug, -2, ("admin", "noscript", "loading", "stale", "protected"), 0, 0, 0),
    group="server",
)
