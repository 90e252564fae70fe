"""Key-space commands: the keys themselves, whatever they hold (Redis's db.c and object.c).

DEL UNLINK EXISTS TYPE KEYS SCAN RANDOMKEY RENAME RENAMENX COPY MOVE SWAPDB
DBSIZE TOUCH OBJECT FLUSHDB FLUSHALL, and the seed's DELETE and FLUSH. The
TTL commands are in commands/expire.py.

Which lookup a command makes follows Redis, because it shows: a read lookup
counts a keyspace hit or miss (INFO), a "touching" one resets the key's idle
time (OBJECT IDLETIME), and TYPE, EXISTS, OBJECT and SCAN's TYPE filter read
without touching.
"""
import copy

from commands import Command, subcommand_table, table
from commands.arguments import keyword, scan_options
from errors import (DB_OUT_OF_RANGE, FIRST_DB_INDEX, INVALID_CURSOR, LFU_NOT_SELECTED, LFU_SELECTED, NO_SUCH_KEY,
                    SAME_OBJECT, SECOND_DB_INDEX, SYNTAX, ReplyError)
from protocol import string_to_int
from storage.cursors import parse_cursor
from storage.events import GENERIC
from storage.keyspace import TYPE_NAMES, type_name
from storage.numeric import to_int32
from storage.patterns import compile_pattern

SHARED_INTEGERS = 10000  # Redis's OBJ_SHARED_INTEGERS: 0..9999 are shared objects
SHARED_REFCOUNT = 2**31 - 1  # OBJ_SHARED_REFCOUNT, what OBJECT REFCOUNT shows for them
EMBSTR_SIZE_LIMIT = 44  # OBJ_ENCODING_EMBSTR_SIZE_LIMIT


# ------------------------------------------------------------------ helpers


class CopiedInteger(bytes):
    """A small integer string made by COPY: Redis duplicates the shared object, so it has one reference."""

    __slots__ = ()

    def encoding(self):
        return "int"


TYPE_NAMES[CopiedInteger] = "string"


def read_untouched(db, key):
    """Redis's lookupKeyReadWithFlags(LOOKUP_NOTOUCH): counts a hit or miss, keeps the idle time."""
    return db.lookup_read(key, touch=False)


def database_argument(session, raw):
    """The database a DB-index argument names (MOVE, COPY DB), or Redis's error."""
    index = to_int32(raw)
    keyspace = session.server.keyspace
    if not 0 <= index < len(keyspace):
        raise ReplyError(DB_OUT_OF_RANGE)
    return keyspace[index]


def duplicate(value):
    """An independent copy of a value, for COPY.

    Strings stored as bytes (or a subclass) are immutable, so sharing them
    is copying them; a shared small integer becomes a CopiedInteger, which
    OBJECT REFCOUNT tells apart. Anything mutable (a bytearray string; the
    list, hash, set and sorted-set types) is copied with its own copy()
    method when it has one, else copy.copy(): a container type whose shallow
    copy would share mutable parts must define copy() to return a fully
    independent value. Members are immutable bytes, so Python's
    set/dict/deque copy() are right as they are.
    """
    if type(value) is bytes and _is_shared_integer(value):
        return CopiedInteger(value)
    if isinstance(value, bytes):
        return value
    copier = getattr(value, "copy", None)
    return copier() if copier is not None else copy.copy(value)


# ------------------------------------------------------------------ existence and deletion


def delete(session, *keys):
    """DEL key [key ...]"""
    db = session.db
    deleted = 0
    for key in keys:
        if db.delete(key):
            db.notify(GENERIC, b"del", key)
            deleted += 1
    db.keyspace.dirty += deleted
    return deleted


def unlink(session, *keys):
    """UNLINK key [key ...]"""
    return delete(session, *keys)


def delete_(session, *keys):
    """DELETE key [key ...]

    The seed design's name for DEL.
    """
    return delete(session, *keys)


def exists(session, *keys):
    """EXISTS key [key ...]"""
    db = session.db
    return sum(read_untouched(db, key) is not None for key in keys)


def touch(session, *keys):
    """TOUCH key [key ...]"""
    db = session.db
    return sum(db.lookup_read(key) is not None for key in keys)


def type_(session, key):
    """TYPE key"""
    value = read_untouched(session.db, key)
    return "none" if value is None else type_name(value)


def dbsize(session):
    """DBSIZE"""
    return len(session.db)


def randomkey(session):
    """RANDOMKEY"""
    return session.db.random_key()


# ------------------------------------------------------------------ KEYS and SCAN


def keys(session, pattern):
    """KEYS pattern"""
    names = session.db.keys()
    if pattern == b"*":
        return names
    match = compile_pattern(pattern)
    return [name for name in names if match(name)]


