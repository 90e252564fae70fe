"""Streams against real Redis 7.0.15: every command's replies and errors (RESP2 and RESP3), the node
layout that trimming and XINFO show, blocking reads with several clients, and the AOF Redis writes.

IDs are given explicitly wherever a reply shows them (an auto ID reads the clock); idle times that
the two servers cannot share are left at 0 or set with TIME. Random inputs are seeded and bounded.
"""
import random
import re
import time

import pytest
import redis

from conftest import aof_file, start_ours, start_real_redis
from differential import BlockingClients, WireClient, encode_command, mask_client_id

BASICS = [
    ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "0-0", "a", "1"),
    ("XADD", "s", "1", "a", "1"), ("XADD", "s", "1-*", "b", "2"), ("XADD", "s", "2-*", "b", "2", "c", "3"),
    ("XADD", "s", "5-5", "a"), ("XADD", "s", "abc", "a", "1"), ("XADD", "s", "-1", "a", "1"),
    ("XADD", "s", " 7", "a", "1"), ("XADD", "s", "+8-0", "a", "1"), ("XADD", "s", "9-x", "a", "1"),
    ("XADD", "s", "MAXLEN", "-1", "10-0", "a", "1"), ("XADD", "s", "MAXLEN", "abc", "10-0", "a", "1"),
    ("XADD", "s", "MAXLEN", "5", "MINID", "1", "10-0", "a", "1"), ("XADD", "s", "LIMIT", "5", "10-0", "a", "1"),
    ("XADD", "s", "MAXLEN", "5", "LIMIT", "5", "10-0", "a", "1"),
    ("XADD", "s", "MAXLEN", "=", "5", "LIMIT", "5", "10-0", "a", "1"),
    ("XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-5", "10-0", "a", "1"),
    ("XADD", "s", "MAXLEN", "~", "5", "LIMIT", "5", "10-0", "a", "1"),
    ("XADD", "s", "MAXLEN", "=", "3", "11-0", "a", "1"), ("XADD", "s", "MINID", "-", "12-0", "a", "1"),
    ("XADD", "s", "12-18446744073709551615", "a", "1"), ("XADD", "s", "12-*", "a", "1"),
    ("XADD", "s", "18446744073709551616-0", "a", "1"), ("XADD", "s", "-0-1", "x", "y"),
    ("XLEN", "s"), ("XRANGE", "s", "-", "+"), ("XREVRANGE", "s", "+", "-"),
    ("XRANGE", "s", "-", "+", "COUNT", "2"), ("XRANGE", "s", "-", "+", "COUNT", "0"),
    ("XRANGE", "s", "-", "+", "COUNT", "-1"), ("XRANGE", "s", "-", "+", "COUNT"), ("XRANGE", "s", "-", "+", "FOO", "1"),
    ("XRANGE", "s", "(1-1", "+"), ("XRANGE", "s", "(9-0", "(11-0"), ("XRANGE", "s", "(", "+"),
    ("XRANGE", "s", "(-", "+"), ("XRANGE", "s", "18446744073709551615-18446744073709551615", "+"),
    ("XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"), ("XRANGE", "s", "-", "(0-0"),
    ("XRANGE", "s", "5", "5"), ("XRANGE", "nokey", "-", "+"), ("XREVRANGE", "s", "+", "-", "COUNT", "1"),
    ("XREVRANGE", "s", "(11-0", "(1-1"), ("XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "3"),
    ("XADD", "n", "NOMKSTREAM", "*", "a", "1"), ("EXISTS", "n"), ("XADD", "n", "NOMKSTREAM", "MAXLEN", "1", "1-1", "a"),
    ("XDEL", "s", "10-0", "999-0"), ("XDEL", "s", "bad"), ("XDEL", "s", "1-1", "bad"), ("XDEL", "nokey", "1-1"),
    ("XLEN", "s"), ("XINFO", "STREAM", "s"),
    ("XTRIM", "s", "MAXLEN", "1"), ("XTRIM", "s"), ("XTRIM", "s", "MINID", "1", "LIMIT", "3"), ("XTRIM", "s", "FOO"),
    ("XTRIM", "nokey", "MAXLEN", "1"), ("XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "0"),
    ("XINFO", "STREAM", "s"), ("XINFO", "STREAM", "s", "FULL"), ("XINFO", "STREAM", "nokey"),
    ("XINFO", "STREAM", "s", "FULL", "COUNT", "1"), ("XINFO", "STREAM", "s", "FULL", "COUNT"),
    ("XINFO", "STREAM", "s", "FOO"), ("XINFO", "STREAM", "s", "FULL", "COUNT", "-3"),
    ("SET", "str", "x"), ("XADD", "str", "1-1", "a", "1"), ("XRANGE", "str", "-", "+"), ("XLEN", "str"),
    ("XDEL", "str", "bad"), ("XTRIM", "str", "MAXLEN", "1"), ("XINFO", "STREAM", "str"), ("XSETID", "str", "1-1"),
    ("TYPE", "s"), ("OBJECT", "ENCODING", "s"),
    ("XSETID", "s", "100-0"), ("XSETID", "s", "100-0", "ENTRIESADDED", "50", "MAXDELETEDID", "99-0"),
    ("XINFO", "STREAM", "s"), ("XSETID", "s", "1-0"), ("XSETID", "s", "200-0", "FOO", "1"),
    ("XSETID", "s", "200-0", "ENTRIESADDED"), ("XSETID", "s", "200-0", "ENTRIESADDED", "-1"),
    ("XSETID", "s", "200-0", "ENTRIESADDED", "0"), ("XSETID", "s", "200-0", "MAXDELETEDID", "300-0"),
    ("XSETID", "nokey", "1-1"), ("XSETID", "s", "bad"),
    ("XADD", "e", "MAXLEN", "0", "1-1", "a", "1"), ("XINFO", "STREAM", "e"), ("XSETID", "e", "0-5"),
    ("XADD", "x", "18446744073709551615-18446744073709551615", "a", "1"), ("XADD", "x", "*", "a", "1"),
    ("XADD", "s"), ("XADD", "s", "*"), ("XADD", "s", "*", "a"), ("XRANGE", "s", "-"), ("XLEN",), ("XDEL", "s"),
]

GROUPS = [
    ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"),
    ("XGROUP", "CREATE", "s", "g", "0", "MKSTREAM"), ("XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "5"),
    ("XGROUP", "CREATE", "s", "g3", "$", "ENTRIESREAD", "-2"), ("XGROUP", "CREATE", "s", "g3", "$", "FOO"),
    ("XGROUP", "CREATE", "s", "g3", "$", "MKSTREAM", "ENTRIESREAD", "1", "X"), ("XGROUP", "CREATE", "s", "g3", "bad"),
    ("XGROUP", "FOO", "s", "g"), ("XGROUP", "DESTROY", "nokey", "g"), ("XGROUP", "DESTROY", "s", "nog"),
    ("XGROUP", "SETID", "s", "nog", "0"), ("XGROUP", "SETID", "nokey", "g", "0"),
    ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
    ("XGROUP", "CREATECONSUMER", "s", "nog", "c1"), ("XGROUP", "DELCONSUMER", "s", "g", "c9"),
    ("XGROUP", "HELP"), ("XINFO", "HELP"), ("XGROUP",), ("XINFO",), ("XGROUP", "CREATE", "s"),
    ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "2-1", "a", "2"), ("XADD", "s", "3-1", "b", "3"),
    ("XADD", "s", "4-1", "a", "4", "b", "5"), ("XINFO", "GROUPS", "s"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"), ("XINFO", "GROUPS", "s"),
    ("XPENDING", "s", "g"), ("XPENDING", "s", "g", "-", "+", "10"), ("XPENDING", "s", "g", "-", "+", "10", "c1"),
    ("XPENDING", "s", "g", "-", "+", "10", "c2"), ("XPENDING", "s", "g", "IDLE", "0", "-", "+", "10"),
    ("XPENDING", "s", "g", "IDLE", "x", "-", "+", "10"), ("XPENDING", "s", "g", "IDLE", "0", "-", "+"),
    ("XPENDING", "s", "g", "-", "+"), ("XPENDING", "s", "g", "-", "+", "x"), ("XPENDING", "s", "nog"),
    ("XPENDING", "nokey", "g"), ("XPENDING", "s", "g", "(1-1", "(2-1", "5"), ("XPENDING", "s", "g", "-", "+", "-1"),
    ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"), ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "$"), ("XREADGROUP", "GROUP", "nog", "c1", "STREAMS", "s", ">"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s"), ("XREADGROUP", "STREAMS", "s", ">"),
    ("XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"), ("XREAD", "NOACK", "STREAMS", "s", "0"),
    ("XREAD", "STREAMS", "s", ">"), ("XREAD", "STREAMS", "s", "0"), ("XREAD", "COUNT", "1", "STREAMS", "s", "0"),
    ("XREAD", "STREAMS", "s", "$"), ("XREAD", "STREAMS", "s", "nokey", "0", "0"), ("XREAD", "STREAMS", "s", "9-9"),
    ("XREAD", "COUNT", "1", "STREAMS"), ("XREAD", "BLOCK", "x", "STREAMS", "s", "0"),
    ("XREAD", "BLOCK", "-1", "STREAMS", "s", "0"), ("XREAD", "FOO", "STREAMS", "s", "0"),
    ("XACK", "s", "g", "1-1", "9-9"), ("XACK", "s", "g", "1-1"), ("XACK", "s", "g", "bad"), ("XACK", "s", "nog", "1-1"),
    ("XINFO", "GROUPS", "s"), ("XDEL", "s", "3-1"), ("XINFO", "GROUPS", "s"),
    ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0"), ("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "0"),
    ("XINFO", "GROUPS", "s"), ("XREADGROUP", "GROUP", "g", "c3", "NOACK", "STREAMS", "s", ">"),
    ("XINFO", "GROUPS", "s"), ("XPENDING", "s", "g"), ("XCLAIM", "s", "g", "c9", "0", "2-1", "JUSTID"),
    ("XCLAIM", "s", "g", "c9", "0", "2-1", "3-1", "4-1", "JUSTID", "RETRYCOUNT", "7", "TIME", "100"),
    ("XCLAIM", "s", "g", "c9", "0", "2-1", "FOO"),
    ("XCLAIM", "s", "g", "c9", "0", "4-1", "FORCE", "JUSTID", "LASTID", "10-0"),
    ("XINFO", "GROUPS", "s"), ("XPENDING", "s", "g", "-", "+", "10", "c9"), ("XCLAIM", "s", "nog", "c", "0", "1-1"),
    ("XCLAIM", "nokey", "g", "c", "0", "1-1"), ("XCLAIM", "s", "g", "c", "x", "1-1"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "RETRYCOUNT", "x"), ("XCLAIM", "s", "g", "c", "0", "1-1", "TIME", "x"),
    ("XCLAIM", "s", "g", "c", "0", "1-1", "IDLE", "x"), ("XCLAIM", "s", "g", "c", "0", "1-1", "LASTID", "x"),
    ("XCLAIM", "s", "g", "c10", "3600000", "2-1"), ("XINFO", "CONSUMERS", "s", "g"),
    ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "1"), ("XAUTOCLAIM", "s", "g", "c5", "0", "0"),
    ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "JUSTID"), ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "COUNT", "0"),
    ("XAUTOCLAIM", "s", "g", "c5", "0", "0", "FOO"), ("XAUTOCLAIM", "s", "g", "c5", "0", "(0", "COUNT", "1"),
    ("XAUTOCLAIM", "s", "nog", "c5", "0", "0"), ("XAUTOCLAIM", "s", "g", "c5", "x", "0"),
    ("XAUTOCLAIM", "s", "g", "c5", "3600000", "0"), ("XINFO", "CONSUMERS", "s", "nog"),
    ("XINFO", "CONSUMERS", "nokey", "g"), ("XINFO", "GROUPS", "nokey"), ("XGROUP", "DELCONSUMER", "s", "g", "c5"),
    ("XINFO", "STREAM", "s", "FULL"), ("XGROUP", "DESTROY", "s", "g"), ("XINFO", "GROUPS", "s"),
    ("XGROUP", "DESTROY", "s", "g"), ("SET", "str", "x"), ("XGROUP", "CREATE", "str", "g", "0"),
    ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"), ("XACK", "str", "g", "1-1"), ("XPENDING", "str", "g"),
    ("XCLAIM", "str", "g", "c", "0", "1-1"), ("XAUTOCLAIM", "str", "g", "c", "0", "0"), ("XINFO", "GROUPS", "str"),
    ("XGROUP", "CREATE", "s", "g3", "0", "ENTRIESREAD"),
    ("XGROUP", "SETID", "s", "g2", "0", "ENTRIESREAD", "1", "X", "Y"),
    ("XGROUP", "SETID", "s", "g2", "$"), ("XINFO", "GROUPS", "s"),
]

