"""MEMORY, OBJECT FREQ under the LFU policies, and LOLWUT, against Redis 7.0.15 where the replies are Redis's."""
import re
import time

import pytest

from conftest import start_ours, start_real_redis
from differential import Node, Pair, WireClient, same_on_both


def usage(client, *args):
    reply = client.call("MEMORY", "USAGE", *args)
    assert reply.startswith(b":"), reply
    return int(reply[1:])


def test_help_and_errors_are_redis_s(pair):
    pair.check_sequence([
        ("MEMORY", "HELP"), ("MEMORY",), ("MEMORY", "nosuch"), ("MEMORY", "HELP", "x"), ("MEMORY", "USAGE"),
        ("MEMORY", "STATS", "x"), ("MEMORY", "DOCTOR", "x"), ("MEMORY", "PURGE", "x"), ("MEMORY", "MALLOC-STATS", "x"),
        ("SET", "k", "v"), ("MEMORY", "USAGE", "nosuch"), ("MEMORY", "USAGE", "k", "x"),
        ("MEMORY", "USAGE", "k", "SAMPLES"), ("MEMORY", "USAGE", "k", "SAMPLES", "x"),
        ("MEMORY", "USAGE", "k", "SAMPLES", "-1"), ("MEMORY", "USAGE", "nosuch", "SAMPLES", "x"),
        ("MEMORY", "USAGE", "nosuch", "SAMPLES", "1", "bad"), ("MEMORY", "PURGE"),
    ])


def test_doctor_of_a_new_server(fresh):
    """MEMORY DOCTOR's report depends on what the server allocated over its life (its scripts too): asked of
    servers just started, both find the instance empty."""
    def scenario(port):
        with WireClient(port) as client:
            return client.call("MEMORY", "DOCTOR")
    assert b"this instance is empty" in same_on_both(fresh, scenario)


def test_usage_grows_with_the_value(server):
    with WireClient(server.port) as client:
        client.call("DEL", "s", "l", "h")
        client.call("SET", "s", "x")
        small = usage(client, "s")
        client.call("SET", "s", "x" * 10_000)
        assert usage(client, "s") >= small + 10_000
        client.call("RPUSH", "l", *["e%d" % n for n in range(10)])
        ten = usage(client, "l")
        client.call("RPUSH", "l", *["e%d" % n for n in range(1000)])
        assert usage(client, "l") > ten * 10
        client.call("HSET", "h", "f", "v")
        assert usage(client, "h") > 0
        client.call("DEL", "s", "l", "h")


def test_samples_zero_walks_every_member(server):
    with WireClient(server.port) as client:
        client.call("DEL", "l")
        client.call("RPUSH", "l", *["a"] * 5)
        client.call("RPUSH", "l", *["b" * 1000] * 100)
        sampled, walked = usage(client, "l"), usage(client, "l", "SAMPLES", "0")
        assert walked > sampled * 10  # five short members sampled; the hundred long ones only when walked
        assert usage(client, "l", "SAMPLES", "200") == walked
        assert usage(client, "l", "samples", "1", "SAMPLES", "0") == walked
        client.call("DEL", "l")


def test_a_million_members_are_sampled_not_walked(server):
    with WireClient(server.port, timeout=60) as client:
        client.call("DEL", "big")
        for start in range(0, 1_000_000, 20_000):
            client.call("SADD", "big", *range(start, start + 20_000))
        assert client.call("SCARD", "big") == b":1000000\r\n"
        started = time.monotonic()
        for _ in range(20):
            usage(client, "big")
        assert time.monotonic() - started < 0.5
        assert usage(client, "big", "SAMPLES", "0") > 1_000_000
        client.call("DEL", "big")


def test_stats_has_redis_s_fields_in_redis_s_order(pair):
    pair.check_sequence([("SET", "a", "1"), ("SET", "b", "2", "EX", "100")])
    for resp in ("2", "3"):
        pair.check("HELLO", resp, normalise=lambda reply: b"")
        ours = Node(pair.ours.call("MEMORY", "STATS"))
        theirs = Node(pair.redis.call("MEMORY", "STATS"))
        assert ours.head[:1] == theirs.head[:1]
        assert [child.bytes() for child in ours.children[::2]] == [child.bytes() for child in theirs.children[::2]]
        for mine, real in zip(ours.children[1::2], theirs.children[1::2]):
            assert mine.head[:1] == real.head[:1]  # integers stay integers, ratios doubles, maps maps


