"""Sorted-set commands against real Redis 7.0.15: every command's replies and errors, then blocking pops.

Most tests are differential: the `zsets` fixture runs each one in RESP2 and
in RESP3, and every request goes to both servers, whose replies must be
byte-identical. Random replies (ZRANDMEMBER, ZSCAN of a big set) are
compared by their shape and checked for what they promise. Blocking pops
need several clients at once, so each scenario runs against ours and
against real Redis (`any_server`) and asserts the same exact bytes on both.
A hypothesis test ends the file with random command sequences.
"""
import os
import re
import time

import pytest
from hypothesis import given, settings, strategies as st

from differential import Pair, encode_command, mask_client_id, reply_end

WRONGTYPE = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
NIL_ARRAY = b"*-1\r\n"
EXAMPLES = int(os.environ.get("MINI_REDIS_DIFF_EXAMPLES", "200"))


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def zsets(request, pair):
    """The pair, after HELLO 3 for the RESP3 run; 'z' = a:1 b:2 c:3 d:3 e:inf, a string 's', a set 'set'."""
    if request.param == 3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check("ZADD", "z", 1, "a", 2, "b", 3, "c", 3, "d", "inf", "e")
    pair.check("SET", "s", "string")
    pair.check("SADD", "set", "a", "x", "1")
    return pair


def top_level_items(reply):
    """The raw bytes of each element of an array (or set/map) reply."""
    header_end = reply.index(b"\r\n") + 2
    items, position = [], header_end
    while position < len(reply):
        end = reply_end(reply, position)
        items.append(reply[position:end])
        position = end
    return items


def shape(reply):
    """A reply with every bulk string's and double's contents masked: only types, counts and nesting stay."""
    return re.sub(rb",[^\r]*\r\n", b",\r\n", re.sub(rb"\$\d+\r\n[^\r]*\r\n", b"$\r\n", reply))


# ------------------------------------------------------------------ numbers in and out


SCORES = ["1", "1.0", "1.5", "0.1", "-0", "-0.0", "0", "1e20", "1e-20", "inf", "-inf", "+inf", "Infinity",
          "-INF", "0x10", "0x1p-3", "1.", ".5", "1e-310", "123456789012345678", "3.0000000000000004",
          "9007199254740993", "-1e308", "4.9e-324", "  ", "", " 1", "1 ", "1\x00", "nan", "-nan", "1e400",
          "-1e400", "1e-400", "0x", "1e", "1_0", "abc", "++1", "0e-400", "(1", "[1"]


def test_scores_are_parsed_and_printed_as_redis_does(zsets):
    for score in SCORES:
        zsets.check("ZADD", "n", score, "m")
        zsets.check("ZSCORE", "n", "m")
        zsets.check("ZRANGE", "n", 0, -1, "WITHSCORES")
        zsets.check("ZSCAN", "n", 0)
    zsets.check_sequence([("ZSCORE", "n", "nomember"), ("ZSCORE", "nokey", "m"), ("ZSCORE", "s", "m"),
                          ("ZSCORE", "z"), ("ZSCORE", "z", "a", "b")])


def test_negative_zero_keeps_its_sign_only_in_a_skiplist(zsets):
    """A listpack stores -0 as the integer 0; a skiplist keeps the double, and conversions carry what is stored."""
    long_member = "x" * 90
    zsets.check_sequence([
        ("ZINCRBY", "n", "-0", "m"), ("ZSCORE", "n", "m"), ("ZADD", "n", "INCR", "-0", "m2"),
        ("ZADD", "n", "-0.0", "q"), ("ZRANGE", "n", 0, -1, "WITHSCORES"), ("ZADD", "n", "0", "q"),
        ("ZADD", "big", "-0", long_member), ("ZADD", "big", "-0", "m"), ("ZSCORE", "big", "m"),
        ("ZRANGE", "big", 0, -1, "WITHSCORES"), ("ZUNION", 1, "big", "WITHSCORES"),
        ("ZUNIONSTORE", "u", 1, "big"), ("ZRANGE", "u", 0, -1, "WITHSCORES"), ("ZRANGESTORE", "u2", "big", 0, -1),
        ("ZRANGE", "u2", 0, -1, "WITHSCORES"), ("ZRANGESTORE", "u3", "big", "-inf", "inf", "BYSCORE", "REV"),
        ("ZRANGE", "u3", 0, -1, "WITHSCORES"), ("ZREM", "big", long_member), ("ZUNIONSTORE", "u4", 1, "big"),
        ("ZSCORE", "u4", "m"), ("ZADD", "mixed", "-0", "a", "1", long_member), ("ZSCORE", "mixed", "a"),
        ("ZPOPMIN", "big"), ("ZPOPMIN", "n"),
    ])


RANGE_BOUNDS = ["-inf", "+inf", "inf", "(1", "(3", "3", "[3", "0", "", "(", " ", " 2", "( 2", "2 ", "1\x003",
                "(1\x00x", "0x2", "1e400", "(-inf", "(inf", "nan", "(nan", "x", "1e", "-0", "(-0"]


def test_score_ranges(zsets):
    for low in RANGE_BOUNDS:
        for high in ("+inf", "(3", "3", "2"):
            zsets.check("ZCOUNT", "z", low, high)
            zsets.check("ZCOUNT", "z", high, low)
    zsets.check_sequence([("ZCOUNT", "nokey", 0, 1), ("ZCOUNT", "nokey", "x", 1), ("ZCOUNT", "s", 0, 1),
                          ("ZCOUNT", "s", "x", 1), ("ZCOUNT", "z", 1), ("ZCOUNT", "z", 1, 2, 3)])


LEX_BOUNDS = ["-", "+", "[a", "(a", "[b", "(c", "[", "(", "[zz", "a", "", "-x", "+x", "-\x00", "+\x00x", "[\x00"]


def test_lex_ranges(zsets):
    zsets.check("ZADD", "lex", 0, "a", 0, "b", 0, "c", 0, "", 0, "ab", 0, "\x00", 0, "zz")
    for low in LEX_BOUNDS:
        for high in ("+", "[b", "(c", "-", "(a"):
            zsets.check("ZLEXCOUNT", "lex", low, high)
            zsets.check("ZRANGEBYLEX", "lex", low, high)
            zsets.check("ZREVRANGEBYLEX", "lex", high, low)
    zsets.check_sequence([
        ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", 1, 2), ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", 0, -1),
        ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", -1, 2), ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", 7, 2),
        ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", 2, 0), ("ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", 1, 3),
        ("ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"), ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", 1),
        ("ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "x", 1), ("ZRANGEBYLEX", "lex", "-"),
        ("ZLEXCOUNT", "nokey", "-", "+"), ("ZLEXCOUNT", "nokey", "x", "+"), ("ZLEXCOUNT", "s", "-", "+"),
        ("ZRANGEBYLEX", "s", "-", "+"), ("ZRANGEBYLEX", "nokey", "-", "+"), ("ZRANGEBYLEX", "s", "x", "+"),
    ])


