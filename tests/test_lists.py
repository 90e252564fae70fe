"""List commands against real Redis 7.0.15: every command's replies and errors, then blocking pops.

The non-blocking commands are differential (the `pair` fixture sends each
request to both servers and wants byte-identical replies), in RESP2 and
RESP3, plus a hypothesis test of random command sequences. The blocking
scenarios need several clients at once, so each runs against ours and
against real Redis (the `any_server` fixture) and asserts the same exact
bytes on both.
"""
import os
import time

import pytest
from hypothesis import given, settings, strategies as st

from differential import encode_command, mask_client_id

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
NIL_ARRAY = b"*-1\r\n"


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def lists(request, pair):
    """The pair, after HELLO 3 for the RESP3 run; a list 'k' = a b c a b and a string 's' on both."""
    if request.param == 3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check("RPUSH", "k", "a", "b", "c", "a", "b")
    pair.check("SET", "s", "string")
    return pair


# ------------------------------------------------------------------ pushes and pops


def test_pushes(lists):
    lists.check_sequence([
        ("LPUSH", "l", "1", "2", "3"), ("RPUSH", "l", "4", "5"), ("LRANGE", "l", 0, -1),
        ("LPUSHX", "l", "x", "y"), ("RPUSHX", "l", "z"), ("LRANGE", "l", 0, -1),
        ("LPUSHX", "nokey", "x"), ("RPUSHX", "nokey", "x", "y"), ("EXISTS", "nokey"),
        ("LPUSH", "s", "x"), ("RPUSH", "s", "x"), ("LPUSHX", "s", "x"), ("RPUSHX", "s", "x"),
        ("LPUSH", "l"), ("RPUSH", "l"), ("LPUSHX", "l"), ("RPUSHX",), ("LPUSH",),
        ("RPUSH", "e", ""), ("LRANGE", "e", 0, -1), ("TYPE", "l"), ("OBJECT", "ENCODING", "l"),
    ])


def test_pops_without_count(lists):
    lists.check_sequence([
        ("LPOP", "k"), ("RPOP", "k"), ("LRANGE", "k", 0, -1), ("LPOP", "nokey"), ("RPOP", "nokey"),
        ("LPOP", "s"), ("RPOP", "s"), ("LPOP", "k"), ("LPOP", "k"), ("LPOP", "k"), ("EXISTS", "k"),
        ("LPOP", "k"), ("LPOP",), ("RPOP",),
    ])


def test_pops_with_count(lists):
    lists.check_sequence([
        ("LPOP", "k", 0), ("RPOP", "k", 0), ("LPOP", "nokey", 0), ("RPOP", "nokey", 2),
        ("LPOP", "k", 2), ("RPOP", "k", 1), ("LRANGE", "k", 0, -1), ("RPOP", "k", 100), ("EXISTS", "k"),
        ("LPOP", "k", 1), ("LPOP", "k", -1), ("RPOP", "k", "abc"), ("LPOP", "k", "1.5"),
        ("LPOP", "s", 0), ("LPOP", "s", -1), ("RPOP", "s", 1), ("LPOP", "nokey", -1),
        ("LPOP", "k", 1, 2), ("RPOP", "k", 1, 2, 3), ("LPOP", "k", "9223372036854775807"),
        ("LPOP", "k", "9223372036854775808"),
    ])


# ------------------------------------------------------------------ reading


def test_llen_lrange_lindex(lists):
    lists.check_sequence([
        ("LLEN", "k"), ("LLEN", "nokey"), ("LLEN", "s"), ("LLEN",), ("LLEN", "k", "x"),
        ("LINDEX", "k", 0), ("LINDEX", "k", -1), ("LINDEX", "k", 4), ("LINDEX", "k", 5), ("LINDEX", "k", -5),
        ("LINDEX", "k", -6), ("LINDEX", "k", "x"), ("LINDEX", "nokey", "x"), ("LINDEX", "s", 0),
        ("LINDEX", "s", "x"), ("LINDEX", "k"), ("LINDEX", "k", "9223372036854775808"),
    ])
    ranges = [(0, -1), (1, 2), (-2, -1), (3, 1), (-100, 100), (5, 10), (4, 4), (-1, -5), (0, 0), (-6, -5),
              (2, -3), ("-9223372036854775808", "9223372036854775807")]
    lists.check_sequence([("LRANGE", "k", start, stop) for start, stop in ranges])
    lists.check_sequence([
        ("LRANGE", "nokey", 0, -1), ("LRANGE", "s", 0, -1), ("LRANGE", "s", "x", 1), ("LRANGE", "k", 0, "x"),
        ("LRANGE", "nokey", "x", 0), ("LRANGE", "k", 0), ("LRANGE", "k", 0, 1, 2),
    ])


