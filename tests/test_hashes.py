"""Hash commands against real Redis 7.0.15: the same requests, the same bytes back.

A listpack hash keeps insertion order in both servers, so its replies are
compared byte for byte. Once a hash is a hash table Redis answers in its
hash order, and HRANDFIELD and HSCAN of a hash table are random: those
replies are compared as multisets, or by their shape plus a check of each
server's members. Tests that change hash-max-listpack-* do it on both
servers and always put the old values back: the servers serve the whole
session.
"""
import contextlib
import os
import re

import pytest
from hypothesis import given, settings, strategies as st

from differential import Pair, WireClient, mask_client_id, reply_end, unordered_pairs

EXAMPLES = int(os.environ.get("MINI_REDIS_DIFF_EXAMPLES", "200"))
WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"


# ------------------------------------------------------------------ helpers


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def both(request, pair):
    """The pair, switched to RESP3 for the second run of each test."""
    if request.param == 3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    pair.resp = request.param
    return pair


def decode(reply, pos=0):
    """(value, end) of the RESP reply at pos: bytes, int, None, str for simple strings and errors, lists."""
    line_end = reply.index(b"\r\n", pos)
    kind, header, pos = reply[pos:pos + 1], reply[pos + 1:line_end], line_end + 2
    if kind in (b"+", b"-"):
        return header.decode(), pos
    if kind == b":":
        return int(header), pos
    if kind == b"_":
        return None, pos
    if kind == b"$":
        size = int(header)
        return (None, pos) if size < 0 else (reply[pos:pos + size], pos + size + 2)
    count = int(header) * (2 if kind == b"%" else 1)
    items = []
    for _ in range(max(count, 0)):
        item, pos = decode(reply, pos)
        items.append(item)
    return items, pos


def value_of(reply):
    return decode(reply)[0]


_BULK = re.compile(rb"\$(\d+)\r\n")


def skeleton(reply):
    """A reply with every bulk string's content masked: its shape (types, counts) stays."""
    out, pos = bytearray(), 0
    while pos < len(reply):
        line_end = reply.index(b"\r\n", pos) + 2
        match = _BULK.match(reply, pos)
        if match and int(match.group(1)) >= 0:
            out += b"$?\r\n"
            pos = line_end + int(match.group(1)) + 2
        else:
            out += reply[pos:line_end]
            pos = line_end
    return bytes(out)


def _elements(reply, start):
    items, pos = [], start
    while pos < len(reply):
        end = reply_end(reply, pos)
        items.append(reply[pos:end])
        pos = end
    return items


def unordered_items(reply):
    """An array (or set) with its elements sorted: HKEYS and HVALS of a hash table."""
    if reply[:1] not in (b"*", b"~"):
        return reply
    header_end = reply.index(b"\r\n") + 2
    return reply[:header_end] + b"".join(sorted(_elements(reply, header_end)))


def unordered_scan(reply):
    """An HSCAN reply with its field, value pairs sorted."""
    if reply[:1] != b"*":
        return reply
    header_end = reply.index(b"\r\n") + 2
    cursor_end = reply_end(reply, header_end)
    return reply[:cursor_end] + unordered_pairs(reply[cursor_end:])


def config_get(client, name):
    return value_of(client.call("CONFIG", "GET", name))[1]


@contextlib.contextmanager
def listpack_limits(pair, entries=None, value=None):
    """hash-max-listpack-entries/-value set on both servers for the block, then restored on both."""
    settings_ = {"hash-max-listpack-entries": entries, "hash-max-listpack-value": value}
    wanted = {name: setting for name, setting in settings_.items() if setting is not None}
    clients = [WireClient(pair.ours.port), WireClient(pair.redis.port)]
    saved = [{name: config_get(client, name) for name in wanted} for client in clients]
    try:
        for client in clients:
            for name, setting in wanted.items():
                assert client.call("CONFIG", "SET", name, setting) == b"+OK\r\n"
        yield
    finally:
        for client, old in zip(clients, saved):
            for name, setting in old.items():
                client.call("CONFIG", "SET", name, setting)
            client.close()


def encodings(pair, *keys):
    for key in keys:
        pair.check("OBJECT", "ENCODING", key)


# ------------------------------------------------------------------ setting and reading


def test_set_and_get(both):
    both.check_sequence([
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HSET", "h", "a", "9", "d", "4"),
        ("HSET", "h", "e", "1", "e", "2"), ("HGET", "h", "a"), ("HGET", "h", "e"), ("HGET", "h", "zz"),
        ("HGET", "nokey", "a"), ("HMGET", "h", "a", "zz", "b", "a"), ("HMGET", "nokey", "a", "b"),
        ("HMSET", "h", "f", "5", "a", "10"), ("HMSET", "new", "x", "y"),
        ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"), ("HLEN", "h"), ("HGETALL", "new"),
        ("HGETALL", "nokey"), ("HKEYS", "nokey"), ("HVALS", "nokey"), ("HLEN", "nokey"),
        ("TYPE", "h"), ("OBJECT", "ENCODING", "h"),
    ])