def test_lex_ranges_over_mixed_scores_walk_the_listpack_as_redis_does(zsets):
    zsets.check("ZADD", "mix", 1, "m", 2, "a", 3, "z", 4, "b", 5, "c")
    for low in ("-", "[a", "(a", "[b", "[m", "[n", "(z"):
        for high in ("+", "[b", "[c", "[m", "(z", "[z"):
            zsets.check("ZRANGEBYLEX", "mix", low, high)
            zsets.check("ZREVRANGEBYLEX", "mix", high, low)
            zsets.check("ZLEXCOUNT", "mix", low, high)


# ------------------------------------------------------------------ ZADD and ZINCRBY


ZADD_FLAGS = ["NX", "XX", "GT", "LT", "CH", "INCR"]


def test_zadd_every_flag_combination(zsets):
    for mask in range(1 << len(ZADD_FLAGS)):
        flags = [flag for bit, flag in enumerate(ZADD_FLAGS) if mask >> bit & 1]
        for pairs in (("2", "a"), ("0", "a"), ("5", "new"), ("-inf", "e"), ("1", "a", "4", "new2"), ("3", "c")):
            zsets.check("ZADD", "z", *flags, *pairs)
            zsets.check("ZADD", "fresh", *flags, *pairs)
        zsets.check("ZRANGE", "z", 0, -1, "WITHSCORES")
        zsets.check("ZRANGE", "fresh", 0, -1, "WITHSCORES")
        zsets.check("DEL", "fresh")


def test_zadd_errors_and_their_order(zsets):
    zsets.check_sequence([
        ("ZADD", "z"), ("ZADD", "z", 1), ("ZADD", "z", "nx"), ("ZADD", "z", 1, "a", 2), ("ZADD", "z", "NX", "XX"),
        ("ZADD", "z", "NX", "XX", 1, "a"), ("ZADD", "z", "NX", "XX", "x", "a"), ("ZADD", "z", "NX", "XX", 1),
        ("ZADD", "z", "GT", "LT", 1, "a"), ("ZADD", "z", "gt", "nx", 1, "a"), ("ZADD", "z", "LT", "NX", 1, "a"),
        ("ZADD", "z", "INCR", 1, "a", 2, "b"), ("ZADD", "z", "INCR", "x", "a", 2, "b"),
        ("ZADD", "z", "NX", "XX", "INCR", 1, "a", 2, "b"), ("ZADD", "z", 1, "a", "x", "b"),
        ("ZADD", "z", "nan", "a"), ("ZADD", "z", "CH", "CH", 1, "a"), ("ZADD", "z", "1", "NX"),
        ("ZADD", "s", 1, "a"), ("ZADD", "s", "x", "a"), ("ZADD", "s", "NX", "XX", 1, "a"),
        ("ZADD", "z", "INCR", "-inf", "e"), ("ZSCORE", "z", "e"), ("ZADD", "z", "INCR", "+inf", "e"),
        ("ZADD", "z", "INCR", "XX", 1, "nomember"), ("ZADD", "nokey", "XX", 1, "a"), ("EXISTS", "nokey"),
        ("ZADD", "nokey", "XX", "INCR", 1, "a"), ("ZADD", "z", 1, "dup", 2, "dup", 3, "dup"), ("ZSCORE", "z", "dup"),
        ("ZADD", "z", "-0", "zero"), ("ZADD", "z", "0", "zero"), ("ZADD", "z", "CH", "0", "zero"),
        ("ZSCORE", "z", "zero"), ("ZADD", "z", "GT", "CH", "inf", "a", "0", "b"), ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    ])


def test_zincrby(zsets):
    zsets.check_sequence([
        ("ZINCRBY", "z", 1, "a"), ("ZINCRBY", "z", "-1.5", "a"), ("ZINCRBY", "z", "0.1", "a"),
        ("ZINCRBY", "z", "0.2", "a"), ("ZINCRBY", "z", 5, "new"), ("ZINCRBY", "z", "-inf", "e"),
        ("ZINCRBY", "z", "inf", "e"), ("ZINCRBY", "z", "x", "a"), ("ZINCRBY", "z", "nan", "a"),
        ("ZINCRBY", "z", "nx", "a"), ("ZINCRBY", "z", "XX", "a"), ("ZINCRBY", "z", "incr", "a"),
        ("ZINCRBY", "s", 1, "a"), ("ZINCRBY", "nokey", "1e308", "m"), ("ZINCRBY", "nokey", "1e308", "m"),
        ("ZINCRBY", "z", 1), ("ZINCRBY", "z", 1, "a", "b"), ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    ])


def test_zrem_and_zcard_and_empty_sets_are_deleted(zsets):
    zsets.check_sequence([
        ("ZREM", "z", "a", "nomember", "a"), ("ZCARD", "z"), ("ZREM", "nokey", "a"), ("ZREM", "s", "a"),
        ("ZREM", "z"), ("ZCARD", "nokey"), ("ZCARD", "s"), ("ZCARD",), ("ZCARD", "z", "z"),
        ("ZREM", "z", "b", "c", "d", "e", "f"), ("EXISTS", "z"), ("TYPE", "z"), ("ZCARD", "z"),
        ("ZADD", "z", 1, "a"), ("ZPOPMIN", "z"), ("EXISTS", "z"), ("ZADD", "z", 1, "a"),
        ("ZREMRANGEBYRANK", "z", 0, -1), ("EXISTS", "z"), ("ZADD", "z", 1, "a"), ("ZREMRANGEBYSCORE", "z", 1, 1),
        ("EXISTS", "z"), ("ZADD", "z", 0, "a"), ("ZREMRANGEBYLEX", "z", "-", "+"), ("EXISTS", "z"),
        ("ZADD", "z", 0, "a"), ("ZMPOP", 1, "z", "MAX"), ("EXISTS", "z"),
    ])


