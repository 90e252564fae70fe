"""DEBUG against Redis 7.0.15: the enable-debug-command gate, and the subcommands tools and test suites use."""
import re
import subprocess
import sys
import time

import pytest

from conftest import ROOT, free_port, start_ours, start_real_redis
from differential import Pair, WireClient, unordered_pairs


# ------------------------------------------------------------------ the gate


@pytest.mark.parametrize("setting", [None, "no", "local", "yes"])
def test_enable_debug_command_gates_debug_as_redis_does(setting, tmp_path):
    options = () if setting is None else ("--enable-debug-command", setting)
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    ours, redis = start_ours(tmp_path / "ours", *options), None
    try:
        redis = start_real_redis(tmp_path / "redis", *options)
        with Pair(ours.port, redis.port) as pair:
            pair.check_sequence([("DEBUG", "HELP"), ("debug", "nosuch"), ("DEBUG",)])
            pair.check("CONFIG", "GET", "enable-*", normalise=unordered_pairs)
            pair.check_sequence([("CONFIG", "SET", "enable-debug-command", "yes"),
                                 ("CONFIG", "SET", "enable-module-command", "no"),
                                 ("CONFIG", "SET", "enable-protected-configs", "local"),
                                 ("MULTI",), ("DEBUG", "HELP"), ("EXEC",)])
    finally:
        ours.stop()
        if redis is not None:
            redis.stop()


def test_a_bad_setting_stops_the_start_with_redis_s_reason(tmp_path):
    result = subprocess.run([sys.executable, ROOT + "/server.py", "--port", str(free_port()),
                             "--enable-debug-command", "maybe"], capture_output=True, text=True, timeout=30,
                            cwd=tmp_path)
    assert result.returncode == 1
    assert "argument(s) must be one of the following: no, yes, local" in result.stderr


def test_local_allows_loopback_clients_only():
    from serving import access
    from serving.config import Config
    from errors import ReplyError

    class Client:
        def __init__(self, address, setting):
            config = Config()
            config.set("enable-debug-command", setting)
            self.address = address
            self.server = type("Server", (), {"config": config})()

    for address in ("127.0.0.1:5000", "[::1]:5000"):
        access.check_protected(Client(address, "local"), "debug")
    access.check_protected(Client("10.1.2.3:5000", "yes"), "debug")
    for address, setting in (("10.1.2.3:5000", "local"), ("127.0.0.1:5000", "no")):
        with pytest.raises(ReplyError, match="^ERR DEBUG command not allowed"):
            access.check_protected(Client(address, setting), "debug")


# ------------------------------------------------------------------ replies


def test_help_and_argument_counts(both):
    both.check_sequence([("DEBUG", "HELP"), ("DEBUG", "help", "x"), ("DEBUG", "nosuch", "a"),
                         ("DEBUG", "OBJECT"), ("DEBUG", "OBJECT", "a", "b"), ("DEBUG", "SLEEP"),
                         ("DEBUG", "DIGEST", "x"), ("DEBUG", "SET-ACTIVE-EXPIRE"), ("DEBUG", "PROTOCOL"),
                         ("DEBUG", "LISTPACK"), ("DEBUG", "CHANGE-REPL-ID", "x"),
                         ("DEBUG", "QUICKLIST-PACKED-THRESHOLD"), ("DEBUG", "STRINGMATCH-LEN", "x"),
                         ("DEBUG", "RELOAD", "nosuch"), ("DEBUG", "CHANGE-REPL-ID")])


PROTOCOL_TYPES = ["string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
                  "verbatim", "true", "false", "nosuch", "STRING"]


@pytest.mark.parametrize("resp", [2, 3])
def test_protocol_answers_every_type_as_redis_does(resp, both):
    if resp == 3:
        both.check("HELLO", "3", normalise=lambda reply: b"")
    for kind in PROTOCOL_TYPES:
        if kind == "push" and resp == 3:  # the push, then the reply that follows it
            both.check_raw(b"DEBUG PROTOCOL push\r\n", replies=2)
        else:
            both.check("DEBUG", "PROTOCOL", kind)


def fill(pair):
    pair.check_sequence([
        ("SET", "s", "hello"), ("SET", "n", "123"), ("SET", "big", bytes(range(33, 133))), ("SET", "neg", "-7"),
        ("RPUSH", "l", "a", "b", "1", "200", "-5000", "x" * 70), ("SADD", "ints", "3", "1", "2"),
        ("SADD", "words", "a", "b", "c"), ("HSET", "h", "f1", "v1", "f2", "2"),
        ("ZADD", "z", "1", "a", "2.5", "b", "-0.1", "c", "inf", "d"), ("SET", "ttl", "v", "EX", "100"),
        ("SELECT", "3"), ("SET", "s", "other db"), ("SELECT", "0"),
    ])


def test_digest_and_digest_value_are_redis_s(both):
    both.check("DEBUG", "DIGEST")
    fill(both)
    both.check("DEBUG", "DIGEST")
    both.check("DEBUG", "DIGEST-VALUE", "s", "n", "l", "ints", "words", "h", "z", "ttl", "nosuch")
    both.check("DEBUG", "DIGEST-VALUE")
    both.check_sequence([("PERSIST", "ttl"), ("DEBUG", "DIGEST"), ("LPUSH", "l", "front"), ("DEBUG", "DIGEST"),
                         ("FLUSHALL",), ("DEBUG", "DIGEST")])


_ADDRESS_AND_CLOCK = re.compile(rb"Value at:0x[0-9a-f]+ (.*) lru:\d+ lru_seconds_idle:(\d+)")