def test_lpos(lists):
    lists.check_sequence([
        ("LPOS", "k", "a"), ("LPOS", "k", "b"), ("LPOS", "k", "z"), ("LPOS", "k", "a", "COUNT", 0),
        ("LPOS", "k", "a", "RANK", 2), ("LPOS", "k", "a", "RANK", 3), ("LPOS", "k", "a", "RANK", -1),
        ("LPOS", "k", "b", "RANK", -2), ("LPOS", "k", "a", "rank", -1, "count", 0),
        ("LPOS", "k", "a", "COUNT", 1), ("LPOS", "k", "z", "COUNT", 1), ("LPOS", "k", "a", "MAXLEN", 3),
        ("LPOS", "k", "a", "MAXLEN", 4, "COUNT", 0), ("LPOS", "k", "a", "RANK", -1, "MAXLEN", 1),
        ("LPOS", "k", "a", "RANK", -1, "MAXLEN", 1, "COUNT", 0), ("LPOS", "k", "a", "RANK", 2, "COUNT", 0),
        ("LPOS", "k", "a", "COUNT", 5, "COUNT", 1), ("LPOS", "k", "a", "MAXLEN", 0, "COUNT", 0),
        ("LPOS", "nokey", "a"), ("LPOS", "nokey", "a", "COUNT", 0), ("LPOS", "s", "a"),
        ("LPOS", "s", "a", "RANK", 0), ("LPOS", "k", "a", "RANK", 0), ("LPOS", "k", "a", "RANK", "x"),
        ("LPOS", "k", "a", "COUNT", -1), ("LPOS", "k", "a", "COUNT", "x"), ("LPOS", "k", "a", "MAXLEN", -1),
        ("LPOS", "k", "a", "MAXLEN", "x"), ("LPOS", "k", "a", "RANK"), ("LPOS", "k", "a", "FOO", 1),
        ("LPOS", "k", "a", "COUNT"), ("LPOS", "k"),
        # C's -LONG_MIN is LONG_MIN: a scan from the tail whose COUNT never stops it.
        ("LPOS", "k", "a", "RANK", "-9223372036854775808"),
        ("LPOS", "k", "a", "RANK", "-9223372036854775808", "COUNT", 1),
        ("LPOS", "k", "b", "RANK", "-9223372036854775808", "MAXLEN", 2, "COUNT", 0),
        ("LPOS", "k", "a", "RANK", "-9223372036854775807", "COUNT", 0),
        ("LPOS", "k", "a", "RANK", "9223372036854775807"),
        ("LPOS", "k", "a", "COUNT", "9223372036854775807"),
    ])


# ------------------------------------------------------------------ changing in place


def test_lset(lists):
    lists.check_sequence([
        ("LSET", "k", 0, "x"), ("LSET", "k", -1, "y"), ("LSET", "k", 2, "z"), ("LRANGE", "k", 0, -1),
        ("LSET", "k", 5, "x"), ("LSET", "k", -6, "x"), ("LSET", "k", "x", "v"), ("LSET", "nokey", 0, "v"),
        ("LSET", "nokey", "x", "v"), ("LSET", "s", 0, "v"), ("LSET", "s", "x", "v"), ("LSET", "k", 0),
    ])


def test_lrem(lists):
    lists.check_sequence([
        ("RPUSH", "k", "a", "c", "a"), ("LREM", "k", 1, "a"), ("LRANGE", "k", 0, -1),
        ("LREM", "k", -2, "a"), ("LRANGE", "k", 0, -1), ("LREM", "k", 0, "c"), ("LRANGE", "k", 0, -1),
        ("LREM", "k", 0, "zz"), ("LREM", "k", 0, "b"), ("EXISTS", "k"), ("LREM", "nokey", 1, "a"),
        ("LREM", "s", 1, "a"), ("LREM", "s", "x", "a"), ("LREM", "nokey", "x", "a"),
        ("LREM", "k", "1.0", "a"), ("LREM", "k", 1),
        ("RPUSH", "m", "x", "x", "x"), ("LREM", "m", "-9223372036854775808", "x"), ("EXISTS", "m"),
    ])