def test_zmscore_zrank_zrevrank(zsets):
    zsets.check_sequence([
        ("ZMSCORE", "z", "a", "nomember", "e", "a"), ("ZMSCORE", "nokey", "a", "b"), ("ZMSCORE", "s", "a"),
        ("ZMSCORE", "z"),
        *[(command, key, member) for command in ("ZRANK", "ZREVRANK") for key in ("z", "nokey", "s")
          for member in ("a", "c", "d", "e", "nomember")],
        ("ZRANK", "z"), ("ZRANK", "z", "a", "WITHSCORE"), ("ZREVRANK", "z", "a", "b"),
    ])


# ------------------------------------------------------------------ ranges


RANK_PAIRS = [(0, -1), (1, 2), (-2, -1), (-100, 100), (3, 1), (5, 10), (-1, -2), (0, 0), (-6, -5), (2, 9)]


def test_zrange_by_rank(zsets):
    for start, stop in RANK_PAIRS:
        for options in ((), ("WITHSCORES",), ("REV",), ("REV", "WITHSCORES"), ("withscores", "rev")):
            zsets.check("ZRANGE", "z", start, stop, *options)
        zsets.check("ZREVRANGE", "z", start, stop)
        zsets.check("ZREVRANGE", "z", start, stop, "WITHSCORES")


def test_zrange_by_score(zsets):
    for low, high in (("-inf", "+inf"), ("(1", "3"), ("2", "(3"), ("3", "3"), ("(3", "+inf"), ("5", "1"),
                      ("-inf", "(-inf"), ("inf", "inf"), ("", "2")):
        for limit in ((), ("LIMIT", 0, 2), ("LIMIT", 1, -1), ("LIMIT", 2, 1), ("LIMIT", -1, 5), ("LIMIT", 5, 1),
                      ("LIMIT", 0, 0)):
            zsets.check("ZRANGE", "z", low, high, "BYSCORE", *limit)
            zsets.check("ZRANGE", "z", high, low, "BYSCORE", "REV", "WITHSCORES", *limit)
            zsets.check("ZRANGEBYSCORE", "z", low, high, "WITHSCORES", *limit)
            zsets.check("ZREVRANGEBYSCORE", "z", high, low, *limit)


def test_range_option_errors(zsets):
    zsets.check_sequence([
        ("ZRANGE", "z", 0, -1, "LIMIT", 0, 1), ("ZRANGE", "z", 0, -1, "LIMIT", 0, -1), ("ZRANGE", "z", 0, -1, "LIMIT"),
        ("ZRANGE", "z", 0, -1, "LIMIT", 0), ("ZRANGE", "z", 0, -1, "LIMIT", "x", 1), ("ZRANGE", "z", "-", "+",
                                                                                      "BYLEX", "WITHSCORES"),
        ("ZRANGE", "z", "x", "y", "BYLEX", "WITHSCORES"), ("ZRANGE", "z", 0, -1, "BYLEX"),
        ("ZRANGE", "z", "a", "b", "BYSCORE"), ("ZRANGE", "z", "a", 1), ("ZRANGE", "z", 0, -1, "REV", "REV"),
        ("ZRANGE", "z", 0, -1, "BYSCORE", "BYLEX"), ("ZRANGE", "z", 0, -1, "BYSCORE", "BYSCORE"),
        ("ZRANGE", "z", 0, -1, "foo"), ("ZRANGE", "z", 0), ("ZRANGE", "z", 0, -1, "WITHSCORES", "WITHSCORES"),
        ("ZRANGE", "z", "(1", "+inf", "BYSCORE", "LIMIT", 0, 1, "LIMIT", 1, 1),
        ("ZRANGE", "nokey", "x", "y"), ("ZRANGE", "nokey", 0, -1, "BYLEX"), ("ZRANGE", "nokey", 0, -1),
        ("ZRANGE", "s", 0, -1), ("ZRANGE", "s", "x", -1), ("ZRANGE", "s", 0, -1, "foo"),
        ("ZREVRANGE", "z", 0, -1, "REV"), ("ZREVRANGE", "z", 0, -1, "LIMIT", 0, 1), ("ZREVRANGE", "z", 0, -1, "BYSCORE"),
        ("ZRANGEBYSCORE", "z", 0, 1, "BYLEX"), ("ZRANGEBYSCORE", "z", 0, 1, "REV"), ("ZRANGEBYSCORE", "z", "a", 1),
        ("ZREVRANGEBYSCORE", "z", 1, "a"), ("ZRANGEBYSCORE", "z", 0, 1, "LIMIT", 0, "x"),
        ("ZRANGEBYLEX", "z", "-", "+", "BYSCORE"), ("ZREVRANGEBYLEX", "z", "-", "+", "WITHSCORES"),
        ("ZRANGEBYSCORE", "s", 0, 1), ("ZREVRANGEBYLEX", "s", "+", "-"), ("ZREVRANGE", "s", 0, 1),
    ])


def test_zrangestore(zsets):
    zsets.check_sequence([
        ("ZRANGESTORE", "dst", "z", 0, -1), ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", 1, 2, "REV"), ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", "(1", "inf", "BYSCORE", "LIMIT", 1, 2), ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", "+", "-", "BYLEX", "REV"), ("ZRANGE", "dst", 0, -1, "WITHSCORES"),
        ("EXPIRE", "dst", 100), ("ZRANGESTORE", "dst", "z", 0, 0), ("TTL", "dst"),
        ("ZRANGESTORE", "dst", "z", 5, 10), ("EXISTS", "dst"), ("SET", "dst", "x"),
        ("ZRANGESTORE", "dst", "nokey", 0, -1), ("EXISTS", "dst"), ("ZRANGESTORE", "s", "z", 0, 1), ("TYPE", "s"),
        ("ZRANGESTORE", "dst", "set", 0, -1), ("ZRANGESTORE", "dst", "z", 0, -1, "WITHSCORES"),
        ("ZRANGESTORE", "dst", "z", 0, -1, "LIMIT", 0, 1), ("ZRANGESTORE", "dst", "z", "x", -1),
        ("ZRANGESTORE", "dst", "z", 0), ("ZRANGESTORE", "z", "z", 1, 2), ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    ])


