"""SORT and SORT_RO side by side with Redis 7.0.15, raw replies compared byte for byte: the options one
by one, the scores C's strtod accepts and refuses, BY and GET patterns, STORE, then seeded random
lists, sets and sorted sets (numbers in many spellings, equal scores, bytes with NULs)."""
import random

import pytest
import redis

from conftest import logged_by_both
from differential import Pair, same_on_both


def test_numeric_alpha_desc_and_limit(pair):
    pair.check_sequence([
        ("RPUSH", "l", "3", "1", "2", "10", "-1.5", "1e1"), ("SORT", "l"), ("SORT", "l", "DESC"),
        ("SORT", "l", "ALPHA"), ("SORT", "l", "ALPHA", "DESC"), ("SORT", "l", "desc", "asc"),
        ("SORT", "l", "LIMIT", "1", "2"), ("SORT", "l", "LIMIT", "-5", "2"), ("SORT", "l", "LIMIT", "1", "-1"),
        ("SORT", "l", "LIMIT", "5", "1"), ("SORT", "l", "LIMIT", "6", "1"), ("SORT", "l", "LIMIT", "0", "0"),
        ("SORT", "l", "LIMIT", "2", "9223372036854775807"), ("SORT", "l", "LIMIT", "9223372036854775807", "1"),
        ("SORT", "l", "LIMIT", "1", "2", "LIMIT", "3", "1"), ("SORT", "l", "DESC", "LIMIT", "0", "3", "ALPHA"),
        ("SORT", "missing"), ("SORT", "missing", "LIMIT", "0", "1", "DESC"),
        ("SADD", "ints", "5", "-3", "12", "0"), ("SORT", "ints"), ("SORT", "ints", "DESC", "LIMIT", "1", "2"),
        ("SADD", "words", "pear", "apple", "fig"), ("SORT", "words", "ALPHA"), ("SORT", "words", "ALPHA", "DESC"),
        ("ZADD", "z", "1", "c", "2", "b", "3", "a"), ("SORT", "z", "ALPHA"), ("SORT", "z", "ALPHA", "DESC"),
        ("ZADD", "zn", "3", "1", "1", "3", "2", "2"), ("SORT", "zn"), ("SORT", "zn", "DESC", "LIMIT", "0", "2"),
    ])


def test_by_nosort_keeps_the_own_order(pair):
    """Lists and sorted sets keep their order (DESC reverses it, LIMIT cuts it); a set's DESC changes
    nothing; a sorted set becomes a skiplist for good, as Redis converts it to sort."""
    pair.check_sequence([
        ("RPUSH", "l", "3", "1", "2"), ("SORT", "l", "BY", "nosort"), ("SORT", "l", "BY", "nosort", "DESC"),
        ("SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "5"), ("SORT", "l", "BY", "nosort", "LIMIT", "2", "1"),
        ("SORT", "l", "BY", "nosort", "LIMIT", "3", "1"), ("SORT", "l", "BY", "constant", "LIMIT", "-1", "0"),
        ("ZADD", "z", "2", "b", "1", "a", "3", "c", "3", "d"), ("OBJECT", "ENCODING", "z"),
        ("SORT", "z", "BY", "nosort"), ("OBJECT", "ENCODING", "z"), ("SORT", "z", "BY", "nosort", "DESC"),
        ("SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"), ("SORT", "z", "BY", "nosort", "LIMIT", "3", "9"),
        ("ZADD", "z2", "1", "x"), ("SORT_RO", "z2", "ALPHA"), ("OBJECT", "ENCODING", "z2"),
        ("SADD", "s", "3", "1", "2"), ("SORT", "s", "BY", "nosort"), ("SORT", "s", "BY", "nosort", "DESC"),
        ("SORT", "s", "BY", "nosort", "LIMIT", "1", "1"),
        ("SORT", "l", "BY", "nosort", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "BY", "nosort"),
        ("SORT", "l", "BY", "w_\0*"),
    ])


def test_by_patterns(pair):
    pair.check_sequence([
        ("RPUSH", "l", "a", "b", "c", "d"), ("MSET", "w_a", "3", "w_b", "1", "w_c", "2"),
        ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"), ("SORT", "l", "BY", "w_*", "ALPHA"),
        ("SORT", "l", "BY", "w_*", "LIMIT", "1", "2"), ("SORT", "l", "BY", "*_w"), ("SORT", "l", "BY", "w_*_*"),
        ("HSET", "h_a", "f", "9", "g", "x"), ("HSET", "h_b", "f", "8"), ("HSET", "h_c", "f", "10"),
        ("SORT", "l", "BY", "h_*->f"), ("SORT", "l", "BY", "h_*->f", "DESC"), ("SORT", "l", "BY", "h_*->g"),
        ("SORT", "l", "BY", "h_*->g", "ALPHA"), ("SORT", "l", "BY", "h_*->"), ("SORT", "l", "BY", "w_*->f"),
        ("SORT", "l", "BY", "h_*->missing"), ("SORT", "l", "BY", "h->*"), ("SORT", "l", "BY", "h_*->f->g"),
        ("RPUSH", "w_d", "4"), ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "ALPHA", "DESC"),
        ("SET", "w_d", "x"), ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "ALPHA"),
        ("SET", "w_d", "nan"), ("SORT", "l", "BY", "w_*"),
    ])


