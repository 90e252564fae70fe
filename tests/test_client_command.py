"""CLIENT: its errors, LIST/INFO lines, KILL filters, REPLY modes, PAUSE and UNBLOCK, against real Redis.

Scenarios with several clients run once against a fresh server of ours and once against a fresh
Redis 7.0.15, and what each side's clients saw must be the same, byte for byte, once the values
that differ by nature (ids, ports, ages, buffer sizes) are masked by their pattern.
"""
import re
import socket
import time

import pytest

from conftest import start_ours
from differential import WireClient, same_on_both

QUIET = 0.3  # seconds a client waits to conclude that no reply is coming


def connect(port, count=1):
    clients = [WireClient(port, timeout=QUIET) for _ in range(count)]
    return clients[0] if count == 1 else clients


def silent(client):
    """What a client received within QUIET seconds: b'' when nothing came, as it should while it waits."""
    reply = client.read_reply()
    return b"" if isinstance(reply, str) and reply.startswith("<no reply") else reply


# ------------------------------------------------------------------ errors and help


BAD_INPUT = [
    ("CLIENT",), ("CLIENT", "BOGUS"), ("CLIENT", "INFO", "x"), ("CLIENT", "HELP", "x"),
    ("CLIENT", "KILL"), ("CLIENT", "KILL", "1.2.3.4:5"), ("CLIENT", "KILL", "ID"),
    ("CLIENT", "KILL", "ID", "abc"), ("CLIENT", "KILL", "ID", "0"), ("CLIENT", "KILL", "ID", "-1"),
    ("CLIENT", "KILL", "ID", "99999"), ("CLIENT", "KILL", "TYPE", "foo"),
    ("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "maybe"), ("CLIENT", "KILL", "USER", "nobody"),
    ("CLIENT", "KILL", "BOGUS", "x"), ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "ID"),
    ("CLIENT", "KILL", "MAXAGE", "5"), ("CLIENT", "KILL", "ADDR", "1.2.3.4:5", "SKIPME", "no"),
    ("CLIENT", "KILL", "LADDR", "1.2.3.4:5"), ("CLIENT", "KILL", "TYPE", "master"),
    ("CLIENT", "PAUSE"), ("CLIENT", "PAUSE", "abc"), ("CLIENT", "PAUSE", "-1"), ("CLIENT", "PAUSE", "10", "bogus"),
    ("CLIENT", "PAUSE", "abc", "bogus"), ("CLIENT", "PAUSE", "10", "write", "extra"),
    ("CLIENT", "PAUSE", "99999999999999999999"), ("CLIENT", "PAUSE", "1.5"),
    ("CLIENT", "UNPAUSE", "x"), ("CLIENT", "UNPAUSE"),
    ("CLIENT", "REPLY"), ("CLIENT", "REPLY", "bogus"), ("CLIENT", "REPLY", "on", "extra"), ("CLIENT", "REPLY", "ON"),
    ("CLIENT", "UNBLOCK"), ("CLIENT", "UNBLOCK", "abc"), ("CLIENT", "UNBLOCK", "abc", "bogus"),
    ("CLIENT", "UNBLOCK", "1", "bogus"), ("CLIENT", "UNBLOCK", "1", "timeout", "extra"),
    ("CLIENT", "UNBLOCK", "12345"), ("CLIENT", "UNBLOCK", "-5"), ("CLIENT", "UNBLOCK", "12345", "ERROR"),
    ("CLIENT", "NO-EVICT"), ("CLIENT", "NO-EVICT", "maybe"), ("CLIENT", "NO-EVICT", "on", "x"),
    ("CLIENT", "NO-EVICT", "on"), ("CLIENT", "NO-EVICT", "OFF"),
    ("CLIENT", "LIST", "TYPE", "bogus"), ("CLIENT", "LIST", "TYPE"), ("CLIENT", "LIST", "ID", "1", "x"),
    ("CLIENT", "LIST", "ID"), ("CLIENT", "LIST", "foo"), ("CLIENT", "LIST", "ID", "0"),
    ("CLIENT", "LIST", "ID", "0", "-1"),
    ("CLIENT", "LIST", "ID", "1.5"),
    ("CLIENT", "LIST", "TYPE", "master"), ("CLIENT", "LIST", "TYPE", "replica"), ("CLIENT", "LIST", "TYPE", "PUBSUB"),
    ("CLIENT", "GETREDIR"), ("CLIENT", "GETREDIR", "x"), ("CLIENT", "SETNAME", "a b"), ("CLIENT", "GETNAME"),
    ("MONITOR", "x"),
]