def test_remove_ranges(zsets):
    for command, bounds in (("ZREMRANGEBYRANK", RANK_PAIRS),
                            ("ZREMRANGEBYSCORE", [("-inf", "(2"), ("(1", "3"), ("3", "1"), ("x", 1), ("inf", "inf")]),
                            ("ZREMRANGEBYLEX", [("-", "[b"), ("(a", "+"), ("[c", "[a"), ("x", "+"), ("-", "-")])):
        for low, high in bounds:
            zsets.check("DEL", "r")
            zsets.check("ZADD", "r", 1, "a", 2, "b", 3, "c", 3, "d", "inf", "e")
            zsets.check(command, "r", low, high)
            zsets.check("ZRANGE", "r", 0, -1, "WITHSCORES")
        zsets.check_sequence([(command, "nokey", 0, 1), (command, "s", 0, 1), (command, "s", "x", "y"),
                              (command, "r", 0), (command, "nokey", "x", "y")])


# ------------------------------------------------------------------ pops


def test_zpopmin_and_zpopmax(zsets):
    zsets.check_sequence([
        ("ZPOPMIN", "z"), ("ZPOPMAX", "z"), ("ZPOPMIN", "z", 1), ("ZPOPMAX", "z", 0), ("ZPOPMIN", "z", 0),
        ("ZPOPMIN", "nokey"), ("ZPOPMIN", "nokey", 0), ("ZPOPMAX", "nokey", 2), ("ZPOPMIN", "s"), ("ZPOPMIN", "s", 0),
        ("ZPOPMIN", "z", -1), ("ZPOPMIN", "z", "x"), ("ZPOPMIN", "nokey", "x"), ("ZPOPMIN", "z", 1, 2),
        ("ZPOPMAX", "z", 100), ("EXISTS", "z"), ("ZADD", "z", 1, "a", 2, "b", 3, "c"), ("ZPOPMAX", "z", 2),
        ("ZPOPMIN",),
    ])


def test_zmpop(zsets):
    zsets.check_sequence([
        ("ZMPOP", 1, "z", "MIN"), ("ZMPOP", 2, "nokey", "z", "max", "COUNT", 2), ("ZMPOP", 1, "nokey", "MIN"),
        ("ZMPOP", 2, "nokey", "s", "MIN"), ("ZMPOP", 2, "z", "s", "MIN"), ("ZMPOP", 0, "z", "MIN"),
        ("ZMPOP", "x", "z", "MIN"), ("ZMPOP", -1, "z", "MIN"), ("ZMPOP", 5, "z", "MIN"), ("ZMPOP", 1, "z", "MIDDLE"),
        ("ZMPOP", 1, "z", "MIN", "COUNT"), ("ZMPOP", 1, "z", "MIN", "COUNT", 0), ("ZMPOP", 1, "z", "MIN", "COUNT", "x"),
        ("ZMPOP", 1, "z", "MIN", "COUNT", 1, "COUNT", 1), ("ZMPOP", 1, "z", "MIN", "foo"), ("ZMPOP", 1, "z"),
        ("ZMPOP", 1, "z", "MIN", "COUNT", 10), ("EXISTS", "z"), ("ZMPOP", 1, "z", "MIN"),
    ])


def test_blocking_pops_that_need_not_block(zsets):
    zsets.check("ZADD", "z", 4, "f", 5, "g", 6, "h", 7, "i")
    zsets.check_sequence([
        ("BZPOPMIN", "nokey", "z", 0), ("BZPOPMAX", "z", "nokey", 0), ("BZPOPMIN", "nokey", "s", "z", 0),
        ("BZPOPMIN", "z", "s", 0), ("BZMPOP", 0, 1, "z", "MAX", "COUNT", 2), ("BZMPOP", 0, 2, "nokey", "z", "MIN"),
        ("BZPOPMIN", "z", "x"), ("BZPOPMIN", "z", -1), ("BZPOPMIN", "z", "inf"), ("BZPOPMIN", "z", "1e16"),
        ("BZPOPMIN", "z", "nan"), ("BZPOPMIN", "z", " 1"), ("BZPOPMIN", "z"), ("BZMPOP", "x", 1, "z", "MIN"),
        ("BZMPOP", 0, 0, "z", "MIN"), ("BZMPOP", 0, 1, "z", "MIN", "COUNT", 0), ("BZMPOP", -1, 1, "z", "MIN"),
        ("BZMPOP", 0, 1, "z", "MID"), ("BZMPOP", 0, 1, "z"), ("BZPOPMIN", "s", 0), ("BZMPOP", 0, 1, "s", "MIN"),
        ("MULTI",), ("BZPOPMIN", "nokey", 0), ("BZMPOP", 0, 1, "nokey", "MIN"), ("EXEC",),
        ("BZPOPMIN", "nokey", "0.01"), ("BZPOPMAX", "nokey", "0.0001"), ("BZMPOP", "0.01", 1, "nokey", "MAX"),
        ("ZRANGE", "z", 0, -1, "WITHSCORES"),
    ])


# ------------------------------------------------------------------ union, intersection, difference


def _setop_inputs(pair):
    pair.check_sequence([
        ("ZADD", "z1", 1, "a", 2, "b", 3, "c", "inf", "i"), ("ZADD", "z2", 10, "b", 20, "c", 30, "d", "-inf", "i"),
        ("ZADD", "z3", "0.1", "c", "0.2", "b", "0.7", "x"), ("SADD", "s1", "a", "b", "x", "5", "-3"),
    ])


SETOP_KEYS = [(1, "z1"), (2, "z1", "z2"), (3, "z1", "z2", "z3"), (2, "z1", "s1"), (3, "s1", "nokey", "z1"),
              (2, "z2", "z2"), (2, "nokey", "z1"), (1, "s1"), (3, "z3", "z1", "s1")]


def test_zunion_zinter_zdiff_and_their_stores(zsets):
    _setop_inputs(zsets)
    for keys in SETOP_KEYS:
        weights = ("WEIGHTS", *["2", "-0.5", "0"][:keys[0]])
        for options in ((), weights, ("AGGREGATE", "MIN"), ("aggregate", "max", *weights), (*weights, "AGGREGATE",
                                                                                            "SUM")):
            for command in ("ZUNION", "ZINTER"):
                zsets.check(command, *keys, *options, "WITHSCORES")
                zsets.check(command + "STORE", "dst", *keys, *options)
                zsets.check("ZRANGE", "dst", 0, -1, "WITHSCORES")
        zsets.check("ZDIFF", *keys)
        zsets.check("ZDIFF", *keys, "WITHSCORES")
        zsets.check("ZDIFFSTORE", "dst", *keys)
        zsets.check("ZRANGE", "dst", 0, -1, "WITHSCORES")
        zsets.check("ZINTERCARD", *keys)
        zsets.check("ZINTERCARD", *keys, "LIMIT", 1)
        zsets.check("ZINTERCARD", *keys, "LIMIT", 0)


