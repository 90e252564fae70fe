"""Bitmaps and SORT side by side with Redis (issue 15): BITCOUNT and BITOP over 64 MB bitmaps, SORT of 100k.

    python bench/bitmaps_sort.py             # 5 timed runs of each, medians
    python bench/bitmaps_sort.py --runs 3

It starts Debian's redis-server and mini-redis on free loopback ports (bench/compare.py's
start_servers), loads the same seeded data into both (two 64 MB bitmaps written with SETRANGE in
1 MB pieces, a list of 100,000 random numbers), then times each command from a redis-py client,
reply read in full, and prints a Markdown table of median seconds and the ratio mini-redis / Redis
(lower is better). A benchmark, not a test: nothing asserts a speed and CI does not run it.
"""
import argparse
import random
import statistics
import tempfile
import time

import redis

from compare import describe_machine, start_servers, table

BITMAP_BYTES = 64 << 20
PIECE = 1 << 20
SORTED = 100_000


def load(client, seed):
    rng = random.Random(seed)
    for key in ("bits-a", "bits-b"):
        for offset in range(0, BITMAP_BYTES, PIECE):
            client.setrange(key, offset, rng.randbytes(PIECE))
    numbers = [str(rng.randint(-10**9, 10**9)) for _ in range(SORTED)]
    for start in range(0, SORTED, 10_000):
        client.rpush("numbers", *numbers[start:start + 10_000])


CASES = (
    ("BITCOUNT of a 64 MB bitmap (s)", ("BITCOUNT", "bits-a")),
    ("BITCOUNT 1 MB..63 MB BIT range (s)", ("BITCOUNT", "bits-a", 8 << 20, (504 << 20) - 1, "BIT")),
    ("BITOP AND of two 64 MB bitmaps (s)", ("BITOP", "AND", "bits-and", "bits-a", "bits-b")),
    ("BITOP NOT of a 64 MB bitmap (s)", ("BITOP", "NOT", "bits-not", "bits-a")),
    ("SORT of 100k numbers (s)", ("SORT", "numbers")),
    ("SORT ALPHA of 100k (s)", ("SORT", "numbers", "ALPHA")),
    ("SORT 100k LIMIT 0 10 (s)", ("SORT", "numbers", "LIMIT", 0, 10)),
)


def timed(client, command, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.execute_command(*command)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        ours, real = start_servers(workdir)
        try:
            clients = {server.name: redis.Redis(port=server.port, socket_timeout=600) for server in (ours, real)}
            for client in clients.values():
                load(client, seed=15)
            results = {}
            for metric, command in CASES:
                ours_time, redis_time = (timed(clients[server.name], command, args.runs) for server in (ours, real))
                results[metric] = (ours_time, redis_time)
                print("%s: %.4f against %.4f" % (metric, ours_time, redis_time), flush=True)
        finally:
            ours.stop()
            real.stop()
    print("\n" + describe_machine() + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
