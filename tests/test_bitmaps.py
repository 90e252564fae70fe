"""Bitmap commands side by side with Redis 7.0.15: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
BITFIELD_RO, raw replies compared byte for byte, hand-picked edges first, then seeded random ranges."""
import random

import pytest
import redis

from conftest import logged_by_both, start_ours, start_real_redis
from differential import Pair, same_on_both

OFFSET_ERROR = "bit offset is not an integer or out of range"


def test_setbit_and_getbit(pair):
    pair.check_sequence([
        ("SETBIT", "k", "7", "1"), ("GET", "k"), ("SETBIT", "k", "7", "1"), ("SETBIT", "k", "7", "0"),
        ("SETBIT", "k", "100", "1"), ("STRLEN", "k"), ("GETBIT", "k", "100"), ("GETBIT", "k", "101"),
        ("GETBIT", "k", "4294967295"), ("GETBIT", "missing", "3"), ("SET", "n", "123"), ("GETBIT", "n", "2"),
        ("GETBIT", "n", "3"), ("SETBIT", "k", "0", "2"), ("SETBIT", "k", "0", "-1"), ("SETBIT", "k", "0", "x"),
        ("SETBIT", "k", "0", ""), ("SETBIT", "k", "0", "01"), ("SETBIT", "k", "-1", "1"),
        ("SETBIT", "k", "4294967296", "1"), ("SETBIT", "k", "1.5", "1"), ("SETBIT", "k", "+1", "1"),
        ("GETBIT", "k", "-1"), ("GETBIT", "k", "4294967296"), ("GETBIT", "k", "x"), ("SETBIT", "k", "1"),
        ("GETBIT", "k"), ("SETBIT", "k", "1", "1", "1"), ("GET", "k"),
    ])


def test_bit_writes_leave_a_raw_string(pair):
    """OBJECT ENCODING after each writer that changes a bit: int and embstr strings become raw."""
    pair.check_sequence([
        ("SET", "i", "12"), ("SETBIT", "i", "0", "1"), ("OBJECT", "ENCODING", "i"), ("GET", "i"),
        ("SET", "e", "ab"), ("GETBIT", "e", "1"), ("OBJECT", "ENCODING", "e"),
        ("BITFIELD", "e", "GET", "u8", "0"), ("OBJECT", "ENCODING", "e"),
        ("BITFIELD", "e", "SET", "u8", "0", "98"), ("OBJECT", "ENCODING", "e"),
        ("SETBIT", "new", "3", "1"), ("OBJECT", "ENCODING", "new"),
        ("BITOP", "AND", "d", "e", "e"), ("OBJECT", "ENCODING", "d"),
        ("INCRBYFLOAT", "f", "1.5"), ("SETBIT", "f", "0", "1"), ("OBJECT", "ENCODING", "f"), ("GET", "f"),
        ("SET", "t", "x", "EX", "100"), ("SETBIT", "t", "9", "1"), ("TTL", "t"),
        ("BITOP", "OR", "t", "e"), ("TTL", "t"),
    ])


def test_bitcount_edges_and_argument_order(pair):
    """The key is looked up before the range is read: a missing key answers 0 whatever follows."""
    pair.check_sequence([
        ("BITCOUNT", "missing"), ("BITCOUNT", "missing", "x", "y"), ("BITCOUNT", "missing", "0", "1", "foo"),
        ("BITCOUNT", "missing", "0"), ("SET", "s", "foobar"), ("BITCOUNT", "s"), ("BITCOUNT", "s", "0"),
        ("BITCOUNT", "s", "0", "x"), ("BITCOUNT", "s", "x", "0"), ("BITCOUNT", "s", "-1", "-2", "foo"),
        ("BITCOUNT", "s", "0", "1", "foo"), ("BITCOUNT", "s", "0", "1", "BYTE", "x"),
        ("BITCOUNT", "s", "1", "1"), ("BITCOUNT", "s", "5", "30", "BIT"), ("BITCOUNT", "s", "5", "30", "bit"),
        ("BITCOUNT", "s", "0", "-1", "BYTE"), ("BITCOUNT", "s", "-100", "100"), ("BITCOUNT", "s", "3", "2"),
        ("BITCOUNT", "s", "-1", "-1", "BIT"), ("BITCOUNT", "s", "9223372036854775807", "-9223372036854775808"),
        ("BITCOUNT", "s", "-9223372036854775808", "9223372036854775807", "BIT"),
        ("BITCOUNT", "s", "0", "9223372036854775808"), ("SET", "empty", ""), ("BITCOUNT", "empty"),
        ("BITCOUNT", "empty", "0", "-1"), ("BITCOUNT", "empty", "0", "-1", "BIT"),
        ("SET", "n", "-123"), ("BITCOUNT", "n"), ("BITCOUNT",),
    ])


