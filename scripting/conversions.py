"""Redis's conversions between replies and Lua values, both ways (script_lua.c).

A command's reply reaches the script as the script's protocol reads it (redis.setresp: 2 by
default, or 3); the script's return value becomes the reply written in the caller's protocol,
where our ReplyWriter folds RESP3 types back for a RESP2 caller as Redis does.
"""
from math import isfinite

from errors import AlreadyCounted
from protocol import (NULL_ARRAY, Attribute, BigNumber, Error, Frames, Nested, NullArray, Push, SetReply, Verbatim,
                      format_double)
from scripting.values import is_table

LLONG_MIN = -2**63


# ------------------------------------------------------------------ reply -> Lua


def reply_to_lua(state, reply, resp3):
    """A command's reply (our Python reply types) as the Lua value the script receives."""
    kind = type(reply)
    if kind is bytes:
        return reply
    if kind is int:
        return reply
    if kind is str:
        return state.single(b"ok", reply.encode())
    if kind is Error:
        return state.error_table(reply.message.encode("utf-8", "surrogateescape"))
    if reply is None or kind is NullArray:
        return None if resp3 else False
    if kind is bool:
        return reply if resp3 else int(reply)
    if kind is float:
        return state.single(b"double", reply) if resp3 else format_double(reply)
    if kind is dict:
        if resp3:
            inner = state.mapping((reply_to_lua(state, key, True), reply_to_lua(state, value, True))
                                  for key, value in reply.items())
            return state.single(b"map", inner)
        return state.table([reply_to_lua(state, item, False) for pair in reply.items() for item in pair])
    if kind in (set, frozenset, SetReply):
        if resp3:
            return state.single(b"set", state.mapping((reply_to_lua(state, member, True), True) for member in reply))
        return state.table([reply_to_lua(state, member, False) for member in reply])
    if kind is BigNumber:
        digits = b"%d" % reply.value
        return state.single(b"big_number", digits) if resp3 else digits
    if kind is Verbatim:
        if resp3:
            inner = state.mapping(((b"string", reply.text), (b"format", reply.format.encode())))
            return state.single(b"verbatim_string", inner)
        return reply.text
    if kind in (list, tuple, Push):
        return state.table([reply_to_lua(state, item, resp3) for item in reply])
    if kind is Frames:  # several replies to one command: the script sees the last, as the fake client's
        return reply_to_lua(state, reply[-1], resp3) if reply else None
    if kind is Attribute:
        return None
    if isinstance(reply, bytes):
        return bytes(reply)
    raise TypeError("no Lua conversion for %r" % kind)


# ------------------------------------------------------------------ Lua -> reply


def lua_integer(number):
    """(long long) of a Lua number, as C truncates it (out of range and NaN: LLONG_MIN on x86-64)."""
    if type(number) is int:
        return number if LLONG_MIN <= number < 2**63 else LLONG_MIN
    if not isfinite(number) or not LLONG_MIN <= number < 2**63:
        return LLONG_MIN
    return int(number)


STACK_LIMIT = 7996  # luaReplyToRedisReply's lua_checkstack(4) fails past this slot of Lua's 8000
STACK_ERROR = Error("ERR reached lua stack limit")
WRITER_DEPTH = 200  # deeper than this, the reply goes to the writer as protocol.Nested


def lua_to_reply(value, resp3):
    """luaReplyToRedisReply(): the script's value as our reply; resp3 is the script's setresp.

    Tables are walked with a stack of our own, as deep as Redis goes: each value has the Lua stack
    slot Redis's recursion would give it (an array's element one above its table, a map's key four
    and value three, a set's member three), and one past STACK_LIMIT becomes Redis's error."""
    if not is_table(value):
        return _scalar(value, resp3)
    root = [None]
    pending = [(value, 2, root, 0)]  # (Lua value, its stack slot, the list it goes in, at which index)
    deepest = 2
    while pending:
        item, slot, into, index = pending.pop()
        deepest = max(deepest, slot)
        if slot > STACK_LIMIT:
            into[index] = STACK_ERROR
        elif not is_table(item):
            into[index] = _scalar(item, resp3)
        else:
            into[index] = _table_to_reply(item, slot, resp3, pending)
    return Nested(root[0]) if deepest > WRITER_DEPTH else root[0]


def _scalar(value, resp3):
    kind = type(value)
    if kind is bytes:
        return value
    if kind is int or kind is float:
        return lua_integer(value)
    if kind is bool:
        if resp3:
            return value
        return 1 if value else None
    return None


def _table_to_reply(table, slot, resp3, pending):
    """One table's reply; the values inside it are left in pending, to go into the reply's slots."""
    error = table[b"err"]
    if type(error) is bytes:
        text = error_text(error)
        return Error(AlreadyCounted(text) if table[b"ignore_error_stats_update"] else text)
    status = table[b"ok"]
    if type(status) is bytes:
        return Status(status)
    double = table[b"double"]
    if type(double) in (int, float):
        return float(double)
    big_number = table[b"big_number"]
    if type(big_number) is bytes:
        return BigNumber(big_number)
    mapping = table[b"map"]
    if is_table(mapping):
        pairs = []
        for key, item in mapping.items():
            pair = [None, None]
            pairs.append(pair)
            pending.append((item, slot + 3, pair, 1))
            pending.append((key, slot + 4, pair, 0))
        return MapPairs(pairs)
    members = table[b"set"]
    if is_table(members):
        keys = list(members.keys())
        reply = SetReply([None] * len(keys))
        for index, member in enumerate(keys):
            pending.append((member, slot + 3, reply, index))
        return reply
    verbatim = table[b"verbatim_string"]
    if is_table(verbatim) and type(verbatim[b"string"]) is bytes and type(verbatim[b"format"]) is bytes:
        return Verbatim(verbatim[b"format"].decode("latin-1"), verbatim[b"string"])
    items = []
    index = 1
    while True:
        item = table[index]
        if item is None:
            break
        items.append(item)
        index += 1
    reply = [None] * len(items)
    for position, item in enumerate(items):
        pending.append((item, slot + 1, reply, position))
    return reply


def error_text(raw):
    """An error table's text as the reply carries it: newlines become spaces (addReplyErrorFormat)."""
    text = raw.decode("utf-8", "surrogateescape").strip("\r\n")
    return text.replace("\r", " ").replace("\n", " ")


class Status(str):
    """A status reply ({ok=...}): bytes from Lua, written as +text on one line."""

    def __new__(cls, raw):
        return super().__new__(cls, raw.decode("utf-8", "surrogateescape").replace("\r", " ").replace("\n", " "))


class MapPairs(dict):
    """A map from Lua ({map=...}): its pairs in the table's order, keys of any type (a table key is a list)."""

    def __init__(self, pairs):
        super().__init__()
        self.pairs = pairs

    def items(self):
        return self.pairs

    def __len__(self):
        return len(self.pairs)