def test_bad_input_gets_redis_replies(pair):
    for command in BAD_INPUT:
        pair.check(*command)


def test_huge_pause_timeout_wraps_into_the_past_as_in_redis(pair):
    pair.check("CLIENT", "PAUSE", "9223372036854775807")
    pair.check("SET", "k", "v")  # not paused: Redis's deadline overflowed into the past


def test_help(pair):
    pair.check("CLIENT", "HELP")


# ------------------------------------------------------------------ LIST and INFO

# Fields whose values differ between two servers by nature, masked by the pattern they must have.
_VARYING = re.compile(rb"\b(id|fd|age|idle|qbuf|qbuf-free|argv-mem|multi-mem|rbs|rbp|obl|oll|omem|tot-mem)=\d+ ")
_ADDRESS = re.compile(rb"\b(addr|laddr)=127\.0\.0\.1:\d+ ")
_FIELDS = (b"id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem multi-mem rbs "
           b"rbp obl oll omem tot-mem events cmd user redir resp").split()


def masked_lines(reply):
    """A CLIENT LIST/INFO reply as its lines with the varying values masked; the fields must be Redis's, in order."""
    assert reply.startswith((b"$", b"=")), reply
    text = reply.split(b"\r\n", 1)[1].rsplit(b"\r\n", 1)[0]
    if text.startswith(b"txt:"):
        text = text[4:]
    lines = []
    for line in text.splitlines():
        assert [field.split(b"=", 1)[0] for field in line.split(b" ")] == _FIELDS, line
        line = _ADDRESS.sub(rb"\1=<address> ", _VARYING.sub(rb"\1=<n> ", line + b" "))
        lines.append(line.rstrip())
    return lines


def wait_for_flag(control, flag, deadline=5.0):
    """Poll CLIENT LIST until some client shows the flag (a blocked client's b, say)."""
    limit = time.monotonic() + deadline
    while re.search(rb"flags=\w*%b" % flag, control.call("CLIENT", "LIST")) is None:
        assert time.monotonic() < limit, "no client got flag %r" % flag
        time.sleep(0.01)


def test_client_info_and_list_of_a_fresh_client(fresh):
    def scenario(port):
        client = connect(port)
        return [masked_lines(client.call("CLIENT", "INFO")), masked_lines(client.call("CLIENT", "LIST"))]
    same_on_both(fresh, scenario)


def test_client_list_shows_every_state_as_redis_does(fresh):
    def scenario(port):
        control, subscriber, psubscriber, queuing, blocked, monitor, named, resp3, watcher = connect(port, 9)
        subscriber.call("SUBSCRIBE", "c1", "c2")
        subscriber.read_reply()
        psubscriber.call("PSUBSCRIBE", "p*")
        queuing.call("MULTI")
        queuing.call("SET", "k", "v")
        queuing.call("INCR", "n")
        monitor.call("MONITOR")
        named.call("CLIENT", "SETNAME", "worker")
        named.call("SELECT", "3")
        named.call("CLIENT", "NO-EVICT", "on")
        resp3.call("HELLO", "3")
        watcher.call("WATCH", "w")
        control.call("SET", "w", "changed")  # the watcher's transaction is doomed: flag d
        blocked.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n")
        wait_for_flag(control, b"b")
        listing = masked_lines(control.call("CLIENT", "LIST"))
        pubsub = masked_lines(control.call("CLIENT", "LIST", "TYPE", "pubsub"))
        normal = masked_lines(control.call("CLIENT", "LIST", "TYPE", "normal"))
        mine = masked_lines(named.call("CLIENT", "INFO"))
        verbatim = resp3.call("CLIENT", "INFO")  # RESP3: a verbatim string
        return listing, pubsub, normal, mine, verbatim[:1], masked_lines(verbatim)
    listing, pubsub, normal, _, verbatim, _ = same_on_both(fresh, scenario)
    assert verbatim == b"="
    assert len(listing) == 9 and len(pubsub) == 2 and len(normal) == 7


