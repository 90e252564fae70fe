"""Bitmap commands on the string type, as Redis's bitops.c: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
BITFIELD, BITFIELD_RO. The bit arithmetic is storage/bitmaps.py's; this module reads the arguments in
Redis's order (which decides which error a bad call gets) and keeps the keyspace's books.

A string a bit command changes becomes a bytearray, Redis's "raw" encoding. As in Redis 7.0, a write
that changes nothing (a bit set to the value it had) is neither logged to the AOF nor seen by WATCH;
Redis still makes such a string raw, ours keeps its encoding (see README's known differences).
"""
from commands import Command, table
from commands.arguments import keyword
from errors import (BIT_NOT_INTEGER, BIT_OFFSET, BITFIELD_RO_WRITE, BITFIELD_TYPE, BITOP_NOT_ONE_KEY, BITPOS_BIT,
                    OVERFLOW_TYPE, SYNTAX, ReplyError)
from protocol import string_to_int
from storage.bitmaps import FAIL, SAT, WRAP, combine, count_bits, find_bit, fit_field, get_bit, read_field, \
    set_bit, write_field
from storage.events import GENERIC, STRING as STRING_EVENTS
from storage.keyspace import STRING
from storage.numeric import INT64_MAX, to_int

_OVERFLOWS = {b"wrap": WRAP, b"sat": SAT, b"fail": FAIL}
_OPERATIONS = frozenset((b"and", b"or", b"xor", b"not"))


def _bit_offset(session, raw, bits=0):
    """Redis's getBitOffsetFromArgument: a bit offset whose byte is within proto-max-bulk-len; with
    bits (BITFIELD), "#N" means N * bits, multiplied as C's 64-bit integers wrap."""
    hashed = bits and raw[:1] == b"#"
    offset = string_to_int(raw[1:] if hashed else raw)
    if offset is None:
        raise ReplyError(BIT_OFFSET)
    if hashed:
        offset = (offset * bits + 2**63) % 2**64 - 2**63
    if offset < 0 or offset >> 3 >= session.server.config["proto-max-bulk-len"]:
        raise ReplyError(BIT_OFFSET)
    return offset


def _buffer_for_writing(db, key, highest_bit):
    """A bytearray of the key's string reaching highest_bit (Redis's lookupStringForBitCommand), with zero
    bytes added: (buffer, whether it is the stored value, whether it grew). A new key is stored at once;
    a bytes value is copied, and stored by _finish() only if a bit changed."""
    value = db.get_typed(key, STRING, read=False)
    size = (highest_bit >> 3) + 1
    if value is None:
        buffer = bytearray(size)
        db.set(key, buffer)
        return buffer, True, True
    stored = type(value) is bytearray
    buffer = value if stored else bytearray(value)
    grew = len(buffer) < size
    if grew:
        buffer.extend(bytes(size - len(buffer)))
    return buffer, stored, grew


def _finish(session, key, buffer, stored, changes):
    """After bit writes, counted as Redis counts them: a changed copy becomes the key's "raw" value; with no
    change nothing is logged (nor, since the value stays the same object, seen by WATCH), as in Redis 7.0.
    A change is a "setbit" event, BITFIELD's too."""
    if not changes:
        return
    db = session.db
    if not stored:
        db.replace(key, buffer)
    db.keyspace.dirty += changes
    db.notify(STRING_EVENTS, b"setbit", key)


def setbit(session, key, offset, value):
    """SETBIT key offset value"""
    offset = _bit_offset(session, offset)
    bit = string_to_int(value)
    if bit is None or bit & ~1:
        raise ReplyError(BIT_NOT_INTEGER)
    value = session.db.get_typed(key, STRING, read=False)
    if isinstance(value, bytes) and offset >> 3 < len(value) and get_bit(value, offset) == bit:
        return bit  # nothing to change: spare the copy _buffer_for_writing would make
    buffer, stored, grew = _buffer_for_writing(session.db, key, offset)
    old = set_bit(buffer, offset, bit)
    _finish(session, key, buffer, stored, 1 if grew or old != bit else 0)
    return old


def getbit(session, key, offset):
    """GETBIT key offset"""
    offset = _bit_offset(session, offset)
    value = session.db.get_typed(key, STRING)
    return 0 if value is None else get_bit(value, offset)


def _bit_range(value, start, end, unit, end_given=True):
    """Redis's BITCOUNT/BITPOS range (start and end as given, negative from the end, in bytes or,
    with unit b"bit", bits) as an inclusive range of bits within the value; first > last when empty."""
    length = len(value) * 8 if unit == b"bit" else len(value)
    if not end_given:
        end = length - 1
    if start < 0:
        start += length
    if end < 0:
        end += length
    start, end = max(start, 0), min(max(end, 0), length - 1)
    if unit == b"bit" or start > end:
        return start, end
    return start * 8, end * 8 + 7


def _unit(raw):
    unit = keyword(raw)
    if unit not in (b"bit", b"byte"):
        raise ReplyError(SYNTAX)
    return unit


def bitcount(session, key, *arguments):
    """BITCOUNT key [start end [BYTE|BIT]]"""
    value = session.db.get_typed(key, STRING)
    if value is None:
        return 0
    if not arguments:
        return count_bits(value, 0, len(value) * 8 - 1)
    if len(arguments) not in (2, 3):
        raise ReplyError(SYNTAX)
    start, end = to_int(arguments[0]), to_int(arguments[1])
    if start < 0 and end < 0 and start > end:
        return 0
    unit = _unit(arguments[2]) if len(arguments) == 3 else b"byte"
    return count_bits(value, *_bit_range(value, start, end, unit))