def test_set_operation_errors(zsets):
    _setop_inputs(zsets)
    zsets.check_sequence([
        ("ZUNION", 0, "z1"), ("ZINTER", -1, "z1"), ("ZDIFF", 0, "z1"), ("ZUNION", "x", "z1"), ("ZUNION", 3, "z1"),
        ("ZUNIONSTORE", "dst", 0, "z1"), ("ZINTERSTORE", "dst", 2, "z1"), ("ZDIFFSTORE", "dst", 0, "z1"),
        ("ZINTERCARD", 0, "z1"), ("ZINTERCARD", "x", "z1"), ("ZINTERCARD", 2, "z1"),
        ("ZUNION", 2, "s", "nokey", "WEIGHTS", "x"), ("ZUNION", 1, "z1", "WEIGHTS", "x"), ("ZUNION", 1, "z1", "WEIGHTS"),
        ("ZUNION", 2, "z1", "z2", "WEIGHTS", 1), ("ZUNION", 1, "z1", "WEIGHTS", "nan"), ("ZUNION", 1, "z1", "WEIGHTS",
                                                                                         "inf", "WITHSCORES"),
        ("ZUNION", 1, "z1", "AGGREGATE", "avg"), ("ZUNION", 1, "z1", "AGGREGATE"), ("ZUNION", 1, "z1", "foo"),
        ("ZUNION", 1, "z1", "WITHSCORES", "WITHSCORES"), ("ZUNIONSTORE", "dst", 1, "z1", "WITHSCORES"),
        ("ZDIFF", 1, "z1", "WEIGHTS", 1), ("ZDIFF", 1, "z1", "AGGREGATE", "MIN"), ("ZDIFFSTORE", "d", 1, "z1", "x"),
        ("ZINTERCARD", 1, "z1", "WITHSCORES"), ("ZINTERCARD", 1, "z1", "LIMIT", -1), ("ZINTERCARD", 1, "z1", "LIMIT",
                                                                                     "x"),
        ("ZINTERCARD", 1, "z1", "LIMIT"), ("ZINTERCARD", 1, "z1", "LIMIT", 5, "LIMIT", 0), ("ZINTERCARD", 1, "z1",
                                                                                            "WEIGHTS", 1),
        ("ZINTER", 2, "z1", "s"), ("ZINTERSTORE", "dst", 2, "s", "z1"), ("ZDIFF", 2, "z1", "s"),
        ("ZINTERCARD", 2, "s", "z1"), ("SET", "dst", "x"), ("EXPIRE", "dst", 100),
        ("ZUNIONSTORE", "dst", 1, "z1"), ("TTL", "dst"), ("TYPE", "dst"), ("ZINTERSTORE", "dst", 2, "z1", "nokey"),
        ("EXISTS", "dst"), ("ZUNIONSTORE", "z1", 2, "z1", "z2"), ("ZRANGE", "z1", 0, -1, "WITHSCORES"),
        ("ZUNION",), ("ZUNIONSTORE", "dst", 1), ("ZINTERCARD", 1),
    ])


def test_infinities_and_nan_in_aggregates(zsets):
    zsets.check_sequence([
        ("ZADD", "p", "inf", "m", 1, "n"), ("ZADD", "q", "-inf", "m", "-inf", "n"),
        ("ZUNION", 2, "p", "q", "WITHSCORES"), ("ZINTER", 2, "p", "q", "WITHSCORES"),
        ("ZUNION", 2, "p", "q", "WEIGHTS", 0, 1, "WITHSCORES"), ("ZINTER", 2, "p", "q", "WEIGHTS", 0, 0, "WITHSCORES"),
        ("ZINTER", 2, "p", "q", "WEIGHTS", 0, 1, "AGGREGATE", "MIN", "WITHSCORES"),
        ("ZINTER", 2, "p", "q", "WEIGHTS", 1, 0, "AGGREGATE", "MAX", "WITHSCORES"),
        ("ZUNION", 2, "p", "q", "WEIGHTS", "1e308", "1e308", "WITHSCORES"),
        ("ZUNION", 2, "p", "p", "WEIGHTS", "0x10", "-inf", "WITHSCORES"),
    ])


# ------------------------------------------------------------------ random members and scans


def test_zrandmember(zsets):
    zsets.check_sequence([("ZRANDMEMBER", "nokey"), ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "z", 1, 2, 3)])
    for args in [(0,), (5,), (6,), (100,), ("5", "WITHSCORES"), ("100", "withscores"), (-3,),
                 ("x",), ("5", "WITHSCORE"), ("5", "WITHSCORES", "x"), ("x", "WITHSCORES", "x"),
                 ("-9223372036854775808",), ("5000000000000000000", "WITHSCORES"), ("-1",)]:
        for key in ("z", "nokey", "s"):
            random_order = key == "z" and str(args[0]).startswith("-") and args[0] != "-9223372036854775808"
            zsets.check("ZRANDMEMBER", key, *args, normalise=shape if random_order else None)
    zsets.check("ZRANDMEMBER", "z", 3, normalise=shape)
    zsets.check("ZRANDMEMBER", "z", 3, "WITHSCORES", normalise=shape)
    zsets.check("ZRANDMEMBER", "z", -8, "WITHSCORES", normalise=shape)
    zsets.check("ZRANDMEMBER", "z", normalise=shape)
    members = [b"a", b"b", b"c", b"d", b"e"]
    for count in (-20, 3, 4):
        items = top_level_items(zsets.ours.call("ZRANDMEMBER", "z", count))
        assert len(items) == abs(count)
        assert all(re.sub(rb"^\$\d+\r\n|\r\n$", b"", item) in members for item in items)
        if count > 0:
            assert len(set(items)) == count


def test_zscan_of_a_listpack_is_exact(zsets):
    zsets.check_sequence([
        ("ZSCAN", "z", 0), ("ZSCAN", "z", 0, "COUNT", 1), ("ZSCAN", "z", 0, "MATCH", "[a-c]"), ("ZSCAN", "z", "abc"),
        ("ZSCAN", "z", 0, "COUNT", 0), ("ZSCAN", "z", 0, "COUNT", "x"), ("ZSCAN", "z", 0, "MATCH"),
        ("ZSCAN", "z", 0, "TYPE", "zset"), ("ZSCAN", "z", 0, "foo", "bar"), ("ZSCAN", "nokey", 0, "COUNT", 0),
        ("ZSCAN", "s", 0), ("ZSCAN", "s", "x"), ("ZSCAN", "nokey", "x"), ("ZSCAN", "z"), ("ZSCAN", "z", "-1"),
    ])