def test_bitpos_edges_and_argument_order(pair):
    pair.check_sequence([
        ("BITPOS", "missing", "2"), ("BITPOS", "missing", "x"), ("BITPOS", "missing", "1"),
        ("BITPOS", "missing", "0"), ("BITPOS", "missing", "1", "x"), ("BITPOS", "missing", "0", "0", "1", "2", "3"),
        ("SET", "s", "foobar"), ("BITPOS", "s", "1", "0", "1", "foo"), ("BITPOS", "s", "1", "x", "0", "foo"),
        ("BITPOS", "s", "1", "0", "x", "foo"), ("BITPOS", "s", "1", "0", "x"), ("BITPOS", "s", "1", "-1", "-2"),
        ("BITPOS", "s", "0", "0", "1", "2", "3"), ("BITPOS", "s", "1"), ("BITPOS", "s", "0"),
        ("BITPOS", "s", "1", "2"), ("BITPOS", "s", "0", "-1"), ("BITPOS", "s", "1", "7", "15", "BIT"),
        ("BITPOS", "s", "0", "1", "1", "BIT"), ("SET", "ones", b"\xff\xff\xff"), ("BITPOS", "ones", "0"),
        ("BITPOS", "ones", "0", "1"), ("BITPOS", "ones", "0", "0", "-1"), ("BITPOS", "ones", "0", "0", "23", "BIT"),
        ("BITPOS", "ones", "0", "0", "100", "BIT"), ("BITPOS", "ones", "1", "5", "5", "BIT"),
        ("SET", "zeros", b"\x00\x00"), ("BITPOS", "zeros", "1"), ("BITPOS", "zeros", "1", "0", "-1", "BIT"),
        ("BITPOS", "zeros", "0", "20"), ("SET", "empty", ""), ("BITPOS", "empty", "0"), ("BITPOS", "empty", "1"),
        ("BITPOS", "empty", "0", "0", "-1", "BIT"), ("BITPOS", "s", "1", "9223372036854775807"),
        ("BITPOS", "s", "0", "-9223372036854775808", "9223372036854775807", "BIT"), ("BITPOS", "s"),
    ])


def _random_string(rng):
    size = rng.choice((0, 1, 2, 3, 7, 8, 9, 33, 100, 257))
    style = rng.random()
    if style < 0.25:
        return bytes(size)
    if style < 0.5:
        return b"\xff" * size
    if style < 0.7:  # runs: mostly one value with a few stray bits
        data = bytearray(rng.choice((b"\x00", b"\xff")) * size)
        for _ in range(rng.randint(0, 3)):
            if size:
                data[rng.randrange(size)] ^= 1 << rng.randrange(8)
        return bytes(data)
    return bytes(rng.randrange(256) for _ in range(size))


def _random_bound(rng, length):
    return rng.choice((rng.randint(-length - 3, length + 3), rng.randint(-3, 3), length - 1, -length))


@pytest.mark.parametrize("seed", range(4))
def test_random_ranges_count_and_find_as_redis(pair, seed):
    """Random strings (zeros, ones, runs with stray bits, noise) and random ranges in bytes and bits,
    negative ones included, sent in pipelines."""
    rng = random.Random(seed)
    for _ in range(6):
        value = _random_string(rng)
        commands = [("SET", "r", value)]
        for _ in range(60):
            unit = rng.choice(("BYTE", "BIT", "byte", None))
            length = len(value) * (8 if unit in ("BIT",) else 1)
            start, end = _random_bound(rng, length), _random_bound(rng, length)
            tail = (start, end, unit) if unit else (start, end)
            commands.append(("BITCOUNT", "r", *tail))
            bit = rng.randint(0, 1)
            commands.append(rng.choice((("BITPOS", "r", bit, *tail), ("BITPOS", "r", bit, start),
                                        ("BITPOS", "r", bit))))
            commands.append(("GETBIT", "r", rng.randint(0, len(value) * 8 + 10)))
        pair.check_pipeline(commands)