def test_binary_and_empty_fields_and_values(both):
    both.check_sequence([
        ("HSET", "h", "", "", b"\x00\xff", b"\r\n", "f", ""), ("HGETALL", "h"), ("HGET", "h", ""),
        ("HSTRLEN", "h", b"\x00\xff"), ("HSTRLEN", "h", ""), ("HEXISTS", "h", ""), ("HEXISTS", "h", b"\x00"),
        ("HDEL", "h", ""), ("HKEYS", "h"),
    ])


def test_integer_like_values_come_back_as_sent(both):
    """A listpack stores canonical integers as integers: what comes back must still be the same text."""
    values = ["0", "-0", "01", "1", "-1", "9223372036854775807", "9223372036854775808",
              "-9223372036854775808", "-9223372036854775809", " 1", "1 ", "+1", "1.0", "12345678901234567890"]
    pairs = [item for index, value in enumerate(values) for item in ("f%d" % index, value)]
    both.check("HSET", "h", *pairs)
    both.check("HGETALL", "h")
    both.check("HVALS", "h")
    for index in range(len(values)):
        both.check("HSTRLEN", "h", "f%d" % index)


def test_hsetnx(both):
    both.check_sequence([
        ("HSETNX", "h", "a", "1"), ("HSETNX", "h", "a", "2"), ("HGET", "h", "a"), ("HSETNX", "h", "b", "3"),
        ("HGETALL", "h"), ("TYPE", "h"),
    ])


def test_field_order_follows_redis_listpack(pair):
    """Overwritten fields keep their place, deleted ones leave no gap, re-added ones go last."""
    pair.check_sequence([
        ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"), ("HSET", "h", "b", "20"),
        ("HMSET", "h", "a", "10"), ("HINCRBY", "h", "c", "5"), ("HINCRBYFLOAT", "h", "d", "0.5"),
        ("HGETALL", "h"), ("HDEL", "h", "b"), ("HKEYS", "h"), ("HSET", "h", "b", "again", "e", "5"),
        ("HGETALL", "h"), ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "z", "last"), ("HVALS", "h"),
        ("HDEL", "h", "a", "e"), ("HGETALL", "h"),
    ])


def test_hset_on_existing_hash_keeps_ttl(pair):
    pair.check_sequence([
        ("HSET", "h", "a", "1"), ("EXPIRE", "h", "100"), ("HSET", "h", "b", "2"), ("HDEL", "h", "a"),
        ("HINCRBY", "h", "n", "1"), ("TTL", "h"), ("HDEL", "h", "b", "n"), ("EXISTS", "h"),
        ("HSET", "h", "a", "1"), ("TTL", "h"),
    ])


# ------------------------------------------------------------------ errors


def test_wrong_arity(both):
    both.check_sequence([
        ("HSET",), ("HSET", "h"), ("HSET", "h", "f"), ("HSET", "h", "f", "v", "g"),
        ("HMSET", "h", "f"), ("HMSET", "h", "f", "v", "g"), ("EXISTS", "h"),
        ("HSETNX", "h", "f"), ("HSETNX", "h", "f", "v", "x"), ("HGET", "h"), ("HGET", "h", "f", "g"),
        ("HMGET", "h"), ("HDEL", "h"), ("HLEN",), ("HLEN", "h", "x"), ("HEXISTS", "h"),
        ("HKEYS",), ("HVALS", "h", "x"), ("HGETALL",), ("HINCRBY", "h", "f"), ("HINCRBY", "h", "f", "1", "2"),
        ("HINCRBYFLOAT", "h", "f"), ("HSTRLEN", "h"), ("HRANDFIELD",), ("HSCAN", "h"), ("EXISTS", "h"),
    ])


WRONGTYPE_COMMANDS = [
    ("HSET", "s", "f", "v"), ("HSET", "s", "f", "v", "g"), ("HMSET", "s", "f", "v"), ("HSETNX", "s", "f", "v"),
    ("HGET", "s", "f"), ("HMGET", "s", "f", "g"), ("HDEL", "s", "f"), ("HLEN", "s"), ("HEXISTS", "s", "f"),
    ("HKEYS", "s"), ("HVALS", "s"), ("HGETALL", "s"), ("HINCRBY", "s", "f", "1"), ("HINCRBY", "s", "f", "x"),
    ("HINCRBYFLOAT", "s", "f", "1.5"), ("HINCRBYFLOAT", "s", "f", "x"), ("HINCRBYFLOAT", "s", "f", "inf"),
    ("HSTRLEN", "s", "f"), ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "1"), ("HRANDFIELD", "s", "0"),
    ("HRANDFIELD", "s", "x"), ("HRANDFIELD", "s", "1", "WITHVALUES"), ("HRANDFIELD", "s", "1", "nope"),
    ("HSCAN", "s", "0"), ("HSCAN", "s", "x"), ("HSCAN", "s", "0", "COUNT", "0"),
]


