"""Streams in RDB (RDB_TYPE_STREAM_LISTPACKS_2) against Redis 7.0.15: DUMP gives Redis's bytes, payloads
and dump.rdb files move both ways with XINFO STREAM FULL equal on both sides (groups, PELs, consumers,
deleted entries), and a malformed stream is refused whole, never half-loaded.
"""
import os
import random
import shutil
import struct
import subprocess
import sys

import pytest
import redis

from conftest import ROOT, free_port, start_ours, start_real_redis
from differential import WireClient
from payloads import payload, string
from persistence.codecs import listpack
from persistence.objects import Limits, PayloadError, encode_length, restore_payload
from serving.config import Config
from storage.streams import Stream


def _fill(call, rng, deletions=True, groups=True):
    """Streams of every shape: field sets shared or not, integers, long values, deletions, trims, groups
    with pending entries, consumers with and without them, an empty stream with a group."""
    ms = 1
    for index in range(500):
        ms += rng.choice((0, 1, 7000, 1 << 35))
        fields = [rng.choice((b"a", b"b", b"12")), rng.choice((b"1", b"-77", b"x" * rng.choice((1, 70, 5000))))]
        if rng.random() < 0.3:
            fields += [b"c", b"%d" % rng.randrange(-10**12, 10**12)]
        call("XADD", "s", "%d-*" % ms, *fields)
        if deletions and rng.random() < 0.1:
            call("XDEL", "s", "%d-0" % rng.randrange(ms))
    if deletions:
        call("XTRIM", "s", "MAXLEN", "~", "400")
    call("XADD", "small", "1-1", "f", "v")
    call("XADD", "empty", "MAXLEN", "0", "5-5", "f", "v")
    if groups:
        call("XGROUP", "CREATE", "s", "g", "0")
        call("XGROUP", "CREATE", "s", "unread", "$", "ENTRIESREAD", "-1")
        call("XREADGROUP", "GROUP", "g", "c1", "COUNT", "40", "STREAMS", "s", ">")
        call("XREADGROUP", "GROUP", "g", "c2", "COUNT", "7", "STREAMS", "s", ">")
        call("XREADGROUP", "GROUP", "g", "c3", "NOACK", "COUNT", "5", "STREAMS", "s", ">")
        call("XGROUP", "CREATECONSUMER", "s", "g", "idle")
        call("XGROUP", "CREATE", "empty", "g", "0")
        if deletions:
            call("XDEL", "s", "%d-0" % ms)


KEYS = ("s", "small", "empty")


def _full(call):
    return [call("XINFO", "STREAM", key, "FULL", "COUNT", "0") for key in KEYS]


def test_dump_is_redis_s_bytes(both):
    """Without deletions (Redis's listpacks keep deleted entries, ours only count them) or clock times."""
    _fill(both.check, random.Random(1), deletions=False, groups=False)
    for key in KEYS:
        both.check("DUMP", key)
    both.check("CONFIG", "SET", "rdbcompression", "no")
    try:
        both.check("DUMP", "s")
    finally:
        both.check("CONFIG", "SET", "rdbcompression", "yes")


def test_payloads_move_both_ways(servers):
    ours, real = (WireClient(running.port) for running in servers)
    try:
        for client in (ours, real):
            client.call("FLUSHALL")
        for seed, client in ((2, ours), (2, real)):
            _fill(client.call, random.Random(seed))
        for source, target in ((real, ours), (ours, real)):
            for key in KEYS:
                dumped = redis.Redis(port=servers[0 if source is ours else 1].port).dump(key)
                assert target.call("RESTORE", "moved-" + key, "0", dumped) == b"+OK\r\n"
            expected = _full(source.call)
            got = [target.call("XINFO", "STREAM", "moved-" + key, "FULL", "COUNT", "0") for key in KEYS]
            assert got == expected
            for key in KEYS:
                target.call("DEL", "moved-" + key)
    finally:
        ours.close()
        real.close()


def test_dump_rdb_files_move_both_ways(tmp_path):
    """Redis saves streams with groups and deletions; we load its dump.rdb and show what it shows; we save,
    and Redis loads our file and shows the same again."""
    for name in ("redis", "ours", "back"):
        (tmp_path / name).mkdir()
    maker = start_real_redis(tmp_path / "redis")
    try:
        client = WireClient(maker.port)
        _fill(client.call, random.Random(3))
        expected = _full(client.call)
        assert client.call("SAVE") == b"+OK\r\n"
        client.close()
    finally:
        maker.stop()
    shutil.copy(tmp_path / "redis" / "dump.rdb", tmp_path / "ours" / "dump.rdb")
    ours = start_ours(tmp_path / "ours")
    try:
        client = WireClient(ours.port)
        assert _full(client.call) == expected
        client.call("XADD", "s", "*", "after", "load")  # nodes fill on from the sizes loaded
        client.call("XREADGROUP", "GROUP", "g", "c4", "STREAMS", "s", ">")
        expected = _full(client.call)
        assert client.call("SAVE") == b"+OK\r\n"
        client.close()
    finally:
        ours.stop()
    shutil.copy(tmp_path / "ours" / "dump.rdb", tmp_path / "back" / "dump.rdb")
    back = start_real_redis(tmp_path / "back")
    try:
        client = WireClient(back.port)
        assert _full(client.call) == expected
        client.close()
    finally:
        back.stop()