def test_ltrim(lists):
    cases = [(1, -2), (0, -1), (-100, 100), (2, 1), (-2, -1), (5, 10), (0, 0)]
    for start, stop in cases:
        lists.check_sequence([("DEL", "t"), ("RPUSH", "t", 1, 2, 3, 4, 5, 6),
                              ("LTRIM", "t", start, stop), ("LRANGE", "t", 0, -1), ("EXISTS", "t")])
    lists.check_sequence([
        ("LTRIM", "nokey", 0, 1), ("LTRIM", "s", 0, 1), ("LTRIM", "s", "x", 1), ("LTRIM", "nokey", 0, "x"),
        ("LTRIM", "k", 0), ("GET", "s"),
    ])


def test_linsert(lists):
    lists.check_sequence([
        ("LINSERT", "k", "BEFORE", "a", "x"), ("LINSERT", "k", "after", "b", "y"), ("LRANGE", "k", 0, -1),
        ("LINSERT", "k", "AFTER", "zz", "y"), ("LINSERT", "k", "before", "b", "z"), ("LRANGE", "k", 0, -1),
        ("LINSERT", "nokey", "BEFORE", "a", "x"), ("EXISTS", "nokey"), ("LINSERT", "s", "BEFORE", "a", "x"),
        ("LINSERT", "k", "MIDDLE", "a", "x"), ("LINSERT", "nokey", "foo", "a", "x"),
        ("LINSERT", "s", "foo", "a", "x"), ("LINSERT", "k", "BEFORE", "a"),
    ])


def test_a_long_list(lists):
    """Ranges and indexes near either end of a few hundred elements (we walk from the nearer end)."""
    lists.check("RPUSH", "big", *["e%d" % (i % 37) for i in range(300)])
    lists.check_sequence([
        ("LRANGE", "big", 0, 9), ("LRANGE", "big", -10, -1), ("LRANGE", "big", 250, 260), ("LRANGE", "big", 40, 45),
        ("LRANGE", "big", -290, -280), ("LINDEX", "big", 150), ("LINDEX", "big", -151), ("LSET", "big", 200, "x"),
        ("LPOS", "big", "e5", "COUNT", 0), ("LPOS", "big", "e5", "RANK", -3, "COUNT", 2),
        ("LPOS", "big", "e36", "MAXLEN", 100, "COUNT", 0), ("LREM", "big", -3, "e7"), ("LREM", "big", 2, "e8"),
        ("LINSERT", "big", "AFTER", "x", "y"), ("LTRIM", "big", 10, -10), ("LLEN", "big"), ("LRANGE", "big", 0, -1),
    ])


def test_type_encoding_and_copy(lists):
    lists.check_sequence([
        ("TYPE", "k"), ("OBJECT", "ENCODING", "k"), ("COPY", "k", "k2"), ("RPUSH", "k2", "new"), ("LPOP", "k"),
        ("LRANGE", "k", 0, -1), ("LRANGE", "k2", 0, -1), ("OBJECT", "ENCODING", "k2"),
        ("EXPIRE", "k", 100), ("LPUSH", "k", "x"), ("LSET", "k", 0, "y"), ("TTL", "k"),
        ("LMOVE", "k2", "k", "LEFT", "LEFT"), ("TTL", "k"), ("LTRIM", "k", 1, 0), ("TTL", "k"), ("EXISTS", "k"),
    ])


# ------------------------------------------------------------------ moves


def test_lmove_and_rpoplpush(lists):
    lists.check_sequence([
        ("LMOVE", "k", "d", "LEFT", "RIGHT"), ("LMOVE", "k", "d", "right", "left"),
        ("LMOVE", "k", "d", "LEFT", "LEFT"), ("LMOVE", "k", "d", "RIGHT", "RIGHT"),
        ("LRANGE", "k", 0, -1), ("LRANGE", "d", 0, -1),
        ("RPOPLPUSH", "k", "d"), ("LRANGE", "d", 0, -1), ("EXISTS", "k"),
        ("LMOVE", "d", "d", "LEFT", "RIGHT"), ("LRANGE", "d", 0, -1),  # rotation
        ("LMOVE", "d", "d", "RIGHT", "LEFT"), ("LRANGE", "d", 0, -1), ("RPOPLPUSH", "d", "d"),
        ("LRANGE", "d", 0, -1), ("LMOVE", "nokey", "d", "LEFT", "LEFT"), ("RPOPLPUSH", "nokey", "d"),
        ("LMOVE", "nokey", "s", "LEFT", "LEFT"), ("LMOVE", "s", "d", "LEFT", "LEFT"),
        ("LMOVE", "d", "s", "LEFT", "LEFT"), ("RPOPLPUSH", "d", "s"), ("RPOPLPUSH", "s", "d"),
        ("LRANGE", "d", 0, -1), ("LMOVE", "d", "e", "UP", "LEFT"), ("LMOVE", "d", "e", "LEFT", "DOWN"),
        ("LMOVE", "s", "e", "UP", "LEFT"), ("LMOVE", "d", "e", "LEFT"), ("RPOPLPUSH", "d"),
        ("RPUSH", "one", "x"), ("LMOVE", "one", "one", "LEFT", "LEFT"), ("LRANGE", "one", 0, -1),
        ("RPOPLPUSH", "one", "two"), ("EXISTS", "one"), ("LRANGE", "two", 0, -1),
    ])


