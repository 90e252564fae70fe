"""The client's command table: one row per named method of Client and Pipeline.

A row is (method name, wire form, reply transform, repeat rule). install()
turns every row into a method that builds the command from its arguments:

* positional arguments go out in order; a dict is sent as its key value pairs
  (``hset("h", {"f": 1})`` is ``HSET h f 1``);
* keyword options become words after them: ``ex=10`` is ``EX 10``, ``nx=True``
  is ``NX``, and False or None leaves the option out.

The repeat rule says whether the client may resend the command after the
connection dropped under it, when it cannot know whether the server ran it:

* READ: it changes nothing (Redis's ``readonly`` flag), so a repeat is harmless;
* SAME: a write whose repeat leaves the same data *and* returns the same reply
  (``SET k v`` answers OK twice) -- unless a conditional option (NX, XX, GT, LT,
  GET) is given, which makes the second answer differ from the first;
* ONCE: everything else. INCR and LPUSH would apply twice; DEL, SETNX and SADD
  would leave the same data but answer differently (0 instead of 1), and a
  caller who asked "did I get the lock?" would be told no.

Redis's own flags only say read or write; whether a write is idempotent is the
knowledge this table adds.
"""
from collections import namedtuple
from collections.abc import Mapping

READ, SAME, ONCE = "read", "same", "once"
CONDITIONAL = frozenset((b"NX", b"XX", b"GT", b"LT", b"GET"))

Row = namedtuple("Row", "method wire transform repeat arguments", defaults=(None,))
Row.__doc__ = "A named method: wire is the command's syntax, arguments an optional argument builder."


class Status(bytes):
    """A simple-string reply (``+OK``), told apart from a bulk string holding the same bytes."""


# ---------------------------------------------------------------- reply transforms


def ok(reply):
    """+OK as True; anything else (None for a SET NX that did not set, a GET's value) as it came."""
    return True if isinstance(reply, Status) and reply == b"OK" else reply


def boolean(reply):
    return None if reply is None else bool(reply)


def to_float(reply):
    return None if reply is None else float(reply)


def pairs(reply):
    """A RESP2 flat [k1, v1, k2, v2] as a dict; a RESP3 map is one already."""
    if isinstance(reply, list):
        return dict(zip(reply[::2], reply[1::2]))
    return reply


def as_set(reply):
    return set(reply) if isinstance(reply, list) else reply


def cursor_page(reply):
    """SCAN's [cursor, items] as (int cursor, items)."""
    return int(reply[0]), reply[1]


def info_fields(reply):
    """INFO's "name:value" lines as a dict of str; numbers are converted."""
    text = reply.decode() if isinstance(reply, bytes) else reply
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            name, value = line.split(":", 1)
            fields[name] = _number(value)
    return fields


def _number(text):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def decode(reply):
    """decode_responses: bytes to str, inside lists, sets and maps too; other values pass through."""
    if isinstance(reply, bytes):
        return reply.decode()
    if isinstance(reply, (list, set)):
        return type(reply)(decode(item) for item in reply)
    if isinstance(reply, dict):
        return {decode(key): decode(value) for key, value in reply.items()}
    return reply


# ---------------------------------------------------------------- argument builders


def flatten(args):
    words = []
    for arg in args:
        if isinstance(arg, Mapping):
            for pair in arg.items():
                words.extend(pair)
        else:
            words.append(arg)
    return words


def option_words(options):
    words = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        words.append(name.upper())
        if value is not True:
            words.append(value)
    return words


def plain_arguments(args, options):
    return flatten(args) + option_words(options)


def score_first(args, options):
    """ZADD key [options] score member ...: a {member: score} dict goes out score first."""
    key, *rest = args
    words = [key] + option_words(options)
    for arg in rest:
        if isinstance(arg, Mapping):
            for member, score in arg.items():
                words += [score, member]
        else:
            words.append(arg)
    return words


# ---------------------------------------------------------------- the table