def bitpos(session, key, bit, *arguments):
    """BITPOS key bit [start [end [BYTE|BIT]]]"""
    bit = to_int(bit)
    if bit not in (0, 1):
        raise ReplyError(BITPOS_BIT)
    value = session.db.get_typed(key, STRING)
    if value is None:  # an endless run of zeros
        return -1 if bit else 0
    if len(arguments) > 3:
        raise ReplyError(SYNTAX)
    end_given = len(arguments) >= 2
    start = to_int(arguments[0]) if arguments else 0
    unit = _unit(arguments[2]) if len(arguments) == 3 else b"byte"
    end = to_int(arguments[1]) if end_given else 0
    first, last = _bit_range(value, start, end, unit, end_given)
    if first > last:
        return -1
    found = find_bit(value, bit, first, last)
    if found < 0 and not bit and not end_given:
        return last + 1  # without an end the string reads as followed by zeros
    return found


def bitop(session, operation, destination, *keys):
    """BITOP <AND | OR | XOR | NOT> destkey key [key ...]"""
    operation = keyword(operation)
    if operation not in _OPERATIONS:
        raise ReplyError(SYNTAX)
    if operation == b"not" and len(keys) != 1:
        raise ReplyError(BITOP_NOT_ONE_KEY)
    db = session.db
    sources = [db.get_typed(key, STRING) or b"" for key in keys]
    if any(sources):
        result = combine(operation, sources)
        db.set(destination, result)
        db.keyspace.dirty += 1
        db.notify(STRING_EVENTS, b"set", destination)
        return len(result)
    if db.delete(destination):
        db.keyspace.dirty += 1
        db.notify(GENERIC, b"del", destination)
    return 0


def _bitfield_type(raw):
    """(signed, bits) of "i1".."i64" or "u1".."u63" (cut at a NUL, as C reads it)."""
    text = raw.split(b"\0", 1)[0]
    bits = string_to_int(text[1:])
    signed = text[:1] == b"i"
    if text[:1] not in (b"i", b"u") or bits is None or not 1 <= bits <= (64 if signed else 63):
        raise ReplyError(BITFIELD_TYPE)
    return signed, bits


def _bitfield_operations(session, arguments):
    """BITFIELD's operations, read in full before any runs: (name, signed, bits, offset, value, overflow)."""
    operations = []
    overflow = WRAP
    index = 0
    while index < len(arguments):
        name, left = keyword(arguments[index]), len(arguments) - index - 1
        if name == b"overflow" and left >= 1:
            overflow = _OVERFLOWS.get(keyword(arguments[index + 1]))
            if overflow is None:
                raise ReplyError(OVERFLOW_TYPE)
            index += 2
            continue
        if not ((name == b"get" and left >= 2) or (name in (b"set", b"incrby") and left >= 3)):
            raise ReplyError(SYNTAX)
        signed, bits = _bitfield_type(arguments[index + 1])
        offset = _bit_offset(session, arguments[index + 2], bits)
        value = None if name == b"get" else to_int(arguments[index + 3])
        operations.append((name, signed, bits, offset, value, overflow))
        index += 3 if name == b"get" else 4
    return operations


def _bitfield(session, key, arguments, read_only):
    operations = _bitfield_operations(session, arguments)
    writes = [operation for operation in operations if operation[0] != b"get"]
    db = session.db
    if not writes:
        value = db.get_typed(key, STRING)
        return [read_field(value or b"", offset, bits, signed) for _, signed, bits, offset, _, _ in operations]
    if read_only:
        raise ReplyError(BITFIELD_RO_WRITE)
    highest_bit = max(offset + bits - 1 for _, _, bits, offset, _, _ in writes)
    buffer, stored, grew = _buffer_for_writing(db, key, highest_bit)
    changes = 0  # each SET and INCRBY that changed its field or wrote to a grown string, as Redis counts them
    replies = []
    for name, signed, bits, offset, value, overflow in operations:
        old = read_field(buffer, offset, bits, signed)
        if name == b"get":
            replies.append(old)
            continue
        if name == b"incrby":
            value += old
        elif not signed:
            value %= 2**64  # an unsigned SET reads its int64 as C's uint64
        elif overflow == SAT and bits < 64 and (1 << (bits - 1)) - 1 - value > INT64_MAX:
            value = INT64_MAX  # checkSignedBitfieldOverflow's int64 max - value wraps: Redis saturates upwards
        new, _ = fit_field(value, bits, signed, overflow)
        if new is None:
            replies.append(None)
            continue
        replies.append(new if name == b"incrby" else old)
        write_field(buffer, offset, bits, new)
        changes += grew or new != old
    _finish(session, key, buffer, stored, changes)
    return replies


def bitfield(session, key, *arguments):
    """BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>] <SET encoding offset value | INCRBY encoding offset increment> ...]"""
    return _bitfield(session, key, arguments, False)


def bitfield_ro(session, key, *arguments):
    """BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]"""
    return _bitfield(session, key, arguments, True)


COMMANDS = table(
    #       name            handler      arity flags                    first last step
    Command("setbit", setbit, 4, ("write", "denyoom"), 1, 1, 1),
    Command("getbit", getbit, 3, ("readonly", "fast"), 1, 1, 1),
    Command("bitcount", bitcount, -2, ("readonly",), 1, 1, 1),
    Command("bitpos", bitpos, -3, ("readonly",), 1, 1, 1),
    Command("bitop", bitop, -4, ("write", "denyoom"), 2, -1, 1),
    Command("bitfield", bitfield, -2, ("write", "denyoom"), 1, 1, 1),
    Command("bitfield_ro", bitfield_ro, -2, ("readonly", "fast"), 1, 1, 1),
    group="string",  # on the string type, and plain (commands/__init__.py): they never wait
)