def test_lmpop(lists):
    lists.check_sequence([
        ("LMPOP", 1, "k", "LEFT"), ("LMPOP", 1, "k", "RIGHT"), ("LMPOP", 2, "nokey", "k", "left", "COUNT", 2),
        ("LMPOP", 2, "nokey", "k", "right", "count", 10), ("EXISTS", "k"), ("LMPOP", 1, "nokey", "LEFT"),
        ("LMPOP", 2, "nokey", "s", "LEFT"), ("RPUSH", "k", "x"), ("LMPOP", 2, "s", "k", "LEFT"),
        ("LMPOP", 2, "k", "s", "LEFT"), ("LMPOP", 0, "k", "LEFT"), ("LMPOP", -1, "k", "LEFT"),
        ("LMPOP", "x", "k", "LEFT"), ("LMPOP", 2, "k", "LEFT"), ("LMPOP", 1, "k", "UP"),
        ("LMPOP", 1, "k", "LEFT", "COUNT", 0), ("LMPOP", 1, "k", "LEFT", "COUNT", -1),
        ("LMPOP", 1, "k", "LEFT", "COUNT", "x"), ("LMPOP", 1, "k", "LEFT", "COUNT"),
        ("LMPOP", 1, "k", "LEFT", "COUNT", 1, "COUNT", 1), ("LMPOP", 1, "k", "LEFT", "FOO"),
        ("LMPOP", "9223372036854775807", "k", "LEFT"), ("LMPOP", "9223372036854775808", "k", "LEFT"),
        ("LMPOP", 1, "k"), ("LMPOP", 1), ("LMPOP", 3, "a", "b", "LEFT"),
    ])


def test_blocking_commands_that_need_not_block(lists):
    """Errors, wrong types and ready keys answer at once, exactly as LPOP and friends would."""
    lists.check_sequence([
        ("RPUSH", "m", "1", "2", "3"),
        ("BLPOP", "nokey", "k", 0), ("BRPOP", "nokey", "k", "0.5"), ("BLPOP", "m", "k", 1),
        ("BLMPOP", 0, 2, "nokey", "m", "RIGHT", "COUNT", 5), ("BLMPOP", 0, 1, "k", "LEFT"),
        ("BLMOVE", "k", "d", "LEFT", "RIGHT", 0), ("BRPOPLPUSH", "k", "d", 0), ("LRANGE", "d", 0, -1),
        ("BLMOVE", "d", "d", "LEFT", "RIGHT", 0), ("LRANGE", "d", 0, -1), ("RPUSH", "k", "x", "y"),
        ("BLPOP", "s", 0), ("BRPOP", "nokey", "s", "k", 0), ("BLMPOP", 0, 2, "nokey", "s", "LEFT"),
        ("BLMOVE", "s", "d", "LEFT", "LEFT", 0), ("BLMOVE", "k", "s", "LEFT", "LEFT", 0),
        ("BRPOPLPUSH", "s", "d", 0), ("BRPOPLPUSH", "k", "s", 0),
        ("BLPOP", "k"), ("BLPOP",), ("BLMOVE", "k", "d", "LEFT", "LEFT"), ("BRPOPLPUSH", "k", "d"),
        ("BLMPOP", 0, 1, "k"),
    ])


TIMEOUT_ERRORS = ["x", "", " 1", "1 ", "nan", "-1", "-0.5", "-0.001001", "inf", "-inf", "+inf", "1e20",
                  "9223372036854775807", "9223372036854775.8075", "9223372036854776", "1e-5000", "0x"]


