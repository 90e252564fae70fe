"""SLOWLOG against real Redis: entries as Redis writes them, the thresholds, the cap, the errors."""
import time

import pytest

from differential import Pair, mask_client_id, parse_reply
from serving.slowlog import SlowLog, redacted, trimmed


@pytest.fixture
def both(servers):
    """Both servers logging every command (slower than 0 us) into an empty slow log of 128."""
    ours, redis = servers
    with Pair(ours.port, redis.port) as pair:
        for command in (("FLUSHALL",), ("CONFIG", "SET", "slowlog-max-len", "128"),
                        ("CONFIG", "SET", "slowlog-log-slower-than", "0"), ("SLOWLOG", "RESET")):
            pair.check(*command)
        yield pair
        pair.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def entries(client, *count):
    """SLOWLOG GET's entries without the id, time and duration, which differ: (argv, address, name)."""
    got = parse_reply(client.call("SLOWLOG", "GET", *count))
    for entry in got:
        assert len(entry) == 6
        assert all(isinstance(field, int) for field in entry[:3])
    return [(entry[3], entry[4].rsplit(b":", 1)[0], entry[5]) for entry in got]


@pytest.mark.parametrize("command", [
    ("SLOWLOG", "HELP"), ("SLOWLOG",), ("SLOWLOG", "FOO"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "x"),
    ("SLOWLOG", "GET", "1", "2"), ("SLOWLOG", "GET", "0"), ("SLOWLOG", "LEN", "x"), ("SLOWLOG", "RESET", "x"),
    ("SLOWLOG", "HELP", "x"), ("slowlog", "help"),
])
def test_help_and_errors(both, command):
    both.check(*command)


def test_entries_as_redis_writes_them(both):
    both.check("SET", "k", "v")
    both.check("RPUSH", "list", *["e%d" % index for index in range(40)])  # 42 arguments: 31 kept
    both.check("RPUSH", "list", *["e%d" % index for index in range(30)])  # 32 arguments: all kept
    both.check("SET", "long", b"x" * 129)
    both.check("SET", "exact", b"y" * 128)
    both.check("CLIENT", "SETNAME", "slowpoke")
    both.check("AUTH", "secret")
    both.check("HELLO", "2", "AUTH", "default", "secret", normalise=mask_client_id)
    both.check("CONFIG", "SET", "requirepass", "", "maxclients", "10000")
    both.check_pipeline([("MULTI",), ("INCR", "counter"), ("EXEC",)])
    both.check("GET", "k")
    ours, redis = entries(both.ours, "-1"), entries(both.redis, "-1")
    assert ours == redis
    argvs = [argv for argv, _, _ in ours]
    assert argvs[-1] == [b"SLOWLOG", b"RESET"] and argvs[-2] == [b"SET", b"k", b"v"]
    assert argvs[-3][-1] == b"... (11 more arguments)" and len(argvs[-3]) == 32 and len(argvs[-4]) == 32
    assert [b"AUTH", b"(redacted)"] in argvs


def test_ids_count_up_and_len_and_reset(both):
    for index in range(5):
        both.check("SET", "k%d" % index, "v")
    ids = [entry[0] for entry in parse_reply(both.ours.call("SLOWLOG", "GET"))]
    both.redis.call("SLOWLOG", "GET")  # the same commands on both
    assert ids == sorted(ids, reverse=True) and ids[0] - ids[-1] == len(ids) - 1
    both.check("SLOWLOG", "LEN")
    assert entries(both.ours, "2") == entries(both.redis, "2")
    both.check("SLOWLOG", "RESET")
    both.check("SLOWLOG", "LEN")  # the LEN before it was logged: 1 on both


def test_max_len_caps_the_log(both):
    both.check("CONFIG", "SET", "slowlog-max-len", "5")
    for index in range(20):
        both.check("SET", "k%d" % index, "v")
    assert both.check("SLOWLOG", "LEN") == b":5\r\n"
    assert entries(both.ours, "-1") == entries(both.redis, "-1")
    both.check("CONFIG", "SET", "slowlog-max-len", "0")
    both.check("SLOWLOG", "LEN")


def test_thresholds(both):
    both.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    both.check("SLOWLOG", "RESET")
    both.check("SET", "a", "1")
    assert both.check("SLOWLOG", "LEN") == b":0\r\n"
    both.check("CONFIG", "SET", "slowlog-log-slower-than", "50000")  # 50 ms
    both.check("SET", "a", "1")
    both.check("DEBUG", "SLEEP", "0.1")
    both.check("GET", "a")
    assert entries(both.ours) == entries(both.redis) != []
    for client in (both.ours, both.redis):
        duration = parse_reply(client.call("SLOWLOG", "GET", "1"))[0][2]
        assert 100_000 <= duration < 1_000_000


def test_trimming_and_redaction_rules():
    assert trimmed([b"a"] * 33)[-1] == b"... (2 more arguments)"
    assert trimmed([b"z" * 200]) == [b"z" * 128 + b"... (72 more bytes)"]
    assert redacted([b"hello", b"3", b"AUTH", b"u", b"p", b"SETNAME", b"n"]) == \
        [b"hello", b"3", b"AUTH", b"(redacted)", b"(redacted)", b"SETNAME", b"n"]
    log = SlowLog()

    class Client:
        address, name = "127.0.0.1:1", b""
    for index in range(300):
        log.push(Client, [b"SET", b"%d" % index], 1, 128)
    assert len(log.entries) == 128 and log.entries[0][0] == 299


def test_time_blocked_is_not_slowness(both):
    both.check("CONFIG", "SET", "slowlog-log-slower-than", "100000")  # 100 ms
    both.check("SLOWLOG", "RESET")
    both.check("BLPOP", "nosuchlist", "0.3")  # waits 300 ms, works a few microseconds
    assert both.check("SLOWLOG", "LEN") == b":0\r\n"
    both.check("CONFIG", "SET", "slowlog-log-slower-than", "0")
    both.check("BLPOP", "nosuchlist", "0.2")  # timed out: Redis logs nothing
    both.check("RPUSH", "other", "x")
    both.check("BLPOP", "nosuchlist", "other", "0.2")  # served at once
    ours, redis = entries(both.ours, "3"), entries(both.redis, "3")
    assert ours == redis
    assert [argv[0] for argv, _, _ in ours] == [b"BLPOP", b"RPUSH", b"CONFIG"]


def test_a_served_blocking_command_is_logged_without_its_wait(both):
    from differential import WireClient, encode_command
    durations = []
    for port in (both.ours.port, both.redis.port):
        with WireClient(port) as waiting, WireClient(port) as pusher:
            waiting.send_raw(encode_command(("BLPOP", "queue", "5")))
            time.sleep(0.3)
            pusher.call("RPUSH", "queue", "x")
            assert waiting.read_reply() == b"*2\r\n$5\r\nqueue\r\n$1\r\nx\r\n"
            newest = parse_reply(pusher.call("SLOWLOG", "GET", "2"))
        assert [entry[3] for entry in newest] == [[b"BLPOP", b"queue", b"5"], [b"RPUSH", b"queue", b"x"]]
        durations.append(newest[0][2])
    assert durations[0] < 100_000  # ours; Redis's own is a few microseconds
