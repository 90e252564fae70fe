"""Fuzzing a running server: random bytes, corrupted frames and random commands must harm no one.

After every input: the fuzzing connection got only well-formed RESP replies,
and nothing after a protocol error (the server closes there); a fresh
connection still gets PONG; and at the end, sentinel keys written before the
fuzzing are intact. Commands that act on the whole server (FLUSHALL,
SHUTDOWN, CONFIG, CLIENT KILL...) are left out of the random commands: they
would harm by design.

The hypothesis statistics (`pytest tests/test_fuzz.py --hypothesis-show-statistics`) show how many
inputs were tried. With atheris installed, RequestReader is also fuzzed directly, coverage-guided,
with both fast paths (hiredis and pure Python) held to the same results.
"""
import os
import socket
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commands.families import build_table
from conftest import ROOT, start_ours
from differential import ReplyFormatError, WireClient, encode_command, reply_end

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
READ_TIMEOUT = 10.0

SENTINELS = [
    ("SET", "sentinel:string", "untouched"),
    ("RPUSH", "sentinel:list", "a", "b", "c"),
    ("HSET", "sentinel:hash", "field", "value"),
    ("SADD", "sentinel:set", "x", "y"),
    ("ZADD", "sentinel:zset", "1", "one", "2", "two"),
]
SENTINEL_CHECKS = [
    (("GET", "sentinel:string"), b"$9\r\nuntouched\r\n"),
    (("LRANGE", "sentinel:list", "0", "-1"), b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"),
    (("HGETALL", "sentinel:hash"), b"*2\r\n$5\r\nfield\r\n$5\r\nvalue\r\n"),
    (("SCARD", "sentinel:set"), b":2\r\n"),
    (("ZSCORE", "sentinel:zset", "two"), b"$1\r\n2\r\n"),
]
SENTINEL_DB = 3  # the random commands run in db 0 unless they SELECT; the sentinels sit apart and in db 0


def _harmless(name, command):
    """Commands whose effect stays with the keys they name (or with the connection)."""
    whole_server = {"shutdown", "config", "client", "debug", "save", "bgsave", "bgrewriteaof", "monitor",
                    "sync", "psync", "replicaof", "slaveof", "failover", "migrate"}
    keyless_write = "write" in command.flags and command.first_key == 0
    return name not in whole_server and not keyless_write and "admin" not in command.flags


TABLE = build_table()
COMMAND_NAMES = sorted(name.decode() for name, command in TABLE.items() if _harmless(name.decode(), command))
GARBAGE_NAMES = ["", "x", "getx", "SET\x00", "p\xefng", "*", "$3", "\r\n", "a" * 200]
KEYS = ["k0", "k1", "k2", "{k}3", ""]
NUMBERS = ["0", "1", "-1", "2", "10", "-10", "100", "3.5", "-0", "1e3", "inf", "-inf", "+inf", "nan",
           "9223372036854775807", "-9223372036854775808", "9223372036854775808", "4294967296", "0x10", " 1"]
WORDS = ["EX", "PX", "NX", "XX", "GT", "LT", "CH", "INCR", "WITHSCORES", "LIMIT", "BYSCORE", "BYLEX", "REV",
         "COUNT", "MATCH", "TYPE", "LEFT", "RIGHT", "BEFORE", "AFTER", "KEEPTTL", "GET", "AUTH", "SETNAME",
         "(1", "[a", "-", "+", "*", "?"]

argument = st.one_of(st.sampled_from(KEYS), st.sampled_from(NUMBERS), st.sampled_from(WORDS),
                     st.binary(max_size=20), st.text(max_size=10))
command_name = st.one_of(st.sampled_from(COMMAND_NAMES), st.sampled_from(COMMAND_NAMES).map(str.upper),
                         st.sampled_from(GARBAGE_NAMES))
random_command = st.tuples(command_name, st.lists(argument, max_size=7)).map(lambda c: [c[0], *c[1]])

PROTOCOL_PIECES = [b"*", b"$", b"\r\n", b"\r", b"\n", b"0", b"1", b"2", b"3", b"-1", b"-", b"+", b":",
                   b"9999999999", b" ", b'"', b"'", b"\\", b"\\x4", b"\x00", b"\xff", b"PING", b"SET", b"GET",
                   b"ECHO", b"k", b"*1\r\n$4\r\nPING\r\n", b"*2\r\n", b"$3\r\n"]
protocol_soup = st.lists(st.sampled_from(PROTOCOL_PIECES), max_size=40).map(b"".join)
random_bytes = st.one_of(st.binary(max_size=300), protocol_soup)


def inline(command):
    """A command as one inline line, quoted the way Redis's sdssplitargs reads it."""
    words = []
    for arg in command:
        raw = arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else arg
        words.append(b'"' + b"".join(b"\\x%02x" % byte for byte in raw) + b'"')
    return b" ".join(words) + b"\r\n"


def encoded(command, as_inline):
    if as_inline:
        return inline(command)
    return encode_command([arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else arg
                           for arg in command])


@st.composite
def corrupted_frames(draw):
    """Valid requests, then one random cut, flip, insertion or deletion."""
    commands = draw(st.lists(random_command, min_size=1, max_size=4))
    data = bytearray(b"".join(encoded(command, draw(st.booleans())) for command in commands))
    position = draw(st.integers(0, len(data)))
    action = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
    if action == "cut":
        del data[position:]
    elif action == "flip" and position < len(data):
        data[position] = draw(st.integers(0, 255))
    elif action == "insert":
        data[position:position] = draw(st.sampled_from(PROTOCOL_PIECES))
    elif position < len(data):
        del data[position]
    return bytes(data)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    running = start_ours(tmp_path_factory.mktemp("fuzz"))
    with WireClient(running.port) as client:
        for db in (0, SENTINEL_DB):
            assert client.call("SELECT", db) == b"+OK\r\n"
            for command in SENTINELS:
                assert client.call(*command).startswith((b"+OK", b":"))
    yield running
    try:
        check_sentinels(running.port)
    finally:
        running.stop()


def check_sentinels(port):
    with WireClient(port) as client:
        for db in (0, SENTINEL_DB):
            assert client.call("SELECT", db) == b"+OK\r\n"
            for command, expected in SENTINEL_CHECKS:
                assert client.call(*command) == expected, (db, command)


def exchange(port, data):
    """Send data, then close our sending side, and return everything the server sent until it closed."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT)
    try:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it hung up on us early (a protocol error in the first bytes): read what it said
        received = bytearray()
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                raise AssertionError("no close after %gs for input %r; got %r" % (READ_TIMEOUT, data[:200],
                                                                                  bytes(received[-200:])))
            if not chunk:
                break
            received += chunk
        return bytes(received)
    finally:
        sock.close()


def split_replies(received, data):
    """The replies in received; fails unless it is a whole number of well-formed RESP replies."""
    replies, position = [], 0
    while position < len(received):
        try:
            end = reply_end(received, position)
        except ReplyFormatError as error:
            raise AssertionError("not RESP (%s) for input %r: %r" % (error, data[:200], received[:400]))
        assert end is not None, "a reply cut short for input %r: %r" % (data[:200], received[position:][:400])
        replies.append(received[position:end])
        position = end
    return replies


def check_input(port, data):
    replies = split_replies(exchange(port, data), data)
    for index, reply in enumerate(replies):
        if reply.startswith(b"-ERR Protocol error: "):
            assert index == len(replies) - 1, "replies after a protocol error for input %r: %r" % (
                data[:200], replies[index:][:5])
    with WireClient(port) as fresh:
        assert fresh.call("PING") == b"+PONG\r\n", "server unwell after input %r" % (data[:200],)


@SETTINGS
@given(data=random_bytes)
def test_random_bytes(target, data):
    check_input(target.port, data)


@SETTINGS
@given(data=corrupted_frames())
def test_corrupted_frames(target, data):
    check_input(target.port, data)


@SETTINGS
@given(commands=st.lists(random_command, min_size=1, max_size=5), as_inline=st.booleans())
def test_random_commands(target, commands, as_inline):
    check_input(target.port, b"".join(encoded(command, as_inline) for command in commands))


def test_sentinels_survive_the_fuzzing(target):
    check_sentinels(target.port)
    with WireClient(target.port) as client:
        assert client.call("CLIENT", "LIST").count(b"id=") == 1


ATHERIS_HARNESS = textwrap.dedent('''
    import sys
    import atheris
    with atheris.instrument_imports():
        from protocol import ProtocolError, RequestReader

    def parse(data, cuts, authenticated, parser):
        reader = RequestReader(max_bulk_len=1024 * 1024, parser=parser)
        reader.authenticated = authenticated
        commands, error, start = [], None, 0
        for cut in sorted(cuts) + [len(data)]:
            reader.feed(data[start:cut])
            start = max(start, cut)
            try:
                commands.extend(reader.frames())
            except ProtocolError as failure:
                return commands, failure.message
        return commands, None

    def one_input(raw):
        provider = atheris.FuzzedDataProvider(raw)
        authenticated = provider.ConsumeBool()
        cuts = [provider.ConsumeIntInRange(0, 512) for _ in range(provider.ConsumeIntInRange(0, 8))]
        data = provider.ConsumeBytes(512)
        whole = parse(data, [], authenticated, "python")
        for commands in whole[0]:
            assert all(type(arg) is bytes for arg in commands)
        # Cut anywhere, with either fast path, the same commands and the same error: the reader
        # keeps state across reads, and hiredis passes on only what the exact parser would read.
        cuts = [cut for cut in cuts if cut <= len(data)]
        for parser in ("hiredis", "python"):
            assert parse(data, [], authenticated, parser) == whole, (parser, data)
            assert parse(data, cuts, authenticated, parser) == whole, (parser, data, cuts)

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
''')


def test_request_reader_under_atheris(tmp_path):
    import atheris  # noqa: F401  (in requirements-dev.txt: fail loudly if it is missing)
    harness = tmp_path / "fuzz_reader.py"
    harness.write_text(ATHERIS_HARNESS)
    done = subprocess.run([sys.executable, str(harness), "-runs=20000", "-max_len=600", "-seed=1"],
                          cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Done 20000 runs" in done.stderr