DELETED_ENTRIES = [
    ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "2-1", "a", "2"), ("XADD", "s", "3-1", "a", "3"),
    ("XGROUP", "CREATE", "s", "g", "0"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"),
    ("XDEL", "s", "2-1"), ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"),
    ("XCLAIM", "s", "g", "d", "0", "1-1", "2-1", "3-1"), ("XPENDING", "s", "g"),
    ("XDEL", "s", "3-1"), ("XAUTOCLAIM", "s", "g", "e", "0", "0"), ("XPENDING", "s", "g"),
    ("XINFO", "GROUPS", "s"), ("XADD", "s", "4-1", "a", "4"), ("XINFO", "GROUPS", "s"),
    ("XGROUP", "CREATE", "s", "h", "0"), ("XINFO", "GROUPS", "s"),
    ("XREADGROUP", "GROUP", "h", "c", "STREAMS", "s", ">"),
    ("XINFO", "GROUPS", "s"), ("XDEL", "s", "1-1", "4-1"), ("XINFO", "STREAM", "s"), ("XINFO", "GROUPS", "s"),
    ("XADD", "s", "5-1", "a", "5"), ("XGROUP", "CREATE", "s", "i", "3-0"), ("XINFO", "GROUPS", "s"),
    ("XTRIM", "s", "MAXLEN", "0"), ("XINFO", "STREAM", "s", "FULL"), ("XINFO", "GROUPS", "s"),
]


