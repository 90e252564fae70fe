"""Access and limits: requirepass, protected mode, rename-command, query/output buffer limits, timeout,
and hostile input, each compared with a real Redis 7.0.15 started with the same options where it can be."""
import os
import resource
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, free_port, start_ours, start_real_redis
from differential import Pair, WireClient, encode_command, mask_client_id, unordered_pairs
from commands.acl import new_users
from serving import access
from serving.config import Config, ConfigError

PASSWORD = "secret"
NOAUTH = b"-NOAUTH Authentication required.\r\n"


def start_both(tmp_path_factory, name, *options):
    ours = start_ours(tmp_path_factory.mktemp("ours-" + name), *options)
    try:
        redis = start_real_redis(tmp_path_factory.mktemp("redis-" + name), *options)
    except BaseException:
        ours.stop()
        raise
    return ours, redis


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """Ours and Redis, both with requirepass."""
    both = start_both(tmp_path_factory, "pass", "--requirepass", PASSWORD)
    yield both
    for running in both:
        running.stop()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """Ours and Redis with no password, for this module alone (the tests change their settings)."""
    both = start_both(tmp_path_factory, "plain")
    yield both
    for running in both:
        running.stop()


@pytest.fixture
def guarded_pair(guarded):
    with Pair(guarded[0].port, guarded[1].port) as both:
        yield both


@pytest.fixture
def plain_pair(plain):
    with Pair(plain[0].port, plain[1].port) as both:
        yield both


def connect_from(source, port, host="127.0.0.1", timeout=5):
    """A connection whose own address is source (any 127.x.y.z is on loopback, but only 127.0.0.1 is
    'local' to Redis's protected mode)."""
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.bind((source, 0))
    sock.connect((host, port))
    return sock


def read_until_closed(sock, timeout=5):
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def read_line(sock):
    data = b""
    while not data.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            break
        data += chunk
    return data


# ------------------------------------------------------------------ requirepass


def test_commands_before_and_after_auth_match_redis(guarded_pair):
    pair = guarded_pair
    pair.check_sequence([
        ("PING",), ("GET", "a"), ("SET", "a", "1"), ("FOO", "bar"), ("GET",), ("CLIENT", "FOO"), ("CLIENT",),
        ("CLIENT", "ID"), ("SELECT", "1"), ("MULTI",), ("EXEC",), ("CONFIG", "GET", "requirepass"),
        ("AUTH", "wrong"), ("AUTH", "default", "wrong"), ("AUTH", "nobody", PASSWORD), ("AUTH", "a", "b", "c"),
        ("HELLO",), ("HELLO", "3"), ("HELLO", "4"), ("HELLO", "x"), ("HELLO", "3", "AUTH", "default", "wrong"),
        ("HELLO", "2", "SETNAME", "early"), ("PING",),
        ("AUTH", PASSWORD), ("CLIENT", "GETNAME"), ("PING",), ("SET", "a", "1"), ("GET", "a"),
        ("AUTH", "wrong"), ("PING",),  # a failed AUTH leaves an authenticated client authenticated
        ("CONFIG", "GET", "requirepass"), ("DEL", "a"),
    ])