def scan(session, cursor, *options):
    """SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]"""
    start = parse_cursor(cursor)
    if start is None:
        raise ReplyError(INVALID_CURSOR)
    match, count, kind = scan_options(options, with_type=True)
    db = session.db

    def alive(key):
        return db.lookup(key) is not None  # and an expired key is deleted, as Redis's SCAN does

    following, names = db.cursors.scan(start, db, db.data, count, alive)
    if match is not None:
        names = [name for name in names if match(name)]
    if kind is not None:
        names = [name for name in names if _type_is(db, name, kind)]
    return [b"%d" % following, names]


def _type_is(db, key, kind):
    value = read_untouched(db, key)
    return (b"none" if value is None else type_name(value).encode()) == kind


# ------------------------------------------------------------------ RENAME, COPY, MOVE, SWAPDB


def _rename(db, source, destination, nx):
    """RENAME and RENAMENX: the value moves with its deadline; True if it moved."""
    value = db.lookup(source)
    if value is None:
        raise ReplyError(NO_SUCH_KEY)
    if source == destination:
        return False
    if db.lookup(destination) is not None:
        if nx:
            return False
        db.remove(destination)  # first, so that the new name is a new key ("new"), as Redis's dbAdd
    deadline = db.expires.get(source)
    db.set(destination, value)
    if deadline is not None:
        db.set_deadline(destination, deadline)
    db.remove(source)
    db.keyspace.dirty += 1
    db.notify(GENERIC, b"rename_from", source)
    db.notify(GENERIC, b"rename_to", destination)
    return True


def rename(session, key, newkey):
    """RENAME key newkey"""
    _rename(session.db, key, newkey, nx=False)
    return "OK"


def renamenx(session, key, newkey):
    """RENAMENX key newkey"""
    return int(_rename(session.db, key, newkey, nx=True))


def copy_(session, source, destination, *options):
    """COPY source destination [DB destination-db] [REPLACE]"""
    src = dst = session.db
    replace = False
    position = 0
    while position < len(options):
        option = keyword(options[position])
        if option == b"replace":
            replace = True
        elif option == b"db" and position + 1 < len(options):
            dst = database_argument(session, options[position + 1])
            position += 1
        else:
            raise ReplyError(SYNTAX)
        position += 1
    if src is dst and source == destination:
        raise ReplyError(SAME_OBJECT)
    value = src.lookup_read(source)
    if value is None:
        return 0
    exists = dst.lookup(destination) is not None
    if exists and not replace:
        return 0
    copied = duplicate(value)  # a module type may refuse (moduleTypeDupOrReply), before anything is deleted
    if exists:
        dst.remove(destination)  # the copy is a new key ("new"), as Redis's dbAdd
    deadline = src.expires.get(source)
    dst.set(destination, copied)
    if deadline is not None:
        dst.set_deadline(destination, deadline)
    dst.keyspace.dirty += 1
    dst.notify(GENERIC, b"copy_to", destination)
    return 1


def move(session, key, db):
    """MOVE key db"""
    src, dst = session.db, database_argument(session, db)
    if src is dst:
        raise ReplyError(SAME_OBJECT)
    value = src.lookup(key)
    if value is None or dst.lookup(key) is not None:
        return 0
    deadline = src.expires.get(key)
    dst.set(key, value)
    if deadline is not None:
        dst.set_deadline(key, deadline)
    src.remove(key)
    src.keyspace.dirty += 1
    src.notify(GENERIC, b"move_from", key)
    dst.notify(GENERIC, b"move_to", key)
    return 1


def swapdb(session, index1, index2):
    """SWAPDB index1 index2"""
    first = to_int32(index1, FIRST_DB_INDEX)
    second = to_int32(index2, SECOND_DB_INDEX)
    keyspace = session.server.keyspace
    if not (0 <= first < len(keyspace) and 0 <= second < len(keyspace)):
        raise ReplyError(DB_OUT_OF_RANGE)
    keyspace.swap(first, second)
    keyspace.dirty += 1
    return "OK"


# ------------------------------------------------------------------ FLUSHDB, FLUSHALL, FLUSH


def _check_flush_mode(mode):
    """FLUSHDB/FLUSHALL take ASYNC or SYNC; both empty the data at once here."""
    if len(mode) > 1 or (mode and keyword(mode[0]) not in (b"async", b"sync")):
        raise ReplyError(SYNTAX)


def flushdb(session, *mode):
    """FLUSHDB [ASYNC|SYNC]"""
    _check_flush_mode(mode)
    _flushed(session, session.db.flush())
    return "OK"


def flushall(session, *mode):
    """FLUSHALL [ASYNC|SYNC]

    With save points, the empty dataset is saved at once (a background save stopped first), which
    leaves no change to count, as Redis's flushAllDataAndResetRDB.
    """
    _check_flush_mode(mode)
    server = session.server
    _flushed(session, server.keyspace.flush_all())
    if server.config["save"]:
        server.snapshots.kill_child()
        server.snapshots.save()
    return "OK"


