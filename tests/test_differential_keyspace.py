"""Random sequences of string, key and expiry commands, mixed with the aggregate types, against Redis 7.0.15.

Arguments are drawn from small pools of valid and invalid values so that
keys collide, types clash and numbers overflow often. Left out, as random
by nature: RANDOMKEY, SCAN cursors, and TTLs finer than a second (PTTL,
EXPIRETIME after a relative EXPIRE). KEYS replies are compared as sets.
MINI_REDIS_DIFF_EXAMPLES sets how many sequences run (default 300).
"""
import os

from hypothesis import HealthCheck, given, settings, strategies as st

from differential import Pair

EXAMPLES = int(os.environ.get("MINI_REDIS_DIFF_EXAMPLES", "300"))

KEYS = st.sampled_from([b"a", b"b", b"c", b"\x00k", b""])
VALUES = st.sampled_from([b"", b"0", b"1", b"-1", b"10", b"01", b"1.5", b"abc", b"hello world", b"\xff\xfe",
                          b"9223372036854775807", b"-9223372036854775808", b"1e3", b"inf", b" 2"])
INTEGERS = st.sampled_from([b"0", b"1", b"-1", b"2", b"-3", b"100", b"1000", b"9223372036854775807",
                            b"-9223372036854775808", b"x", b"1.5", b""])
FLOATS = st.sampled_from([b"0.1", b"10.5", b"-2", b"1e10", b"inf", b"nan", b"x", b"3.0", b"0x10", b""])
SECONDS = st.sampled_from([b"1000", b"5000", b"-1", b"0", b"x", b"9223372036854775807", b"100000"])
SET_OPTIONS = st.lists(st.sampled_from([b"NX", b"XX", b"GET", b"KEEPTTL", b"EX", b"PX", b"1000", b"5000",
                                        b"EXAT", b"PXAT", b"-1", b"PERSIST", b"nx"]), max_size=4)
EXPIRE_FLAGS = st.lists(st.sampled_from([b"NX", b"XX", b"GT", b"LT", b"xx", b"BAD"]), max_size=2)


def command(name, *parts):
    """A strategy for one command: name followed by the parts' drawn values (lists are spliced in)."""
    def build(values):
        args = [name]
        for value in values:
            args.extend(value if isinstance(value, list) else [value])
        return args
    return st.tuples(*parts).map(build)