def test_reset_deauthenticates_and_hello_auth_authenticates(guarded_pair):
    pair = guarded_pair
    pair.check_sequence([("AUTH", "default", PASSWORD), ("MULTI",), ("RESET",), ("PING",), ("EXEC",)])
    pair.check("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "me", normalise=mask_client_id)
    pair.check_sequence([("PING",), ("CLIENT", "GETNAME"), ("RESET",), ("PING",)])
    pair.check("HELLO", "2", "AUTH", "default", PASSWORD, "BAD", normalise=mask_client_id)
    pair.check_sequence([("PING",), ("QUIT",)])
    pair.check_closed()


def test_quit_is_allowed_before_auth(guarded_pair):
    guarded_pair.check("QUIT")
    guarded_pair.check_closed()


def test_inline_auth_and_pipelines_before_auth(guarded_pair):
    guarded_pair.check_raw(b"PING\r\nAUTH secret\r\nPING\r\nRESET\r\nPING\r\n", replies=5)


def test_auth_and_reset_in_the_middle_of_a_batch(guarded_pair):
    """Data commands before AUTH, between AUTH and RESET, and after, in one send."""
    guarded_pair.check_pipeline([
        ("SET", "k", "1"), ("GET", "k"), ("AUTH", PASSWORD), ("SET", "k", "2"), ("GET", "k"), ("RESET",),
        ("GET", "k"), ("AUTH", PASSWORD), ("DEL", "k"),
    ])


@pytest.mark.parametrize("raw", [
    b"*11\r\n",
    b"*1\r\n$16385\r\n",
    b"*2\r\n$4\r\nAUTH\r\n$100000\r\n",
    b"*3\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n$16385\r\n",
    b"PING\r\n*12\r\n",
], ids=["11-args", "bulk-16385", "auth-bulk-100000", "third-bulk", "after-a-command"])
def test_unauthenticated_request_limits(guarded_pair, raw):
    replies = 2 if raw.startswith(b"PING") else 1
    last = guarded_pair.check_raw(raw, replies=replies)
    assert b"Protocol error: unauthenticated" in (last[-1] if replies > 1 else last)
    guarded_pair.check_closed()


def test_unauthenticated_limits_are_inclusive_bounds(guarded_pair):
    ten = encode_command(["DEL"] + ["k%d" % i for i in range(9)])
    at_limit = encode_command(["AUTH", "default", "x" * 16384])
    guarded_pair.check_raw(ten + at_limit, replies=2)


def test_auth_lifts_the_limits_for_the_next_command_of_the_same_pipeline(guarded_pair):
    eleven = encode_command(["DEL"] + ["k%d" % i for i in range(10)])
    guarded_pair.check_raw(b"AUTH secret\r\n" + eleven + b"RESET\r\n" + eleven, replies=4)
    guarded_pair.check_closed()


def test_authenticated_client_has_the_ordinary_limits(guarded_pair):
    guarded_pair.check("AUTH", PASSWORD)
    guarded_pair.check("DEL", *["k%d" % i for i in range(50)])
    guarded_pair.check("ECHO", "x" * 100000)


def test_requirepass_set_and_cleared_at_run_time(plain):
    ours, redis = plain
    with Pair(ours.port, redis.port) as first, Pair(ours.port, redis.port) as second:
        try:
            second.check("PING")  # accepted (and so authenticated) before there is a password
            first.check_sequence([("CONFIG", "SET", "requirepass", "abc\x00def"), ("PING",),
                                  ("CONFIG", "GET", "requirepass")])
            second.check_sequence([("PING",), ("AUTH", "abc"), ("AUTH", "abc\x00def"), ("PING",), ("RESET",),
                                   ("PING",)])
            first.check_sequence([("CONFIG", "SET", "requirepass", ""), ("PING",)])
            second.check_sequence([("PING",), ("AUTH", "x"), ("HELLO", "2", "AUTH", "default", "anything")],
                                  normalise=mask_client_id)
        finally:
            first.check("CONFIG", "SET", "requirepass", "")


def test_password_check_compares_in_constant_time():
    """requirepass is the default user's password, kept as a SHA-256 digest and compared with
    hmac.compare_digest (acl/rules.py)."""
    users = new_users(Config())
    users.set_default_password(PASSWORD.encode())
    assert users.authenticate(b"default", PASSWORD.encode()) is users.default
    for username, attempt in ((b"default", b"secreT"), (b"default", b""), (b"other", PASSWORD.encode())):
        assert users.authenticate(username, attempt) is None
    assert PASSWORD.encode() not in users.default.describe()
    with open(os.path.join(ROOT, "acl", "rules.py")) as source:
        assert "hmac.compare_digest" in source.read()


# ------------------------------------------------------------------ configuration


CONFIG_SETS = [
    ("timeout", "-1"), ("timeout", "2147483648"), ("timeout", "x"), ("timeout", "30"),
    ("protected-mode", "maybe"), ("protected-mode", "no"), ("protected-mode", "yes"),
    ("client-query-buffer-limit", "100"), ("client-query-buffer-limit", "1x"),
    ("client-query-buffer-limit", "2mb"), ("client-query-buffer-limit", "1gb"),
    ("client-output-buffer-limit", "normal 1"), ("client-output-buffer-limit", "foo 1 1 1"),
    ("client-output-buffer-limit", "master 1 1 1"), ("client-output-buffer-limit", "normal 1x 1 1"),
    ("client-output-buffer-limit", "normal -1 1 1"), ("client-output-buffer-limit", "normal 1 1 -1"),
    ("client-output-buffer-limit", ""), ("client-output-buffer-limit", "pubsub 1mb 512kb 10"),
    ("client-output-buffer-limit", "replica 1k 1 1 NORMAL 2gb 1g 5"),
    ("client-output-buffer-limit", "normal 1 1 1 normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60"),
]


def test_config_get_and_set_of_the_limits_match_redis(plain_pair):
    pair = plain_pair
    names = ("requirepass", "protected-mode", "timeout", "client-query-buffer-limit", "client-output-buffer-limit")
    for name in names:
        pair.check("CONFIG", "GET", name)
    pair.check("CONFIG", "GET", "client-*", normalise=unordered_pairs)
    for name, value in CONFIG_SETS:
        pair.check("CONFIG", "SET", name, value)
        pair.check("CONFIG", "GET", name)
    pair.check("CONFIG", "SET", "timeout", "0")
    pair.check("CONFIG", "GET", "rename-command")
    pair.check("CONFIG", "SET", "rename-command", "x")


def test_limits_from_the_command_line_and_a_config_file(tmp_path):
    conf = tmp_path / "limits.conf"
    conf.write_text('requirepass "two words"\ntimeout 7\nclient-output-buffer-limit normal 1mb 2mb 3 pubsub 0 0 0\n'
                    "client-query-buffer-limit 64mb\nprotected-mode no\n")
    config = Config()
    config.load_file(str(conf))
    config.load_options(["--timeout", "8", "--client-output-buffer-limit", "replica", "1", "2", "3"])
    assert config["requirepass"] == "two words"
    assert config["timeout"] == 8
    assert config["protected-mode"] is False
    assert config["client-query-buffer-limit"] == 64 * 1024 * 1024
    assert config.get_matching("client-output-buffer-limit") == [
        ("client-output-buffer-limit", "normal 1048576 2097152 3 slave 1 2 3 pubsub 0 0 0")]
    with pytest.raises(ConfigError, match="Invalid client class"):
        config.load_options(["--client-output-buffer-limit", "master", "1", "2", "3"])


# ------------------------------------------------------------------ protected mode


def denied_transcript(port, source="127.0.0.3"):
    sock = connect_from(source, port)
    try:
        return read_until_closed(sock)
    finally:
        sock.close()


def test_protected_mode_denies_non_loopback_peers_like_redis(plain):
    ours, redis = plain
    expected = denied_transcript(redis.port)
    assert expected.startswith(b"-DENIED Redis is running in protected mode")
    assert denied_transcript(ours.port) == expected
    for source in ("127.0.0.1",):  # the one IPv4 address Redis counts as local
        for running in plain:
            sock = connect_from(source, running.port)
            sock.sendall(b"PING\r\n")
            assert read_line(sock) == b"+PONG\r\n"
            sock.close()


def test_protected_mode_off_or_a_password_lets_others_in(plain, guarded):
    with Pair(plain[0].port, plain[1].port) as pair:
        pair.check("CONFIG", "SET", "protected-mode", "no")
        try:
            for running in plain:
                sock = connect_from("127.0.0.3", running.port)
                sock.sendall(b"PING\r\n")
                assert read_line(sock) == b"+PONG\r\n"
                sock.close()
        finally:
            pair.check("CONFIG", "SET", "protected-mode", "yes")
    for running in guarded:
        sock = connect_from("127.0.0.3", running.port)
        sock.sendall(b"PING\r\n")
        assert read_line(sock) == NOAUTH
        sock.close()


@pytest.mark.parametrize("protected, password, peer, denied", [
    (True, "", "10.1.2.3", True), (True, "", "127.0.0.2", True), (True, "", "::ffff:127.0.0.1", True),
    (True, "", "127.0.0.1", False), (True, "", "::1", False), (True, "pw", "10.1.2.3", False),
    (False, "", "10.1.2.3", False),
])
def test_protected_mode_decision(protected, password, peer, denied):
    config = Config()
    config.set("protected-mode", "yes" if protected else "no")
    users = new_users(config)
    users.set_default_password(password.encode())
    assert access.protected_mode_denies(config, users, peer) is denied


def test_bind_listens_on_every_address(tmp_path):
    running = start_ours(tmp_path, "--bind", "127.0.0.1 127.0.0.2")
    try:
        for host, source, reply in (("127.0.0.1", "127.0.0.1", b"+PONG\r\n"), ("127.0.0.2", "127.0.0.1", b"+PONG\r\n"),
                                    ("127.0.0.2", "127.0.0.2", b"-DENIED")):
            sock = connect_from(source, running.port, host=host)
            sock.sendall(b"PING\r\n")
            assert read_line(sock).startswith(reply), (host, source)
            sock.close()
        with WireClient(running.port) as client:
            assert client.call("CONFIG", "GET", "bind") == b"*2\r\n$4\r\nbind\r\n$19\r\n127.0.0.1 127.0.0.2\r\n"
    finally:
        running.stop()


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback here")
def test_bind_ipv4_and_ipv6_loopback(tmp_path):
    running = start_ours(tmp_path, "--bind", "127.0.0.1 ::1")
    try:
        with WireClient(running.port, host="::1") as client:
            assert client.call("PING") == b"+PONG\r\n"
            assert b"addr=[::1]:" in client.call("CLIENT", "INFO")
    finally:
        running.stop()


# ------------------------------------------------------------------ rename-command


def test_rename_command_matches_redis(tmp_path_factory):
    ours, redis = start_both(tmp_path_factory, "rename", "--rename-command", "FLUSHALL", "",
                             "--rename-command", "CONFIG", "XCONFIG")
    try:
        with Pair(ours.port, redis.port) as pair:
            pair.check_sequence([("FLUSHALL",), ("flushall", "async"), ("CONFIG", "GET", "port"), ("XCONFIG",),
                                 ("XCONFIG", "FOO"), ("xconfig", "foo"), ("xconfig", "get", "timeout"),
                                 ("COMMAND", "INFO", "config"), ("FLUSHDB",)])
            with WireClient(ours.port) as client:
                info = client.call("COMMAND", "INFO", "xconfig")
                assert info.startswith(b"*1\r\n*10\r\n$6\r\nconfig\r\n")
    finally:
        ours.stop()
        redis.stop()


def test_rename_command_in_a_config_file(tmp_path, plain):
    conf = tmp_path / "renamed.conf"
    conf.write_text('rename-command FLUSHALL ""\nrename-command config XCONFIG\n')
    port = free_port()
    from conftest import RunningServer
    running = RunningServer([sys.executable, os.path.join(ROOT, "server.py"), str(conf), "--port", str(port)],
                            port, str(tmp_path))
    try:
        with WireClient(running.port) as client, WireClient(plain[0].port) as full:
            assert client.call("FLUSHALL").startswith(b"-ERR unknown command 'FLUSHALL'")
            assert client.call("XCONFIG", "GET", "timeout") == b"*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
            count = int(client.call("COMMAND", "COUNT")[1:])
            assert count == int(full.call("COMMAND", "COUNT")[1:]) - 1
    finally:
        running.stop()


BAD_RENAMES = [
    (["--rename-command", "NOPE", "x"], "No such command in rename-command"),
    (["--rename-command", "GET", "SET"], "Target command name already exists"),
    (["--rename-command", "GET", "X", "--rename-command", "GET", "Y"], "No such command in rename-command"),
    (["--rename-command", "GET"], "Bad directive or wrong number of arguments"),
    (["--rename-command", "GET", "a", "b"], "Bad directive or wrong number of arguments"),
]


def test_bad_rename_command_stops_the_server_as_in_redis(tmp_path):
    started = [(subprocess.Popen([sys.executable, os.path.join(ROOT, "server.py"), "--port", str(free_port()),
                                  *options], cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True), message) for options, message in BAD_RENAMES]
    for process, message in started:  # all at once: each start-up costs a second of imports
        _, stderr = process.communicate(timeout=30)
        assert process.returncode == 1
        assert "FATAL CONFIG FILE ERROR" in stderr and message in stderr, (message, stderr)


# ------------------------------------------------------------------ query buffer limit


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    """Ours and Redis with small query and output buffer limits."""
    both = start_both(tmp_path_factory, "limits", "--client-query-buffer-limit", "1mb",
                      "--client-output-buffer-limit", "normal 1mb 512kb 0 pubsub 1mb 512kb 0")
    yield both
    for running in both:
        running.stop()


def test_query_buffer_limit_closes_the_client_without_a_reply(limited):
    big = 1536 * 1024
    frame = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n" % (2 * 1024 * 1024) + b"x" * big
    for running in limited:
        with WireClient(running.port) as client, WireClient(running.port) as bystander:
            client.send_raw(frame)
            assert client.read_until_closed() == b""
            assert bystander.call("SET", "fits", "y" * (900 * 1024)) == b"+OK\r\n"
            assert bystander.call("STRLEN", "fits") == b":921600\r\n"
            assert bystander.call("EXISTS", "big") == b":0\r\n"
    assert "Closing client that reached max query buffer length" in limited[0].log()


# ------------------------------------------------------------------ output buffer limits


def test_normal_output_limit_closes_a_client_that_never_reads(limited):
    value = 100 * 1024
    for running in limited:
        with WireClient(running.port) as client, WireClient(running.port) as bystander:
            assert bystander.call("SET", "hundred-kb", "v" * value) == b"+OK\r\n"
            client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            client.send_raw(encode_command(["GET", "hundred-kb"]) * 300)
            time.sleep(0.5)
            received = client.read_until_closed()
            assert isinstance(received, bytes) and len(received) < 300 * value, running
            assert bystander.call("PING") == b"+PONG\r\n"
    assert "scheduled to be closed ASAP for overcoming of output buffer limits" in limited[0].log()


def test_pubsub_output_limit_closes_a_slow_subscriber(limited):
    for running in limited:
        with WireClient(running.port) as subscriber, WireClient(running.port) as publisher:
            subscriber.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            assert subscriber.call("SUBSCRIBE", "news").startswith(b"*3\r\n$9\r\nsubscribe")
            message = "m" * (50 * 1024)
            publisher.send_raw(encode_command(["PUBLISH", "news", message]) * 100)
            publisher.read_replies(100)
            time.sleep(0.3)
            assert len(subscriber.read_until_closed()) < 100 * len(message)
            assert publisher.call("PUBLISH", "news", "x") == b":0\r\n"


def test_no_normal_limit_by_default_a_late_reader_gets_everything(plain):
    value = 100 * 1024
    for running in plain:
        with WireClient(running.port) as client:
            assert client.call("SET", "late", "v" * value) == b"+OK\r\n"
            client.send_raw(encode_command(["GET", "late"]) * 60)
            time.sleep(0.3)
            replies = client.read_replies(60)
            assert all(reply == b"$%d\r\n%b\r\n" % (value, b"v" * value) for reply in replies)
            client.call("DEL", "late")


# ------------------------------------------------------------------ timeout


def test_timeout_closes_idle_clients_but_not_subscribers_or_blocked_ones(tmp_path_factory):
    servers = start_both(tmp_path_factory, "timeout", "--timeout", "1")
    try:
        clients = {}
        for running in servers:
            idle, subscriber, blocked, active = (WireClient(running.port, timeout=10) for _ in range(4))
            assert subscriber.call("SUBSCRIBE", "c").startswith(b"*3")
            blocked.send_raw(encode_command(["BLPOP", "nothing-here", "0"]))
            clients[running] = idle, subscriber, blocked, active
        deadline = time.monotonic() + 3.5
        while time.monotonic() < deadline:
            for *_, active in clients.values():
                assert active.call("PING") == b"+PONG\r\n"
            time.sleep(0.4)
        for running, (idle, subscriber, blocked, active) in clients.items():
            assert idle.read_until_closed() == b""
            assert subscriber.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
            assert active.call("LPUSH", "nothing-here", "x") == b":1\r\n"
            assert blocked.read_reply() == b"*2\r\n$12\r\nnothing-here\r\n$1\r\nx\r\n"
            for client in (idle, subscriber, blocked, active):
                client.close()
    finally:
        for running in servers:
            running.stop()


# ------------------------------------------------------------------ hostile input


def test_a_frame_trickling_in_byte_by_byte(plain):
    frame = encode_command(["SET", "trickled", "value"]) + encode_command(["GET", "trickled"])
    for running in plain:
        with WireClient(running.port) as client:
            for byte in frame:
                client.send_raw(bytes([byte]))
            assert client.read_replies(2) == [b"+OK\r\n", b"$5\r\nvalue\r\n"]


@pytest.mark.parametrize("raw", [
    b"*-\r\n", b"*1\r\n$-1\r\n", b"*2\r\n$4\r\nECHO\r\n:1\r\n", b"*1\r\nPING\r\n", b"*2147483648\r\n",
    b"*1\r\n$536870913\r\n", b"\"unbalanced\r\n", b"*1\r\n" + b"$" * 70000, b"x" * 70000,
])
def test_malformed_frames_get_redis_error_and_close(guarded_pair, raw):
    guarded_pair.check_raw(b"AUTH secret\r\n" + raw, replies=2)
    guarded_pair.check_closed()


def raise_open_files(wanted):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def test_thousands_of_half_frames_do_not_slow_others_down(plain):
    ours = plain[0]
    raise_open_files(2300)
    holders = []
    try:
        for index in range(2000):
            sock = socket.create_connection(("127.0.0.1", ours.port), timeout=10)
            sock.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc" if index % 2 else b"*2\r\n$4\r\nEC")
            holders.append(sock)
        with WireClient(ours.port) as client:
            started = time.monotonic()
            for _ in range(10):
                client.send_raw(b"PING\r\n" * 100)
                assert client.read_replies(100) == [b"+PONG\r\n"] * 100
            assert time.monotonic() - started < 10
            for _ in range(100):
                assert client.call("PING") == b"+PONG\r\n"
            assert client.call("EXISTS", "half") == b":0\r\n"
    finally:
        for sock in holders:
            sock.close()
    with WireClient(ours.port) as client:
        deadline = time.monotonic() + 10
        while client.call("CLIENT", "LIST").count(b"id=") > 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.call("CLIENT", "LIST").count(b"id=") == 1


def test_many_clients_sending_malformed_frames_at_once(plain):
    ours = plain[0]
    errors = []

    def hostile(index):
        try:
            with WireClient(ours.port) as client:
                client.send_raw(b"*1\r\n$x\r\n" if index % 2 else b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n:1\r\n")
                reply = client.read_until_closed()
                if not reply.startswith(b"-ERR Protocol error: "):
                    errors.append(reply)
        except OSError as error:
            errors.append(error)

    threads = [threading.Thread(target=hostile, args=(index,)) for index in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    with WireClient(ours.port) as client:
        assert client.call("PING") == b"+PONG\r\n"


def test_reset_brings_the_limits_back_within_one_pipeline(guarded_pair):
    eleven = encode_command(["DEL"] + ["k%d" % i for i in range(10)])
    guarded_pair.check("AUTH", PASSWORD)
    guarded_pair.check_raw(encode_command(["RESET"]) + eleven, replies=2)
    guarded_pair.check_closed()