def test_by_patterns_naming_bitmaps(pair):
    """A string SETBIT or BITFIELD wrote is held as a bytearray: BY reads it as any other string, ALPHA
    under LIMIT included (where ties are looked for), as do GET and STORE."""
    pair.check_sequence([
        ("RPUSH", "l", "a", "b", "c"), ("SETBIT", "w_a", "7", "1"), ("SETBIT", "w_b", "7", "1"),
        ("BITFIELD", "w_c", "SET", "u8", "0", "49"),
        ("SORT", "l", "BY", "w_*", "ALPHA", "LIMIT", "0", "2"), ("SORT_RO", "l", "BY", "w_*", "ALPHA", "LIMIT", "1", "5"),
        ("SORT", "l", "BY", "w_*", "ALPHA", "DESC", "LIMIT", "0", "1", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SORT", "l", "BY", "w_*", "LIMIT", "0", "2", "GET", "w_*", "GET", "#"),
    ])


def test_get_patterns(pair):
    pair.check_sequence([
        ("RPUSH", "l", "2", "1", "3"), ("MSET", "n_1", "one", "n_2", "two"), ("HSET", "h_1", "f", "uno"),
        ("SORT", "l", "GET", "n_*"), ("SORT", "l", "GET", "#", "GET", "n_*", "GET", "h_*->f"),
        ("SORT", "l", "GET", "constant"), ("SORT", "l", "GET", "#\0x"), ("SORT", "l", "GET", "n_*", "DESC", "LIMIT", "0", "2"),
        ("SORT", "l", "BY", "nosort", "GET", "#", "GET", "#"), ("SORT", "l", "GET", "h_*->"),
        ("SORT", "l", "GET", "h_*->f", "BY", "n_*", "ALPHA"), ("SORT", "l", "GET", "n_*", "LIMIT", "5", "5"),
        ("RPUSH", "n_3", "list"), ("SORT", "l", "GET", "n_*"),
    ])


def test_get_nulls_in_resp3(pair):
    pair.check("HELLO", "3", normalise=lambda reply: b"")
    pair.check_sequence([("RPUSH", "l", "1", "2"), ("SET", "n_1", "x"), ("SORT", "l", "GET", "n_*", "GET", "#")])


def test_store(pair):
    pair.check_sequence([
        ("RPUSH", "l", "3", "1", "2"), ("SORT", "l", "STORE", "d"), ("TYPE", "d"), ("LRANGE", "d", "0", "-1"),
        ("OBJECT", "ENCODING", "d"), ("SET", "n_1", "x"), ("SORT", "l", "GET", "n_*", "GET", "#", "STORE", "d"),
        ("LRANGE", "d", "0", "-1"), ("SET", "t", "v", "EX", "100"), ("SORT", "l", "STORE", "t"), ("TTL", "t"),
        ("SORT", "l", "LIMIT", "0", "0", "STORE", "t"), ("EXISTS", "t"),
        ("SORT", "missing", "STORE", "d"), ("EXISTS", "d"), ("SORT", "missing", "STORE", "d"),
        ("SORT", "l", "STORE", "a", "STORE", "b"), ("EXISTS", "a", "b"), ("SORT", "l", "STORE", "l"),
        ("LRANGE", "l", "0", "-1"), ("HSET", "h", "f", "v"), ("SORT", "l", "STORE", "h"), ("TYPE", "h"),
        ("SADD", "s", "b", "c", "a"), ("SORT", "s", "BY", "nosort", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SORT", "s", "BY", "nosort", "DESC", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SADD", "si", "10", "9", "100"), ("SORT", "si", "BY", "nosort", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SORT", "si", "BY", "nosort", "GET", "n_*", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("RPUSH", "al", "b", "a\0b", "a\0a", "a"), ("SORT", "al", "ALPHA", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SORT", "al", "ALPHA"),
        ("SETBIT", "raw_1", "7", "1"), ("SORT", "l", "GET", "raw_*", "STORE", "d"), ("SETBIT", "raw_1", "6", "1"),
        ("LRANGE", "d", "0", "-1"), ("GET", "raw_1"),
    ])


def test_errors(pair):
    pair.check_sequence([
        ("RPUSH", "l", "1", "x"), ("SORT", "l"), ("SORT", "l", "STORE", "d"), ("EXISTS", "d"), ("SORT", "l", "ALPHA"),
        ("SORT", "l", "LIMIT", "1"), ("SORT", "l", "LIMIT", "x", "1"), ("SORT", "l", "LIMIT", "1", "x"),
        ("SORT", "l", "LIMIT", "1.5", "1"), ("SORT", "l", "BY"), ("SORT", "l", "GET"), ("SORT", "l", "STORE"),
        ("SORT", "l", "FOO"), ("SORT", "l", "ALPHA\0"), ("SORT_RO", "l", "STORE", "d"), ("SORT_RO", "l", "ALPHA"),
        ("SORT", "l", "LIMIT", "x", "1", "FOO"), ("SORT", "l", "FOO", "LIMIT", "x", "1"),
        ("SET", "str", "1"), ("SORT", "str"), ("SORT", "str", "FOO"), ("SORT", "str", "STORE", "d"),
        ("HSET", "h", "f", "1"), ("SORT", "h"), ("SORT",), ("SORT_RO",),
    ])


SCORES = [
    "1e-310", "2.2250738585072014e-308", "1e-400", "0e-400", "0.000e-999", "1e400", "-1e400", "inf", "-INFINITY",
    "Inf", "infinit", "nan", "NaN", "nan(123)", " 5", "5 ", "\t7", "", " ", "0x10", "0X1F", "0x", "0x1p3", "0x.8p1",
    "0x1p-1074", "0x1p-1080", "0x3p-1075", "0x1p1024", "1e", "1e+", ".5", "5.", "+.5e1", "-0", "+0", "1.0", "01",
    "+1", "1_0", "12\0abc", "\0", "1,5", "4.9e-324", "0x1.8", "- 1", "--1", "1e308", "17976931348623158e292",
]


@pytest.mark.parametrize("score", SCORES)
def test_scores_as_strtod_reads_them(pair, score):
    """Each spelling next to 1 and to its own negation: accepted, refused, and equal scores tied by bytes."""
    pair.check_sequence([
        ("RPUSH", "l", score, "1", "-" + score), ("SORT", "l"), ("SORT", "l", "DESC"), ("SET", "w_x", score),
        ("RPUSH", "m", "x", "y"), ("SET", "w_y", "0"), ("SORT", "m", "BY", "w_*"), ("SORT", "m", "BY", "w_*", "DESC"),
    ])


def _number(rng):
    """A number in one of the spellings strtod reads, often equal to another one."""
    value = rng.choice((rng.randint(-5, 5), rng.randint(-10**6, 10**6), rng.random() * 10, rng.uniform(-1e20, 1e20)))
    form = rng.randrange(7)
    if form == 0:
        return str(int(value))
    if form == 1:
        return repr(float(value))
    if form == 2:
        return "%e" % value
    if form == 3:
        return float(value).hex()
    if form == 4:
        return " %+d" % int(value)
    if form == 5:
        return "%.3f" % value
    return "0%d" % abs(int(value))


def _blob(rng):
    return bytes(rng.choice(b"ab\0\xff\xc3 Z0") for _ in range(rng.randint(0, 4)))


@pytest.mark.parametrize("seed", range(5))
def test_random_lists_as_redis(pair, seed):
    """Numbers (equal values spelled differently tie by bytes), ALPHA over bytes with NULs, BY and GET
    through keys that may be missing, LIMIT, DESC, STORE."""
    rng = random.Random(seed)
    commands = []
    for _ in range(12):
        numbers = [_number(rng) for _ in range(rng.randint(0, 40))]
        blobs = [_blob(rng) for _ in range(rng.randint(0, 30))]
        commands += [("DEL", "n", "b", "d"), ("RPUSH", "n", "0", *numbers), ("RPUSH", "b", "", *blobs)]
        commands += [("SET", "w_%s" % number, _number(rng)) for number in numbers if rng.random() < 0.7]
        commands += [("HSET", "h_%s" % number, "f", _number(rng)) for number in numbers if rng.random() < 0.5]
        for _ in range(15):
            options = []
            if rng.random() < 0.4:
                options += ["BY", rng.choice(("w_*", "h_*->f", "nosort"))]
            if rng.random() < 0.4:
                options += ["LIMIT", rng.randint(-2, 45), rng.randint(-2, 45)]
            if rng.random() < 0.5:
                options.append("DESC")
            if rng.random() < 0.3:
                options += ["GET", "#", "GET", rng.choice(("w_*", "h_*->f"))]
            commands.append(("SORT", "n", *options))
            commands.append(("SORT", "n", "ALPHA", *options))
            commands.append(("SORT", "b", "ALPHA", *[option for option in options if option != "h_*->f"]))
            if rng.random() < 0.3:
                commands += [("SORT", "n", *options, "STORE", "d"), ("LRANGE", "d", "0", "-1")]
    pair.check_pipeline(commands)


@pytest.mark.parametrize("seed", range(3))
def test_random_sets_and_sorted_sets_as_redis(pair, seed):
    """Sets and sorted sets whose sort is a total order (numeric, ALPHA of distinct members), so that
    Redis's hash-table order of loading cannot show."""
    rng = random.Random(seed)
    commands = []
    for _ in range(10):
        members = {_number(rng).strip() for _ in range(rng.randint(1, 200))}
        integers = {str(rng.randint(-1000, 1000)) for _ in range(rng.randint(1, 30))}
        commands += [("DEL", "s", "i", "z"), ("SADD", "s", *members), ("SADD", "i", *integers),
                     ("ZADD", "z", *[part for member in members for part in (rng.randint(0, 5), member)])]
        for _ in range(10):
            options = []
            if rng.random() < 0.5:
                options += ["LIMIT", rng.randint(0, 50), rng.randint(-1, 50)]
            if rng.random() < 0.5:
                options.append("DESC")
            key = rng.choice(("s", "i", "z"))
            commands += [("SORT", key, *options), ("SORT", key, "ALPHA", *options)]
            if key != "s":
                commands.append(("SORT", key, "BY", "nosort", *options))
            commands += [("SORT", key, "BY", "nosort", "STORE", "d", *options), ("LRANGE", "d", "0", "-1")]
    pair.check_pipeline(commands)


def test_alpha_by_ties_keep_the_list_order(pair):
    """Equal BY values, and missing ones (first), keep the list's order, also under DESC: Redis's
    qsort is a stable merge sort."""
    pair.check_sequence([
        ("RPUSH", "m", "x3", "x1", "x2", "x4", "x5", "x6", "x7", "x8", "x9"),
        ("MSET", "w_x1", "b", "w_x2", "a", "w_x3", "b", "w_x5", "a", "w_x6", "a", "w_x8", "b"),
        ("SORT", "m", "BY", "w_*", "ALPHA"), ("SORT", "m", "BY", "w_*", "ALPHA", "DESC"),
        ("SORT", "m", "BY", "w_*", "ALPHA", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SORT", "m", "BY", "w_*"), ("SORT", "m", "BY", "w_*", "DESC", "GET", "#", "GET", "w_*"),
    ])


@pytest.mark.parametrize("seed", range(2))
def test_alpha_by_ties_under_limit_as_redis(pair, seed):
    """BY with LIMIT is Redis's partial quicksort, which is not stable: equal and missing BY values
    come out in its order, on lists short and long (insertion sort below 7, ninther above 40)."""
    rng = random.Random(seed)
    commands = []
    for size in (5, 7, 30, 41, 120):
        commands += [("DEL", "m"), ("RPUSH", "m", *["e%d" % index for index in range(size)])]
        commands += [("SET", "w_e%d" % index, rng.choice("abc")) for index in range(size) if rng.random() < 0.8]
        for _ in range(6):
            limit = ("LIMIT", rng.randint(0, size), rng.randint(1, size))
            commands += [("SORT", "m", "BY", "w_*", "ALPHA", *limit), ("SORT", "m", "BY", "w_*", "ALPHA", "DESC", *limit),
                         ("SORT_RO", "m", "BY", "w_*", "ALPHA", *limit, "GET", "w_*")]
    pair.check_pipeline(commands)


def test_in_a_transaction(pair):
    pair.check_sequence([
        ("RPUSH", "l", "2", "1"), ("MULTI",), ("SORT", "l", "STORE", "d"), ("SORT", "l", "FOO"), ("LRANGE", "d", "0", "-1"),
        ("EXEC",), ("MULTI",), ("SORT", "l", "STORE", "d"), ("SORT_RO", "l", "DESC"), ("SORT", "d"), ("EXEC",),
    ])


@pytest.mark.parametrize("change, breaks", [
    (("SORT", "l", "STORE", "w"), True), (("SORT", "l", "LIMIT", "0", "0", "STORE", "w"), True),
    (("SORT", "l", "LIMIT", "0", "0", "STORE", "missing"), False), (("SORT", "w"), False),
    (("SORT_RO", "w", "BY", "nosort"), False),
])
def test_watch(server, real_redis, change, breaks):
    with Pair(server.port, real_redis.port) as watcher, Pair(server.port, real_redis.port) as other:
        watcher.check("FLUSHALL")
        watcher.check_sequence([("RPUSH", "l", "2", "1"), ("RPUSH", "w", "x"), ("WATCH", "w", "missing")])
        other.check(*change)
        reply = watcher.check_sequence([("MULTI",), ("LRANGE", "w", "0", "-1"), ("EXEC",)])[-1]
        assert (reply == b"*-1\r\n") == breaks


def test_keyspace_hits_count_every_lookup(fresh):
    """The sorted key, each BY key and each GET key is a lookup, counted in INFO as Redis counts it."""
    def scenario(port):
        client = redis.Redis(port=port)
        client.rpush("l", "1", "2", "3")
        client.mset({"w_1": "1", "g_2": "x"})
        client.config_resetstat()
        client.sort("l", by="w_*", get=["#", "g_*", "h_*->f"])
        client.sort("l", by="nosort", get="g_*")
        client.sort("missing")
        stats = client.info("stats")
        client.close()
        return stats["keyspace_hits"], stats["keyspace_misses"]
    same_on_both(fresh, scenario)


def test_the_aof_is_what_redis_writes(tmp_path):
    """SORT ... STORE is logged as sent when it stored or deleted something; reads and no-ops are not."""
    def run(client):
        for command in (("RPUSH", "l", "2", "1"), ("SORT", "l"), ("SORT", "l", "STORE", "d"),
                        ("SORT", "l", "LIMIT", "0", "0", "STORE", "d"), ("SORT", "l", "LIMIT", "0", "0", "STORE", "d"),
                        ("SORT_RO", "l", "DESC"), ("SADD", "s", "b", "a"), ("SORT", "s", "BY", "nosort", "STORE", "e")):
            client.execute_command(*command)
    written, expected = logged_by_both(tmp_path, run)
    assert written == expected


def test_command_getkeys(pair):
    pair.check_sequence([
        ("COMMAND", "GETKEYS", "SORT", "l"), ("COMMAND", "GETKEYSANDFLAGS", "SORT", "l", "STORE", "d"),
        ("COMMAND", "GETKEYSANDFLAGS", "SORT", "l", "STORE", "d", "STORE", "e", "LIMIT", "0", "1"),
        ("COMMAND", "GETKEYS", "SORT", "l", "GET", "store", "BY", "store"), ("COMMAND", "GETKEYS", "SORT", "l", "STORE"),
        ("COMMAND", "GETKEYS", "SORT", "l", "LIMIT", "store", "x", "STORE", "d"),
        ("COMMAND", "GETKEYSANDFLAGS", "SORT_RO", "l", "BY", "x"), ("COMMAND", "INFO", "SORT", "SORT_RO"),
    ])