COMMANDS = st.one_of(
    command(b"GET", KEYS), command(b"SET", KEYS, VALUES, SET_OPTIONS), command(b"SETNX", KEYS, VALUES),
    command(b"SETEX", KEYS, SECONDS, VALUES), command(b"PSETEX", KEYS, SECONDS, VALUES),
    command(b"GETSET", KEYS, VALUES), command(b"GETDEL", KEYS),
    command(b"GETEX", KEYS, st.lists(st.sampled_from([b"EX", b"PX", b"1000", b"PERSIST", b"EXAT", b"-1"]),
                                     max_size=3)),
    command(b"MGET", st.lists(KEYS, max_size=3)), command(b"MSET", st.lists(KEYS | VALUES, max_size=5)),
    command(b"MSETNX", st.lists(KEYS | VALUES, max_size=5)), command(b"APPEND", KEYS, VALUES),
    command(b"STRLEN", KEYS), command(b"INCR", KEYS), command(b"DECR", KEYS), command(b"INCRBY", KEYS, INTEGERS),
    command(b"DECRBY", KEYS, INTEGERS), command(b"INCRBYFLOAT", KEYS, FLOATS),
    command(b"GETRANGE", KEYS, INTEGERS, INTEGERS), command(b"SETRANGE", KEYS, INTEGERS, VALUES),
    command(b"LCS", KEYS, KEYS, st.lists(st.sampled_from([b"LEN", b"IDX", b"WITHMATCHLEN", b"MINMATCHLEN",
                                                          b"1"]), max_size=3)),
    command(b"DEL", st.lists(KEYS, min_size=0, max_size=3)), command(b"UNLINK", st.lists(KEYS, max_size=3)),
    command(b"EXISTS", st.lists(KEYS, max_size=3)), command(b"TYPE", KEYS), command(b"TOUCH", st.lists(KEYS, max_size=2)),
    command(b"RENAME", KEYS, KEYS), command(b"RENAMENX", KEYS, KEYS),
    command(b"COPY", KEYS, KEYS, st.lists(st.sampled_from([b"REPLACE", b"DB", b"1", b"0", b"16"]), max_size=3)),
    command(b"MOVE", KEYS, st.sampled_from([b"0", b"1", b"16", b"x"])),
    command(b"OBJECT", st.sampled_from([b"ENCODING", b"REFCOUNT", b"FREQ", b"NOSUCH"]), KEYS),
    command(b"EXPIRE", KEYS, SECONDS, EXPIRE_FLAGS), command(b"PEXPIRE", KEYS, SECONDS, EXPIRE_FLAGS),
    command(b"EXPIREAT", KEYS, st.sampled_from([b"1", b"4102444800", b"-5", b"x"]), EXPIRE_FLAGS),
    command(b"PEXPIREAT", KEYS, st.sampled_from([b"1", b"4102444800123", b"x"]), EXPIRE_FLAGS),
    command(b"TTL", KEYS), command(b"PERSIST", KEYS), command(b"DBSIZE"),
    command(b"KEYS", st.sampled_from([b"*", b"a*", b"?", b"[ab]", b"\\x00*"])),
    command(b"SELECT", st.sampled_from([b"0", b"1"])), command(b"SWAPDB", st.sampled_from([b"0", b"1", b"x"]),
                                                             st.sampled_from([b"0", b"1"])),
    command(b"FLUSHDB"),
    # The aggregate types on the same keys: WRONGTYPE, TYPE, OBJECT ENCODING, COPY/RENAME/EXPIRE of them.
    command(b"LPUSH", KEYS, st.lists(VALUES, max_size=3)), command(b"RPUSH", KEYS, st.lists(VALUES, max_size=3)),
    command(b"LPOP", KEYS, st.lists(INTEGERS, max_size=1)), command(b"LRANGE", KEYS, INTEGERS, INTEGERS),
    command(b"LLEN", KEYS), command(b"HSET", KEYS, st.lists(VALUES, max_size=4)), command(b"HGET", KEYS, VALUES),
    command(b"HGETALL", KEYS), command(b"HDEL", KEYS, st.lists(VALUES, max_size=2)),
    command(b"SADD", KEYS, st.lists(INTEGERS, max_size=3)), command(b"SREM", KEYS, st.lists(INTEGERS, max_size=2)),
    command(b"SCARD", KEYS), command(b"SISMEMBER", KEYS, INTEGERS),
    command(b"ZADD", KEYS, st.lists(FLOATS | INTEGERS, max_size=4)), command(b"ZRANGE", KEYS, INTEGERS, INTEGERS,
                                                                            st.lists(st.just(b"WITHSCORES"), max_size=1)),
    command(b"ZSCORE", KEYS, VALUES), command(b"ZREM", KEYS, st.lists(VALUES, max_size=2)), command(b"ZCARD", KEYS),
)


def _sorted_array(reply):
    """KEYS lists keys in hash order in Redis and insertion order here: compare the sorted elements."""
    if not reply.startswith(b"*") or reply.startswith(b"*-1"):
        return reply
    header, _, body = reply.partition(b"\r\n")
    items, rest = [], body
    while rest:
        length_line, _, rest = rest.partition(b"\r\n")
        length = int(length_line[1:])
        items.append(b"%s\r\n%s\r\n" % (length_line, rest[:length]))
        rest = rest[length + 2:]
    return header + b"\r\n" + b"".join(sorted(items))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands=st.lists(COMMANDS, min_size=1, max_size=25))
def test_random_keyspace_sequences_match_redis(server, real_redis, commands):
    with Pair(server.port, real_redis.port) as pair:
        pair.check("FLUSHALL")
        for args in commands:
            pair.check(*args, normalise=_sorted_array if args[0] == b"KEYS" else None)