def test_timeout_errors(lists):
    for timeout in TIMEOUT_ERRORS:
        lists.check_sequence([
            ("BLPOP", "nokey", timeout), ("BRPOP", "nokey", "k", timeout),
            ("BLMOVE", "nokey", "d", "LEFT", "LEFT", timeout), ("BRPOPLPUSH", "nokey", "d", timeout),
            ("BLMPOP", timeout, 1, "nokey", "LEFT"),
        ])
    lists.check_sequence([
        # The timeout comes first, then the keys; BLMPOP parses numkeys, the side and COUNT before it.
        ("BLPOP", "s", "x"), ("BLPOP", "k", "-1"), ("BLMOVE", "s", "d", "UP", "LEFT", "x"),
        ("BLMOVE", "nokey", "d", "LEFT", "LEFT", "x"), ("BLMPOP", "x", 0, "k", "LEFT"),
        ("BLMPOP", "x", 1, "k", "UP"), ("BLMPOP", "x", 1, "k", "LEFT", "COUNT", 0),
        ("BLMPOP", "-1", 2, "nokey", "k", "LEFT"), ("BLMPOP", "x", 1, "s", "LEFT"),
    ])


@pytest.mark.parametrize("timeout", ["0.01", "0.0001", "1e-400", "0.001", ".01", "1e-2", "0x0.02p0"])
def test_short_timeouts_reply_nil(lists, timeout):
    """Tiny timeouts round up to 1 ms (not 0 = forever); a timeout is a null array for every list pop."""
    lists.check_sequence([
        ("BLPOP", "nokey", timeout), ("BRPOP", "nokey", "other", timeout),
        ("BLMOVE", "nokey", "d", "LEFT", "LEFT", timeout), ("BRPOPLPUSH", "nokey", "d", timeout),
        ("BLMPOP", timeout, 2, "nokey", "other", "LEFT", "COUNT", 3), ("EXISTS", "d"),
    ])


# ------------------------------------------------------------------ random sequences

KEYS = ["l1", "l2", "str"]
SMALL_INT = st.integers(-4, 4).map(str) | st.sampled_from(["x", "", "9223372036854775808", "-1"])
ELEMENT = st.sampled_from(["a", "b", "c", "1"])
SIDE = st.sampled_from(["LEFT", "RIGHT", "left", "middle"])
KEY = st.sampled_from(KEYS + ["l1"])


def _lpos_options():
    option = st.tuples(st.sampled_from(["RANK", "COUNT", "MAXLEN", "rank", "BAD"]), SMALL_INT)
    return st.lists(option, max_size=3).map(lambda pairs: [word for pair in pairs for word in pair])


LIST_COMMANDS = st.one_of(
    st.tuples(st.sampled_from(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), KEY).flatmap(
        lambda head: st.lists(ELEMENT, max_size=4).map(lambda elements: (*head, *elements))),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), KEY),
    st.tuples(st.sampled_from(["LPOP", "RPOP"]), KEY, SMALL_INT),
    st.tuples(st.just("LRANGE"), KEY, SMALL_INT, SMALL_INT),
    st.tuples(st.just("LINDEX"), KEY, SMALL_INT),
    st.tuples(st.just("LSET"), KEY, SMALL_INT, ELEMENT),
    st.tuples(st.just("LREM"), KEY, SMALL_INT, ELEMENT),
    st.tuples(st.just("LTRIM"), KEY, SMALL_INT, SMALL_INT),
    st.tuples(st.just("LINSERT"), KEY, st.sampled_from(["BEFORE", "after", "x"]), ELEMENT, ELEMENT),
    st.tuples(st.just("LPOS"), KEY, ELEMENT).flatmap(lambda head: _lpos_options().map(lambda rest: (*head, *rest))),
    st.tuples(st.just("LMOVE"), KEY, KEY, SIDE, SIDE),
    st.tuples(st.just("RPOPLPUSH"), KEY, KEY),
    st.tuples(st.just("LMPOP"), st.sampled_from(["1", "2", "0", "x"]), KEY, KEY, SIDE),
    st.tuples(st.just("LMPOP"), st.just("2"), KEY, KEY, SIDE, st.just("COUNT"), SMALL_INT),
    st.tuples(st.just("LLEN"), KEY),
)


@settings(max_examples=int(os.environ.get("MINI_REDIS_DIFF_EXAMPLES", "200")), deadline=None)
@given(commands=st.lists(LIST_COMMANDS, min_size=1, max_size=25))
def test_random_list_sequences(server, real_redis, commands):
    from differential import Pair
    with Pair(server.port, real_redis.port) as pair:
        pair.check_sequence([("FLUSHALL",), ("SET", "str", "v"), ("RPUSH", "l1", "a", "b", "a")])
        pair.check_sequence(commands)
        pair.check_sequence([("LRANGE", key, 0, -1) for key in ("l1", "l2")] + [("TYPE", key) for key in KEYS])


# ------------------------------------------------------------------ blocking, with concurrent clients


def bulks(*values):
    return b"*%d\r\n" % len(values) + b"".join(b"$%d\r\n%b\r\n" % (len(v), v) for v in values)