ROWS = (
    # strings
    Row("get", "GET key", None, READ),
    Row("set", "SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]", ok, SAME),
    Row("setnx", "SETNX key value", boolean, ONCE),
    Row("setex", "SETEX key seconds value", ok, SAME),
    Row("psetex", "PSETEX key milliseconds value", ok, SAME),
    Row("getset", "GETSET key value", None, ONCE),
    Row("getdel", "GETDEL key", None, ONCE),
    Row("getex", "GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]", None, ONCE),
    Row("mget", "MGET key [key ...]", None, READ),
    Row("mset", "MSET key value [key value ...]  (or a dict)", ok, SAME),
    Row("msetnx", "MSETNX key value [key value ...]  (or a dict)", boolean, ONCE),
    Row("append", "APPEND key value", None, ONCE),
    Row("strlen", "STRLEN key", None, READ),
    Row("incr", "INCR key", None, ONCE),
    Row("decr", "DECR key", None, ONCE),
    Row("incrby", "INCRBY key increment", None, ONCE),
    Row("decrby", "DECRBY key decrement", None, ONCE),
    Row("incrbyfloat", "INCRBYFLOAT key increment", to_float, ONCE),
    Row("getrange", "GETRANGE key start end", None, READ),
    Row("setrange", "SETRANGE key offset value", None, SAME),
    # keys
    Row("delete", "DEL key [key ...]", None, ONCE),
    Row("unlink", "UNLINK key [key ...]", None, ONCE),
    Row("exists", "EXISTS key [key ...]", None, READ),
    Row("type", "TYPE key", None, READ),
    Row("keys", "KEYS pattern", None, READ),
    Row("scan", "SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]", cursor_page, READ),
    Row("dbsize", "DBSIZE", None, READ),
    Row("randomkey", "RANDOMKEY", None, READ),
    Row("rename", "RENAME key newkey", ok, ONCE),
    Row("renamenx", "RENAMENX key newkey", boolean, ONCE),
    Row("copy", "COPY source destination [DB db] [REPLACE]", boolean, ONCE),
    Row("move", "MOVE key db", boolean, ONCE),
    Row("flushdb", "FLUSHDB [ASYNC|SYNC]", ok, SAME),
    Row("flushall", "FLUSHALL [ASYNC|SYNC]", ok, SAME),
    Row("flush", "FLUSH  (mini-redis only: empty the database, return how many keys it held)", None, ONCE),
    Row("expire", "EXPIRE key seconds [NX|XX|GT|LT]", boolean, ONCE),
    Row("pexpire", "PEXPIRE key milliseconds [NX|XX|GT|LT]", boolean, ONCE),
    Row("expireat", "EXPIREAT key unix-time-seconds [NX|XX|GT|LT]", boolean, SAME),
    Row("pexpireat", "PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT]", boolean, SAME),
    Row("ttl", "TTL key", None, READ),
    Row("pttl", "PTTL key", None, READ),
    Row("persist", "PERSIST key", boolean, ONCE),
    # lists
    Row("lpush", "LPUSH key element [element ...]", None, ONCE),
    Row("rpush", "RPUSH key element [element ...]", None, ONCE),
    Row("lpop", "LPOP key [count]", None, ONCE),
    Row("rpop", "RPOP key [count]", None, ONCE),
    Row("llen", "LLEN key", None, READ),
    Row("lrange", "LRANGE key start stop", None, READ),
    Row("lindex", "LINDEX key index", None, READ),
    Row("lset", "LSET key index element", ok, SAME),
    Row("lrem", "LREM key count element", None, ONCE),
    Row("ltrim", "LTRIM key start stop", ok, ONCE),
    Row("lpos", "LPOS key element [RANK rank] [COUNT n] [MAXLEN len]", None, READ),
    Row("lmove", "LMOVE source destination LEFT|RIGHT LEFT|RIGHT", None, ONCE),
    Row("blpop", "BLPOP key [key ...] timeout", None, ONCE),
    Row("brpop", "BRPOP key [key ...] timeout", None, ONCE),
    # hashes
    Row("hset", "HSET key field value [field value ...]  (or a dict)", None, ONCE),
    Row("hsetnx", "HSETNX key field value", boolean, ONCE),
    Row("hget", "HGET key field", None, READ),
    Row("hmget", "HMGET key field [field ...]", None, READ),
    Row("hdel", "HDEL key field [field ...]", None, ONCE),
    Row("hlen", "HLEN key", None, READ),
    Row("hexists", "HEXISTS key field", boolean, READ),
    Row("hkeys", "HKEYS key", None, READ),
    Row("hvals", "HVALS key", None, READ),
    Row("hgetall", "HGETALL key  (as a dict)", pairs, READ),
    Row("hincrby", "HINCRBY key field increment", None, ONCE),
    Row("hincrbyfloat", "HINCRBYFLOAT key field increment", to_float, ONCE),
    # sets
    Row("sadd", "SADD key member [member ...]", None, ONCE),
    Row("srem", "SREM key member [member ...]", None, ONCE),
    Row("smembers", "SMEMBERS key  (as a set)", as_set, READ),
    Row("sismember", "SISMEMBER key member", boolean, READ),
    Row("scard", "SCARD key", None, READ),
    Row("spop", "SPOP key [count]", None, ONCE),
    Row("srandmember", "SRANDMEMBER key [count]", None, READ),
    Row("sinter", "SINTER key [key ...]  (as a set)", as_set, READ),
    Row("sunion", "SUNION key [key ...]  (as a set)", as_set, READ),
    Row("sdiff", "SDIFF key [key ...]  (as a set)", as_set, READ),
    # sorted sets
    Row("zadd", "ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]  "
                "(or a {member: score} dict)", None, ONCE, score_first),
    Row("zincrby", "ZINCRBY key increment member", to_float, ONCE),
    Row("zrem", "ZREM key member [member ...]", None, ONCE),
    Row("zscore", "ZSCORE key member", to_float, READ),
    Row("zcard", "ZCARD key", None, READ),
    Row("zcount", "ZCOUNT key min max", None, READ),
    Row("zrank", "ZRANK key member", None, READ),
    Row("zrevrank", "ZREVRANK key member", None, READ),
    Row("zrange", "ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]",
        None, READ),
    Row("zrangebyscore", "ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]", None, READ),
    Row("zpopmin", "ZPOPMIN key [count]", None, ONCE),
    Row("zpopmax", "ZPOPMAX key [count]", None, ONCE),
    # pub/sub, connection, server
    Row("publish", "PUBLISH channel message", None, ONCE),
    Row("ping", "PING [message]", None, READ),
    Row("echo", "ECHO message", None, READ),
    Row("time", "TIME", None, READ),
    Row("info", "INFO [section ...]  (as a dict)", info_fields, READ),
)

BY_COMMAND = {row.wire.split()[0].encode(): row for row in ROWS}


def safe_to_repeat(argv):
    """May argv be sent again after the connection dropped before its reply? See the module doc."""
    name = argv[0].encode() if isinstance(argv[0], str) else bytes(argv[0])
    row = BY_COMMAND.get(name.upper())
    if row is None or row.repeat == ONCE:
        return False
    if row.repeat == READ:
        return True
    return not any(isinstance(arg, (str, bytes)) and _upper(arg) in CONDITIONAL for arg in argv[1:])


def _upper(arg):
    return (arg.encode() if isinstance(arg, str) else arg).upper()


def install(cls):
    """Give cls one method per row; each calls cls._command(argv, transform)."""
    for row in ROWS:
        setattr(cls, row.method, _method(row))
    return cls


def _method(row):
    command = row.wire.split()[0]
    build = row.arguments or plain_arguments

    def method(self, *args, **options):
        return self._command((command, *build(args, options)), row.transform)

    method.__name__ = method.__qualname__ = row.method
    method.__doc__ = row.wire
    return method
