"""String commands, as Redis's t_string.c: GET/SET and their variants, counters, ranges, LCS."""
from commands import Command, table
from errors import INVALID_EXPIRE, NOT_INTEGER, STRING_TOO_LONG, SYNTAX, ReplyError, wrong_arity
from protocol import string_to_int
from storage.events import GENERIC, STRING as STRING_EVENTS
from storage.keyspace import STRING, FloatString
from storage.numeric import INT64_MAX, INT64_MIN, increment_long_double, to_int

OVERFLOW = "ERR increment or decrement would overflow"

# SET/GETEX options and the options each one excludes (Redis's parseExtendedStringArgumentsOrReply).
_EXPIRY_OPTIONS = (b"ex", b"px", b"exat", b"pxat")
_EXCLUDES = {
    b"nx": {b"xx"}, b"xx": {b"nx"}, b"get": set(),
    b"keepttl": {b"persist", *_EXPIRY_OPTIONS},
    b"persist": {b"keepttl", *_EXPIRY_OPTIONS},
    **{option: {b"keepttl", b"persist", *(other for other in _EXPIRY_OPTIONS if other != option)}
       for option in _EXPIRY_OPTIONS},
}
_SET_OPTIONS = {b"nx", b"xx", b"get", b"keepttl", *_EXPIRY_OPTIONS}
_GETEX_OPTIONS = {b"persist", *_EXPIRY_OPTIONS}


def _parse_options(options, allowed):
    """SET's or GETEX's option words: (set of flags, expiry option or None, its raw value)."""
    flags, expiry, expiry_value = set(), None, None
    index = 0
    while index < len(options):
        option = options[index].lower()
        if option not in allowed or flags & _EXCLUDES[option]:
            raise ReplyError(SYNTAX)
        if option in _EXPIRY_OPTIONS:
            if index + 1 >= len(options):
                raise ReplyError(SYNTAX)
            expiry, expiry_value = option, options[index + 1]
            index += 1
        flags.add(option)
        index += 1
    return flags, expiry, expiry_value