_PENDING_IDLE = re.compile(rb"(\*4\r\n\$\d+\r\n[^\r]*\r\n\$\d+\r\n[^\r]*\r\n):\d+\r\n")
_CONSUMER_IDLE = re.compile(rb"(\$4\r\nidle\r\n|\+idle\r\n):\d+\r\n")
_CLOCK_TIMES = re.compile(rb":1\d{12}\r\n")


def mask_times(reply):
    """Idle times (XPENDING's, XINFO CONSUMERS') and clock times (XINFO FULL's delivery and seen times):
    a millisecond apart on the two servers. Counts and IDs stay."""
    reply = _PENDING_IDLE.sub(rb"\1:<idle>\r\n", reply)
    reply = _CONSUMER_IDLE.sub(rb"\1:<idle>\r\n", reply)
    return _CLOCK_TIMES.sub(b":<ms>\r\n", reply)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def streams(request, pair):
    if request.param == 3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    return pair


def test_commands_and_errors(streams):
    streams.check_sequence(BASICS)


def test_consumer_groups(streams):
    streams.check_sequence(GROUPS, normalise=mask_times)


def test_deleted_entries_in_groups_and_lag(streams):
    streams.check_sequence(DELETED_ENTRIES, normalise=mask_times)


def test_copy_rename_digest_and_types(pair):
    pair.check_sequence([
        ("XADD", "s", "1-1", "a", "1", "b", "2"), ("XADD", "s", "2-1", "a", "1"), ("XGROUP", "CREATE", "s", "g", "0"),
        ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"), ("DEBUG", "DIGEST-VALUE", "s"),
        ("COPY", "s", "s2"), ("XINFO", "STREAM", "s2"), ("XINFO", "GROUPS", "s2"), ("XPENDING", "s2", "g"),
        ("RENAME", "s2", "s3"), ("XADD", "s3", "3-1", "c", "3"), ("XLEN", "s"), ("XLEN", "s3"),
        ("XACK", "s3", "g", "1-1"), ("XPENDING", "s", "g"), ("XPENDING", "s3", "g"), ("TYPE", "s3"),
        ("EXISTS", "s", "s2", "s3"), ("OBJECT", "ENCODING", "s3"), ("DEBUG", "DIGEST-VALUE", "s3"),
    ])