def _stream_body(nodes, length, tail=None, groups=b"\x00"):
    """A TYPE_STREAM_LISTPACKS_2 value of (master key, listpack) nodes."""
    body = b"\x13" + encode_length(len(nodes))
    for key, blob in nodes:
        body += string(key) + string(blob)
    ids = tail if tail is not None else [length, 1, 1, 1, 1, 0, 0, length]
    return body + b"".join(encode_length(number) for number in ids) + groups


KEY = (1 << 64 | 1).to_bytes(16, "big")
GOOD_NODE = listpack([b"1", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v", b"4"])  # one SAMEFIELDS entry
MALFORMED = {
    "node key not 16 bytes": _stream_body([(b"short", GOOD_NODE)], 1),
    "empty listpack": _stream_body([(KEY, listpack([]))], 0),
    "no master terminator": _stream_body([(KEY, listpack([b"1", b"0", b"1", b"f", b"5", b"2", b"0", b"0",
                                                          b"v", b"4"]))], 1),
    "wrong lp-count": _stream_body([(KEY, listpack([b"1", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v",
                                                    b"9"]))], 1),
    "entries missing": _stream_body([(KEY, listpack([b"2", b"0", b"1", b"f", b"0", b"2", b"0", b"0", b"v",
                                                     b"4"]))], 2),
    "text where a count belongs": _stream_body([(KEY, listpack([b"x", b"0", b"1", b"f", b"0"]))], 1),
    "duplicate node key": _stream_body([(KEY, GOOD_NODE), (KEY, GOOD_NODE)], 2),
    "PEL entry without consumer": _stream_body([(KEY, GOOD_NODE)], 1, groups=b"\x01" + string(b"g") + b"\x00\x00\x00"
                                               + b"\x01" + KEY + struct.pack("<q", 5) + b"\x01" + b"\x00"),
    "consumer entry not in the PEL": _stream_body([(KEY, GOOD_NODE)], 1, groups=b"\x01" + string(b"g")
                                                  + b"\x00\x00\x00\x00\x01" + string(b"c") + struct.pack("<q", 5)
                                                  + b"\x01" + KEY),
    "duplicate group": _stream_body([(KEY, GOOD_NODE)], 1,
                                    groups=b"\x02" + (string(b"g") + b"\x00\x00\x00\x00\x00") * 2),
    "truncated": _stream_body([(KEY, GOOD_NODE)], 1)[:-3],
}


def test_a_length_that_is_not_the_entries_count_is_refused():
    """Redis 7.0 takes the stored length as it is (XLEN then says 2 of a stream with one entry); we refuse it,
    since a stream's length here is its entries' count."""
    with pytest.raises(PayloadError):
        restore_payload(payload(_stream_body([(KEY, GOOD_NODE)], 2)), Limits(Config()))


def test_a_sound_hand_made_stream_restores():
    value = restore_payload(payload(_stream_body([(KEY, GOOD_NODE)], 1)), Limits(Config()))
    assert isinstance(value, Stream) and value.entries[0] == (1 << 64 | 1, (b"f", b"v"))


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_stream_is_bad_data_format(name, both):
    both.check("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        both.check("RESTORE", "k", 0, payload(MALFORMED[name]))
        both.check("EXISTS", "k")
    finally:
        both.check("CONFIG", "SET", "sanitize-dump-payload", "no")


def test_corrupted_stream_payloads_are_refused_cleanly(servers):
    """Random corruptions of real stream payloads: a sound stream or PayloadError, nothing else."""
    client = WireClient(servers[1].port)
    client.call("FLUSHALL")
    _fill(client.call, random.Random(4))
    client.close()
    real = redis.Redis(port=servers[1].port)
    originals = [real.dump(key) for key in KEYS]
    rng = random.Random(16)
    limits = Limits(Config())
    outcomes = set()
    for _ in range(1500):
        body = bytearray(rng.choice(originals)[:-10])
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(body))
            body[at] = rng.randrange(256)
        try:
            value = restore_payload(payload(bytes(body)), limits)
            assert isinstance(value, Stream)
            outcomes.add("sound")
        except PayloadError as error:
            assert not error.checksum
            outcomes.add("refused")
    assert outcomes == {"sound", "refused"}


def test_a_malformed_stream_in_dump_rdb_stops_the_load(tmp_path):
    """A file whose stream listpack is broken (its checksum left off, as rdbchecksum no writes) is refused:
    the server stops at start-up rather than run without the stream or with half of it."""
    ours = start_ours(tmp_path, "--rdbcompression", "no", "--rdbchecksum", "no")
    try:
        client = WireClient(ours.port)
        client.call("XADD", "k", "1-1", "fff", "vvv")
        client.call("SET", "other", "x")
        assert client.call("SAVE") == b"+OK\r\n"
        client.close()
    finally:
        ours.stop()
    data = (tmp_path / "dump.rdb").read_bytes()
    entry = b"\x83vvv\x04\x04\x01"  # the value, its back-length, then the lp-count 4
    assert data.count(entry) == 1
    (tmp_path / "dump.rdb").write_bytes(data.replace(entry, b"\x83vvv\x04\x09\x01"))
    argv = [sys.executable, os.path.join(ROOT, "server.py"), "--port", str(free_port()), "--rdbchecksum", "no"]
    done = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, timeout=30)
    assert done.returncode != 0
    assert b"stream" in done.stdout.lower() + done.stderr.lower()