def _deadline(session, option, raw, command):
    """The absolute Unix-ms deadline an EX/PX/EXAT/PXAT value means, with Redis's checks."""
    amount = to_int(raw)
    seconds = option in (b"ex", b"exat")
    if amount <= 0 or (seconds and amount > INT64_MAX // 1000):
        raise ReplyError(INVALID_EXPIRE % command)
    if seconds:
        amount *= 1000
    if option in (b"ex", b"px"):
        amount += session.db.keyspace.clock()
        if amount > INT64_MAX:
            raise ReplyError(INVALID_EXPIRE % command)
    return amount


def get(session, key):
    """GET key"""
    return session.db.get_typed(key, STRING)


def _set(session, key, value, flags=(), deadline=None):
    """The core of SET and its variants: "OK", or None when NX or XX stopped it (nothing changed).

    A deadline is logged made absolute, as SET key value PXAT; the rest as sent (Redis's setGenericCommand).
    """
    db = session.db
    exists = db.exists(key)
    if (b"nx" in flags and exists) or (b"xx" in flags and not exists):
        return None
    db.set(key, value, keep_ttl=b"keepttl" in flags)
    db.keyspace.dirty += 1
    db.notify(STRING_EVENTS, b"set", key)
    if deadline is not None:
        db.set_deadline(key, deadline)
        db.notify(GENERIC, b"expire", key)
        session.propagate([b"SET", key, value, b"PXAT", b"%d" % deadline])
    return "OK"


def set_(session, key, value, *options):
    """SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|KEEPTTL]"""
    db = session.db
    if not options and db.events is None:  # the common case, kept short
        db.set(key, value)
        db.keyspace.dirty += 1
        return "OK"
    flags, expiry, raw = _parse_options(options, _SET_OPTIONS)
    deadline = _deadline(session, expiry, raw, "set") if expiry else None
    if b"get" in flags:
        old = db.get_typed(key, STRING)  # WRONGTYPE before anything changes
        if _set(session, key, value, flags, deadline) and deadline is None:  # logged without its GET, as Redis
            argv = session.argv
            session.propagate(argv[:3] + [word for word in argv[3:] if word.lower() != b"get"])
        return old
    return _set(session, key, value, flags, deadline)


def setnx(session, key, value):
    """SETNX key value"""
    return 1 if _set(session, key, value, {b"nx"}) else 0


def setex(session, key, seconds, value):
    """SETEX key seconds value"""
    return _set(session, key, value, deadline=_deadline(session, b"ex", seconds, "setex"))


def psetex(session, key, milliseconds, value):
    """PSETEX key milliseconds value"""
    return _set(session, key, value, deadline=_deadline(session, b"px", milliseconds, "psetex"))


def getset(session, key, value):
    """GETSET key value"""
    db = session.db
    old = db.get_typed(key, STRING)
    db.set(key, value)
    db.keyspace.dirty += 1
    db.notify(STRING_EVENTS, b"set", key)
    session.propagate([b"SET", key, value])
    return old


def getdel(session, key):
    """GETDEL key"""
    db = session.db
    value = db.get_typed(key, STRING)
    if value is not None:
        db.remove(key)
        db.keyspace.dirty += 1
        db.notify(GENERIC, b"del", key)
        session.propagate([b"DEL", key])
    return value


def getex(session, key, *options):
    """GETEX key [EX seconds|PX milliseconds|EXAT unix-time-seconds|PXAT unix-time-milliseconds|PERSIST]"""
    flags, expiry, raw = _parse_options(options, _GETEX_OPTIONS)
    db = session.db
    value = db.get_typed(key, STRING)
    if value is None:
        return None
    if expiry:
        deadline = _deadline(session, expiry, raw, "getex")
        db.keyspace.dirty += 1
        if expiry in (b"exat", b"pxat") and deadline <= db.keyspace.clock():
            db.remove(key)
            db.notify(GENERIC, b"del", key)
            session.propagate([b"DEL", key])
        else:
            db.set_deadline(key, deadline)
            db.notify(GENERIC, b"expire", key)
            session.propagate([b"PEXPIREAT", key, b"%d" % deadline])
    elif b"persist" in flags:
        if db.persist(key):
            db.keyspace.dirty += 1
            db.notify(GENERIC, b"persist", key)
            session.propagate([b"PERSIST", key])
    return value


def mget(session, *keys):
    """MGET key [key ...]"""
    db = session.db
    values = []
    for key in keys:
        value = db.lookup_read(key)
        values.append(value if isinstance(value, STRING) else None)
    return values


def mset(session, *pairs):
    """MSET key value [key value ...]"""
    if len(pairs) % 2:
        raise wrong_arity("mset")
    db = session.db
    for index in range(0, len(pairs), 2):
        db.set(pairs[index], pairs[index + 1])
        if db.events is not None:
            db.notify(STRING_EVENTS, b"set", pairs[index])
    db.keyspace.dirty += len(pairs) // 2
    return "OK"


def msetnx(session, *pairs):
    """MSETNX key value [key value ...]"""
    if len(pairs) % 2:
        raise wrong_arity("msetnx")
    db = session.db
    if any(db.exists(pairs[index]) for index in range(0, len(pairs), 2)):
        return 0
    mset(session, *pairs)
    return 1


def _check_length(session, size):
    if size > session.server.config["proto-max-bulk-len"]:
        raise ReplyError(STRING_TOO_LONG)


def append(session, key, value):
    """APPEND key value"""
    db = session.db
    current = db.get_typed(key, STRING, read=False)
    if current is None:
        db.set(key, value)
    else:
        _check_length(session, len(current) + len(value))
        if type(current) is not bytearray:
            current = bytearray(current)  # Redis turns the value "raw" to append in place
            db.replace(key, current)
        current += value
    db.keyspace.dirty += 1  # even of nothing, as Redis counts it
    db.notify(STRING_EVENTS, b"append", key)
    return len(value) if current is None else len(current)


def strlen(session, key):
    """STRLEN key"""
    value = session.db.get_typed(key, STRING)
    return 0 if value is None else len(value)


def _increment(session, key, amount):
    db = session.db
    current = db.get_typed(key, STRING, read=False)
    value = 0 if current is None else string_to_int(bytes(current))
    if value is None:
        raise ReplyError(NOT_INTEGER)
    result = value + amount
    if not INT64_MIN <= result <= INT64_MAX:
        raise ReplyError(OVERFLOW)
    text = b"%d" % result
    if current is None:
        db.set(key, text)
    else:
        db.replace(key, text)
    db.keyspace.dirty += 1
    if db.events is not None:
        db.notify(STRING_EVENTS, b"incrby", key)
    return result


def incr(session, key):
    """INCR key"""
    return _increment(session, key, 1)


def decr(session, key):
    """DECR key"""
    return _increment(session, key, -1)


def incrby(session, key, increment):
    """INCRBY key increment"""
    return _increment(session, key, to_int(increment))


def decrby(session, key, decrement):
    """DECRBY key decrement"""
    amount = to_int(decrement)
    if amount == INT64_MIN:
        raise ReplyError("ERR decrement would overflow")
    return _increment(session, key, -amount)


def incrbyfloat(session, key, increment):
    """INCRBYFLOAT key increment"""
    db = session.db
    current = db.get_typed(key, STRING, read=False)
    result = FloatString(increment_long_double(None if current is None else bytes(current), increment))
    if current is None:
        db.set(key, result)
    else:
        db.replace(key, result)
    db.keyspace.dirty += 1
    db.notify(STRING_EVENTS, b"incrbyfloat", key)
    session.propagate([b"SET", key, result, b"KEEPTTL"])  # the AOF replays the result, not the arithmetic
    return result


def getrange(session, key, start, end):
    """GETRANGE key start end"""
    start, end = to_int(start), to_int(end)
    value = session.db.get_typed(key, STRING)
    if value is None:
        return b""
    length = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start += length
    if end < 0:
        end += length
    start, end = max(start, 0), min(max(end, 0), length - 1)
    if start > end or length == 0:
        return b""
    return bytes(value[start:end + 1])


def substr(session, key, start, end):
    """SUBSTR key start end"""
    return getrange(session, key, start, end)


def setrange(session, key, offset, value):
    """SETRANGE key offset value"""
    offset = to_int(offset)
    if offset < 0:
        raise ReplyError("ERR offset is out of range")
    db = session.db
    current = db.get_typed(key, STRING, read=False)
    if current is None:
        if not value:
            return 0
        _check_length(session, offset + len(value))
        current = bytearray(offset)
        db.set(key, current)
    else:
        if not value:
            return len(current)
        _check_length(session, offset + len(value))
        if type(current) is not bytearray:
            current = bytearray(current)
            db.replace(key, current)
    if len(current) < offset:
        current.extend(bytes(offset - len(current)))
    current[offset:offset + len(value)] = value
    db.keyspace.dirty += 1
    db.notify(STRING_EVENTS, b"setrange", key)
    return len(current)


# ------------------------------------------------------------------ LCS


def _lcs_rows(a, b):
    """Bit-parallel LCS (Hyyro): row i is a bitmask over b whose zero bits count LCS(a[:i], b[:j]).

    Each row costs a few big-integer operations instead of len(b) Python steps,
    which keeps LCS of long strings from stalling every other client.
    """
    masks = {}
    for position, byte in enumerate(b):
        masks[byte] = masks.get(byte, 0) | (1 << position)
    full = (1 << len(b)) - 1
    rows = [full]
    row = full
    for byte in a:
        matches = row & masks.get(byte, 0)
        row = ((row + matches) | (row - matches)) & full
        rows.append(row)
    return rows


def _lcs_length(rows, i, j):
    """LCS(a[:i], b[:j]) from the bit rows."""
    return j - (rows[i] & ((1 << j) - 1)).bit_count()


def lcs(session, key1, key2, *options):
    """LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]"""
    db = session.db
    a, b = db.lookup_read(key1), db.lookup_read(key2)
    if (a is not None and not isinstance(a, STRING)) or (b is not None and not isinstance(b, STRING)):
        raise ReplyError("ERR The specified keys must contain string values")
    a, b = bytes(a or b""), bytes(b or b"")
    want_len = want_idx = with_match_len = False
    min_match_len = 0
    index = 0
    while index < len(options):
        option = options[index].lower()
        if option == b"idx":
            want_idx = True
        elif option == b"len":
            want_len = True
        elif option == b"withmatchlen":
            with_match_len = True
        elif option == b"minmatchlen" and index + 1 < len(options):
            min_match_len = max(0, to_int(options[index + 1]))
            index += 1
        else:
            raise ReplyError(SYNTAX)
        index += 1
    if want_idx and want_len:
        raise ReplyError("ERR If you want both the length and indexes, please just use IDX.")
    rows = _lcs_rows(a, b)
    total = _lcs_length(rows, len(a), len(b))
    if want_len:
        return total
    matches, result = _lcs_walk(a, b, rows, total, min_match_len, with_match_len)
    if want_idx:
        return {b"matches": matches, b"len": total}
    return result


def _lcs_walk(a, b, rows, total, min_match_len, with_match_len):
    """Walk back through the table as Redis does: the LCS string and the matched ranges, last first."""
    result = bytearray(total)
    matches = []
    position = total
    i, j = len(a), len(b)
    no_range = len(a)
    a_start = no_range
    a_end = b_start = b_end = 0
    while i > 0 and j > 0:
        emit = False
        if a[i - 1] == b[j - 1]:
            result[position - 1] = a[i - 1]
            if a_start == no_range:
                a_start = a_end = i - 1
                b_start = b_end = j - 1
            elif a_start == i and b_start == j:
                a_start -= 1
                b_start -= 1
            else:
                emit = True
            if a_start == 0 or b_start == 0:
                emit = True
            position -= 1
            i -= 1
            j -= 1
        else:
            if _lcs_length(rows, i - 1, j) > _lcs_length(rows, i, j - 1):
                i -= 1
            else:
                j -= 1
            if a_start != no_range:
                emit = True
        if emit:
            match_len = a_end - a_start + 1
            if min_match_len == 0 or match_len >= min_match_len:
                match = [[a_start, a_end], [b_start, b_end]]
                if with_match_len:
                    match.append(match_len)
                matches.append(match)
            a_start = no_range
    return matches, bytes(result)


COMMANDS = table(
    #       name           handler      arity flags                            first last step
    Command("get", get, 2, ("readonly", "fast"), 1, 1, 1),
    Command("set", set_, -3, ("write", "denyoom"), 1, 1, 1),
    Command("setnx", setnx, 3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("setex", setex, 4, ("write", "denyoom"), 1, 1, 1),
    Command("psetex", psetex, 4, ("write", "denyoom"), 1, 1, 1),
    Command("getset", getset, 3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("getdel", getdel, 2, ("write", "fast"), 1, 1, 1),
    Command("getex", getex, -2, ("write", "fast"), 1, 1, 1),
    Command("mget", mget, -2, ("readonly", "fast"), 1, -1, 1),
    Command("mset", mset, -3, ("write", "denyoom"), 1, -1, 2),
    Command("msetnx", msetnx, -3, ("write", "denyoom"), 1, -1, 2),
    Command("append", append, 3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("strlen", strlen, 2, ("readonly", "fast"), 1, 1, 1),
    Command("incr", incr, 2, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("decr", decr, 2, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("incrby", incrby, 3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("decrby", decrby, 3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("incrbyfloat", incrbyfloat, 3, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("getrange", getrange, 4, ("readonly",), 1, 1, 1),
    Command("substr", substr, 4, ("readonly",), 1, 1, 1),
    Command("setrange", setrange, 4, ("write", "denyoom"), 1, 1, 1),
    Command("lcs", lcs, -3, ("readonly",), 1, 2, 1),
    group="string",
)
