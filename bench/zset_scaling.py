"""How sorted-set commands scale: per-operation time at 10k, 100k and 1M members.

    python bench/zset_scaling.py              # sizes 10k, 100k, 1M
    python bench/zset_scaling.py --quick      # sizes 1k, 10k, 100k

It starts our server on a free loopback port, loads one sorted set per size
with pipelined ZADDs of 1,000 members, then times pipelined batches of
ZADD (a new member), ZRANK, ZRANGE by rank (10 members from a random rank)
and ZRANGEBYSCORE (LIMIT 0 10 from a random score) against each set. A
ZSet is a dict beside a SortedList, so each of these is O(log n) plus its
reply: the microseconds per operation should stay roughly flat from one
size to the next, where a linear structure would grow them a hundredfold.

This is a benchmark, not a test: nothing here asserts a speed, and CI does not run it.
"""
import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from protocol import ReplyReader, encode_command  # noqa: E402  (after the path is set)

LOAD_BATCH = 1000  # members per ZADD while loading
OPERATIONS = 5000  # of each kind, per size
PIPELINE = 500  # commands per write while timing


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Connection:
    """A raw pipelining connection: send many commands, then read that many replies."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = ReplyReader()

    def pipeline(self, commands):
        """Send the commands in one write and return their replies."""
        self.sock.sendall(b"".join(encode_command(command) for command in commands))
        replies = []
        while len(replies) < len(commands):
            for reply in self.reader.frames():
                replies.append(reply)
            if len(replies) < len(commands):
                data = self.sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("the server hung up")
                self.reader.feed(data)
        return replies

    def call(self, *command):
        return self.pipeline([command])[0]


def start_server():
    port = free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "server.py"), "--port", str(port)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("our server did not start")
            time.sleep(0.05)


def load(connection, key, size):
    """ZADD size members m<i> with score i, LOAD_BATCH per command, pipelined; seconds taken."""
    started = time.perf_counter()
    commands = []
    for first in range(0, size, LOAD_BATCH):
        pairs = []
        for index in range(first, min(size, first + LOAD_BATCH)):
            pairs += [b"%d" % index, b"m%d" % index]
        commands.append((b"ZADD", key, *pairs))
        if len(commands) == 50:
            connection.pipeline(commands)
            commands = []
    if commands:
        connection.pipeline(commands)
    assert connection.call(b"ZCARD", key) == size
    return time.perf_counter() - started


def timed(connection, commands):
    """Microseconds per command: the median over pipelined batches of PIPELINE, which shrugs off a busy machine."""
    per_command = []
    for first in range(0, len(commands), PIPELINE):
        batch = commands[first:first + PIPELINE]
        started = time.perf_counter()
        replies = connection.pipeline(batch)
        per_command.append((time.perf_counter() - started) * 1e6 / len(batch))
        assert not any(isinstance(reply, Exception) for reply in replies), replies[:3]
    return statistics.median(per_command)


def workloads(key, size, rng):
    """The commands of each timed operation against a set of `size` members scored 0..size-1."""
    return {
        "ZADD": [(b"ZADD", key, b"%.3f" % (rng.random() * size), b"new%d" % n) for n in range(OPERATIONS)],
        "ZRANK": [(b"ZRANK", key, b"m%d" % rng.randrange(size)) for _ in range(OPERATIONS)],
        "ZRANGE rank": [(b"ZRANGE", key, start, start + 9)
                        for start in (rng.randrange(size - 10) for _ in range(OPERATIONS))],
        "ZRANGEBYSCORE": [(b"ZRANGEBYSCORE", key, b"(%.3f" % low, b"+inf", b"LIMIT", 0, 10)
                          for low in (rng.random() * size for _ in range(OPERATIONS))],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1k, 10k and 100k")
    arguments = parser.parse_args()
    sizes = [1_000, 10_000, 100_000] if arguments.quick else [10_000, 100_000, 1_000_000]
    rng = random.Random(7)
    process, port = start_server()
    try:
        connection = Connection(port)
        results = {}
        for size in sizes:
            key = b"zset:%d" % size
            seconds = load(connection, key, size)
            print("loaded %9d members in %6.2f s (%.1f us per member, encoding %s)"
                  % (size, seconds, seconds * 1e6 / size, connection.call(b"OBJECT", b"ENCODING", key).decode()),
                  flush=True)
            results[size] = {name: timed(connection, commands)
                             for name, commands in workloads(key, size, rng).items()}
            connection.call(b"DEL", key)
        print()
        names = list(results[sizes[0]])
        print("%-15s" % "us per op" + "".join("%17s" % ("%d members" % size) for size in sizes)
              + "%12s" % "last/first")
        for name in names:
            row = [results[size][name] for size in sizes]
            print("%-15s" % name + "".join("%17.1f" % value for value in row) + "%12.2f" % (row[-1] / row[0]))
        print("\nMedian over batches of %d pipelined commands (%d of each kind per size), client time included;\n"
              "an O(n) structure would multiply the last column by %d." % (PIPELINE, OPERATIONS, sizes[-1] // sizes[0]))
    finally:
        process.terminate()
        process.wait(10)


if __name__ == "__main__":
    main()