def test_client_list_by_id(fresh):
    def scenario(port):
        first, second, third = connect(port, 3)
        ids = [client.call("CLIENT", "ID")[1:-2] for client in (first, second, third)]
        return (masked_lines(first.call("CLIENT", "LIST", "ID", ids[2], ids[0], b"99999", ids[2])),
                first.call("CLIENT", "LIST", "ID", b"99999"))
    same_on_both(fresh, scenario)


def test_buffer_fields_are_real_byte_counts(tmp_path):
    """qbuf, argv-mem, multi-mem and omem count our buffers: what a blocked client sends waits in its
    query buffer, its blocking command's arguments in argv-mem, a transaction's queued arguments in
    multi-mem, unread replies in omem."""
    running = start_ours(tmp_path, "--client-output-buffer-limit", "pubsub 0 0 0")
    try:
        watcher, blocked, queuing, subscriber, publisher = connect(running.port, 5)
        blocked.send_raw(_encode(("BLPOP", "list", "0")))
        wait_for_flag(watcher, b"b")
        blocked.send_raw(_encode(("GET", "0123456789")))
        queuing.call("MULTI")
        queuing.call("SET", "key", "value")
        subscriber.call("SUBSCRIBE", "flood")
        subscriber.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        message = b"m" * 100_000
        for _ in range(200):  # 20 MB the subscriber never reads: more than the kernel's buffers hold
            publisher.send_raw(_encode(("PUBLISH", "flood", message)))
        publisher.read_replies(200)
        time.sleep(0.2)
        rows = [dict(pair.split(b"=", 1) for pair in line.split(b" "))
                for line in watcher.call("CLIENT", "LIST").split(b"\r\n")[1].splitlines()]
        assert int(rows[1][b"qbuf"]) == len(_encode(("GET", "0123456789")))
        assert int(rows[1][b"argv-mem"]) == len(b"BLPOPlist0")
        assert int(rows[2][b"multi-mem"]) == len(b"SETkeyvalue")
        assert int(rows[0][b"argv-mem"]) == len(b"CLIENTLIST")
        assert int(rows[3][b"omem"]) > 1_000_000 and int(rows[3][b"oll"]) > 0
        for row in rows:
            assert int(row[b"tot-mem"]) >= (int(row[b"qbuf"]) + int(row[b"argv-mem"]) + int(row[b"multi-mem"])
                                            + int(row[b"omem"]))
    finally:
        running.stop()


# ------------------------------------------------------------------ KILL


def _address(client):
    return "127.0.0.1:%d" % client.sock.getsockname()[1]


def test_kill_old_form_and_filters(fresh):
    def scenario(port):
        control, by_addr, by_id, by_type, bystander = connect(port, 5)
        by_type.call("SUBSCRIBE", "news")
        seen = [control.call("CLIENT", "KILL", _address(by_addr)), by_addr.read_until_closed()]
        target = by_id.call("CLIENT", "ID")[1:-2]
        seen += [control.call("CLIENT", "KILL", "ID", target), by_id.read_until_closed()]
        seen += [control.call("CLIENT", "KILL", "TYPE", "pubsub"), by_type.read_until_closed()]
        seen += [control.call("CLIENT", "KILL", "TYPE", "replica"), control.call("CLIENT", "KILL", "TYPE", "master")]
        seen += [control.call("CLIENT", "KILL", "ADDR", _address(bystander), "TYPE", "pubsub")]  # filters AND
        seen += [bystander.call("PING")]
        return seen
    same_on_both(fresh, scenario)