def test_malloc_stats_is_what_a_libc_build_of_redis_answers(server):
    with WireClient(server.port) as client:
        assert client.call("MEMORY", "MALLOC-STATS") == b"$45\r\nStats not supported for the current allocator\r\n"


# ------------------------------------------------------------------ OBJECT FREQ


def test_object_freq_counts_accesses_under_lfu(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    ours = start_ours(tmp_path / "ours", "--maxmemory-policy", "allkeys-lfu")
    redis = start_real_redis(tmp_path / "redis", "--maxmemory-policy", "allkeys-lfu")
    try:
        with Pair(ours.port, redis.port) as pair:
            pair.check_sequence([("SET", "k", "v"), ("OBJECT", "FREQ", "k"), ("GET", "k"), ("OBJECT", "FREQ", "k"),
                                 ("OBJECT", "FREQ", "nosuch"), ("OBJECT", "FREQ"), ("OBJECT", "IDLETIME", "k"),
                                 ("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), ("OBJECT", "FREQ", "k")])
    finally:
        ours.stop()
        redis.stop()


def test_object_freq_without_lfu_is_refused(pair):
    pair.check_sequence([("SET", "k", "v"), ("OBJECT", "FREQ", "k"), ("OBJECT", "FREQ", "k", "x")])


# ------------------------------------------------------------------ LOLWUT

_SIGNATURE = re.compile(rb"\nGeorg Nees - schotter, plotter on paper, 1968\. Redis ver\. 7\.0\.15\n$")


def test_lolwut_prints_the_version_as_redis_does(pair):
    for resp in ("2", "3"):
        pair.check("HELLO", resp, normalise=lambda reply: b"")
        pair.check_sequence([("LOLWUT",), ("LOLWUT", "VERSION", "7"), ("LOLWUT", "VERSION", "1"), ("LOLWUT", "x"),
                             ("LOLWUT", "VERSION"), ("LOLWUT", "VERSION", "x"), ("LOLWUT", "VERSION", "5", "x"),
                             # One column, and two rows: Schotter shifts the squares of the rows below at random
                             # (with its default 12 rows, one glyph in a few differed, on either server).
                             ("LOLWUT", "VERSION", "5", "1", "8", "2")])


@pytest.mark.parametrize("options", [(), ("40",), ("20", "4", "3"), ("5000", "1", "1"), ("0", "0", "0"),
                                     ("1000", "200", "200")])
def test_lolwut_5_draws_schotter_in_redis_s_shape(options, pair):
    pair.check("HELLO", "3", normalise=lambda reply: b"")
    shapes = []
    for client in (pair.ours, pair.redis):
        reply = client.call("LOLWUT", "VERSION", "5", *options)
        header, body = reply.split(b"\r\n", 1)
        text = body[len(b"txt:"):-2]
        assert int(header[1:]) == len(text) + 4
        assert _SIGNATURE.search(text)
        art = text[:_SIGNATURE.search(text).start()].decode().split("\n")
        assert all(0x2800 <= ord(char) <= 0x28FF for line in art for char in line)
        shapes.append([len(line) for line in art])
    assert shapes[0] == shapes[1]


_CELL = re.compile(rb"\x1b\[(0;30;40m|0;90;100m|0;37;47m|0;97;107m) \x1b\[0m")
_DEDICATION = (b"\nDedicated to the 8 bit game developers of past and present.\n"
               b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15\n")


@pytest.mark.parametrize("options", [(), ("30", "8"), ("2", "1"), ("0", "5000"), ("5000", "5000")])
def test_lolwut_6_draws_a_skyline_in_redis_s_shape(options, pair):
    shapes = []
    for client in (pair.ours, pair.redis):
        reply = client.call("LOLWUT", "VERSION", "6", *options)
        header, body = reply.split(b"\r\n", 1)
        text = body[:-2]
        assert int(header[1:]) == len(text) and text.endswith(_DEDICATION)
        rows = text[:-len(_DEDICATION)].split(b"\n")
        assert all(_CELL.sub(b"", row) == b"" for row in rows)
        shapes.append([len(_CELL.findall(row)) for row in rows])
    assert shapes[0] == shapes[1]
    pair.check_sequence([("LOLWUT", "VERSION", "6", "x"), ("LOLWUT", "VERSION", "6", "1", "x")])
