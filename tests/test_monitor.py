"""MONITOR: the lines a monitoring client gets, compared with what Redis 7.0.15's MONITOR prints.

Each scenario runs on a fresh server of ours and a fresh Redis; the timestamps are masked by their
pattern and each client's port is replaced by the client's name, the rest must be byte-identical.
"""
import re
import socket
import time

import pytest

from conftest import start_ours, start_real_redis
from differential import WireClient, encode_command, same_on_both

QUIET = 0.3
_LINE = re.compile(rb"^\+(\d{10})\.(\d{6}) \[(\d+) 127\.0\.0\.1:(\d+)\] (.*)\r\n$", re.S)


def named_clients(port, *names):
    clients = {name: WireClient(port, timeout=QUIET) for name in names}
    return clients, {client.sock.getsockname()[1]: name for name, client in clients.items()}


def monitor_lines(monitor, names):
    """Every line the monitor got until it goes quiet, with the time masked and the port named."""
    lines = everything(monitor, names)
    assert all(line.startswith(b"[") for line in lines), lines
    return lines


def everything(client, names):
    """Every reply until the client goes quiet; monitor lines with the time masked and the port named."""
    replies, started = [], time.time()
    while True:
        reply = client.read_reply()
        if isinstance(reply, str):
            return replies
        match = _LINE.match(reply)
        if match is None:
            replies.append(reply)
            continue
        assert abs(int(match.group(1)) - started) < 60  # a Unix time in seconds, then microseconds
        port = int(match.group(4))
        replies.append(b"[%s %s] %s" % (match.group(3), names.get(port, "?").encode(), match.group(5)))


def test_commands_from_several_clients_in_redis_format(fresh):
    def scenario(port):
        clients, names = named_clients(port, "monitor", "alice", "bob")
        monitor, alice, bob = clients["monitor"], clients["alice"], clients["bob"]
        seen = [monitor.call("MONITOR")]
        seen += [alice.call("SET", "k", b'v\n"x\x01\\\t\x7f\xff'), bob.call("GET", "k"), alice.call("SELECT", "2"),
                 alice.call("SET", "a", "b"), bob.call("PING"), alice.call("ECHO", ""),
                 bob.call("CLIENT", "SETNAME", "b"),
                 alice.call("INCR", "a"), alice.call("SELECT", "0")]
        seen += [bob.call("NOSUCH", "x"), bob.call("GET")]  # never run: not shown
        seen += [bob.call("CLIENT", "LIST")[:1], bob.call("CONFIG", "GET", "maxmemory"), bob.call("CLIENT", "ID")[:1]]
        seen += monitor_lines(monitor, names)
        return seen
    observed = same_on_both(fresh, scenario)
    assert any(b'"SELECT" "2"' in line for line in observed if isinstance(line, bytes))


def test_transactions_show_their_commands_at_exec(fresh):
    def scenario(port):
        clients, names = named_clients(port, "monitor", "client")
        monitor, client = clients["monitor"], clients["client"]
        monitor.call("MONITOR")
        for command in (("MULTI",), ("SET", "k", "1"), ("INCR", "k"), ("LPUSH", "k", "x"), ("EXEC",),
                        ("MULTI",), ("GET", "k"), ("DISCARD",), ("MULTI",), ("NOSUCH",), ("EXEC",)):
            client.call(*command)
        return monitor_lines(monitor, names)
    same_on_both(fresh, scenario)


def test_secrets_are_redacted(fresh):
    def scenario(port):
        clients, names = named_clients(port, "monitor", "client")
        monitor, client = clients["monitor"], clients["client"]
        monitor.call("MONITOR")
        for command in (("AUTH", "secret"), ("AUTH", "user", "secret"), ("HELLO", "2", "AUTH", "default", "secret"),
                        ("HELLO", "2", "SETNAME", "auth", "AUTH", "default", "pw"), ("HELLO", "2", "SETNAME", "x"),
                        ("HELLO", "3", "auth", "default", "secret", "SETNAME", "y"), ("HELLO", "2")):
            client.call(*command)
        return monitor_lines(monitor, names)
    observed = same_on_both(fresh, scenario)
    assert not any(b"secret" in line for line in observed)