def _without_address_and_clock(reply):
    """Drop what differs by process and clock; the idle seconds must still be those of a key just written."""
    match = _ADDRESS_AND_CLOCK.search(reply)
    if match:
        assert int(match.group(2)) <= 1, reply
    return _ADDRESS_AND_CLOCK.sub(rb"\1 lru_seconds_idle:", reply)


def test_object_describes_a_value_as_redis_does(both):
    fill(both)
    for key in ("s", "n", "big", "neg"):
        both.check("DEBUG", "OBJECT", key, normalise=_without_address_and_clock)
    both.check_sequence([("DEBUG", "OBJECT", "nosuch")])
    for key in ("l", "ints", "words", "h", "z"):  # our dump encodes aggregates otherwise: not serializedlength
        reply = both.ours.call("DEBUG", "OBJECT", key)
        theirs = both.redis.call("DEBUG", "OBJECT", key)
        for field in (b"refcount", b"encoding", b"ql_nodes", b"ql_avg_node",
                      b"ql_listpack_max", b"ql_compressed", b"ql_uncompressed_size"):
            assert re.findall(field + rb":(\S+)", reply) == re.findall(field + rb":(\S+)", theirs), (key, field)
        assert int(re.search(rb"lru_seconds_idle:(\d+)", reply).group(1)) <= 1, (key, reply)  # the clock may tick between


@pytest.mark.parametrize("elements", [[b"x" * 10] * 2000, [b"%d" % n for n in range(3000)], [b"y" * 300] * 100])
def test_object_lays_a_long_list_out_in_redis_s_nodes(elements, both):
    for start in range(0, len(elements), 500):
        both.check("RPUSH", "l", *elements[start:start + 500])
    both.check("DEBUG", "OBJECT", "l", normalise=lambda reply: re.sub(
        rb"Value at:0x[0-9a-f]+ |lru:\d+ |serializedlength:\d+ ", b"", reply))


def test_packed_threshold_puts_big_elements_in_nodes_of_their_own(both):
    both.check_sequence([("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "x"), ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "-1"),
                         ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5000000000"),
                         ("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1kb"),
                         ("RPUSH", "l", "a", "b" * 2000, "c", "d")])
    both.check("DEBUG", "OBJECT", "l", normalise=lambda reply: re.sub(
        rb"Value at:0x[0-9a-f]+ |lru:\d+ |serializedlength:\d+ ", b"", reply))
    both.check("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0")


def test_listpack_reports_only_listpacks(both):
    fill(both)
    both.check_sequence([("DEBUG", "LISTPACK", "h"), ("DEBUG", "LISTPACK", "z"), ("DEBUG", "LISTPACK", "l"),
                         ("DEBUG", "LISTPACK", "s"), ("DEBUG", "LISTPACK", "nosuch")])


def test_reload_keeps_the_data(servers):
    with WireClient(servers[0].port) as client:
        client.call("FLUSHALL")
        client.call("RPUSH", "l", "a", "b")
        client.call("HSET", "h", "f", "v")
        client.call("SET", "s", "v", "EX", "1000")
        before = client.call("DEBUG", "DIGEST")
        assert before != b"+" + b"0" * 40 + b"\r\n"
        assert client.call("DEBUG", "RELOAD") == b"+OK\r\n"
        assert client.call("DEBUG", "DIGEST") == before
        client.call("FLUSHALL")


def test_sleep_stops_the_whole_server(servers):
    port = servers[0].port
    with WireClient(port) as sleeper, WireClient(port) as other:
        for argument in ("x", "-1", "0", "nan", "inf"):
            assert sleeper.call("DEBUG", "SLEEP", argument) == b"+OK\r\n"
        started = time.monotonic()
        sleeper.send_raw(b"DEBUG SLEEP 0.4\r\n")
        time.sleep(0.05)
        assert other.call("PING") == b"+PONG\r\n"
        assert time.monotonic() - started >= 0.35
        assert sleeper.read_reply() == b"+OK\r\n"


def test_set_active_expire_leaves_expired_keys_alone(both):
    both.check_sequence([("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "k", "v", "PX", "20"), ("SET", "other", "v")])
    time.sleep(0.4)  # the cron runs several times meanwhile
    both.check("DBSIZE")
    both.check_sequence([("DEBUG", "SET-ACTIVE-EXPIRE", "1")])
    deadline = time.monotonic() + 5
    while both.ours.call("DBSIZE") != b":1\r\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    while both.redis.call("DBSIZE") != b":1\r\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    both.check("DBSIZE")


def test_change_repl_id(both):
    both.check("DEBUG", "CHANGE-REPL-ID")


def test_loadaof_replays_the_append_only_file(tmp_path):
    running = start_ours(tmp_path, "--enable-debug-command", "yes", "--appendonly", "yes")
    try:
        with WireClient(running.port) as client:
            client.call("RPUSH", "l", "a", "b")
            client.call("SET", "s", "v")
            before = client.call("DEBUG", "DIGEST")
            assert client.call("DEBUG", "LOADAOF") == b"+OK\r\n"
            assert client.call("DEBUG", "DIGEST") == before
            assert client.call("LRANGE", "l", "0", "-1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
            assert client.call("DEBUG", "LOADAOF") == b"+OK\r\n"  # the replay was not logged a second time
            assert client.call("LLEN", "l") == b":2\r\n"
    finally:
        running.stop()


def test_reload_options_merge_the_file_into_the_data(both):
    both.check_sequence([("SET", "a", "1"), ("SAVE",), ("SET", "a", "changed"), ("SET", "b", "2"),
                         ("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"), ("MGET", "a", "b"),
                         ("DEBUG", "RELOAD", "NOSAVE"), ("MGET", "a", "b"), ("DEBUG", "RELOAD", "nosave", "bad")])