def test_an_auto_id_is_now_and_grows(server):
    client = redis.Redis(port=server.port)
    client.delete("auto")
    ids = [client.xadd("auto", {"a": "1"}) for _ in range(50)]
    parts = [tuple(map(int, stream_id.split(b"-"))) for stream_id in ids]
    assert parts == sorted(parts) and len(set(parts)) == 50
    now = client.time()[0] * 1000
    assert abs(parts[-1][0] - now) < 60_000
    client.execute_command("XSETID", "auto", "%d-5" % (now + 10**9))
    assert client.xadd("auto", {"a": "1"}) == b"%d-6" % (now + 10**9)


@pytest.mark.parametrize("seed", range(3))
def test_nodes_fill_and_trim_as_in_redis(pair, seed):
    """Entries of random sizes and field sets (with deletions) fill listpack nodes as Redis's do: XINFO's
    radix-tree figures and approximate trims, by count, LIMIT and MINID, agree."""
    rng = random.Random(seed)
    if seed == 2:
        pair.check("CONFIG", "SET", "stream-node-max-entries", "7")
        pair.check("CONFIG", "SET", "stream-node-max-bytes", "300")
    ms = 1
    for index in range(400):
        ms += rng.choice((0, 1, 1000, 1 << 20, 1 << 33))
        fields = []
        for number in range(rng.choice((1, 1, 2, 3))):
            value = rng.randbytes(rng.choice((1, 5, 30, 70, 200))) if rng.random() < 0.5 \
                else b"%d" % rng.randrange(-10**6, 10**6)
            fields += [rng.choice((b"a", b"b", b"field%d" % number, b"12")), value]
        pair.check("XADD", "s", "%d-*" % ms, *fields)
        if rng.random() < 0.15:
            pair.check("XDEL", "s", "%d-0" % rng.randrange(ms))
        if index % 50 == 0:
            pair.check("XINFO", "STREAM", "s")
    for trim in (("MAXLEN", "~", "300"), ("MAXLEN", "~", "150", "LIMIT", "40"), ("MINID", "~", "%d" % (ms // 2)),
                 ("MAXLEN", "=", "100"), ("MINID", "%d" % (ms * 3 // 4)), ("MAXLEN", "~", "0")):
        pair.check("XTRIM", "s", *trim)
        pair.check("XINFO", "STREAM", "s")
    pair.check("XRANGE", "s", "-", "+")
    pair.check("CONFIG", "SET", "stream-node-max-entries", "100")
    pair.check("CONFIG", "SET", "stream-node-max-bytes", "4096")


def test_xadd_trims_as_it_adds(pair):
    for index in range(1, 400):
        pair.check("XADD", "k", "MAXLEN", "~", "50", "%d-1" % index, "f", "v" * (index % 7 * 300 + 1))
        if index % 37 == 0:
            pair.check("XINFO", "STREAM", "k")
    for index in range(400, 600):
        pair.check("XADD", "m", "MINID", "~", "%d" % (index - 120), "%d-1" % index, "f", "v")
    pair.check("XINFO", "STREAM", "m")


# ------------------------------------------------------------------ blocking


def _blocking(port, setup, waiters, writes, checks):
    """Everything every client saw: the writes' replies, the waiters' replies, then checks."""
    clients = BlockingClients(port)
    try:
        for command in setup:
            clients.control.call(*command)
        blocked = [clients.block(*command) for command in waiters]
        seen = [clients.control.call(*command) for command in writes]
        seen += [client.read_reply() for client in blocked]
        seen += [clients.control.call(*command) for command in checks]
        seen += [client.call("PING") for client in blocked]  # none left waiting or out of step
        return seen
    finally:
        clients.close()


MKGROUP = ("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
BLOCKING = {
    "xread woken in order": ([("XADD", "s", "1-1", "a", "1")],
                             [("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
                              ("XREAD", "BLOCK", "0", "STREAMS", "x", "s", "$", "$"),
                              ("XREAD", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", "1-1")],
                             [("XADD", "s", "2-1", "b", "2")], []),
    "groups share the entries": ([MKGROUP],
                                 [("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"),
                                  ("XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "s", ">"),
                                  ("XREADGROUP", "GROUP", "g", "c3", "COUNT", "1", "BLOCK", "0", "STREAMS", "s", ">")],
                                 [("MULTI",), ("XADD", "s", "1-1", "a", "1"), ("XADD", "s", "2-1", "a", "1"), ("EXEC",),
                                  ("XADD", "s", "3-1", "a", "1")],
                                 [("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s")]),
    "noack": ([MKGROUP], [("XREADGROUP", "GROUP", "g", "c", "NOACK", "BLOCK", "0", "STREAMS", "s", ">")],
              [("XADD", "s", "1-1", "a", "1")], [("XPENDING", "s", "g"), ("XINFO", "GROUPS", "s")]),
    "key deleted": ([MKGROUP], [("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"),
                                ("XREAD", "BLOCK", "0", "STREAMS", "s", "$")],
                    [("DEL", "s"), ("XADD", "s", "1-1", "a", "1")], []),
    "key overwritten": ([MKGROUP], [("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")],
                        [("SET", "s", "x")], []),
    "type changed in a transaction": ([MKGROUP], [("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")],
                                      [("MULTI",), ("DEL", "s"), ("SADD", "s", "m"), ("EXEC",)], []),
    "group destroyed": ([MKGROUP], [("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")],
                        [("XGROUP", "DESTROY", "s", "g")], []),
    "timeout": ([], [("XREAD", "BLOCK", "500", "STREAMS", "s", "$")], [], []),  # long enough to be seen blocked
    "key expired": ([MKGROUP, ("PEXPIRE", "s", "200")],
                    [("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")], [], []),
    "inside multi": ([MKGROUP], [], [("MULTI",), ("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
                                     ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">"),
                                     ("EXEC",)], []),
    "deletions do not wake": ([("XADD", "s", "1-1", "a", "1"), ("XGROUP", "CREATE", "s", "g", "$")],
                              [("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")],
                              [("XDEL", "s", "1-1"), ("XADD", "s", "2-1", "a", "1")], [("XINFO", "GROUPS", "s")]),
    "swapdb brings a string": ([MKGROUP, ("SELECT", "1"), ("SET", "s", "x"), ("SELECT", "0")],
                               [("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")],
                               [("SWAPDB", "0", "1")], []),
    "swapdb brings nothing": ([MKGROUP], [("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")],
                              [("SWAPDB", "0", "1"), ("SWAPDB", "0", "1"), ("XADD", "s", "1-1", "a", "1")], []),
}


@pytest.mark.parametrize("name", list(BLOCKING))
def test_blocking_reads_as_redis(server, real_redis, name):
    expected = _blocking(real_redis.port, *BLOCKING[name])
    assert _blocking(server.port, *BLOCKING[name]) == expected


def _unblocked(port, *how):
    """CLIENT UNBLOCK of a blocked XREAD and of a blocked XREADGROUP: what each was answered."""
    clients = BlockingClients(port)
    try:
        clients.control.call(*MKGROUP)
        seen = []
        for command in (("XREAD", "BLOCK", "0", "STREAMS", "s", "$"),
                        ("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "s", ">")):
            client = clients.connect()
            client_id = client.call("CLIENT", "ID")[1:-2]
            before = clients.blocked()
            client.send_raw(encode_command(command))
            clients.wait_blocked(before + 1)
            seen += [clients.control.call("CLIENT", "UNBLOCK", client_id, *how), client.read_reply()]
        return seen
    finally:
        clients.close()


@pytest.mark.parametrize("how", [(), ("TIMEOUT",), ("ERROR",)])
def test_client_unblock_ends_a_blocked_read(server, real_redis, how):
    assert _unblocked(server.port, *how) == _unblocked(real_redis.port, *how)


def test_blocked_read_in_resp3(server, real_redis):
    def scenario(port):
        clients = BlockingClients(port)
        try:
            waiter = clients.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$", resp3=True)
            clients.control.call("XADD", "s", "1-1", "a", "1")
            return waiter.read_reply(), waiter.call("XREAD", "STREAMS", "s", "0")
        finally:
            clients.close()
    assert scenario(server.port) == scenario(real_redis.port)


# ------------------------------------------------------------------ the AOF


_DELIVERY_TIME = re.compile(rb"(TIME\r\n\$\d+\r\n)\d+")


def _stream_writes(port):
    """Stream writes of every kind, errors and no-ops among them, sent raw (replies are not looked at here)."""
    client = WireClient(port)
    call = client.call
    call("XADD", "s", "1-1", "a", "1")
    call("XADD", "s", "1-*", "a", "2")
    call("XADD", "s", "MAXLEN", "~", "1", "5-*", "b", "3")
    call("XADD", "s", "NOMKSTREAM", "6-1", "b", "3")
    call("XADD", "nokey", "NOMKSTREAM", "6-1", "b", "3")
    for index in range(7, 250):
        call("XADD", "t", "MAXLEN", "~", "120", "%d-1" % index, "f", "v")
    call("XTRIM", "t", "MINID", "~", "200")
    call("XTRIM", "t", "MAXLEN", "~", "1000")
    call("XTRIM", "t", "MAXLEN", "100")
    call("XDEL", "t", "240-1", "999-1")
    call("XDEL", "t", "999-1")
    call("XGROUP", "CREATE", "s", "g", "0")
    call("XGROUP", "CREATE", "s", "g", "0")
    call("XGROUP", "CREATE", "m", "g", "$", "MKSTREAM", "ENTRIESREAD", "3")
    call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
    call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0")
    call("XADD", "s", "7-1", "a", "1")
    call("XREADGROUP", "GROUP", "g", "d", "NOACK", "STREAMS", "s", ">")
    call("XACK", "s", "g", "1-1", "9-9")
    call("XACK", "s", "g", "9-9")
    call("XCLAIM", "s", "g", "e", "0", "1-2", "JUSTID", "TIME", "1000")
    call("XCLAIM", "s", "g", "e", "0", "1-1", "LASTID", "8-0")
    call("XDEL", "s", "1-2")
    call("XAUTOCLAIM", "s", "g", "f", "0", "0")
    call("XGROUP", "CREATECONSUMER", "s", "g", "h")
    call("XGROUP", "CREATECONSUMER", "s", "g", "h")
    call("XGROUP", "DELCONSUMER", "s", "g", "h")
    call("XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "1")
    call("XSETID", "s", "99-0", "ENTRIESADDED", "100", "MAXDELETEDID", "50-0")
    call("XGROUP", "DESTROY", "m", "g")
    call("XGROUP", "DESTROY", "m", "g")
    client.close()


def test_the_aof_holds_what_redis_propagates(tmp_path):
    """XADD with the ID it made and an approximate trim written as what it did, XREADGROUP as XCLAIMs
    and XGROUP SETID, claims as XCLAIM ... FORCE JUSTID LASTID; what changed nothing is left out."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours = start_ours(tmp_path / "ours", "--appendonly", "yes")
    real = start_real_redis(tmp_path / "real", "--appendonly", "yes")
    try:
        for running in (ours, real):
            _stream_writes(running.port)
    finally:
        ours.stop()
        real.stop()
    written = aof_file(tmp_path / "ours").read_bytes()
    expected = aof_file(tmp_path / "real").read_bytes()
    assert _DELIVERY_TIME.sub(rb"\1<ms>", written) == _DELIVERY_TIME.sub(rb"\1<ms>", expected)


def _full_state(port):
    client = WireClient(port)
    try:
        return [client.call("XINFO", "STREAM", key, "FULL") for key in (b"s", b"t", b"m")] + \
               [client.call("XPENDING", "s", "g", "-", "+", "100")]
    finally:
        client.close()


_RADIX_TREE = re.compile(rb"(radix-tree-(keys|nodes)\r\n):\d+")


def test_replay_and_rewrite_give_the_same_streams(tmp_path):
    """The AOF replays to the very streams it logged (nodes included), and a BGREWRITEAOF of them replays
    to the same entries, IDs, groups and PELs (one XADD per entry lays out nodes afresh, as in Redis)."""
    ours = start_ours(tmp_path, "--appendonly", "yes")
    try:
        _stream_writes(ours.port)
        before = [mask_times(reply) for reply in _full_state(ours.port)]
    finally:
        ours.stop()
    again = start_ours(tmp_path, "--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    try:
        assert [mask_times(reply) for reply in _full_state(again.port)] == before
        client = redis.Redis(port=again.port)
        client.bgrewriteaof()
        deadline = time.monotonic() + 30
        while client.info("persistence")["aof_rewrite_in_progress"] or \
                client.info("persistence")["aof_rewrite_scheduled"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        client.close()
    finally:
        again.stop()
    assert b"XCLAIM" in aof_file(tmp_path, "b").read_bytes()
    rewritten = start_ours(tmp_path, "--appendonly", "yes")
    try:
        after = [_RADIX_TREE.sub(rb"\1<n>", mask_times(reply)) for reply in _full_state(rewritten.port)]
        assert after == [_RADIX_TREE.sub(rb"\1<n>", reply) for reply in before]
    finally:
        rewritten.stop()


def _woken_group_reads(port):
    clients = BlockingClients(port)
    try:
        control = clients.control
        control.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        control.call("XGROUP", "CREATE", "s", "h", "$")
        first = clients.block("XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">")
        second = clients.block("XREADGROUP", "GROUP", "h", "c2", "NOACK", "BLOCK", "0", "STREAMS", "s", ">")
        third = clients.block("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
        control.call("MULTI")
        control.call("XADD", "s", "1-1", "a", "1")
        control.call("XADD", "s", "2-1", "a", "2")
        control.call("EXEC")
        return [client.read_reply() for client in (first, second, third)]
    finally:
        clients.close()


def test_the_aof_of_woken_group_reads_is_redis_s(tmp_path):
    """A blocked XREADGROUP served by a later XADD logs what Redis logs for it (XCLAIMs, a NOACK reader's
    XGROUP CREATECONSUMER and SETID), after the XADDs' transaction."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours = start_ours(tmp_path / "ours", "--appendonly", "yes")
    real = start_real_redis(tmp_path / "real", "--appendonly", "yes")
    try:
        assert _woken_group_reads(ours.port) == _woken_group_reads(real.port)
    finally:
        ours.stop()
        real.stop()
    written = aof_file(tmp_path / "ours").read_bytes()
    expected = aof_file(tmp_path / "real").read_bytes()
    assert _DELIVERY_TIME.sub(rb"\1<ms>", written) == _DELIVERY_TIME.sub(rb"\1<ms>", expected)


def _random_command(rng, clock):
    """One stream command with arguments drawn around a few keys, groups, consumers and nearby IDs."""
    key = rng.choice(("s", "s", "t", "str"))
    group, consumer = rng.choice(("g", "h", "nog")), rng.choice(("c1", "c2", "c3"))

    def some_id():
        ms = rng.randrange(clock[0] + 2)
        return rng.choice(("%d-%d" % (ms, rng.randrange(3)), "%d" % ms, "-", "+", "0", "(%d-0" % ms, "bad"))

    choice = rng.randrange(15)
    if choice < 4:
        clock[0] += rng.choice((0, 1, 1, 2))
        trim = rng.choice(((), (), ("MAXLEN", "~", "%d" % rng.randrange(20)), ("MAXLEN", "%d" % rng.randrange(20)),
                           ("MINID", "%d" % rng.randrange(clock[0] + 1))))
        return ("XADD", key, *trim, rng.choice(("%d-*" % clock[0], "%d-%d" % (clock[0], rng.randrange(3)))),
                rng.choice(("a", "b")), "%d" % rng.randrange(100))
    if choice == 4:
        return ("XDEL", key, some_id(), some_id())
    if choice == 5:
        return (rng.choice(("XRANGE", "XREVRANGE")), key, some_id(), some_id(), "COUNT", "%d" % rng.randrange(-1, 5))
    if choice == 6:
        return ("XGROUP", rng.choice(("CREATE", "SETID")), key, group, rng.choice(("$", "0", some_id())),
                *rng.choice(((), ("MKSTREAM",), ("ENTRIESREAD", "%d" % rng.randrange(-1, 5)))))
    if choice == 7:
        return ("XREADGROUP", "GROUP", group, consumer, "COUNT", "%d" % rng.randrange(4),
                *rng.choice(((), ("NOACK",))), "STREAMS", key, rng.choice((">", ">", "0", some_id())))
    if choice == 8:
        return ("XACK", key, group, some_id(), some_id())
    if choice == 9:
        return ("XCLAIM", key, group, consumer, "0", some_id(), some_id(), *rng.choice(((), ("JUSTID",), ("FORCE",))))
    if choice == 10:
        return ("XAUTOCLAIM", key, group, consumer, "0", some_id(), "COUNT", "%d" % rng.randrange(1, 4),
                *rng.choice(((), ("JUSTID",))))
    if choice == 11:
        return ("XPENDING", key, group, *rng.choice(((), ("-", "+", "10"), ("-", "+", "10", consumer))))
    if choice == 12:
        return ("XINFO", rng.choice(("STREAM", "GROUPS")), key)
    if choice == 13:
        return ("XTRIM", key, rng.choice(("MAXLEN", "MINID")), rng.choice(("~", "=")),
                "%d" % rng.randrange(clock[0] + 1))
    subcommand = rng.choice(("DELCONSUMER", "CREATECONSUMER", "DESTROY"))
    return ("XGROUP", subcommand, key, group, consumer)[:4 if subcommand == "DESTROY" else 5]


@pytest.mark.parametrize("seed", range(4))
def test_random_command_sequences(pair, seed):
    """Seeded random sequences of every stream command over a few keys and groups, then each key's full state."""
    rng = random.Random(seed)
    pair.check("SET", "str", "x")
    clock = [1]
    for _ in range(300):
        pair.check(*_random_command(rng, clock), normalise=mask_times)
    for key in ("s", "t"):
        pair.check("XINFO", "STREAM", key, "FULL", normalise=mask_times)
