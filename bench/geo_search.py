"""GEOSEARCH side by side: mini-redis against real Redis over one million points, reported as ratios.

    python bench/geo_search.py              # 1,000,000 points, 200 searches per kind, 3 rounds
    python bench/geo_search.py --quick      # 200,000 points, 50 searches, 1 round

It starts Debian's redis-server and our server on free loopback ports (as
compare.py does), GEOADDs the same seeded points to both (spread over the
globe, 1,000 per command, pipelined), then times searches one at a time,
alternating servers from round to round: BYRADIUS and BYBOX around random
centres between 20S and 20N, sized to hold about 1,000 points, plain, with
WITHDIST ASC, and with COUNT 10 (Redis's partial sort). Every reply of ours is
checked against Redis's before the times are reported.

This is a benchmark, not a test: nothing here asserts a speed.
"""
import argparse
import os
import random
import socket
import statistics
import sys
import tempfile
import time

import hiredis

from compare import describe_machine, start_servers, table

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from protocol import encode_command  # noqa: E402  (after the path is set)

KEY = b"points"
BATCH = 1000  # points per GEOADD
RADIUS_KM = 490  # holds about 1,000 of 1,000,000 points spread evenly in longitude and latitude near the equator


class Connection:
    """A raw connection with hiredis's C reader, so that the client costs little beside either server."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def pipeline(self, requests):
        """Send encoded requests in one write; their replies."""
        self.sock.sendall(b"".join(requests))
        replies = []
        while len(replies) < len(requests):
            reply = self.reader.gets()
            if reply is False:
                data = self.sock.recv(1 << 20)
                if not data:
                    raise ConnectionError("the server hung up")
                self.reader.feed(data)
            else:
                replies.append(reply)
        return replies


def load(connection, points):
    """GEOADD the points, BATCH per command and 20 commands per write; seconds taken (the requests are
    encoded before the clock starts)."""
    requests = [encode_command((b"GEOADD", KEY, *[item for point in points[first:first + BATCH] for item in point]))
                for first in range(0, len(points), BATCH)]
    started = time.perf_counter()
    for first in range(0, len(requests), 20):
        connection.pipeline(requests[first:first + 20])
    return time.perf_counter() - started


def searches(rng, count, scale):
    """{kind: commands}: the same random centres for every kind."""
    centres = [(b"%.6f" % rng.uniform(-180, 180), b"%.6f" % rng.uniform(-20, 20)) for _ in range(count)]
    radius = b"%d" % (RADIUS_KM * scale)
    side = b"%d" % (RADIUS_KM * 1.77 * scale)  # a square of the circle's area
    around = [(b"GEOSEARCH", KEY, b"FROMLONLAT", lon, lat) for lon, lat in centres]
    kinds = {
        "GEOSEARCH BYRADIUS ~1,000 of %s (ms)": [c + (b"BYRADIUS", radius, b"km") for c in around],
        "... WITHDIST ASC (ms)": [c + (b"BYRADIUS", radius, b"km", b"WITHDIST", b"ASC") for c in around],
        "... COUNT 10 (ms)": [c + (b"BYRADIUS", radius, b"km", b"COUNT", b"10") for c in around],
        "GEOSEARCH BYBOX ~1,000 of %s (ms)": [c + (b"BYBOX", side, side, b"km") for c in around],
    }
    return {kind: [encode_command(command) for command in commands] for kind, commands in kinds.items()}


def run(connection, requests):
    """Milliseconds per search, one search per round trip (the median), and the replies."""
    times, replies = [], []
    for request in requests:
        started = time.perf_counter()
        replies += connection.pipeline([request])
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), replies


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--searches", type=int, default=200, help="searches of each kind per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="200,000 points, 50 searches, 1 round")
    args = parser.parse_args()
    if args.quick:
        args.points, args.searches, args.rounds = 200_000, 50, 1
    rng = random.Random(15)
    points = [(b"%.6f" % rng.uniform(-180, 180), b"%.6f" % rng.uniform(-85, 85), b"p%d" % index)
              for index in range(args.points)]
    scale = (1_000_000 / args.points) ** 0.5  # the same ~1,000 points per search at any size
    kinds = searches(rng, args.searches, scale)
    label = "%dk" % (args.points // 1000) if args.points < 1_000_000 else "%gM" % (args.points / 1e6)
    with tempfile.TemporaryDirectory() as workdir:
        ours, redis = start_servers(workdir)
        try:
            connections = {server.name: Connection(server.port) for server in (ours, redis)}
            samples = {"GEOADD %s points (s)" % label: {name: [load(connection, points)]
                                                        for name, connection in connections.items()}}
            found = [len(reply) for reply in connections["redis"].pipeline(kinds[next(iter(kinds))])]
            for round_number in range(args.rounds):
                order = ("mini-redis", "redis") if round_number % 2 == 0 else ("redis", "mini-redis")
                for kind, commands in kinds.items():
                    replies = {}
                    for name in order:
                        milliseconds, replies[name] = run(connections[name], commands)
                        samples.setdefault(kind % label if "%s" in kind else kind, {}).setdefault(name, []).append(
                            milliseconds)
                    if replies["mini-redis"] != replies["redis"]:
                        sys.exit("the replies differ for %s" % kind)
                print("round %d done" % (round_number + 1), file=sys.stderr, flush=True)
        finally:
            ours.stop()
            redis.stop()
    results = {metric: (statistics.median(values["mini-redis"]), statistics.median(values["redis"]))
               for metric, values in samples.items()}
    print("Machine: %s" % describe_machine())
    print("%d points, %d searches of each kind per round (%d to %d points found, median %d), medians of %d "
          "round(s), one search per round trip; ratio = mini-redis / Redis (lower is better)\n"
          % (args.points, args.searches, min(found), max(found), statistics.median(found), args.rounds))
    print(table(results))


if __name__ == "__main__":
    main()
