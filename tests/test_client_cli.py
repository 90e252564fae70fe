"""python client.py, the prompt: its output compared byte for byte with redis-cli's for the same input.

redis-cli reads the same lines from stdin against the same server; it is the
oracle for both views (--no-raw, the terminal one, and --raw) and for one-shot mode.
"""
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from clientlib.cli import Reply, format_tty
from conftest import start_real_redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 20


def ours(port, *args, stdin=b""):
    return subprocess.run([sys.executable, os.path.join(ROOT, "client.py"), "-p", str(port), *args],
                          input=stdin, capture_output=True, timeout=TIMEOUT)


def redis_cli(port, *args, stdin=b""):
    return subprocess.run(["redis-cli", "-p", str(port), *args], input=stdin, capture_output=True,
                          timeout=TIMEOUT)


def script(*lines):
    return "".join(line + "\n" for line in lines).encode()


@pytest.fixture(scope="module")
def debug_redis(tmp_path_factory):
    """A real Redis that allows DEBUG PROTOCOL, which answers with every RESP3 type."""
    running = start_real_redis(tmp_path_factory.mktemp("debug"), "--enable-debug-command", "yes")
    yield running
    running.stop()


KEYS = ("cli:s", "cli:l", "cli:h", "cli:z", "cli:set", "cli:bin")
COMMON = script(
    "SET cli:s hello",
    "GET cli:s",
    "GET cli:missing",
    "INCR cli:s",
    "RPUSH cli:l 1 2 3 4 5 6 7 8 9 10 11",
    "LRANGE cli:l 0 -1",
    "LRANGE cli:missing 0 -1",
    "PING",
    'SET cli:bin "tab\\there\\nquote\\"back\\\\slash\\x00\\xff end"',
    "GET cli:bin",
    'SET cli:s "unbalanced',
    'SET cli:s "x"y',
    "",
    "   ",
    "NOSUCHCOMMAND a b",
    "COMMAND INFO get set mget mset del exists incr decr append strlen",
    "HSET cli:h f1 v1 f2 v2",
    "HGETALL cli:h",
    "SADD cli:set m",
    "SMEMBERS cli:set",
    "SMEMBERS cli:missing",
    "ZADD cli:z 1.5 a 2 b",
    "ZRANGE cli:z 0 -1 WITHSCORES",
    "ZSCORE cli:z a",
    "SELECT 1",
    "SELECT 0",
    "MULTI",
    "LRANGE cli:l 0 2",
    "INCR cli:l",
    "EXEC",
    "HELLO 3",
    "HGETALL cli:h",
    "HGETALL cli:missing",
    "SMEMBERS cli:set",
    "SMEMBERS cli:missing",
    "ZSCORE cli:z a",
    "ZRANGE cli:z 0 -1 WITHSCORES",
    "EXISTS cli:h",
)


@pytest.mark.parametrize("view", ["--no-raw", "--raw"])
def test_the_prompt_prints_what_redis_cli_prints(any_server, view):
    """HELLO's reply (server name, connection id) differs by itself, so it is left out of the script."""
    lines = COMMON.replace(b"HELLO 3\n", b"")
    for resp3 in ([], ["-3"]):
        redis_cli(any_server.port, "DEL", *KEYS)
        expected = redis_cli(any_server.port, view, *resp3, stdin=lines)
        redis_cli(any_server.port, "DEL", *KEYS)
        got = ours(any_server.port, view, *resp3, stdin=lines)
        assert got.stdout.decode(errors="replace") == expected.stdout.decode(errors="replace")
        assert got.returncode == expected.returncode == 0


DEBUG_TYPES = ("string", "integer", "double", "map", "set", "null", "true", "false", "verbatim")


@pytest.mark.parametrize("view", ["--no-raw", "--raw"])
@pytest.mark.parametrize("resp3", [False, True])
def test_every_resp3_type_prints_as_redis_cli_prints_it(debug_redis, view, resp3):
    """redis-cli 7.0 dies on big numbers and attributes, so they are not in the comparison."""
    lines = script(*("DEBUG PROTOCOL " + kind for kind in DEBUG_TYPES))
    options = [view, "-3"] if resp3 else [view]
    expected = redis_cli(debug_redis.port, *options, stdin=lines)
    got = ours(debug_redis.port, *options, stdin=lines)
    assert got.stdout.decode() == expected.stdout.decode()