def test_wrongtype_against_a_string(both):
    both.check("SET", "s", "x")
    replies = both.check_sequence(WRONGTYPE_COMMANDS)
    assert replies.count(WRONGTYPE) >= 20
    both.check_sequence([("GET", "s"), ("TYPE", "s")])


def test_string_commands_refuse_a_hash(both):
    both.check_sequence([("HSET", "h", "f", "v"), ("GET", "h"), ("APPEND", "h", "x"), ("INCR", "h"), ("HLEN", "h")])


# ------------------------------------------------------------------ deletion


def test_empty_hash_is_deleted(both):
    both.check_sequence([
        ("HSET", "h", "a", "1", "b", "2"), ("HDEL", "h", "a", "b", "c", "a"), ("EXISTS", "h"), ("TYPE", "h"),
        ("HLEN", "h"), ("HGETALL", "h"), ("HDEL", "h", "a"), ("DBSIZE",),
        ("HSET", "g", "a", "1"), ("HDEL", "g", "zz"), ("EXISTS", "g"), ("HDEL", "g", "a"), ("EXISTS", "g"),
        ("TYPE", "g"), ("HDEL", "nokey", "a"), ("KEYS", "*"),
    ])


def test_empty_hashtable_is_deleted_too(pair):
    pair.check_sequence([
        ("HSET", "h", "a", "x" * 100, "b", "2"), ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "a"),
        ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "b"), ("EXISTS", "h"), ("TYPE", "h"),
        ("HSET", "h", "a", "1"), ("OBJECT", "ENCODING", "h"),
    ])


def test_failed_commands_create_nothing(both):
    both.check_sequence([
        ("HSET", "h", "f", "v", "g"), ("HMSET", "h", "f"), ("HINCRBY", "h", "f", "x"),
        ("HINCRBYFLOAT", "h", "f", "x"), ("HINCRBYFLOAT", "h", "f", "inf"), ("HRANDFIELD", "h", "1"),
        ("HSCAN", "h", "0"), ("EXISTS", "h"), ("DBSIZE",),
    ])


# ------------------------------------------------------------------ counters


def test_hincrby(both):
    both.check_sequence([
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-7"), ("HGET", "h", "n"), ("HINCRBY", "h", "n", "0"),
        ("HINCRBY", "h", "big", "9223372036854775807"), ("HINCRBY", "h", "big", "1"), ("HGET", "h", "big"),
        ("HINCRBY", "h", "big", "-9223372036854775808"), ("HINCRBY", "h", "small", "-9223372036854775808"),
        ("HINCRBY", "h", "small", "-1"), ("HINCRBY", "h", "small", "9223372036854775807"),
        ("HINCRBY", "h", "n", "x"), ("HINCRBY", "h", "n", "1.5"), ("HINCRBY", "h", "n", "9223372036854775808"),
        ("HINCRBY", "h", "n", ""), ("HINCRBY", "h", "n", " 1"), ("HINCRBY", "h", "n", "01"),
        ("HSET", "h", "s", "abc", "z", "01", "sp", " 1", "e", "", "f", "1.0", "m", "-0"),
        ("HINCRBY", "h", "s", "1"), ("HINCRBY", "h", "z", "1"), ("HINCRBY", "h", "sp", "1"),
        ("HINCRBY", "h", "e", "1"), ("HINCRBY", "h", "f", "1"), ("HINCRBY", "h", "m", "1"),
        ("HINCRBY", "nokey", "f", "x"), ("EXISTS", "nokey"), ("HGETALL", "h"),
    ])


FLOAT_INCREMENTS = ["1.5", "0.1", "-0.1", "1e10", "3.0e3", "-3", "0x10", "0x1p-2", ".5", "5.", "1e4000",
                    "-1e4000", "1e-4000", "1e-5000", "1e5000", "inf", "-inf", "+inf", "Infinity", "nan", "abc",
                    "", " 1", "1 ", "1e", "0", "-0", "17179869184", "1.23456789012345678901234567890"]


