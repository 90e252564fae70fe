"""Soak: 1,000 concurrent connections mixing good commands with bad ones, against one server.

The load runs in a subprocess on gevent (this file run as a script), so that
pytest itself is never monkey-patched. Every connection works on its own keys,
so the reply to each good command is known exactly; some connections also send
unknown commands, wrong arities and wrong types, and every tenth breaks its
stream with a malformed frame, gets Redis's protocol error, and reconnects.
Afterwards the server's memory must be where a warm-up round left it, and
no connection may be left behind.
"""
import json
import os
import resource
import subprocess
import sys
import time

CONNECTIONS = 1000
WARMUP_ROUNDS = 2
ROUNDS = 8
DEADLINE = 20.0  # seconds for one run of the load, whatever happens
PROTOCOL_ERROR = b"-ERR Protocol error: invalid bulk length\r\n"


def round_of(index, number):
    """(request bytes, expected replies) of one pipelined round of connection index."""
    key = "soak:%d:" % index
    value = "v%d-%d" % (index, number)
    good = [
        (["SET", key + "s", value], b"+OK\r\n"),
        (["GET", key + "s"], b"$%d\r\n%s\r\n" % (len(value), value.encode())),
        (["INCR", key + "n"], b":%d\r\n" % (number + 1)),
        (["RPUSH", key + "l", value], b":%d\r\n" % (number + 1)),
        (["LINDEX", key + "l", "-1"], b"$%d\r\n%s\r\n" % (len(value), value.encode())),
        (["HSET", key + "h", "f%d" % number, value], b":1\r\n"),
    ]
    bad = [
        (["NOSUCHCMD", key], b"-ERR unknown command 'NOSUCHCMD', with args beginning with: '%s' \r\n"
         % key.encode()),
        (["GET"], b"-ERR wrong number of arguments for 'get' command\r\n"),
        (["INCR", key + "l"], b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (["SET", key + "s", "x", "EX", "0"], b"-ERR invalid expire time in 'set' command\r\n"),
    ]
    commands = good + ([bad[number % len(bad)]] if index % 3 == 0 else [])
    if index % 7 == 0:
        request = b"".join(b" ".join(arg.encode() for arg in args) + b"\r\n" for args, _ in commands)
    else:
        request = b"".join(_encode(args) for args, _ in commands)
    return request, [reply for _, reply in commands]


def _encode(args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)


def cleanup_of(index):
    keys = ["soak:%d:%s" % (index, suffix) for suffix in "snlh"]
    return _encode(["DEL", *keys])


# ------------------------------------------------------------------ the load (run as a script, on gevent)


def run_load(port, rounds):
    from gevent import monkey
    monkey.patch_all()
    import socket

    import gevent
    from differential import reply_end

    stats = {"commands": 0, "replies": 0, "reconnects": 0, "mismatches": [], "failures": []}

    def connect():
        sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def read_replies(sock, buffer, count):
        replies = []
        while len(replies) < count:
            end = reply_end(buffer)
            if end is not None:
                replies.append(bytes(buffer[:end]))
                del buffer[:end]
                continue
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed with %d of %d replies" % (len(replies), count))
            buffer += chunk
        return replies

    def check(index, sent, expected, got):
        stats["replies"] += len(got)
        if got != expected and len(stats["mismatches"]) < 20:
            stats["mismatches"].append({"connection": index, "sent": repr(sent[:200]), "expected": repr(expected),
                                        "got": repr(got)})

    def client(index):
        try:
            sock, buffer = connect(), bytearray()
            sock.sendall(cleanup_of(index))
            read_replies(sock, buffer, 1)
            for number in range(rounds):
                request, expected = round_of(index, number)
                sock.sendall(request)
                stats["commands"] += len(expected)
                check(index, request, expected, read_replies(sock, buffer, len(expected)))
                if index % 10 == 0 and number == rounds // 2:  # break the stream, then come back
                    sock.sendall(b"*1\r\n$x\r\n")
                    got = read_replies(sock, buffer, 1)
                    check(index, b"*1\r\n$x\r\n", [PROTOCOL_ERROR], got)
                    if sock.recv(1) != b"":
                        raise ConnectionError("still open after a protocol error")
                    sock.close()
                    sock, buffer = connect(), bytearray()
                    stats["reconnects"] += 1
            sock.sendall(cleanup_of(index))
            check(index, b"DEL", [b":4\r\n"], read_replies(sock, buffer, 1))
            sock.close()
        except Exception as error:  # reported, and the test fails on any
            stats["failures"].append("connection %d: %r" % (index, error))

    started = time.monotonic()
    greenlets = [gevent.spawn(client, index) for index in range(CONNECTIONS)]
    gevent.joinall(greenlets, timeout=DEADLINE)
    unfinished = sum(1 for greenlet in greenlets if not greenlet.dead)
    gevent.killall(greenlets, block=False)
    stats["unfinished"] = unfinished
    stats["elapsed"] = round(time.monotonic() - started, 2)
    stats["failures"] = stats["failures"][:20]
    return stats


def _main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTIONS + 200
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    port, rounds = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(run_load(port, rounds)))


# ------------------------------------------------------------------ the test


def resident_kb(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def load(port, rounds):
    done = subprocess.run([sys.executable, os.path.abspath(__file__), str(port), str(rounds)],
                          capture_output=True, text=True, timeout=DEADLINE + 30)
    assert done.returncode == 0, done.stderr[-3000:]
    stats = json.loads(done.stdout)
    assert not stats["failures"], stats
    assert not stats["mismatches"], stats
    assert stats["unfinished"] == 0, stats
    assert stats["replies"] == stats["commands"] + stats["reconnects"] + CONNECTIONS, stats  # + the last DEL
    return stats


def connected_clients(port):
    from differential import WireClient
    with WireClient(port) as client:
        return client.call("CLIENT", "LIST").count(b"id=") - 1


def wait_for_no_clients(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while connected_clients(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    return connected_clients(port)


def test_soak_thousand_connections_good_and_bad(tmp_path):
    from conftest import start_ours
    from differential import WireClient
    running = start_ours(tmp_path)
    try:
        pid = running.process.pid
        load(running.port, WARMUP_ROUNDS)
        assert wait_for_no_clients(running.port) == 0
        warm = resident_kb(pid)
        stats = load(running.port, ROUNDS)
        assert stats["reconnects"] == CONNECTIONS // 10
        assert wait_for_no_clients(running.port) == 0
        after = resident_kb(pid)
        print("soak: %d commands, %d reconnects in %.1fs; RSS %d kB after warm-up, %d kB after"
              % (stats["commands"], stats["reconnects"], stats["elapsed"], warm, after))
        assert after <= warm * 1.25 + 16 * 1024, (warm, after)
        with WireClient(running.port) as client:
            assert client.call("DBSIZE") == b":0\r\n"
            assert client.call("PING") == b"+PONG\r\n"
        assert "Traceback" not in running.log()
    finally:
        running.stop()


if __name__ == "__main__":
    _main()