def test_zscan_of_a_skiplist_returns_every_member(pair):
    for start in range(0, 300, 100):
        pair.check("ZADD", "big", *[item for n in range(start, start + 100) for item in (str(n / 4), "m%d" % n)])
    pair.check("OBJECT", "ENCODING", "big")
    for client in (pair.ours, pair.redis):
        cursor, seen = b"0", {}
        while True:
            items = top_level_items(client.call("ZSCAN", "big", cursor, "COUNT", 7, "MATCH", "m1*"))
            cursor = re.sub(rb"^\$\d+\r\n|\r\n$", b"", items[0])
            pairs = top_level_items(items[1])
            seen.update(zip(pairs[::2], pairs[1::2]))
            if cursor == b"0":
                break
        assert len(seen) == 111
        assert seen[b"$4\r\nm101\r\n"] == b"$5\r\n25.25\r\n"


# ------------------------------------------------------------------ types and encodings


def test_wrong_type_for_every_command(zsets):
    for command in [("ZADD", "s", 1, "a"), ("ZINCRBY", "s", 1, "a"), ("ZREM", "s", "a"), ("ZSCORE", "s", "a"),
                    ("ZMSCORE", "s", "a"), ("ZCARD", "s"), ("ZCOUNT", "s", 0, 1), ("ZLEXCOUNT", "s", "-", "+"),
                    ("ZRANK", "s", "a"), ("ZREVRANK", "s", "a"), ("ZRANGE", "s", 0, 1), ("ZRANGESTORE", "d", "s", 0, 1),
                    ("ZRANGEBYSCORE", "s", 0, 1), ("ZREVRANGEBYSCORE", "s", 1, 0), ("ZRANGEBYLEX", "s", "-", "+"),
                    ("ZREVRANGEBYLEX", "s", "+", "-"), ("ZREVRANGE", "s", 0, 1), ("ZREMRANGEBYRANK", "s", 0, 1),
                    ("ZREMRANGEBYSCORE", "s", 0, 1), ("ZREMRANGEBYLEX", "s", "-", "+"), ("ZPOPMIN", "s"),
                    ("ZPOPMAX", "s", 2), ("BZPOPMIN", "s", 0), ("BZPOPMAX", "s", 0), ("ZMPOP", 1, "s", "MIN"),
                    ("BZMPOP", 0, 1, "s", "MIN"), ("ZUNIONSTORE", "d", 1, "s"), ("ZINTERSTORE", "d", 1, "s"),
                    ("ZDIFFSTORE", "d", 1, "s"), ("ZUNION", 1, "s"), ("ZINTER", 1, "s"), ("ZDIFF", 1, "s"),
                    ("ZINTERCARD", 1, "s"), ("ZRANDMEMBER", "s"), ("ZRANDMEMBER", "s", 1), ("ZSCAN", "s", 0),
                    ("ZRANGE", "set", 0, 1), ("ZADD", "set", 1, "a")]:
        assert zsets.check(*command) == WRONGTYPE


def test_strings_and_sets_see_a_sorted_set_as_the_wrong_type(zsets):
    zsets.check_sequence([("GET", "z"), ("SADD", "z", "a"), ("SMEMBERS", "z"), ("LPUSH", "z", "a"), ("TYPE", "z"),
                          ("OBJECT", "ENCODING", "z"), ("SUNION", "z")])


@pytest.fixture
def small_limits(pair):
    """zset-max-listpack-entries 4 and -value 8 on both servers, the defaults back afterwards."""
    for client in (pair.ours, pair.redis):
        assert client.call("CONFIG", "SET", "zset-max-listpack-entries", 4, "zset-max-listpack-value", 8) == b"+OK\r\n"
    try:
        yield pair
    finally:
        for client in (pair.ours, pair.redis):
            client.call("CONFIG", "SET", "zset-max-listpack-entries", 128, "zset-max-listpack-value", 64)


