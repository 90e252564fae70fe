"""Keyspace notifications side by side with Redis: SET throughput with notify-keyspace-events KEA and one subscriber.

    python bench/notifications.py            # 3 rounds of 50,000 SETs per configuration
    python bench/notifications.py --quick    # 1 round of 10,000

It starts Debian's redis-server and our server (compare.py's start_servers), then, alternating
between the two, runs redis-benchmark -c 50 -t set (unpipelined, then -P 16) in two configurations:
notifications off, and notify-keyspace-events KEA with one client subscribed to __key*__:* reading
every message as fast as it comes (each SET publishes two: __keyspace@0__:<key> and
__keyevent@0__:set). The subscriber counts what it received: both servers must send every message.
Reported as requests per second and the ratio mini-redis / Redis (higher is better). This is a
benchmark, not a test: nothing here asserts a speed.
"""
import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from compare import redis_benchmark, start_servers  # bench/ is the script's folder, first on the path

MARKER = b"$8\r\npmessage\r\n"  # one per message received


class Subscriber:
    """A raw connection subscribed to every keyspace channel, counting messages in a thread."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(b"*2\r\n$10\r\nPSUBSCRIBE\r\n$10\r\n__key*__:*\r\n")
        self.messages = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        tail = b""  # a marker may be cut between two reads
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except OSError:
                return
            if not data:
                return
            data = tail + data
            self.messages += data.count(MARKER)
            tail = data[-(len(MARKER) - 1):]

    def wait_for(self, count, timeout=60):
        deadline = time.monotonic() + timeout
        while self.messages < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages

    def close(self):
        self.sock.close()


def configure(server, flags):
    subprocess.run(["redis-cli", "-p", str(server.port), "CONFIG", "SET", "notify-keyspace-events", flags],
                   capture_output=True, check=True)


def run_round(server, requests, samples):
    for flags in ("", "KEA"):
        configure(server, flags)
        for pipeline in (1, 16):
            subscriber = Subscriber(server.port) if flags else None
            time.sleep(0.2)
            rps = redis_benchmark(server, ["set"], requests, pipeline)["set"][0]
            label = "set%s, %s" % ("" if pipeline == 1 else " -P 16",
                                   "KEA, 1 subscriber" if flags else "notifications off")
            samples.setdefault(label, {}).setdefault(server.name, []).append(rps)
            if subscriber is not None:
                received = subscriber.wait_for(2 * requests)
                subscriber.close()
                if received < 2 * requests:
                    raise RuntimeError("%s: the subscriber got %d messages of %d" % (server.name, received,
                                                                                      2 * requests))
    configure(server, "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--requests", type=int)
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    requests = args.requests or (10_000 if args.quick else 50_000)
    samples = {}
    with tempfile.TemporaryDirectory() as workdir:
        ours, redis = start_servers(workdir)
        try:
            for number in range(rounds):
                for server in ((ours, redis) if number % 2 == 0 else (redis, ours)):
                    run_round(server, requests, samples)
                print("round %d done" % (number + 1), file=sys.stderr, flush=True)
        finally:
            ours.stop()
            redis.stop()
    print("| metric (requests per second) | mini-redis | Redis 7.0 | ratio |")
    print("|---|---:|---:|---:|")
    for label, by_server in samples.items():
        mine, theirs = statistics.median(by_server["mini-redis"]), statistics.median(by_server["redis"])
        print("| %s | {:,.0f} | {:,.0f} | %.2f |".format(mine, theirs) % (label, mine / theirs))


if __name__ == "__main__":
    main()