def test_blpop_is_woken_by_another_clients_push(clients):
    waiter = clients.block("BLPOP", "k", 0)
    assert clients.control.call("RPUSH", "k", "x") == b":1\r\n"
    assert waiter.read_reply() == bulks(b"k", b"x")
    assert clients.control.call("EXISTS", "k") == b":0\r\n"
    assert clients.blocked() == 0


def test_waiter_is_served_before_the_pushers_next_command(clients):
    waiter = clients.block("BRPOP", "other", "k", 0)
    clients.control.send_raw(encode_command(("RPUSH", "k", "x")) + encode_command(("LPOP", "k")))  # one write
    assert clients.control.read_replies(2) == [b":1\r\n", b"$-1\r\n"]
    assert waiter.read_reply() == bulks(b"k", b"x")


def test_waiters_are_served_in_arrival_order(clients):
    first = clients.block("BLPOP", "k", 0)
    second = clients.block("BRPOP", "k", 0)
    third = clients.block("BLPOP", "other", "k", 0)
    assert clients.control.call("RPUSH", "k", "1") == b":1\r\n"
    assert first.read_reply() == bulks(b"k", b"1")
    assert clients.control.call("RPUSH", "k", "2", "3", "4") == b":3\r\n"
    assert second.read_reply() == bulks(b"k", b"4")
    assert third.read_reply() == bulks(b"k", b"2")
    assert clients.control.call("LRANGE", "k", 0, -1) == bulks(b"3")


def test_a_waiter_on_several_keys_takes_the_key_that_was_pushed(clients):
    waiter = clients.block("BLPOP", "a", "b", "a", 0)  # a key named twice is served once
    clients.control.call("RPUSH", "b", "x", "y")
    assert waiter.read_reply() == bulks(b"b", b"x")
    assert clients.control.call("RPUSH", "a", "z") == b":1\r\n"
    assert clients.control.call("LRANGE", "b", 0, -1) == bulks(b"y")


def test_fractional_timeout_returns_nil(clients):
    waiter = clients.connect()
    started = time.monotonic()
    assert waiter.call("BLPOP", "k", "0.2") == NIL_ARRAY
    elapsed = time.monotonic() - started
    assert 0.15 < elapsed < 3
    assert waiter.call("BLMOVE", "k", "d", "LEFT", "LEFT", "0.05") == NIL_ARRAY
    assert waiter.call("BLMPOP", "0.05", 1, "k", "LEFT") == NIL_ARRAY
    assert clients.blocked() == 0


@pytest.mark.parametrize("timeout", ["-0.0001", "-0.000999", "9223372036854775.807"])
def test_timeouts_that_round_to_zero_or_overflow_block_until_a_push(clients, timeout):
    """Milliseconds round up, so a tiny negative timeout is 0 (forever); a huge one never ends either."""
    waiter = clients.block("BLPOP", "k", timeout)
    time.sleep(0.15)
    assert clients.blocked() == 1
    clients.control.call("RPUSH", "k", "x")
    assert waiter.read_reply() == bulks(b"k", b"x")


def test_timeouts_in_resp3_are_null(clients):
    waiter = clients.connect()
    waiter.call("HELLO", "3")
    for command in [("BLPOP", "k", "0.05"), ("BRPOPLPUSH", "k", "d", "0.05"), ("BLMPOP", "0.05", 1, "k", "LEFT")]:
        assert waiter.call(*command) == b"_\r\n"


def test_blmove_chain(clients):
    first = clients.block("BLMOVE", "a", "b", "LEFT", "RIGHT", 0)
    second = clients.block("BRPOPLPUSH", "b", "c", 0)
    third = clients.block("BLPOP", "c", 0)
    assert clients.control.call("LPUSH", "a", "x") == b":1\r\n"
    assert first.read_reply() == b"$1\r\nx\r\n"
    assert second.read_reply() == b"$1\r\nx\r\n"
    assert third.read_reply() == bulks(b"c", b"x")
    assert clients.control.call("EXISTS", "a", "b", "c") == b":0\r\n"


def test_blmove_onto_its_own_key_leaves_the_element_for_the_next_waiter(clients):
    rotator = clients.block("BLMOVE", "k", "k", "LEFT", "RIGHT", 0)
    popper = clients.block("BRPOP", "k", 0)
    clients.control.call("RPUSH", "k", "x")
    assert rotator.read_reply() == b"$1\r\nx\r\n"
    assert popper.read_reply() == bulks(b"k", b"x")
    assert clients.control.call("EXISTS", "k") == b":0\r\n"