def test_encoding_turns_to_skiplist_for_good(small_limits):
    pair = small_limits
    pair.check_sequence([
        ("ZADD", "z", 1, "a", 2, "b", 3, "c", 4, "d"), ("OBJECT", "ENCODING", "z"), ("ZADD", "z", 5, "e"),
        ("OBJECT", "ENCODING", "z"), ("ZREM", "z", "a", "b", "c", "d"), ("OBJECT", "ENCODING", "z"),
        ("ZADD", "long", 1, "123456789"), ("OBJECT", "ENCODING", "long"), ("ZADD", "eight", 1, "12345678"),
        ("OBJECT", "ENCODING", "eight"), ("ZADD", "eight", 2, "x", 3, "123456789"), ("OBJECT", "ENCODING", "eight"),
        ("ZADD", "upd", 1, "a", 2, "b", 3, "c", 4, "d"), ("ZADD", "upd", "XX", 5, "a", 6, "e"),
        ("OBJECT", "ENCODING", "upd"), ("ZINCRBY", "upd", 1, "f"), ("OBJECT", "ENCODING", "upd"),
        ("ZADD", "s5", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e"), ("OBJECT", "ENCODING", "s5"),
        ("ZRANGESTORE", "d", "s5", 0, 3), ("OBJECT", "ENCODING", "d"), ("ZRANGESTORE", "d", "s5", 0, -1),
        ("OBJECT", "ENCODING", "d"), ("ZRANGESTORE", "d", "s5", "-inf", "3", "BYSCORE"), ("OBJECT", "ENCODING", "d"),
        ("ZUNIONSTORE", "u", 1, "s5"), ("OBJECT", "ENCODING", "u"), ("ZINTERSTORE", "u", 2, "s5", "upd"),
        ("OBJECT", "ENCODING", "u"), ("ZDIFFSTORE", "u", 2, "s5", "upd"), ("OBJECT", "ENCODING", "u"),
        ("ZUNIONSTORE", "u", 2, "long", "upd"), ("OBJECT", "ENCODING", "u"), ("ZINTERSTORE", "u", 1, "long"),
        ("OBJECT", "ENCODING", "u"), ("COPY", "s5", "c5"), ("OBJECT", "ENCODING", "c5"), ("ZRANGE", "c5", 0, -1),
        ("ZPOPMIN", "s5", 4), ("OBJECT", "ENCODING", "s5"),
    ])
    for client in (pair.ours, pair.redis):
        assert client.call("CONFIG", "SET", "zset-max-listpack-entries", 0) == b"+OK\r\n"
    pair.check_sequence([("ZADD", "zero", 1, "a"), ("OBJECT", "ENCODING", "zero"), ("ZUNIONSTORE", "u", 1, "zero"),
                         ("OBJECT", "ENCODING", "u"), ("ZRANGESTORE", "d", "zero", 0, -1), ("OBJECT", "ENCODING", "d")])


def test_lowering_the_limits_converts_on_the_next_add(pair):
    pair.check_sequence([("ZADD", "z", *[item for n in range(10) for item in (n, "m%d" % n)]),
                         ("OBJECT", "ENCODING", "z")])
    for client in (pair.ours, pair.redis):
        client.call("CONFIG", "SET", "zset-max-listpack-entries", 5)
    try:
        pair.check_sequence([("ZADD", "z", 100, "m0"), ("OBJECT", "ENCODING", "z"), ("ZADD", "z", 1, "new"),
                             ("OBJECT", "ENCODING", "z")])
    finally:
        for client in (pair.ours, pair.redis):
            client.call("CONFIG", "SET", "zset-max-listpack-entries", 128)


def test_big_sets_answer_as_redis_does(pair):
    """Past the listpack limits the skiplist paths run: every read command over 500 members."""
    members = [item for n in range(500) for item in (n % 50, "m%03d" % n)]
    pair.check_sequence([("ZADD", "big", *members), ("OBJECT", "ENCODING", "big"), ("ZCARD", "big"),
                         ("ZADD", "lexbig", *[item for n in range(300) for item in (0, "%03d" % n)])])
    pair.check_sequence([
        ("ZRANGE", "big", 100, 120, "WITHSCORES"), ("ZRANGE", "big", -30, -1, "REV"), ("ZRANK", "big", "m123"),
        ("ZREVRANK", "big", "m123"), ("ZCOUNT", "big", "(10", 20), ("ZRANGEBYSCORE", "big", 7, "(8", "LIMIT", 3, 4),
        ("ZREVRANGEBYSCORE", "big", 40, "(39", "WITHSCORES", "LIMIT", 2, 3), ("ZLEXCOUNT", "lexbig", "[050", "(100"),
        ("ZRANGEBYLEX", "lexbig", "(250", "+", "LIMIT", 10, 5), ("ZREVRANGEBYLEX", "lexbig", "[100", "-", "LIMIT", 0, 4),
        ("ZREMRANGEBYLEX", "lexbig", "[100", "[199"), ("ZCARD", "lexbig"), ("ZREMRANGEBYSCORE", "big", 10, 19),
        ("ZREMRANGEBYRANK", "big", 0, 9), ("ZRANGE", "big", 0, 12, "WITHSCORES"), ("ZPOPMAX", "big", 3),
        ("ZUNIONSTORE", "u", 2, "big", "lexbig", "WEIGHTS", 2, 3), ("ZRANGE", "u", 95, 110, "WITHSCORES"),
        ("OBJECT", "ENCODING", "u"), ("ZINTERCARD", 2, "big", "u", "LIMIT", 50),
    ])


# ------------------------------------------------------------------ blocking, with concurrent clients


def test_bzpopmin_is_woken_by_another_clients_zadd(clients):
    waiter = clients.block("BZPOPMIN", "k", 0)
    assert clients.control.call("ZADD", "k", 2, "b", 1, "a") == b":2\r\n"
    assert waiter.read_reply() == b"*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert clients.control.call("ZRANGE", "k", 0, -1) == b"*1\r\n$1\r\nb\r\n"
    assert clients.blocked() == 0


def test_waiters_are_served_in_arrival_order(clients):
    first = clients.block("BZPOPMAX", "k", 0)
    second = clients.block("BZPOPMIN", "other", "k", 0)
    third = clients.block("BZMPOP", 0, 1, "k", "MIN", "COUNT", 5)
    fourth = clients.block("BZPOPMIN", "k", 0)
    assert clients.control.call("ZADD", "k", 1, "a", 2, "b", 3, "c", "4.5", "d") == b":4\r\n"
    assert first.read_reply() == b"*3\r\n$1\r\nk\r\n$1\r\nd\r\n$3\r\n4.5\r\n"
    assert second.read_reply() == b"*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert third.read_reply() == b"*2\r\n$1\r\nk\r\n*2\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    assert clients.control.call("EXISTS", "k") == b":0\r\n"
    assert clients.blocked() == 1
    assert clients.control.call("ZINCRBY", "k", "-inf", "z") == b"$4\r\n-inf\r\n"
    assert fourth.read_reply() == b"*3\r\n$1\r\nk\r\n$1\r\nz\r\n$4\r\n-inf\r\n"


def test_waiter_is_served_before_the_writers_next_command(clients):
    waiter = clients.block("BZPOPMIN", "k", 0)
    clients.control.send_raw(encode_command(("ZADD", "k", 1, "a")) + encode_command(("ZCARD", "k")))
    assert clients.control.read_replies(2) == [b":1\r\n", b":0\r\n"]
    assert waiter.read_reply() == b"*3\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n1\r\n"


def test_stores_wake_waiters_and_other_types_do_not(clients):
    waiter = clients.block("BZPOPMIN", "dst", 0, resp3=True)
    control = clients.control.call
    assert control("SET", "dst", "string") == b"+OK\r\n"
    assert control("LPUSH", "other", "x") == b":1\r\n"
    assert clients.blocked() == 1
    assert control("ZADD", "src", 5, "m", 6, "n") == b":2\r\n"
    assert control("ZUNIONSTORE", "dst", 1, "src") == b":2\r\n"
    assert clients.blocked() == 1  # Redis 7.0 wakes waiters for a key it adds, not for one it overwrites
    assert control("DEL", "dst") == b":1\r\n"
    assert control("ZUNIONSTORE", "dst", 1, "src") == b":2\r\n"
    assert waiter.read_reply() == b"*3\r\n$3\r\ndst\r\n$1\r\nm\r\n,5\r\n"
    mpop = clients.block("BZMPOP", 0, 2, "nokey", "dst2", "MAX", "COUNT", 9, resp3=True)
    assert control("ZRANGESTORE", "dst2", "src", 0, -1) == b":2\r\n"
    assert mpop.read_reply() == b"*2\r\n$4\r\ndst2\r\n*2\r\n*2\r\n$1\r\nn\r\n,6\r\n*2\r\n$1\r\nm\r\n,5\r\n"


def test_timeouts_reply_nil(clients):
    waiter = clients.connect()
    started = time.monotonic()
    assert waiter.call("BZPOPMIN", "k", "0.1") == NIL_ARRAY
    assert waiter.call("BZMPOP", "0.05", 2, "k", "j", "MIN") == NIL_ARRAY
    assert time.monotonic() - started >= 0.14
    assert waiter.call("HELLO", "3")[:1] == b"%"
    assert waiter.call("BZPOPMAX", "k", "0.05") == b"_\r\n"
    assert waiter.call("BZMPOP", "0.05", 1, "k", "MAX") == b"_\r\n"
    assert clients.blocked() == 0


def test_a_blocked_client_on_several_keys_takes_one_element_once(clients):
    twice = clients.block("BZPOPMAX", "a", "a", 0)
    assert clients.control.call("ZADD", "a", 1, "x", 2, "y") == b":2\r\n"
    assert twice.read_reply() == b"*3\r\n$1\r\na\r\n$1\r\ny\r\n$1\r\n2\r\n"
    assert clients.control.call("ZPOPMIN", "a") == b"*2\r\n$1\r\nx\r\n$1\r\n1\r\n"
    waiter = clients.block("BZPOPMIN", "a", "b", "a", 0)
    clients.control.send_raw(b"".join(encode_command(command) for command in (
        ("MULTI",), ("ZADD", "b", 1, "x"), ("ZADD", "a", 2, "y"), ("EXEC",))))
    assert clients.control.read_replies(4)[-1] == b"*2\r\n:1\r\n:1\r\n"
    assert waiter.read_reply() == b"*3\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\n1\r\n"
    assert clients.control.call("ZRANGE", "a", 0, -1) == b"*1\r\n$1\r\ny\r\n"


# ------------------------------------------------------------------ random sequences


KEY = st.sampled_from(["z1", "z2", "z3", "str", "set", "nokey"])
MEMBER = st.sampled_from(["a", "b", "c", "d", "e", "", "ab"])
SCORE = st.sampled_from(["0", "1", "2", "-1", "2.5", "inf", "-inf", "10", "x", "(1"])
BOUND = st.sampled_from(["-inf", "+inf", "0", "1", "(1", "2", "(2.5", "x"])
LEX = st.sampled_from(["-", "+", "[a", "(a", "[b", "(c", "[", "x"])
INDEX = st.sampled_from(["0", "1", "-1", "2", "-3", "10", "x"])
ZADD_OPTIONS = st.lists(st.sampled_from(["NX", "XX", "GT", "LT", "CH", "INCR"]), max_size=2, unique=True)
PAIRS = st.lists(st.tuples(SCORE, MEMBER), min_size=1, max_size=3).map(lambda pairs: [x for p in pairs for x in p])
NUMKEYS = st.lists(KEY, min_size=1, max_size=3).map(lambda keys: [str(len(keys)), *keys])
RANGE_OPTIONS = st.lists(st.sampled_from(["WITHSCORES", "REV", "BYSCORE", "BYLEX", "LIMIT 1 2", "LIMIT 0 -1"]),
                         max_size=2, unique=True).map(lambda words: " ".join(words).split())
SETOP_OPTIONS = st.lists(st.sampled_from(["WITHSCORES", "AGGREGATE MIN", "AGGREGATE MAX", "WEIGHTS 2",
                                          "WEIGHTS 1 -1"]), max_size=2).map(lambda words: " ".join(words).split())

ZSET_COMMANDS = st.one_of(
    st.tuples(st.just("ZADD"), KEY, ZADD_OPTIONS, PAIRS),
    st.tuples(st.just("ZINCRBY"), KEY, SCORE, MEMBER),
    st.tuples(st.just("ZREM"), KEY, st.lists(MEMBER, min_size=1, max_size=3)),
    st.tuples(st.sampled_from(["ZSCORE", "ZRANK", "ZREVRANK"]), KEY, MEMBER),
    st.tuples(st.just("ZMSCORE"), KEY, st.lists(MEMBER, min_size=1, max_size=3)),
    st.tuples(st.just("ZCARD"), KEY),
    st.tuples(st.sampled_from(["ZCOUNT", "ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZREMRANGEBYSCORE"]), KEY, BOUND, BOUND),
    st.tuples(st.sampled_from(["ZLEXCOUNT", "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZREMRANGEBYLEX"]), KEY, LEX, LEX),
    st.tuples(st.sampled_from(["ZREVRANGE", "ZREMRANGEBYRANK"]), KEY, INDEX, INDEX),
    st.tuples(st.just("ZRANGE"), KEY, INDEX | BOUND | LEX, INDEX | BOUND | LEX, RANGE_OPTIONS),
    st.tuples(st.just("ZRANGESTORE"), KEY, KEY, INDEX | BOUND, INDEX | BOUND, RANGE_OPTIONS),
    st.tuples(st.sampled_from(["ZPOPMIN", "ZPOPMAX"]), KEY, st.lists(INDEX, max_size=1)),
    st.tuples(st.just("ZMPOP"), NUMKEYS, st.sampled_from(["MIN", "MAX"]), st.sampled_from([[], ["COUNT", "2"]])),
    st.tuples(st.sampled_from(["ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD"]), NUMKEYS, SETOP_OPTIONS),
    st.tuples(st.sampled_from(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), KEY, NUMKEYS, SETOP_OPTIONS),
    st.tuples(st.just("DEL"), KEY),
).map(lambda parts: tuple(item for part in parts for item in ([part] if isinstance(part, str) else part)))


@settings(max_examples=EXAMPLES, deadline=None)
@given(commands=st.lists(ZSET_COMMANDS, min_size=1, max_size=20), resp3=st.booleans())
def test_random_zset_sequences(server, real_redis, commands, resp3):
    with Pair(server.port, real_redis.port) as pair:
        pair.check_sequence([("FLUSHALL",), ("SET", "str", "v"), ("SADD", "set", "a", "x"),
                             ("ZADD", "z1", 1, "a", 2, "b", 2, "c")])
        if resp3:
            pair.check("HELLO", "3", normalise=mask_client_id)
        pair.check_sequence(commands)
        pair.check_sequence([("ZRANGE", key, 0, -1, "WITHSCORES") for key in ("z1", "z2", "z3")]
                            + [("OBJECT", "ENCODING", key) for key in ("z1", "z2", "z3")])