def test_nested_indexes_indent_by_their_parent_s_width():
    tree = Reply("*", [Reply("*", [Reply("$", b"a"), Reply("*", [Reply(":", b"1")])])] * 10)
    assert format_tty(tree).decode().splitlines()[-2:] == ['10) 1) "a"', "    2) 1) (integer) 1"]
    assert format_tty(Reply("%", [Reply("+", b"k"), Reply("~", [Reply(",", b"1.5")])])) == \
        b"1# k => 1~ (double) 1.5\n"
    assert format_tty(Reply("(", b"12345678901234567890")) == b"(big number) 12345678901234567890\n"


def one_shot_state(port):
    redis_cli(port, "DEL", "cli:one", "cli:list")
    redis_cli(port, "RPUSH", "cli:list", "a", "b")
    redis_cli(port, "SET", "cli:one", "va lue")


@pytest.mark.parametrize("argv", [
    ["SET", "cli:one", "va lue"], ["GET", "cli:one"], ["GET", "cli:missing"], ["INCR", "cli:one"],
    ["DEL", "cli:one"], ["RPUSH", "cli:list", "a", "", "c"], ["LRANGE", "cli:list", "0", "-1"],
    ["LRANGE", "cli:missing", "0", "-1"], ["NOSUCH"], ["-n", "2", "SET", "cli:db2", "x"],
    ["-n", "2", "GET", "cli:db2"], ["-3", "HGETALL", "cli:missing"], ["--no-raw", "GET", "cli:db2"],
    ["--no-raw", "-n", "2", "GET", "cli:db2"], ["--no-raw", "RPUSH", "cli:list", "x"]])
def test_one_shot_prints_what_redis_cli_prints_to_a_pipe(any_server, argv):
    """Not a terminal, so raw: values bare, nil as an empty line, errors without "(error)"."""
    one_shot_state(any_server.port)
    expected = redis_cli(any_server.port, *argv)
    one_shot_state(any_server.port)
    got = ours(any_server.port, *argv)
    assert (got.stdout, got.returncode) == (expected.stdout, expected.returncode)


def test_one_shot_set_prints_ok(any_server):
    assert ours(any_server.port, "SET", "cli:ok", "b").stdout == b"OK\n"


def test_an_unreachable_server_is_reported_as_redis_cli_does():
    from conftest import free_port
    port = free_port()
    expected = redis_cli(port, "PING")
    got = ours(port, "PING")
    assert (got.stderr, got.returncode) == (expected.stderr, expected.returncode)


def test_the_prompt_keeps_readline_history(any_server, tmp_path):
    """On a terminal: the prompt shows host:port[db], and each command lands in the history file."""
    history = tmp_path / "history"
    main_fd, child_fd = pty.openpty()
    env = dict(os.environ, MINI_REDIS_CLI_HISTFILE=str(history), TERM="dumb")
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "client.py"), "-p", str(any_server.port)],
                               stdin=child_fd, stdout=child_fd, stderr=child_fd, env=env)
    os.close(child_fd)
    seen = b""

    def read_until(marker):
        nonlocal seen
        deadline = time.monotonic() + TIMEOUT
        while marker not in seen and time.monotonic() < deadline:
            if select.select([main_fd], [], [], 0.1)[0]:
                seen += os.read(main_fd, 4096)
        assert marker in seen, seen

    try:
        prompt = b"127.0.0.1:%d> " % any_server.port
        read_until(prompt)
        os.write(main_fd, b"SELECT 3\r")
        read_until(b"127.0.0.1:%d[3]> " % any_server.port)
        os.write(main_fd, b"ECHO hi\r")
        read_until(b'"hi"')
        os.write(main_fd, b"quit\r")
        process.wait(TIMEOUT)
    finally:
        process.kill()
        os.close(main_fd)
    assert history.read_text().splitlines() == ["SELECT 3", "ECHO hi", "quit"], history.read_text()
