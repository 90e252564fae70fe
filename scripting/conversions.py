"""Redis's conversions between replies and Lua values, both ways (script_lua.c).

A command's reply reaches the script as the script's protocol reads it (redis.setresp: 2 by
default, or 3); the script's return value becomes the reply written in the caller's protocol,
where our ReplyWriter folds RESP3 types back for a RESP2 caller as Redis does.
"""
from math import isfinite

from errors import AlreadyCounted
from protocol import NULL_ARRAY, Attribute, BigNumber, Error, Frames, NullArray, Push, SetReply, Verbatim, format_double
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


def lua_to_reply(value, resp3):
    """luaReplyToRedisReply(): the script's value as our reply; resp3 is the script's setresp."""
    kind = type(value)
    if kind is bytes:
        return value
    if kind is int or kind is float:
        return lua_integer(value)
    if kind is bool:
        if resp3:
            return value
        return 1 if value else None
    if value is None:
        return None
    if is_table(value):
        return _table_to_reply(value, resp3)
    return None


def _table_to_reply(table, resp3):
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
        return MapPairs([(lua_to_reply(key, resp3), lua_to_reply(item, resp3)) for key, item in mapping.items()])
    members = table[b"set"]
    if is_table(members):
        return SetReply(lua_to_reply(member, resp3) for member in members.keys())
    verbatim = table[b"verbatim_string"]
    if is_table(verbatim) and type(verbatim[b"string"]) is bytes and type(verbatim[b"format"]) is bytes:
        return Verbatim(verbatim[b"format"].decode("latin-1"), verbatim[b"string"])
    items = []
    index = 1
    while True:
        item = table[index]
        if item is None:
            return items
        items.append(lua_to_reply(item, resp3))
        index += 1


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