def test_kill_by_user_laddr_and_skipme(fresh):
    def scenario(port):
        control, first, second = connect(port, 3)
        local = "127.0.0.1:%d" % port
        seen = [control.call("CLIENT", "KILL", "LADDR", local, "ID", first.call("CLIENT", "ID")[1:-2]),
                first.read_until_closed()]
        seen += [control.call("CLIENT", "KILL", "USER", "default"), second.read_until_closed()]  # SKIPME yes
        seen += [control.call("PING")]
        seen += [control.call("CLIENT", "KILL", "ADDR", _address(control), "SKIPME", "no"),
                 control.read_until_closed()]
        return seen
    same_on_both(fresh, scenario)


def test_kill_yourself_with_the_old_form_replies_first(fresh):
    def scenario(port):
        client = connect(port)
        return [client.call("CLIENT", "KILL", _address(client)), client.read_until_closed()]
    same_on_both(fresh, scenario)


# ------------------------------------------------------------------ REPLY


def test_reply_off_and_on(pair):
    commands = [("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET", "a"), ("NOSUCH",), ("CLIENT", "REPLY", "ON"),
                ("GET", "a")]
    pair.check_raw(b"".join(_encode(command) for command in commands), replies=2)


def test_reply_skip_withholds_the_next_reply_only(pair):
    commands = [("CLIENT", "REPLY", "SKIP"), ("SET", "b", "2"), ("GET", "b"), ("CLIENT", "REPLY", "SKIP"),
                ("NOSUCH",), ("INCR", "b")]
    pair.check_raw(b"".join(_encode(command) for command in commands), replies=2)


