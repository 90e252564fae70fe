"""Streams side by side with Redis: XADD, XRANGE of 100 entries, XREADGROUP + XACK cycles.

    python bench/streams.py                 # 3 rounds, 50,000 requests per redis-benchmark test
    python bench/streams.py --quick         # 1 round, 10,000 requests

It starts Debian's redis-server and our server (compare.py's start_servers), then, alternating
between the two, measures:

- XADD s * field value with redis-benchmark -c 50, unpipelined and with -P 16 (requests per second);
- XRANGE s - + COUNT 100 over a stream of 1,000 entries, redis-benchmark -c 50 (requests per second);
- XREADGROUP GROUP g c COUNT 1 STREAMS s > then XACK of the ID it gave, one client, each command a
  round trip: what a worker of a consumer group does per message (cycles per second).

Reported as medians and the ratio mini-redis / Redis (higher is better). A benchmark, not a test.
"""
import argparse
import csv
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from compare import start_servers  # bench/ is the script's folder, first on the path

RANGE_ENTRIES = 1000


def benchmark(server, requests, pipeline, *command):
    """Requests per second of one command under redis-benchmark -c 50."""
    result = subprocess.run(["redis-benchmark", "-p", str(server.port), "-c", "50", "-n", str(requests),
                             "-P", str(pipeline), "--csv", *command], capture_output=True, text=True,
                            timeout=3600, check=True)
    rows = [row for row in csv.reader(result.stdout.splitlines()) if row and row[0] != "test"]
    return float(rows[-1][1])


def _command(*args):
    parts = [b"*%d\r\n" % len(args)]
    parts.extend(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)
    return b"".join(parts)


class Connection:
    """One raw connection reading whole replies, enough for the cycle below."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buffer = b""

    def call(self, *args):
        self.sock.sendall(_command(*args))
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server hung up")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        if line[:1] == b"*":
            return [self._reply() for _ in range(max(0, int(line[1:])))]
        if line[:1] == b"$":
            size = int(line[1:])
            if size < 0:
                return None
            while len(self.buffer) < size + 2:
                self.buffer += self.sock.recv(65536)
            data, self.buffer = self.buffer[:size], self.buffer[size + 2:]
            return data
        if line[:1] == b"-":
            raise RuntimeError(line.decode())
        return line[1:]

    def close(self):
        self.sock.close()


def group_cycles(server, cycles):
    """Cycles per second of XREADGROUP COUNT 1 then XACK of the entry it delivered."""
    client = Connection(server.port)
    try:
        client.call(b"DEL", b"q")
        for start in range(0, cycles, 1000):
            batch = b"".join(_command(b"XADD", b"q", b"*", b"job", b"%d" % n) for n in range(start, start + 1000))
            client.sock.sendall(batch)
            for _ in range(1000):
                client._reply()
        client.call(b"XGROUP", b"CREATE", b"q", b"g", b"0")
        started = time.monotonic()
        for _ in range(cycles):
            reply = client.call(b"XREADGROUP", b"GROUP", b"g", b"worker", b"COUNT", b"1", b"STREAMS", b"q", b">")
            client.call(b"XACK", b"q", b"g", reply[0][1][0][0])
        elapsed = time.monotonic() - started
        if client.call(b"XPENDING", b"q", b"g")[0] != b"0":
            raise RuntimeError("%s left entries pending" % server.name)
        return cycles / elapsed
    finally:
        client.close()


def fill_range_stream(server):
    client = Connection(server.port)
    try:
        client.call(b"DEL", b"r")
        client.sock.sendall(b"".join(_command(b"XADD", b"r", b"*", b"field", b"value:%d" % n)
                                     for n in range(RANGE_ENTRIES)))
        for _ in range(RANGE_ENTRIES):
            client._reply()
    finally:
        client.close()


def measure(ours, redis, requests, rounds):
    results = {}

    def add(metric, server, value):
        results.setdefault(metric, {}).setdefault(server.name, []).append(value)

    for _ in range(rounds):
        for server in (ours, redis):
            server.flush()
            add("XADD (requests/s)", server, benchmark(server, requests, 1, "XADD", "s", "*", "field", "value"))
            add("XADD -P 16 (requests/s)", server,
                benchmark(server, requests, 16, "XADD", "s", "*", "field", "value"))
            fill_range_stream(server)
            add("XRANGE of 100 entries (requests/s)", server,
                benchmark(server, requests // 5, 1, "XRANGE", "r", "-", "+", "COUNT", "100"))
            add("XREADGROUP + XACK, one client (cycles/s)", server, group_cycles(server, requests // 5))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, 10,000 requests")
    args = parser.parse_args()
    requests, rounds = (10_000, 1) if args.quick else (50_000, 3)
    with tempfile.TemporaryDirectory() as workdir:
        ours, redis = start_servers(workdir)
        try:
            results = measure(ours, redis, requests, rounds)
        finally:
            ours.stop()
            redis.stop()
    print("| metric | mini-redis | Redis 7.0 | ratio |")
    print("|---|---:|---:|---:|")
    for metric, values in results.items():
        mine, theirs = statistics.median(values[ours.name]), statistics.median(values[redis.name])
        print("| %s | %s | %s | %.2f |" % (metric, format(round(mine), ","), format(round(theirs), ","), mine / theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