def test_blocking_commands_show_as_they_block(fresh):
    def scenario(port):
        clients, names = named_clients(port, "monitor", "waiter", "pusher")
        monitor, waiter, pusher = clients["monitor"], clients["waiter"], clients["pusher"]
        monitor.call("MONITOR")
        waiter.send_raw(encode_command(("BLPOP", "q", "0")))
        time.sleep(0.2)
        seen = [pusher.call("RPUSH", "q", "1"), waiter.read_reply()]
        return seen + monitor_lines(monitor, names)
    same_on_both(fresh, scenario)


def test_a_monitor_sees_its_own_commands_after_their_replies_and_may_not_touch_keys(fresh):
    def scenario(port):
        clients, names = named_clients(port, "monitor", "other")
        monitor = clients["monitor"]
        commands = [("MONITOR",), ("MONITOR",), ("PING",), ("GET", "k"), ("SET", "k", "v"), ("PUBLISH", "c", "m"),
                    ("SELECT", "1"), ("ECHO", "e")]
        monitor.send_raw(b"".join(encode_command(command) for command in commands))
        seen = everything(monitor, names)
        monitor.send_raw(encode_command(("RESET",)))
        seen += everything(monitor, names)
        seen += [clients["other"].call("SET", "k", "v"), monitor.call("GET", "k")]
        return seen + everything(monitor, names)
    same_on_both(fresh, scenario)


def test_a_monitor_with_replies_off_gets_no_lines(fresh):
    def scenario(port):
        clients, names = named_clients(port, "monitor", "client")
        monitor, client = clients["monitor"], clients["client"]
        seen = [monitor.call("MONITOR")]
        for mode in ("OFF", "SKIP"):
            monitor.send_raw(encode_command(("CLIENT", "REPLY", mode)))
            seen += everything(monitor, names)  # quiet for a while: the mode is set
            seen += [client.call("SET", "x", mode)] + everything(monitor, names)
            monitor.send_raw(encode_command(("CLIENT", "REPLY", "ON")))
            seen += everything(monitor, names)
        seen += [client.call("SET", "x", "on")] + everything(monitor, names)
        return seen
    same_on_both(fresh, scenario)


def test_monitor_inside_a_transaction(fresh):
    def scenario(port):
        client = WireClient(port, timeout=QUIET)
        return [client.call("MULTI"), client.call("MONITOR"), client.call("EXEC"), client.call("SET", "k", "v")]
    same_on_both(fresh, scenario)


def test_several_monitors_and_client_list(fresh):
    def scenario(port):
        clients, names = named_clients(port, "first", "second", "client")
        first, second, client = clients["first"], clients["second"], clients["client"]
        seen = [first.call("MONITOR"), second.call("MONITOR"), client.call("SET", "a", "1")]
        seen += [monitor_lines(first, names), monitor_lines(second, names)]
        listing = client.call("CLIENT", "LIST")
        seen += [re.findall(rb"flags=(\w+)", listing), re.findall(rb"cmd=(\S+)", listing)]
        seen += [client.call("CLIENT", "KILL", "TYPE", "normal")]  # monitors are normal clients
        return seen
    same_on_both(fresh, scenario)


@pytest.mark.parametrize("start", [start_ours, start_real_redis], ids=["ours", "redis"])
def test_a_monitor_over_its_output_limit_is_disconnected(tmp_path, start):
    running = start(tmp_path, "--client-output-buffer-limit", "normal 1mb 0 0")
    try:
        monitor, client = WireClient(running.port, timeout=10), WireClient(running.port, timeout=10)
        monitor.call("MONITOR")
        monitor.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        value = b"v" * 50_000
        deadline = time.monotonic() + 30
        sent = 0
        # The monitor never reads: each SET adds a 50 KB line to its output, the limit is 1 MB.
        while sent < 400 and time.monotonic() < deadline:
            client.send_raw(b"".join(encode_command(("SET", "k", value)) for _ in range(20)))
            assert client.read_replies(20) == [b"+OK\r\n"] * 20
            sent += 20
            if b"flags=O" not in client.call("CLIENT", "LIST"):
                break
        assert b"flags=O" not in client.call("CLIENT", "LIST")
        assert client.call("PING") == b"+PONG\r\n"
    finally:
        running.stop()
