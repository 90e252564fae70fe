"""maxmemory: its settings, the OOM refusal, each eviction policy, LFU counters, and a write flood.

Our used_memory is an estimate and Redis's is exact, so byte counts differ:
the differential tests compare replies where the outcome does not depend
on them (maxmemory 1 is over the limit on both), and the scenarios that
do run on both servers with limits set relative to each one's own
used_memory, asserting the same behaviour.
"""
import os
import subprocess
import sys
import time

import pytest

from conftest import ROOT, RunningServer, free_port, start_ours, start_real_redis
from differential import Pair, WireClient, encode_command

OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
VALUE = "v" * 100
RESET = [("CONFIG", "SET", "maxmemory", "0"), ("CONFIG", "SET", "maxmemory-policy", "noeviction"),
         ("CONFIG", "SET", "maxmemory-samples", "5"), ("FLUSHALL",), ("CONFIG", "RESETSTAT")]


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    running = start_ours(tmp_path_factory.mktemp("maxmemory-ours"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    running = start_real_redis(tmp_path_factory.mktemp("maxmemory-redis"))
    yield running
    running.stop()


def _reset(client):
    for command in RESET:
        assert client.call(*command) == b"+OK\r\n"


@pytest.fixture
def pair(ours, redis):
    """Our server and Redis of this module, both empty, without a limit, before and after the test."""
    with Pair(ours.port, redis.port) as both:
        _reset(both.ours)
        _reset(both.redis)
        yield both
        both.reconnect()
        _reset(both.ours)
        _reset(both.redis)


@pytest.fixture(params=["ours", "redis"])
def client(request, ours, redis):
    """A connection to either server, reset like pair's: behaviour scenarios run on both."""
    running = ours if request.param == "ours" else redis
    with WireClient(running.port) as connection:
        connection.name = request.param
        _reset(connection)
        yield connection
        _reset(connection)


# ------------------------------------------------------------------ helpers


def info(client, section):
    reply = client.call("INFO", section)
    body = reply.split(b"\r\n", 1)[1].decode()
    return dict(line.split(":", 1) for line in body.split("\r\n") if ":" in line)


def integer(reply):
    assert reply[:1] == b":", reply
    return int(reply[1:-2])


def pipeline(client, commands):
    """Send all the commands at once; return their replies."""
    client.send_raw(b"".join(encode_command(command) for command in commands))
    return client.read_replies(len(commands))


def fill(client, prefix, count, *options):
    replies = pipeline(client, [("SET", "%s%d" % (prefix, i), VALUE, *options) for i in range(count)])
    assert set(replies) == {b"+OK\r\n"}


def existing(client, prefix, count):
    """The indexes i for which prefix + i exists."""
    replies = pipeline(client, [("EXISTS", "%s%d" % (prefix, i)) for i in range(count)])
    return [i for i, reply in enumerate(replies) if reply == b":1\r\n"]


def used_memory(client):
    return int(info(client, "memory")["used_memory"])


def resident_memory(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS for pid %d" % pid)


# ------------------------------------------------------------------ settings


def test_config_defaults_and_validation_match_redis(pair):
    for name in ("maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time"):
        pair.check("CONFIG", "GET", name)
    for value in ("1x", "-1", "1GB", "5", "", "1k", "99999999999999999999gb", "17179869184gb", "0"):
        pair.check("CONFIG", "SET", "maxmemory", value)
        pair.check("CONFIG", "GET", "maxmemory")
    for value in ("foo", "ALLKEYS-LRU", "volatile-ttl", "allkeys-lfu", "noeviction", ""):
        pair.check("CONFIG", "SET", "maxmemory-policy", value)
        pair.check("CONFIG", "GET", "maxmemory-policy")
    for name, value in (("maxmemory-samples", "0"), ("maxmemory-samples", "65"), ("maxmemory-samples", "x"),
                        ("maxmemory-samples", "5"), ("lfu-log-factor", "-1"), ("lfu-decay-time", "-1"),
                        ("lfu-log-factor", "10"), ("lfu-decay-time", "1")):
        pair.check("CONFIG", "SET", name, value)


def test_options_and_config_file_set_the_limit(tmp_path):
    conf = tmp_path / "mini.conf"
    conf.write_text("maxmemory 10mb\nmaxmemory-policy VOLATILE-LFU\nmaxmemory-samples 7\n")
    port = free_port()
    running = RunningServer([sys.executable, os.path.join(ROOT, "server.py"), str(conf), "--port", str(port),
                             "--lfu-log-factor", "3"], port, str(tmp_path))
    try:
        with WireClient(running.port) as client:
            assert client.call("CONFIG", "GET", "maxmemory") == b"*2\r\n$9\r\nmaxmemory\r\n$8\r\n10485760\r\n"
            assert client.call("CONFIG", "GET", "maxmemory-policy") == \
                b"*2\r\n$16\r\nmaxmemory-policy\r\n$12\r\nvolatile-lfu\r\n"
            assert client.call("CONFIG", "GET", "maxmemory-samples") == b"*2\r\n$17\r\nmaxmemory-samples\r\n$1\r\n7\r\n"
            assert client.call("CONFIG", "GET", "lfu-log-factor") == b"*2\r\n$14\r\nlfu-log-factor\r\n$1\r\n3\r\n"
            memory = info(client, "memory")
            assert (memory["maxmemory"], memory["maxmemory_human"], memory["maxmemory_policy"]) == \
                ("10485760", "10.00M", "volatile-lfu")
    finally:
        running.stop()


def test_a_bad_policy_in_the_config_file_stops_the_start(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("maxmemory-policy foo\n")
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server.py"), str(conf)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert ">>> 'maxmemory-policy foo'\nargument(s) must be one of the following: volatile-lru, volatile-lfu, " \
           "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction" in result.stderr


def test_info_reports_memory_and_evictions(client):
    memory = info(client, "memory")
    for field in ("used_memory", "used_memory_human", "used_memory_rss", "used_memory_rss_human",
                  "used_memory_peak", "maxmemory", "maxmemory_human", "maxmemory_policy"):
        assert field in memory
    assert (memory["maxmemory"], memory["maxmemory_human"], memory["maxmemory_policy"]) == \
        ("0", "0B", "noeviction")
    assert int(memory["used_memory_peak"]) >= int(memory["used_memory"]) > 0
    assert info(client, "stats")["evicted_keys"] == "0"
    before = used_memory(client)
    fill(client, "info:", 2000)
    assert used_memory(client) > before + 2000 * 100


# ------------------------------------------------------------------ noeviction: the OOM error


def test_noeviction_refuses_writes_and_serves_reads_like_redis(pair):
    pair.check("SET", "kept", "1")
    pair.check("RPUSH", "list", "a", "b")
    pair.check("CONFIG", "SET", "maxmemory", "1")
    for command in (("SET", "new", "1"), ("INCR", "kept"), ("RPUSH", "list", "c"), ("APPEND", "kept", "x"),
                    ("GET", "kept"), ("LRANGE", "list", "0", "-1"), ("EXISTS", "kept"), ("PING",),
                    ("LPOP", "list"), ("DEL", "kept"), ("GET", "kept"), ("OBJECT", "FREQ", "list"),
                    ("EXPIRE", "list", "100"), ("SET", "x", "y", "NX"), ("DBSIZE",)):
        pair.check(*command)
    pair.check("CONFIG", "SET", "maxmemory", "0")
    pair.check("SET", "new", "1")


def test_a_limit_set_mid_batch_applies_to_the_next_write(pair):
    pair.check_pipeline([
        ("SET", "kept", "1"), ("CONFIG", "SET", "maxmemory", "1"), ("SET", "new", "1"), ("GET", "kept"),
        ("INCR", "kept"), ("CONFIG", "SET", "maxmemory", "0"), ("SET", "new", "1"), ("GET", "new"),
    ])


def test_oom_inside_multi_aborts_exec_like_redis(pair):
    pair.check("CONFIG", "SET", "maxmemory", "1")
    pair.check_sequence([("MULTI",), ("GET", "a"), ("SET", "a", "1"), ("EXEC",)])
    pair.check_sequence([("MULTI",), ("DISCARD",), ("MULTI",), ("EXEC",)])
    pair.check_sequence([("MULTI",), ("SAVE",), ("EXEC",)])  # "not allowed inside a transaction" comes first
    pair.check("CONFIG", "SET", "maxmemory", "0")
    pair.check_sequence([("MULTI",), ("SET", "a", "1"), ("CONFIG", "SET", "maxmemory", "1"), ("EXEC",)])
    pair.check_sequence([("MULTI",), ("SET", "b", "1"), ("EXEC",)])


def test_oom_comes_before_the_subscribed_context_check(pair):
    pair.check("CONFIG", "SET", "maxmemory", "1")
    pair.check("SUBSCRIBE", "channel")
    pair.check("SET", "k", "v")
    pair.check("GET", "k")
    pair.check("PING")


def test_exec_with_a_write_is_refused_when_memory_ran_out_meanwhile(pair, ours, redis):
    pair.check_sequence([("SET", "watched", "1"), ("WATCH", "watched"), ("MULTI",), ("SET", "a", "1"),
                         ("GET", "a")])
    for port in (ours.port, redis.port):
        with WireClient(port) as other:
            assert other.call("CONFIG", "SET", "maxmemory", "1") == b"+OK\r\n"
    pair.check("EXEC")
    pair.check("GET", "watched")
    pair.check_sequence([("MULTI",), ("EXEC",)])


def test_a_key_evicted_while_watched_fails_the_transaction(pair):
    pair.check("SET", "watched", "1")
    pair.check("WATCH", "watched")
    pair.check("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
    pair.check("CONFIG", "SET", "maxmemory", "1")  # everything goes before the next command
    pair.check("DBSIZE")
    pair.check("MULTI")
    pair.check("EXEC")
    pair.check("CONFIG", "SET", "maxmemory", "0")
    pair.check("INFO", "stats", normalise=lambda reply: b"evicted_keys:1" in reply)


def test_noeviction_fills_up_then_refuses(client):
    client.call("CONFIG", "SET", "maxmemory", used_memory(client) + 100_000)
    replies = []
    for i in range(3000):
        replies.append(client.call("SET", "fill:%d" % i, VALUE))
        if replies[-1] != b"+OK\r\n":
            break
    assert replies[-1] == OOM and set(replies[:-1]) == {b"+OK\r\n"} and len(replies) > 100
    assert client.call("GET", "fill:0") == b"$100\r\n%s\r\n" % VALUE.encode()
    assert info(client, "stats")["evicted_keys"] == "0"
    assert integer(client.call("DEL", *("fill:%d" % i for i in range(len(replies) - 1)))) == len(replies) - 1
    if client.name == "ours":  # Redis's own overhead may have grown past the limit meanwhile
        assert client.call("SET", "again", "1") == b"+OK\r\n"


# ------------------------------------------------------------------ the policies


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"])
def test_volatile_policies_evict_only_keys_with_a_ttl(client, policy):
    fill(client, "persistent:", 300)
    fill(client, "volatile:", 300, "EX", "1000")
    client.call("CONFIG", "SET", "maxmemory-policy", policy)
    client.call("CONFIG", "SET", "maxmemory", used_memory(client) + 30_000)
    written = 0
    while written < 4000:
        reply = client.call("SET", "new:%d" % written, VALUE)
        if reply != b"+OK\r\n":
            break
        written += 1
    assert reply == OOM  # once no key with a TTL is left, nothing can go
    assert len(existing(client, "persistent:", 300)) == 300
    assert len(existing(client, "new:", written)) == written
    assert existing(client, "volatile:", 300) == []
    assert info(client, "stats")["evicted_keys"] == "300"
    assert client.call("GET", "persistent:0") == b"$100\r\n%s\r\n" % VALUE.encode()


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_allkeys_policies_evict_any_key_and_never_refuse(client, policy):
    fill(client, "old:", 300)
    fill(client, "volatile:", 100, "EX", "1000")
    client.call("CONFIG", "SET", "maxmemory-policy", policy)
    limit = used_memory(client) + 30_000
    client.call("CONFIG", "SET", "maxmemory", limit)
    replies = pipeline(client, [("SET", "new:%d" % i, VALUE) for i in range(1000)])
    assert set(replies) == {b"+OK\r\n"}
    # An eviction that ran out of its time goes on between commands: read the count on both sides of DBSIZE
    # until nothing was evicted in between.
    for _ in range(50):
        evicted = int(info(client, "stats")["evicted_keys"])
        size = integer(client.call("DBSIZE"))
        if int(info(client, "stats")["evicted_keys"]) == evicted:
            break
    assert evicted > 300
    assert size == 1400 - evicted
    assert len(existing(client, "old:", 300)) < 300
    assert used_memory(client) <= limit + 2_000


def test_volatile_ttl_evicts_the_soonest_deadlines_first(client):
    fill(client, "persistent:", 100)
    for start in range(0, 1000, 100):  # small batches: Redis counts its query buffer as used memory
        pipeline(client, [("SET", "ttl:%d" % i, VALUE, "EX", 1000 + 10 * i) for i in range(start, start + 100)])
    client.call("CONFIG", "SET", "maxmemory-policy", "volatile-ttl")
    client.call("CONFIG", "SET", "maxmemory-samples", "2000")  # every key with a TTL is a candidate each time
    client.call("CONFIG", "SET", "maxmemory", used_memory(client) - 100_000)
    assert client.call("PING") == b"+PONG\r\n"  # evictions run before any command
    survivors = existing(client, "ttl:", 1000)
    assert 0 < len(survivors) < 1000 - 200
    assert survivors == list(range(1000 - len(survivors), 1000))
    assert len(existing(client, "persistent:", 100)) == 100


def test_allkeys_lru_keeps_the_keys_that_were_read(ours):
    with WireClient(ours.port) as client:
        _reset(client)
        try:
            fill(client, "lru:", 200)
            time.sleep(0.3)  # idle times tick with the cron, ten times a second
            pipeline(client, [("GET", "lru:%d" % i) for i in range(0, 200, 2)])
            time.sleep(0.3)
            client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
            client.call("CONFIG", "SET", "maxmemory-samples", "10")
            per_key = 150
            client.call("CONFIG", "SET", "maxmemory", used_memory(client) - 50 * per_key)
            client.call("PING")
            survivors = existing(client, "lru:", 200)
            assert set(range(0, 200, 2)) <= set(survivors)
            assert len(survivors) < 200 - 30
        finally:
            _reset(client)


def test_allkeys_lfu_keeps_the_keys_read_often(ours):
    with WireClient(ours.port) as client:
        _reset(client)
        try:
            client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
            # With 5 samples, a first round that draws only read keys (1 in 32) evicts one of them.
            client.call("CONFIG", "SET", "maxmemory-samples", "20")
            fill(client, "lfu:", 200)
            pipeline(client, [("GET", "lfu:%d" % i) for i in range(0, 200, 2) for _ in range(20)])
            assert integer(client.call("OBJECT", "FREQ", "lfu:0")) >= 6
            assert integer(client.call("OBJECT", "FREQ", "lfu:1")) == 5
            client.call("CONFIG", "SET", "maxmemory", used_memory(client) - 50 * 150)
            client.call("PING")
            survivors = existing(client, "lfu:", 200)
            assert set(range(0, 200, 2)) <= set(survivors)
            assert len(survivors) < 200 - 30
        finally:
            _reset(client)


def test_object_freq_and_idletime_follow_the_policy_like_redis(pair):
    pair.check("SET", "k", "v")
    pair.check("OBJECT", "FREQ", "k")
    pair.check("OBJECT", "IDLETIME", "k")
    pair.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
    pair.check("DEL", "k")
    pair.check("SET", "k", "v")
    pair.check("OBJECT", "FREQ", "k")  # a new key starts at LFU_INIT_VAL
    pair.check("SET", "k", "v2")  # an overwrite counts one access (Redis: its lookupKeyWrite)
    pair.check("OBJECT", "FREQ", "k")
    pair.check("OBJECT", "IDLETIME", "k")
    pair.check("OBJECT", "FREQ", "missing")
    pair.check("RPUSH", "list", "a")
    pair.check("OBJECT", "FREQ", "list")
    pair.check("RPUSH", "list", "b")
    pair.check("OBJECT", "FREQ", "list")
    pair.check("GET", "missing")
    pair.check("CONFIG", "SET", "maxmemory-policy", "volatile-lfu")
    pair.check("OBJECT", "FREQ", "list")
    pair.check("CONFIG", "SET", "maxmemory-policy", "volatile-lru")
    pair.check("OBJECT", "FREQ", "list")
    pair.check("OBJECT", "IDLETIME", "missing")


# ------------------------------------------------------------------ at run time, and under load


def test_config_set_maxmemory_takes_effect_at_once(ours):
    with WireClient(ours.port) as client:
        _reset(client)
        try:
            fill(client, "runtime:", 5000)
            client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
            memory = info(client, "memory")
            limit = (int(memory["used_memory"]) + int(memory["used_memory_startup"])) // 2  # half the data
            assert client.call("CONFIG", "SET", "maxmemory", limit) == b"+OK\r\n"
            deadline = time.monotonic() + 5
            while used_memory(client) > limit and time.monotonic() < deadline:
                time.sleep(0.05)  # each command, and the cron meanwhile, evict within a time budget
            assert used_memory(client) <= limit
            evicted = int(info(client, "stats")["evicted_keys"])
            assert 1000 < evicted < 5000 and integer(client.call("DBSIZE")) == 5000 - evicted
            assert client.call("CONFIG", "SET", "maxmemory", "0") == b"+OK\r\n"
            fill(client, "unlimited:", 3000)
            assert int(info(client, "stats")["evicted_keys"]) == evicted
            assert info(client, "memory")["maxmemory_human"] == "0B"
        finally:
            _reset(client)


def _send_and_expect(sock, payload, expected):
    """One pipelined batch on a raw socket: the parsing stays out of the way of the server under test."""
    sock.sendall(payload)
    received = bytearray()
    while len(received) < len(expected):
        chunk = sock.recv(65536)
        assert chunk, "connection closed after %r" % bytes(received[-100:])
        received += chunk
    assert received == expected


def test_write_flood_stays_within_the_limit(tmp_path):
    """200k SETs of 100 bytes under maxmemory 20mb: the process grows by at most 1.5x the limit."""
    limit = 20 * 1024 * 1024
    running = start_ours(tmp_path, "--maxmemory", "20mb", "--maxmemory-policy", "allkeys-lru")
    try:
        with WireClient(running.port, timeout=30) as client:
            assert client.call("PING") == b"+PONG\r\n"
            baseline = resident_memory(running.process.pid)
            peak, total, batch = 0, 200_000, 2000
            command = b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$100\r\n" + VALUE.encode() + b"\r\n"
            started = time.monotonic()
            for start in range(0, total, batch):
                keys = [b"flood:%d" % i for i in range(start, start + batch)]
                _send_and_expect(client.sock, b"".join(command % (len(key), key) for key in keys),
                                 b"+OK\r\n" * batch)
                peak = max(peak, resident_memory(running.process.pid))
                assert time.monotonic() - started < 120
            assert peak - baseline <= 1.5 * limit, (baseline, peak)
            memory, stats = info(client, "memory"), info(client, "stats")
            assert memory["maxmemory"] == str(limit) and memory["maxmemory_human"] == "20.00M"
            assert memory["maxmemory_policy"] == "allkeys-lru"
            assert limit // 2 < int(memory["used_memory"]) <= limit
            assert int(memory["used_memory_peak"]) >= int(memory["used_memory"])
            assert int(memory["used_memory_rss"]) >= baseline
            evicted = int(stats["evicted_keys"])
            assert evicted > 0 and integer(client.call("DBSIZE")) + evicted == total
            assert client.call("GET", "flood:%d" % (total - 1)) == b"$100\r\n%s\r\n" % VALUE.encode()
    finally:
        running.stop()