def test_reply_skip_and_off_combined(pair):
    commands = [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("SET", "c", "3"), ("CLIENT", "REPLY", "SKIP"),
                ("CLIENT", "REPLY", "ON"), ("GET", "c"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"),
                ("GET", "c"), ("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "OFF"), ("GET", "c"),
                ("CLIENT", "REPLY", "ON")]
    pair.check_raw(b"".join(_encode(command) for command in commands), replies=5)


def test_pushed_messages_still_arrive_while_replies_are_off(fresh):
    def scenario(port):
        subscriber, publisher = connect(port, 2)
        seen = [subscriber.call("HELLO", "3")[:1], subscriber.call("SUBSCRIBE", "c")]
        subscriber.send_raw(_encode(("CLIENT", "REPLY", "OFF")))
        seen += [silent(subscriber), publisher.call("PUBLISH", "c", "m"), subscriber.read_reply()]
        subscriber.send_raw(_encode(("CLIENT", "REPLY", "ON")))
        seen += [subscriber.read_reply(), publisher.call("PUBLISH", "c", "n"), subscriber.read_reply()]
        return seen
    same_on_both(fresh, scenario)


def _encode(command):
    from differential import encode_command
    return encode_command(command)


# ------------------------------------------------------------------ PAUSE


def test_pause_write_holds_writes_and_lets_reads_run(fresh):
    def scenario(port):
        control, writer, reader, publisher = connect(port, 4)
        control.call("SET", "k", "before")
        seen = [control.call("CLIENT", "PAUSE", "5000", "WRITE")]
        seen += [reader.call("GET", "k"), reader.call("EXISTS", "k")]
        writer.send_raw(_encode(("SET", "k", "after")))
        publisher.send_raw(_encode(("PUBLISH", "ch", "m")))
        seen += [silent(writer), silent(publisher)]  # both wait
        seen += [masked_lines(control.call("CLIENT", "LIST")), _clients_info(control)]
        seen += [reader.call("MULTI"), reader.call("GET", "k"), reader.call("EXEC")]  # a read-only transaction runs
        seen += [control.call("CLIENT", "UNPAUSE"), writer.read_reply(), publisher.read_reply()]
        seen += [reader.call("GET", "k")]
        return seen
    same_on_both(fresh, scenario)


def test_pause_all_holds_reads_too_until_it_ends(fresh):
    def scenario(port):
        control, reader, writer = connect(port, 3)
        control.call("SET", "k", "v")
        seen = [control.call("CLIENT", "PAUSE", "1000", "ALL")]
        started = time.monotonic()
        reader.send_raw(_encode(("GET", "k")))
        seen += [silent(reader)]  # the read waits, and came first
        writer.send_raw(_encode(("SET", "k", "w")))
        seen += [silent(writer)]
        reader.sock.settimeout(5)
        writer.sock.settimeout(5)
        seen += [reader.read_reply(), writer.read_reply()]  # released in the order they came
        seen += [time.monotonic() - started >= 0.9]  # released by the deadline, not before
        return seen
    same_on_both(fresh, scenario)


def test_a_later_pause_widens_and_lengthens_but_never_shortens(fresh):
    def scenario(port):
        control, reader = connect(port, 2)
        seen = [control.call("CLIENT", "PAUSE", "3000", "WRITE"), control.call("CLIENT", "PAUSE", "100", "ALL")]
        reader.send_raw(_encode(("GET", "k")))
        seen += [silent(reader), silent(reader)]  # 600 ms on, a read still waits: ALL, until WRITE's 3 s
        control.send_raw(_encode(("CLIENT", "UNPAUSE")))
        seen += [silent(control)]  # under ALL, UNPAUSE waits like everything else
        return seen
    assert same_on_both(fresh, scenario) == [b"+OK\r\n", b"+OK\r\n", b"", b"", b""]


def test_expiry_waits_during_a_pause(fresh):
    def scenario(port):
        control, reader = connect(port, 2)
        control.call("SET", "short", "v", "PX", "100")
        control.call("SET", "kept", "v")
        seen = [control.call("CLIENT", "PAUSE", "2000", "WRITE")]
        time.sleep(0.4)  # the deadline passed, and the cron ran several times
        seen += [reader.call("GET", "short"), reader.call("DBSIZE"), reader.call("KEYS", "*"),
                 reader.call("RANDOMKEY"), reader.call("TTL", "short")]
        seen += [_stat(control, b"expired_keys")]
        seen += [control.call("CLIENT", "UNPAUSE")]
        time.sleep(0.4)
        seen += [reader.call("DBSIZE"), _stat(control, b"expired_keys")]
        return seen
    observed = same_on_both(fresh, scenario)
    assert observed[2] == b":2\r\n" and observed[-1] == b"expired_keys:1"


def _clients_info(client):
    """INFO clients' counts of connected and blocked clients."""
    lines = client.call("INFO", "clients").split(b"\r\n")
    return [line for line in lines if line.split(b":")[0] in (b"connected_clients", b"blocked_clients")]


def _stat(client, name):
    return next(line for line in client.call("INFO", "stats").split(b"\r\n") if line.startswith(name + b":"))


def test_a_paused_client_that_hangs_up_is_let_go(fresh):
    def scenario(port):
        control, leaving = connect(port, 2)
        control.call("CLIENT", "PAUSE", "300", "ALL")
        leaving.send_raw(_encode(("SET", "gone", "1")))
        leaving.close()
        time.sleep(0.6)
        return [control.call("GET", "gone"), control.call("CLIENT", "LIST").count(b"\n")]
    same_on_both(fresh, scenario)


# ------------------------------------------------------------------ UNBLOCK


@pytest.mark.parametrize("command", [("BLPOP", "q", "0"), ("BLMOVE", "q", "d", "LEFT", "LEFT", "0"),
                                     ("BZPOPMIN", "z", "0"), ("BLMPOP", "0", "1", "q", "LEFT"),
                                     ("BRPOPLPUSH", "q", "d", "0")])
def test_unblock_with_timeout_and_error(fresh, command):
    def scenario(port):
        control, blocked = connect(port, 2)
        target = blocked.call("CLIENT", "ID")[1:-2]
        seen = [control.call("CLIENT", "UNBLOCK", target)]  # not blocked: 0
        for reason in ((), ("TIMEOUT",), ("ERROR",)):
            blocked.send_raw(_encode(command))
            wait_for_flag(control, b"b")
            seen += [control.call("CLIENT", "UNBLOCK", target, *reason), blocked.read_reply()]
        seen += [blocked.call("PING")]
        return seen
    same_on_both(fresh, scenario)


def test_eviction_waits_during_a_pause(fresh):
    def scenario(port):
        control, reader = connect(port, 2)
        control.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
        for index in range(100):
            control.call("SET", "key:%d" % index, "v" * 100)
        seen = [control.call("CLIENT", "PAUSE", "2000", "WRITE"), control.call("CONFIG", "SET", "maxmemory", "1")]
        time.sleep(0.3)  # the cron ran, and so did reads: nothing may be evicted while paused
        seen += [reader.call("DBSIZE"), reader.call("GET", "key:1"), _stat(control, b"evicted_keys")]
        seen += [control.call("CLIENT", "UNPAUSE")]
        time.sleep(0.3)
        seen += [reader.call("DBSIZE"), _stat(control, b"evicted_keys")]
        control.call("CONFIG", "SET", "maxmemory", "0")
        return seen
    observed = same_on_both(fresh, scenario)
    assert observed[2] == b":100\r\n" and observed[-2] == b":0\r\n"


# ------------------------------------------------------------------ the plain lane


def test_the_plain_lane_is_left_only_while_a_lever_is_used(tmp_path, monkeypatch):
    """MONITOR, CLIENT PAUSE and CLIENT REPLY make sessions leave the plain lane (is_plain), and
    only while they are in use: unused, they cost the plain lane nothing."""
    import server as server_module
    from commands import is_plain
    from serving.pause import BY_CLIENT_COMMAND, PAUSE_WRITE, pause_clients, unpause_clients
    from serving.session import REPLY_OFF, REPLY_ON, Session
    monkeypatch.chdir(tmp_path)
    server = server_module.Server(server_module.Config())
    client, monitor = Session(server, 1, "", "", -1), Session(server, 2, "", "", -1)
    assert is_plain(client)
    monitor.monitoring = True
    server.monitors.append(monitor)
    assert not is_plain(client) and not is_plain(monitor)
    monitor.close()  # a monitor that leaves takes its cost with it
    assert server.monitors == [] and is_plain(client)
    pause_clients(server, BY_CLIENT_COMMAND, PAUSE_WRITE, 10_000)
    assert not is_plain(client) and server.keyspace.paused
    unpause_clients(server, BY_CLIENT_COMMAND)
    assert is_plain(client) and not server.keyspace.paused
    client.replies = REPLY_OFF
    assert not is_plain(client) and is_plain(monitor)
    client.replies = REPLY_ON
    assert is_plain(client)


def test_unblock_leaves_a_paused_client_waiting(tmp_path):
    """Redis 7.0.15 crashes on CLIENT UNBLOCK of a client a pause holds (an assertion); we answer 0
    and the client's command runs when the pause ends."""
    running = start_ours(tmp_path)
    try:
        control, paused = connect(running.port, 2)
        target = paused.call("CLIENT", "ID")[1:-2]
        control.call("CLIENT", "PAUSE", "5000", "WRITE")
        paused.send_raw(_encode(("SET", "k", "v")))
        assert silent(paused) == b""
        assert control.call("CLIENT", "UNBLOCK", target) == b":0\r\n"
        assert control.call("CLIENT", "UNBLOCK", target, "ERROR") == b":0\r\n"
        assert silent(paused) == b""
        assert control.call("CLIENT", "UNPAUSE") == b"+OK\r\n"
        assert paused.read_reply() == b"+OK\r\n" and control.call("GET", "k") == b"$1\r\nv\r\n"
    finally:
        running.stop()