def test_bitop(pair):
    pair.check_sequence([
        ("SET", "a", "abc"), ("SET", "b", "ab"), ("SET", "zero", b"\x00\x00\x00\x00"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"), ("BITOP", "or", "d", "a", "b", "zero"), ("GET", "d"),
        ("BITOP", "XOR", "d", "a", "b"), ("GET", "d"), ("BITOP", "NOT", "d", "a"), ("GET", "d"),
        ("BITOP", "AND", "d", "a", "missing"), ("GET", "d"), ("BITOP", "AND", "d", "a"), ("GET", "d"),
        ("BITOP", "NOT", "d", "a", "b"), ("BITOP", "NOT", "d"), ("BITOP", "NAND", "d", "a"),
        ("BITOP", "AND\0", "d", "a"), ("BITOP", "AND"), ("BITOP", "AND", "d"),
        ("BITOP", "OR", "d", "missing", "other"), ("EXISTS", "d"), ("BITOP", "OR", "d", "missing"),
        ("SET", "empty", ""), ("SET", "d", "x"), ("BITOP", "OR", "d", "empty"), ("EXISTS", "d"),
        ("SET", "n", "255"), ("BITOP", "NOT", "d", "n"), ("GET", "d"), ("BITOP", "NOT", "a", "a"), ("GET", "a"),
        ("RPUSH", "list", "x"), ("BITOP", "AND", "d", "a", "list"), ("BITOP", "AND", "list", "a"),
        ("TYPE", "list"),
    ])


@pytest.mark.parametrize("seed", range(3))
def test_random_bitop_as_redis(pair, seed):
    rng = random.Random(seed)
    commands = []
    for _ in range(40):
        keys = ["s%d" % index for index in range(rng.randint(1, 4))]
        commands += [("SET", key, _random_string(rng)) for key in keys if rng.random() < 0.85]
        operation = rng.choice(("AND", "OR", "XOR", "NOT"))
        sources = keys[:1] if operation == "NOT" else keys
        commands += [("BITOP", operation, "dest", *sources), ("GET", "dest"), ("DEL", *keys)]
    pair.check_pipeline(commands)


def test_bitfield(pair):
    pair.check_sequence([
        ("BITFIELD", "b", "SET", "i8", "0", "100", "INCRBY", "i8", "0", "100", "GET", "u4", "4",
         "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "100"),
        ("BITFIELD", "b", "GET", "i64", "#3", "SET", "u63", "#2", "12345", "GET", "u63", "#2", "GET", "i1", "0"),
        ("BITFIELD", "b"), ("BITFIELD", "missing", "GET", "u8", "0", "OVERFLOW", "SAT"), ("EXISTS", "missing"),
        ("BITFIELD", "q", "OVERFLOW", "FAIL", "SET", "u8", "0", "300"), ("EXISTS", "q"), ("STRLEN", "q"),
        ("BITFIELD", "q", "OVERFLOW", "SAT", "SET", "u8", "0", "-1", "SET", "i8", "8", "200", "SET", "i8", "8",
         "-200", "INCRBY", "u8", "0", "-300", "OVERFLOW", "WRAP", "INCRBY", "i8", "8", "-1000"),
        ("BITFIELD", "q", "SET", "i64", "0", "-9223372036854775808", "INCRBY", "i64", "0", "-1",
         "OVERFLOW", "SAT", "INCRBY", "i64", "0", "-1", "INCRBY", "i64", "0", "9223372036854775807",
         "INCRBY", "i64", "0", "1", "GET", "u63", "0", "GET", "i64", "0", "GET", "u63", "1"),
        ("BITFIELD", "q", "OVERFLOW", "WRAP", "SET", "u8", "3", "-1", "SET", "i5", "100", "-17",
         "GET", "i5", "100", "INCRBY", "u63", "5", "-1", "OVERFLOW", "sat", "SET", "u63", "70", "-5",
         "OVERFLOW", "fail", "SET", "i3", "1", "4", "SET", "i3", "1", "-4", "GET", "u2", "1"),
        ("GET", "q"), ("BITFIELD_RO", "q", "GET", "u8", "0", "GET", "i16", "#1"),
        ("BITFIELD_RO", "missing", "GET", "u8", "0"), ("BITFIELD_RO", "q"),
        ("SET", "n", "42"), ("BITFIELD", "n", "GET", "u8", "0", "GET", "u8", "8", "GET", "u8", "16"),
    ])


@pytest.mark.parametrize("encoding", ["i8", "i32", "i63"])
def test_bitfield_sat_of_a_set_far_below_the_minimum(pair, encoding):
    """Redis's max - value wraps in int64 for a SET value that far below: it saturates at the maximum."""
    bits = int(encoding[1:])
    edge = (1 << (bits - 1)) - 1 - (2**63 - 1)  # the highest value for which it wraps
    for value in (-2**63, edge - 1, edge, edge + 1, -(1 << (bits - 1)) - 1):
        for overflow in ("SAT", "WRAP", "FAIL"):
            pair.check("BITFIELD", "q", "OVERFLOW", overflow, "SET", encoding, "0", str(value), "GET", encoding, "0")


def test_bitfield_errors(pair):
    """Every operation is read before any runs: a bad one anywhere changes nothing."""
    pair.check_sequence([
        ("SET", "q", "x"),
        ("BITFIELD", "q", "GET", "u64", "0"), ("BITFIELD", "q", "GET", "i65", "0"), ("BITFIELD", "q", "GET", "U8", "0"),
        ("BITFIELD", "q", "GET", "u0", "0"), ("BITFIELD", "q", "GET", "i08", "0"), ("BITFIELD", "q", "GET", "u8 ", "0"),
        ("BITFIELD", "q", "GET", "#", "0"), ("BITFIELD", "q", "GET", "", "0"), ("BITFIELD", "q", "GET", "u8\0x", "0"),
        ("BITFIELD", "q", "GET", "u-1", "0"), ("BITFIELD", "q", "GET", "i8"), ("BITFIELD", "q", "OVERFLOW", "foo"),
        ("BITFIELD", "q", "OVERFLOW"), ("BITFIELD", "q", "foo"), ("BITFIELD", "q", "SET", "u8", "0"),
        ("BITFIELD", "q", "INCRBY", "u8", "0"), ("BITFIELD", "q", "GET\0", "u8", "0"),
        ("BITFIELD_RO", "q", "SET", "u8", "0", "1"), ("BITFIELD_RO", "q", "INCRBY", "u8", "0", "1", "GET", "u8", "0"),
        ("BITFIELD_RO", "q", "OVERFLOW", "SAT", "GET", "u8", "0"), ("BITFIELD_RO", "q", "GET", "u8", "x"),
        ("BITFIELD", "q", "GET", "u8", "x"), ("BITFIELD", "q", "SET", "u8", "0", "x"),
        ("BITFIELD", "q", "SET", "u8", "0", "1", "GET", "u8", "-1"), ("BITFIELD", "q", "GET", "u8", "#-1"),
        ("BITFIELD", "q", "GET", "u8", "#"), ("BITFIELD", "q", "GET", "u8", "##1"), ("BITFIELD", "q", "GET", "u8", " 1"),
        ("BITFIELD", "q", "GET", "u8", "+1"), ("BITFIELD", "q", "GET", "u8", "01"),
        ("BITFIELD", "q", "INCRBY", "u8", "0", "9223372036854775808"),
        ("BITFIELD", "q", "GET", "i64", "#288230376151711744"), ("BITFIELD", "q", "GET", "i64", "#-288230376151711744"),
        ("BITFIELD", "q", "GET", "i64", "#144115188075855872"), ("BITFIELD", "q", "GET", "i63", "#146402730743726600"),
        ("BITFIELD", "q", "GET", "u8", "4294967295"), ("BITFIELD", "q", "GET", "u8", "4294967296"),
        ("BITFIELD", "q", "GET", "u8", "#536870911"), ("BITFIELD", "q", "GET", "u8", "#536870912"),
        ("GET", "q"), ("LPUSH", "l", "x"), ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD", "l", "SET", "u8", "0", "1"),
        ("BITFIELD_RO", "l", "GET", "u8", "0"), ("BITFIELD_RO", "l", "SET", "u8", "0", "1"),
        ("BITFIELD", "l", "GET", "u64", "0"), ("BITFIELD",), ("BITFIELD_RO",),
    ])


@pytest.mark.parametrize("seed", range(3))
def test_random_bitfields_as_redis(pair, seed):
    """Random widths, offsets (plain and #), values at and past the limits, all three overflows."""
    rng = random.Random(seed)
    commands = []
    for _ in range(80):
        operations = []
        for _ in range(rng.randint(1, 5)):
            kind = rng.choice(("GET", "SET", "INCRBY", "OVERFLOW"))
            if kind == "OVERFLOW":
                operations += ["OVERFLOW", rng.choice(("WRAP", "SAT", "FAIL"))]
                continue
            signed = rng.random() < 0.5
            bits = rng.randint(1, 64 if signed else 63)
            offset = rng.choice((str(rng.randint(0, 200)), "#%d" % rng.randint(0, 20)))
            operations += [kind, "%s%d" % ("i" if signed else "u", bits), offset]
            if kind != "GET":
                limit = 1 << bits
                operations.append(str(rng.choice((rng.randint(-limit, limit), rng.randint(-3, 3), limit - 1,
                                                  -(2**63), 2**63 - 1))))
        commands += [("BITFIELD", "f", *operations), ("GET", "f")]
    pair.check_pipeline(commands)


def test_wrong_types(pair):
    pair.check_sequence([
        ("LPUSH", "l", "x"), ("SETBIT", "l", "0", "1"), ("SETBIT", "l", "x", "1"), ("SETBIT", "l", "0", "5"),
        ("GETBIT", "l", "0"), ("GETBIT", "l", "x"), ("BITCOUNT", "l"), ("BITCOUNT", "l", "0", "1", "foo"),
        ("BITPOS", "l", "1"), ("BITPOS", "l", "1", "x"), ("BITPOS", "l", "3"), ("BITOP", "NOT", "d", "l"),
        ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD_RO", "l", "GET", "u8", "0"),
    ])


def test_offsets_are_bounded_by_proto_max_bulk_len(pair):
    """The byte an offset reaches must be below proto-max-bulk-len (the bit offset error otherwise); a
    BITFIELD write whose type reaches past it still grows the string, as in Redis."""
    try:
        pair.check_sequence([
            ("CONFIG", "SET", "proto-max-bulk-len", "1mb"), ("SETBIT", "k", "8388607", "1"),
            ("SETBIT", "k", "8388608", "1"), ("GETBIT", "k", "8388608"),
            ("BITFIELD", "k", "SET", "u8", "8388600", "1"), ("BITFIELD", "k", "SET", "u8", "8388601", "1"),
            ("STRLEN", "k"), ("BITFIELD", "k", "GET", "u8", "#1048576"), ("SETRANGE", "k", "1048576", "x"),
        ])
    finally:
        pair.check("CONFIG", "SET", "proto-max-bulk-len", "512mb")


def test_denied_when_out_of_memory(fresh):
    """maxmemory: the writers are denyoom and refused, the readers still answer."""
    def scenario(port):
        client = redis.Redis(port=port)
        client.set("s", "abc")
        client.config_set("maxmemory", "1")
        replies = []
        for command in (("SETBIT", "s", "1", "1"), ("BITOP", "NOT", "d", "s"), ("BITFIELD", "s", "GET", "u8", "0"),
                        ("BITFIELD", "s", "SET", "u8", "0", "1"), ("GETBIT", "s", "1"), ("BITCOUNT", "s")):
            try:
                replies.append(client.execute_command(*command))
            except redis.ResponseError as error:
                replies.append(str(error))
        client.config_set("maxmemory", "0")
        client.close()
        return replies
    same_on_both(fresh, scenario)


@pytest.mark.parametrize("change", [
    ("SETBIT", "w", "0", "0"), ("SETBIT", "w", "1", "1"), ("SETBIT", "w", "9", "0"),
    ("BITFIELD", "w", "SET", "u8", "0", "64"), ("BITFIELD", "w", "SET", "u8", "0", "65"),
    ("BITFIELD", "w", "INCRBY", "u8", "0", "0"), ("BITFIELD", "w", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "255"),
    ("BITFIELD", "w", "GET", "u8", "0"), ("BITFIELD", "w", "SET", "u8", "8", "0"),
    ("BITOP", "AND", "w", "w"), ("BITOP", "AND", "w", "missing"), ("BITOP", "AND", "missing", "w"),
])
def test_watch_sees_the_writes_that_change_something(server, real_redis, change):
    """As Redis 7.0: a bit write that leaves the string as it was does not break a WATCH; BITOP always does."""
    with Pair(server.port, real_redis.port) as watcher, Pair(server.port, real_redis.port) as other:
        watcher.check("FLUSHALL")
        watcher.check("SET", "w", "@")
        watcher.check("WATCH", "w", "missing")
        other.check(*change)
        watcher.check_sequence([("MULTI",), ("GET", "w"), ("EXEC",)])


def test_the_aof_is_what_redis_writes(tmp_path):
    """Writes that changed something are logged as sent; those that changed nothing are not."""
    def run(client):
        for command in (("SETBIT", "a", "5", "1"), ("SETBIT", "a", "5", "1"), ("SETBIT", "a", "5", "0"),
                        ("SETBIT", "a", "30", "0"), ("BITFIELD", "b", "SET", "u8", "0", "7", "GET", "u8", "0"),
                        ("BITFIELD", "b", "SET", "u8", "0", "7"), ("BITFIELD", "b", "GET", "u8", "0"),
                        ("BITFIELD", "c", "OVERFLOW", "FAIL", "SET", "u8", "0", "300"),
                        ("BITOP", "OR", "d", "a", "b"), ("BITOP", "OR", "e", "missing"),
                        ("BITOP", "OR", "d", "missing"), ("BITFIELD_RO", "b", "GET", "u8", "0")):
            client.execute_command(*command)
    written, expected = logged_by_both(tmp_path, run)
    assert written == expected


def test_command_getkeys(pair):
    pair.check_sequence([
        ("COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k", "GET", "u8", "0"),
        ("COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k", "OVERFLOW", "SAT", "GET", "u8", "0"),
        ("COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k", "GET", "u8", "0", "SET", "u8", "0", "1"),
        ("COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k", "bad"), ("COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k"),
        ("COMMAND", "GETKEYSANDFLAGS", "BITFIELD_RO", "k", "GET", "u8", "0"),
        ("COMMAND", "GETKEYSANDFLAGS", "BITOP", "AND", "d", "a", "b"), ("COMMAND", "GETKEYS", "SETBIT", "k", "0", "1"),
        ("COMMAND", "GETKEYSANDFLAGS", "BITCOUNT", "k", "0", "1"), ("COMMAND", "INFO", "BITFIELD", "BITPOS"),
    ])


def _write_bitmaps(port):
    client = redis.Redis(port=port)
    client.setbit("sparse", 1_000_000, 1)
    client.set("counter", "12")
    client.setbit("counter", 7, 1)
    client.execute_command("BITFIELD", "fields", "SET", "i16", "#3", "-300", "INCRBY", "u5", "100", "31")
    client.set("a", "abc")
    client.execute_command("BITOP", "XOR", "mixed", "a", "sparse")
    assert client.save() is True
    client.close()


def _read_bitmaps(port):
    client = redis.Redis(port=port)
    replies = [client.type("sparse"), client.bitcount("sparse"), client.bitpos("sparse", 1), client.get("counter"),
               client.execute_command("BITFIELD_RO", "fields", "GET", "i16", "#3", "GET", "u5", "100"),
               client.strlen("mixed"), client.bitcount("mixed"), client.get("mixed")[:8]]
    client.close()
    return replies


@pytest.mark.parametrize("writer", ["ours", "redis"])
def test_bitmaps_cross_over_in_dump_rdb(tmp_path, writer):
    """Bitmaps written by one server, SAVEd, read by the other from its dump.rdb, and by the writer itself."""
    start = {"ours": start_ours, "redis": start_real_redis}
    (tmp_path / "w").mkdir()
    first = start[writer](tmp_path / "w")
    try:
        _write_bitmaps(first.port)
        expected = _read_bitmaps(first.port)
    finally:
        first.stop()
    second = start["redis" if writer == "ours" else "ours"](tmp_path / "w")
    try:
        assert _read_bitmaps(second.port) == expected
    finally:
        second.stop()