def flush(session):
    """FLUSH

    The seed design's command: empty the current database, reply with how many keys it held.
    """
    count = session.db.flush()
    _flushed(session, count)
    return count


def _flushed(session, count):
    """After a flush of count keys: each a change, and the command logged even when there were none
    (Redis forces its propagation); clients that track keys are told they all changed."""
    session.server.keyspace.dirty += count
    session.propagate(session.argv)
    session.server.tracking.invalidate_all()


# ------------------------------------------------------------------ OBJECT


def encoding(value):
    """OBJECT ENCODING's name for a value: its type's encoding() if it has one, else a string's."""
    describe = getattr(type(value), "encoding", None)
    if describe is not None:
        return describe(value)
    if isinstance(value, bytearray):
        return "raw"
    if string_to_int(value) is not None:
        return "int"
    return "embstr" if len(value) <= EMBSTR_SIZE_LIMIT else "raw"


def object_encoding(session, key):
    """OBJECT ENCODING key"""
    value = read_untouched(session.db, key)
    if value is None:
        return None
    name = encoding(value)
    return name if isinstance(name, bytes) else name.encode()


def object_refcount(session, key):
    """OBJECT REFCOUNT key"""
    value = read_untouched(session.db, key)
    return None if value is None else refcount(value)


def refcount(value):
    """A value's references as Redis counts them: a shared small integer has the shared objects' count."""
    return SHARED_REFCOUNT if type(value) is bytes and _is_shared_integer(value) else 1


def _is_shared_integer(value):
    """Whether Redis would hold this string as one of its shared integer objects (0..9999)."""
    number = string_to_int(value)
    return number is not None and 0 <= number < SHARED_INTEGERS


def object_idletime(session, key):
    """OBJECT IDLETIME key"""
    db = session.db
    if read_untouched(db, key) is None:
        return None
    if db.keyspace.memory.lfu:
        raise ReplyError(LFU_SELECTED)
    # Redis's LRU clock ticks in whole seconds, and "now" is the same coarse cron-advanced clock that stamped
    # the key: a key touched in this tick reads 0, never 1 because the stamp lagged the wall clock.
    return max(0, db.keyspace.access_clock // 1000 - db.touched_at(key) // 1000)


def object_freq(session, key):
    """OBJECT FREQ key"""
    db = session.db
    if read_untouched(db, key) is None:
        return None
    if not db.keyspace.memory.lfu:
        raise ReplyError(LFU_NOT_SELECTED)
    return db.keyspace.memory.frequency(db, key)


OBJECT_HELP = [
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
]


def object_help(session):
    """OBJECT HELP"""
    return OBJECT_HELP


OBJECT_SUBCOMMANDS = subcommand_table(
    "object",
    Command("encoding", object_encoding, 3, ("readonly",), 2, 2, 1),
    Command("refcount", object_refcount, 3, ("readonly",), 2, 2, 1),
    Command("idletime", object_idletime, 3, ("readonly",), 2, 2, 1),
    Command("freq", object_freq, 3, ("readonly",), 2, 2, 1),
    Command("help", object_help, 2, ("loading", "stale"), 0, 0, 0),
)


COMMANDS = table(
    #       name        handler    arity flags                    first last step
    Command("del", delete, -2, ("write",), 1, -1, 1),
    Command("unlink", unlink, -2, ("write", "fast"), 1, -1, 1),
    Command("delete", delete_, -2, ("write",), 1, -1, 1),
    Command("exists", exists, -2, ("readonly", "fast"), 1, -1, 1),
    Command("touch", touch, -2, ("readonly", "fast"), 1, -1, 1),
    Command("type", type_, 2, ("readonly", "fast"), 1, 1, 1),
    Command("dbsize", dbsize, 1, ("readonly", "fast"), 0, 0, 0),
    Command("randomkey", randomkey, 1, ("readonly",), 0, 0, 0),
    Command("keys", keys, 2, ("readonly",), 0, 0, 0),
    Command("scan", scan, -2, ("readonly",), 0, 0, 0),
    Command("rename", rename, 3, ("write",), 1, 2, 1),
    Command("renamenx", renamenx, 3, ("write", "fast"), 1, 2, 1),
    Command("copy", copy_, -3, ("write", "denyoom"), 1, 2, 1),
    Command("move", move, 3, ("write", "fast"), 1, 1, 1),
    Command("swapdb", swapdb, 3, ("write", "fast"), 0, 0, 0),
    Command("flushdb", flushdb, -1, ("write",), 0, 0, 0),
    Command("flushall", flushall, -1, ("write",), 0, 0, 0),
    Command("flush", flush, 1, ("write",), 0, 0, 0),
    Command("object", None, -2, (), 0, 0, 0, OBJECT_SUBCOMMANDS),
    group="keyspace",
)