def test_lmove_into_a_key_wakes_its_waiter(clients):
    waiter = clients.block("BRPOP", "dst", 0)
    clients.control.call("RPUSH", "src", "1", "2")
    assert clients.control.call("LMOVE", "src", "dst", "LEFT", "LEFT") == b"$1\r\n1\r\n"
    assert waiter.read_reply() == bulks(b"dst", b"1")
    waiter = clients.block("BLPOP", "dst", 0)
    assert clients.control.call("RPOPLPUSH", "src", "dst") == b"$1\r\n2\r\n"
    assert waiter.read_reply() == bulks(b"dst", b"2")


def test_blmpop_takes_up_to_its_count(clients):
    first = clients.block("BLMPOP", 0, 2, "a", "k", "RIGHT", "COUNT", 2)
    second = clients.block("BLMPOP", 0, 1, "k", "LEFT", "COUNT", 5)
    third = clients.block("BLMPOP", 0, 1, "k", "LEFT")
    clients.control.call("RPUSH", "k", "1", "2", "3")
    assert first.read_reply() == b"*2\r\n$1\r\nk\r\n" + bulks(b"3", b"2")
    assert second.read_reply() == b"*2\r\n$1\r\nk\r\n" + bulks(b"1")
    clients.control.call("RPUSH", "k", "4")
    assert third.read_reply() == b"*2\r\n$1\r\nk\r\n" + bulks(b"4")


def test_blmove_served_into_a_wrong_type_destination_gets_wrongtype(clients):
    clients.control.call("SET", "dst", "string")
    mover = clients.block("BLMOVE", "src", "dst", "LEFT", "LEFT", 0)
    popper = clients.block("BLPOP", "src", 0)
    clients.control.call("RPUSH", "src", "x")
    assert mover.read_reply() == WRONGTYPE
    assert popper.read_reply() == bulks(b"src", b"x")


def test_a_client_that_hangs_up_while_blocked_takes_nothing(clients):
    gone = clients.block("BLPOP", "k", 0)
    stays = clients.block("BLPOP", "k", 0)
    gone.close()
    clients.wait_blocked(1)
    clients.control.call("RPUSH", "k", "x")
    assert stays.read_reply() == bulks(b"k", b"x")
    gone = clients.block("BLMOVE", "k", "d", "LEFT", "LEFT", 0)
    gone.close()
    clients.wait_blocked(0)
    clients.control.call("RPUSH", "k", "y")
    assert clients.control.call("LRANGE", "k", 0, -1) == bulks(b"y")
    assert clients.control.call("EXISTS", "d") == b":0\r\n"


def test_waiters_only_see_their_own_database(clients):
    waiter = clients.connect()
    waiter.call("SELECT", 1)
    waiter.send_raw(encode_command(("BLPOP", "k", 0)))
    clients.wait_blocked(1)
    clients.control.call("RPUSH", "k", "db0")
    clients.control.call("SELECT", 1)
    clients.control.call("RPUSH", "k", "db1")
    assert waiter.read_reply() == bulks(b"k", b"db1")
    clients.control.call("SELECT", 0)
    assert clients.control.call("LRANGE", "k", 0, -1) == bulks(b"db0")


def test_blpop_on_a_wrong_type_key_errors_at_once(clients):
    clients.control.call("SET", "s", "x")
    waiter = clients.connect()
    assert waiter.call("BLPOP", "nokey", "s", 0) == WRONGTYPE
    assert waiter.call("BLMOVE", "s", "d", "LEFT", "LEFT", 0) == WRONGTYPE
    assert waiter.call("BLMPOP", 0, 1, "s", "LEFT") == WRONGTYPE
    assert clients.blocked() == 0


def test_a_client_that_sent_more_then_hung_up_while_blocked_takes_nothing(clients):
    """The commands a blocked client sends meanwhile wait unread; its hang-up must still unblock it."""
    gone = clients.block("BLPOP", "k", 0)
    gone.send_raw(encode_command(("PING",)))
    time.sleep(0.05)
    gone.close()
    time.sleep(0.3)
    clients.control.call("RPUSH", "k", "x")  # also frees a stale waiter, so later tests do not lose elements
    assert clients.control.call("LRANGE", "k", 0, -1) == bulks(b"x")
    assert clients.blocked() == 0