def test_hincrbyfloat_increments(both):
    for increment in FLOAT_INCREMENTS:
        both.check("HINCRBYFLOAT", "h", "f", increment)
        both.check("HGET", "h", "f")
    both.check_sequence([("HINCRBYFLOAT", "nokey", "f", "nan"), ("EXISTS", "nokey")])


def test_hincrbyfloat_long_double_arithmetic(both):
    both.check_sequence([
        ("HSET", "h", "f", "10.5"), ("HINCRBYFLOAT", "h", "f", "0.1"), ("HINCRBYFLOAT", "h", "g", "5.0e3"),
        ("HINCRBYFLOAT", "h", "g", "2.0e2"), ("HINCRBYFLOAT", "h", "i", "3"), ("HINCRBYFLOAT", "h", "i", "0.33333"),
        ("HINCRBYFLOAT", "h", "j", "1e300"), ("HINCRBYFLOAT", "h", "j", "1e300"), ("HINCRBYFLOAT", "h", "k", "-1.5"),
        ("HINCRBYFLOAT", "h", "k", "1.5"), ("HINCRBYFLOAT", "h", "l", "1e-20"), ("HINCRBYFLOAT", "h", "m", "1e4000"),
        ("HINCRBYFLOAT", "h", "m", "1e4000"), ("HINCRBYFLOAT", "h", "m", "-3e4000"),
        ("OBJECT", "ENCODING", "h"),  # a result longer than 64 bytes made it a hash table
    ])
    both.check("HGETALL", "h", normalise=unordered_pairs)


def test_hincrbyfloat_results_over_4300_digits(both):
    both.check_sequence([
        ("HINCRBYFLOAT", "h", "m", "1e4900"), ("HINCRBYFLOAT", "h", "n", "1e4932"), ("HGET", "h", "m"),
    ])


def test_hincrbyfloat_on_stored_values(both):
    stored = {"int": "5", "neg": "-2", "inf": "inf", "ninf": "-inf", "nan": "nan", "empty": "", "space": " 1",
              "trail": "1 ", "huge": "1e5000", "tiny": "1e-5000", "hex": "0x1p3", "word": "abc", "dot": "1.",
              "max": "9223372036854775807"}
    both.check("HSET", "h", *[item for pair_ in stored.items() for item in pair_])
    for field in stored:
        both.check("HINCRBYFLOAT", "h", field, "1.5")
    both.check_sequence([("HINCRBY", "h", "int", "1"), ("HGETALL", "h")])


# ------------------------------------------------------------------ HRANDFIELD


def test_hrandfield_errors_and_missing_key(both):
    both.check_sequence([
        ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "0"), ("HRANDFIELD", "nokey", "5"),
        ("HRANDFIELD", "nokey", "-5", "WITHVALUES"), ("HRANDFIELD", "nokey", "x"),
        ("HSET", "h", "a", "1", "b", "2", "c", "3"),
        ("HRANDFIELD", "h", "x"), ("HRANDFIELD", "h", ""), ("HRANDFIELD", "h", "1.5"),
        ("HRANDFIELD", "h", "1", "WITHVALUE"), ("HRANDFIELD", "h", "1", "WITHVALUES", "x"),
        ("HRANDFIELD", "h", "x", "nope"), ("HRANDFIELD", "h", "-9223372036854775808"),
        ("HRANDFIELD", "h", "9223372036854775808"), ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"), ("HRANDFIELD", "h", "0"),
        ("HRANDFIELD", "h", "0", "withvalues"), ("HRANDFIELD", "h", "-0"),
        ("HRANDFIELD", "h", "0", b"withvalues\x00junk"),
    ])


def test_hrandfield_whole_listpack_is_in_order(both):
    """A count of at least the size gives the whole hash, in listpack order."""
    both.check("HSET", "h", "a", "1", "b", "2", "c", "3")
    both.check_sequence([
        ("HRANDFIELD", "h", "3"), ("HRANDFIELD", "h", "4", "WITHVALUES"), ("HRANDFIELD", "h", "100", "withvalues"),
        ("HRANDFIELD", "h", "9223372036854775807"), ("HRANDFIELD", "h", "4611686018427387903", "WITHVALUES"),
    ])


def _check_random(pair, hash_, *args):
    """Same shape from both servers, and each server's fields and values taken from hash_."""
    __tracebackhide__ = True
    ours, theirs = pair.ours.call(*args), pair.redis.call(*args)
    assert skeleton(ours) == skeleton(theirs), (args, ours, theirs)
    for reply in (ours, theirs):
        _check_members(reply, hash_, args, pair.resp)