def test_blocking_commands_inside_multi_answer_at_once(lists):
    lists.check_sequence([
        ("MULTI",), ("BLPOP", "nokey", 0), ("BRPOP", "nokey", "other", 0), ("BLMOVE", "nokey", "d", "LEFT", "LEFT", 0),
        ("BRPOPLPUSH", "nokey", "d", 0), ("BLMPOP", 0, 1, "nokey", "LEFT"), ("RPUSH", "nokey", "1", "2"),
        ("BLPOP", "nokey", 0), ("BLMOVE", "nokey", "d", "LEFT", "LEFT", 0), ("BLPOP", "s", 0), ("EXEC",),
        ("LRANGE", "d", 0, -1),
    ])


def test_a_transaction_that_pushes_serves_waiters_after_exec(clients):
    waiter = clients.block("BLPOP", "k", 0)
    control = clients.control
    assert [control.call(*command) for command in [("MULTI",), ("RPUSH", "k", "a"), ("LPOP", "k"), ("EXEC",)]] \
        == [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n", b"*2\r\n:1\r\n$1\r\na\r\n"]
    assert clients.blocked() == 1  # the list was empty again when EXEC ended
    assert [control.call(*command) for command in [("MULTI",), ("RPUSH", "k", "x", "y"), ("EXEC",)]][-1] \
        == b"*1\r\n:2\r\n"
    assert waiter.read_reply() == bulks(b"k", b"x")
    assert control.call("LRANGE", "k", 0, -1) == bulks(b"y")


# ------------------------------------------------------------------ the hand-off when a woken command fails

HANDOFF_SCENARIOS = {
    "brpoplpush into a string, then a good destination": (
        [("SET", "d", "x")], [("BRPOPLPUSH", "s", "d", 0), ("BRPOPLPUSH", "s", "e", 0)],
        [("RPUSH", "s", "v")], [("LRANGE", "e", 0, -1), ("LRANGE", "s", 0, -1), ("GET", "d")]),
    "two blmoves fail, a blpop gets it": (
        [("SET", "d", "x"), ("SADD", "d2", "m")],
        [("BLMOVE", "s", "d", "LEFT", "RIGHT", 0), ("BLMOVE", "s", "d2", "RIGHT", "LEFT", 0), ("BLPOP", "s", 0)],
        [("RPUSH", "s", "v")], [("LRANGE", "s", 0, -1), ("EXISTS", "s")]),
    "a pushed transaction feeds the second waiter": (
        [("SET", "d", "x")], [("BRPOPLPUSH", "s", "d", 0), ("BRPOPLPUSH", "s", "e", 0)],
        [("MULTI",), ("RPUSH", "s", "v", "w"), ("EXEC",)], [("LRANGE", "e", 0, -1), ("LRANGE", "s", 0, -1)]),
    "the failed waiter is done, a later push goes to the next": (
        [("SET", "d", "x")], [("BLMOVE", "s", "d", "LEFT", "LEFT", 0), ("BZPOPMIN", "z", 0), ("BLPOP", "s", 0)],
        [("RPUSH", "s", "v"), ("ZADD", "z", 1, "a")], [("LRANGE", "s", 0, -1)]),
    "a move onto its own source between failures": (
        [("SET", "d", "x")],
        [("BLMOVE", "s", "d", "LEFT", "LEFT", 0), ("BLMOVE", "s", "s", "LEFT", "RIGHT", 0), ("BLPOP", "s", 0)],
        [("RPUSH", "s", "v")], [("LRANGE", "s", 0, -1)]),
    "nobody can take it: the element stays": (
        [("SET", "d", "x"), ("HSET", "h", "f", "v")],
        [("BRPOPLPUSH", "s", "d", 0), ("BLMOVE", "s", "h", "LEFT", "LEFT", 0)],
        [("RPUSH", "s", "v")], [("LRANGE", "s", 0, -1), ("LLEN", "s")]),
}


def _handoff(port, setup, waiters, pushes, checks):
    """Everything every client saw: the waiters' replies, then the state of the keys."""
    from differential import BlockingClients
    clients = BlockingClients(port)
    try:
        for command in setup:
            clients.control.call(*command)
        blocked = [clients.block(*command) for command in waiters]
        seen = [clients.control.call(*command) for command in pushes]
        seen += [client.read_reply() for client in blocked]
        seen += [clients.control.call(*command) for command in checks]
        seen += [client.call("PING") for client in blocked]  # none is left waiting or out of step
        return seen
    finally:
        clients.close()


@pytest.mark.parametrize("name", list(HANDOFF_SCENARIOS))
def test_a_woken_command_that_fails_hands_the_element_on_as_redis_does(server, real_redis, name):
    expected = _handoff(real_redis.port, *HANDOFF_SCENARIOS[name])
    assert WRONGTYPE in expected
    assert _handoff(server.port, *HANDOFF_SCENARIOS[name]) == expected