def _check_members(reply, hash_, args, resp):
    __tracebackhide__ = True
    picked = value_of(reply)
    if len(args) == 2:
        assert picked in hash_
        return
    count, with_values = int(args[2]), len(args) == 4
    if with_values and resp == 3:
        pairs = [tuple(item) for item in picked]
    elif with_values:
        pairs = list(zip(picked[::2], picked[1::2]))
    else:
        pairs = [(field, hash_[field]) for field in picked]
    assert len(pairs) == (min(count, len(hash_)) if count >= 0 else -count)
    assert all(hash_.get(field) == value for field, value in pairs), pairs
    if count > 0:
        assert len(set(pairs)) == len(pairs), "a positive count repeated a field: %r" % pairs


@pytest.mark.parametrize("size", [5, 40, 600], ids=["listpack", "listpack-40", "hashtable"])
def test_hrandfield_random_picks(both, size):
    hash_ = {b"field:%d" % index: b"value:%d" % index for index in range(size)}
    both.check("HSET", "h", *[item for pair_ in hash_.items() for item in pair_])
    both.check("OBJECT", "ENCODING", "h")
    for args in [("h",), ("h", "1"), ("h", "2"), ("h", "-1"), ("h", "-7"), ("h", "3", "WITHVALUES"),
                 ("h", "-9", "WITHVALUES"), ("h", "1", "WITHVALUES"), ("h", str(size - 1)),
                 ("h", str(size // 3 + 1)), ("h", str(size + 5), "WITHVALUES"), ("h", str(-size * 2))]:
        for _ in range(3):
            _check_random(both, hash_, "HRANDFIELD", *args)


def test_hrandfield_covers_every_field(pair):
    hash_ = {b"a": b"1", b"b": b"2", b"c": b"3", b"d": b"4"}
    pair.check("HSET", "h", *[item for pair_ in hash_.items() for item in pair_])
    seen = {value_of(pair.ours.call("HRANDFIELD", "h")) for _ in range(200)}
    seen.update(value_of(pair.ours.call("HRANDFIELD", "h", "-20")))
    assert seen == set(hash_)


# ------------------------------------------------------------------ HSCAN


def test_hscan_listpack_answers_whole(both):
    both.check("HSET", "h", "a", "1", "b", "2", "ab", "3", "ba", "4", "A", "5")
    both.check_sequence([
        ("HSCAN", "h", "0"), ("HSCAN", "h", "77"), ("HSCAN", "h", "-1"), ("HSCAN", "h", "0", "COUNT", "1"),
        ("HSCAN", "h", "0", "MATCH", "a*"), ("HSCAN", "h", "0", "match", "*a", "count", "2"),
        ("HSCAN", "h", "0", "MATCH", "[ab]"), ("HSCAN", "h", "0", "MATCH", "*"), ("HSCAN", "h", "0", "MATCH", "z"),
        ("HSCAN", "h", "0", "COUNT", "1", "COUNT", "5", "MATCH", "b", "MATCH", "a"), ("HSCAN", "h", ""),
        ("HSCAN", "h", "+5"), ("HSCAN", "h", "18446744073709551615"), ("HSCAN", "h", "0", b"count\x00x", "3"),
    ])


def test_hscan_errors(both):
    both.check("HSET", "h", "a", "1")
    both.check_sequence([
        ("HSCAN", "h", "x"), ("HSCAN", "h", "18446744073709551616"), ("HSCAN", "h", " 1"), ("HSCAN", "h", "1x"),
        ("HSCAN", "h", "0", "COUNT"), ("HSCAN", "h", "0", "COUNT", "0"), ("HSCAN", "h", "0", "COUNT", "-1"),
        ("HSCAN", "h", "0", "COUNT", "x"), ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "h", "0", "TYPE", "hash"),
        ("HSCAN", "h", "0", "NOVALUES"), ("HSCAN", "h", "0", "foo", "bar"),
        ("HSCAN", "nokey", "0"), ("HSCAN", "nokey", "5", "COUNT", "x"), ("HSCAN", "nokey", "x"),
    ])


def _full_scan(client, key, *options):
    """Every (field, value) a whole HSCAN iteration returned, and how many calls it took."""
    cursor, found, calls = b"0", [], 0
    while True:
        reply = value_of(client.call("HSCAN", key, cursor, *options))
        cursor, items = reply
        found += list(zip(items[::2], items[1::2]))
        calls += 1
        if cursor == b"0":
            return found, calls
        assert calls < 10_000


def test_hscan_hashtable_iterates_everything(pair):
    fields = {b"f%d" % index: b"v%d" % index for index in range(700)}
    pair.check("HSET", "h", *[item for pair_ in fields.items() for item in pair_])
    pair.check("OBJECT", "ENCODING", "h")
    for options in [(), ("COUNT", "7"), ("COUNT", "1000"), ("MATCH", "f1*", "COUNT", "50")]:
        ours, calls = _full_scan(pair.ours, "h", *options)
        theirs, _ = _full_scan(pair.redis, "h", *options)
        assert set(ours) == set(theirs)
        assert len(ours) == len(set(ours))  # Redis may repeat a field; a snapshot never does
        if options[:2] == ("COUNT", "7"):
            assert calls > 1
    assert set(_full_scan(pair.ours, "h", "MATCH", "f1*")[0]) == {(f, v) for f, v in fields.items()
                                                                    if f.startswith(b"f1")}


def test_hscan_hashtable_survives_changes(pair):
    """Fields present for the whole iteration are all returned; deleted ones are not."""
    pair.check("HSET", "h", *[item for index in range(600) for item in (b"f%d" % index, b"v")])
    cursor, items = value_of(pair.ours.call("HSCAN", "h", "0", "COUNT", "100"))
    found, later = set(items[::2]), set()
    assert cursor != b"0"
    deleted = {b"f%d" % index for index in range(300, 600)}
    pair.ours.call("HDEL", "h", *deleted)
    pair.ours.call("HSET", "h", "new", "v")
    while cursor != b"0":
        cursor, items = value_of(pair.ours.call("HSCAN", "h", cursor, "COUNT", "100"))
        later.update(items[::2])
    assert {b"f%d" % index for index in range(300)} <= found | later
    assert not later & deleted


def test_hscan_small_hashtable(both):
    both.check("HSET", "h", "a", "1", "b", "x" * 70, "c", "3")
    both.check("OBJECT", "ENCODING", "h")
    both.check("HSCAN", "h", "0", normalise=unordered_scan)
    both.check("HSCAN", "h", "0", "MATCH", "[ab]", normalise=unordered_scan)


# ------------------------------------------------------------------ encodings


def test_default_thresholds(pair):
    pair.check("HSET", "h", *[item for index in range(512) for item in (b"f%d" % index, b"v")])
    pair.check_sequence([("OBJECT", "ENCODING", "h"), ("HSET", "h", "f0", "w"), ("OBJECT", "ENCODING", "h"),
                         ("HSET", "h", "one-more", "v"), ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "one-more"),
                         ("OBJECT", "ENCODING", "h")])
    pair.check_sequence([
        ("HSET", "v", "f", "x" * 64), ("OBJECT", "ENCODING", "v"), ("HSET", "v", "x" * 64, "v"),
        ("OBJECT", "ENCODING", "v"), ("HSET", "v", "g", "x" * 65), ("OBJECT", "ENCODING", "v"),
        ("HDEL", "v", "g"), ("OBJECT", "ENCODING", "v"),
        ("HSET", "w", "x" * 65, "v"), ("OBJECT", "ENCODING", "w"),
    ])


def test_entries_threshold(pair):
    with listpack_limits(pair, entries="4"):
        pair.check_sequence([
            ("CONFIG", "GET", "hash-max-listpack-entries"),
            ("HSET", "h", "a", "1", "b", "2", "c", "3", "d", "4"), ("OBJECT", "ENCODING", "h"), ("HGETALL", "h"),
            ("HSET", "h", "a", "5"), ("OBJECT", "ENCODING", "h"), ("HSET", "h", "e", "5"),
            ("OBJECT", "ENCODING", "h"), ("HDEL", "h", "a", "b", "c"), ("OBJECT", "ENCODING", "h"),
            ("HSET", "big", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"), ("OBJECT", "ENCODING", "big"),
            ("HSETNX", "n", "a", "1"), ("HSETNX", "n", "b", "1"), ("HSETNX", "n", "c", "1"), ("HSETNX", "n", "d", "1"),
            ("OBJECT", "ENCODING", "n"), ("HSETNX", "n", "a", "1"), ("OBJECT", "ENCODING", "n"),
            ("HSETNX", "n", "e", "1"), ("OBJECT", "ENCODING", "n"),
            ("HSET", "i", "a", "1", "b", "2", "c", "3", "d", "4"), ("HINCRBY", "i", "e", "1"),
            ("OBJECT", "ENCODING", "i"),
            ("HSET", "j", "a", "1", "b", "2", "c", "3", "d", "4"), ("HINCRBYFLOAT", "j", "e", "1.5"),
            ("OBJECT", "ENCODING", "j"),
        ])
        pair.check("HGETALL", "h", normalise=unordered_pairs)
        pair.check("HKEYS", "big", normalise=unordered_items)
    pair.check("CONFIG", "GET", "hash-max-listpack-entries")


def test_lowered_entries_limit_converts_at_next_write(pair):
    pair.check("HSET", "h", "a", "1", "b", "2", "c", "3")
    pair.check("HSET", "g", "a", "1", "b", "2", "c", "3")
    with listpack_limits(pair, entries="2"):
        pair.check_sequence([
            ("OBJECT", "ENCODING", "h"), ("HSETNX", "h", "a", "9"), ("HINCRBY", "h", "zz", "x"),
            ("OBJECT", "ENCODING", "h"), ("HSET", "h", "a", "7"), ("OBJECT", "ENCODING", "h"),
            ("HDEL", "g", "c"), ("HSET", "g", "a", "7"), ("OBJECT", "ENCODING", "g"),
        ])
    with listpack_limits(pair, entries="0"):
        pair.check_sequence([("HSET", "z", "a", "1"), ("OBJECT", "ENCODING", "z")])


def test_value_threshold(pair):
    with listpack_limits(pair, value="4"):
        pair.check_sequence([
            ("HSET", "h", "abcd", "1234"), ("OBJECT", "ENCODING", "h"), ("HSET", "h", "f", "12345"),
            ("OBJECT", "ENCODING", "h"), ("HSET", "k", "abcde", "1"), ("OBJECT", "ENCODING", "k"),
            ("HSET", "m", "a", "1"), ("HSETNX", "m", "a", "12345"), ("OBJECT", "ENCODING", "m"),
            ("HSETNX", "m", "b", "12345"), ("OBJECT", "ENCODING", "m"),
            ("HSET", "n", "a", "1"), ("HINCRBY", "n", "abcde", "1"), ("OBJECT", "ENCODING", "n"),
            ("HSET", "o", "a", "9999"), ("HINCRBY", "o", "a", "1"), ("OBJECT", "ENCODING", "o"),
            ("HSET", "p", "a", "1"), ("HINCRBYFLOAT", "p", "a", "0.5"), ("OBJECT", "ENCODING", "p"),
            ("HINCRBYFLOAT", "p", "a", "0.25"), ("OBJECT", "ENCODING", "p"),
            ("HSET", "q", "a", "1"), ("HINCRBY", "q", "a", "x"), ("HINCRBY", "q", "abcdef", "x"),
            ("OBJECT", "ENCODING", "q"),
        ])
    with listpack_limits(pair, value="0"):
        pair.check_sequence([
            ("HSET", "e", "", ""), ("OBJECT", "ENCODING", "e"), ("HSET", "e", "a", ""), ("OBJECT", "ENCODING", "e"),
        ])


def test_hashtable_replies_as_multisets(both):
    pair = both
    pair.check("HSET", "h", *[item for index in range(20) for item in (b"f%d" % index, b"v%d" % (index % 3))])
    pair.check("HSET", "h", "long", "x" * 80)
    pair.check("OBJECT", "ENCODING", "h")
    pair.check("HGETALL", "h", normalise=unordered_pairs)
    pair.check("HKEYS", "h", normalise=unordered_items)
    pair.check("HVALS", "h", normalise=unordered_items)
    pair.check_sequence([("HLEN", "h"), ("HGET", "h", "f7"), ("HMGET", "h", "f1", "nope", "long")])


def test_copy_keeps_encoding(pair):
    pair.check_sequence([
        ("HSET", "small", "a", "1", "b", "2"), ("HSET", "big", "a", "x" * 100),
        ("COPY", "small", "small2"), ("COPY", "big", "big2"), ("OBJECT", "ENCODING", "small2"),
        ("OBJECT", "ENCODING", "big2"), ("HGETALL", "small2"), ("HSET", "small2", "c", "3"),
        ("HGETALL", "small"), ("HGETALL", "small2"), ("TYPE", "big2"),
    ])


def test_commands_in_command_info(pair):
    for name in ["hset", "hsetnx", "hget", "hmget", "hmset", "hdel", "hlen", "hexists", "hkeys", "hvals",
                 "hgetall", "hincrby", "hincrbyfloat", "hstrlen", "hrandfield", "hscan"]:
        ours = value_of(pair.ours.call("COMMAND", "INFO", name))[0]
        theirs = value_of(pair.redis.call("COMMAND", "INFO", name))[0]
        assert ours[:6] == theirs[:6], (name, ours[:6], theirs[:6])


# ------------------------------------------------------------------ random sequences

KEYS = st.sampled_from([b"h", b"g", b"s", b"nokey"])
FIELDS = st.sampled_from([b"a", b"b", b"c", b"", b"\x00", b"field", b"n", b"x"])
VALUES = st.sampled_from([b"0", b"1", b"-1", b"15", b"01", b"1.5", b"abc", b"", b"9223372036854775807",
                          b"inf", b"10.5", b"xxxxx"]) | st.binary(max_size=6)
NUMBERS = st.sampled_from([b"1", b"-1", b"0", b"2", b"-2", b"100", b"0.5", b"-0.25", b"x", b"", b"inf", b"1e3",
                           b"9223372036854775807", b"-9223372036854775808"])
COUNTS = st.sampled_from([b"0", b"1", b"2", b"3", b"-1", b"-3", b"20", b"-20", b"x", b"-0"])
SCAN_OPTIONS = st.sampled_from([[], [b"COUNT", b"10"], [b"COUNT", b"100"], [b"COUNT", b"0"], [b"MATCH", b"*"],
                                [b"MATCH", b"[ab]"], [b"MATCH", b"?"], [b"COUNT"], [b"TYPE", b"hash"]])


def _pairs(max_pairs=3):
    return st.lists(st.tuples(FIELDS, VALUES), min_size=1, max_size=max_pairs).map(
        lambda pairs: [item for pair_ in pairs for item in pair_])


def _with(name, *parts):
    return st.tuples(st.just(name), st.tuples(*parts).map(lambda items: [i for part in items for i in part]))


def _one(strategy):
    return strategy.map(lambda item: [item])


HASH_COMMANDS = st.one_of(
    _with(b"HSET", _one(KEYS), _pairs()),
    _with(b"HSET", _one(KEYS), _pairs(), _one(FIELDS)),
    _with(b"HMSET", _one(KEYS), _pairs()),
    _with(b"HSETNX", _one(KEYS), _one(FIELDS), _one(VALUES)),
    _with(b"HGET", _one(KEYS), _one(FIELDS)),
    _with(b"HMGET", _one(KEYS), st.lists(FIELDS, min_size=1, max_size=3)),
    _with(b"HDEL", _one(KEYS), st.lists(FIELDS, min_size=1, max_size=3)),
    _with(b"HDEL", _one(KEYS), st.lists(FIELDS, max_size=0)),
    st.tuples(st.sampled_from([b"HLEN", b"HKEYS", b"HVALS", b"HGETALL", b"EXISTS", b"TYPE"]),
              _one(KEYS)),
    st.tuples(st.sampled_from([b"HEXISTS", b"HSTRLEN"]), st.tuples(KEYS, FIELDS).map(list)),
    st.tuples(st.sampled_from([b"HINCRBY", b"HINCRBYFLOAT"]), st.tuples(KEYS, FIELDS, NUMBERS).map(list)),
    _with(b"HRANDFIELD", _one(KEYS), st.lists(COUNTS, max_size=1),
          st.lists(st.sampled_from([b"WITHVALUES", b"withvalues", b"x"]), max_size=2)),
    _with(b"HSCAN", _one(KEYS), _one(st.sampled_from([b"0", b"x", b"", b"1x"])), SCAN_OPTIONS),
    st.tuples(st.just(b"SET"), st.just([b"s", b"string"])),
    st.tuples(st.just(b"DEL"), _one(KEYS)),
)

_UNORDERED = {b"HGETALL": unordered_pairs, b"HKEYS": unordered_items, b"HVALS": unordered_items,
              b"HSCAN": unordered_scan}


def _normaliser(name, hashtable):
    if name == b"HRANDFIELD":
        return skeleton
    return _UNORDERED.get(name) if hashtable else None


def _run_sequence(pair, resp, commands, hashtable):
    pair.check("FLUSHALL")
    if resp == 3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    for name, arguments in commands:
        pair.check(name, *arguments, normalise=_normaliser(name, hashtable))
    for key in (b"h", b"g"):
        pair.check("OBJECT", "ENCODING", key)
        pair.check("HGETALL", key, normalise=unordered_pairs if hashtable else None)


@settings(max_examples=EXAMPLES, deadline=None)
@given(resp=st.sampled_from([2, 3]), commands=st.lists(HASH_COMMANDS, min_size=1, max_size=20))
def test_random_listpack_sequences_match_redis(server, real_redis, resp, commands):
    """Small hashes stay listpacks: every reply but HRANDFIELD's random picks is byte-exact."""
    with Pair(server.port, real_redis.port) as pair:
        _run_sequence(pair, resp, commands, hashtable=False)


@settings(max_examples=EXAMPLES, deadline=None)
@given(resp=st.sampled_from([2, 3]), commands=st.lists(HASH_COMMANDS, min_size=1, max_size=20))
def test_random_sequences_with_low_limits_match_redis(server, real_redis, resp, commands):
    """hash-max-listpack-entries 3 and -value 4: hashes turn into hash tables, compared order-free."""
    with Pair(server.port, real_redis.port) as pair:
        with listpack_limits(pair, entries="3", value="4"):
            _run_sequence(pair, resp, commands, hashtable=True)
