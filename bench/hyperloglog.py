"""HyperLogLog side by side with Redis: PFADD of 1M elements and PFCOUNT over several keys.

    python bench/hyperloglog.py             # 3 rounds
    python bench/hyperloglog.py --quick     # 1 round, a tenth of the elements

It starts Debian's redis-server and our server (compare.py's start_servers), then, alternating
between the two, times:

- PFADD of 1,000,000 distinct elements into one key, 100 elements per PFADD, the 10,000 commands
  piped through redis-cli --pipe (the hashing and the register updates dominate);
- PFADD of 100,000 elements one per command, the same way (the per-command cost);
- PFCOUNT of five dense keys (100,000 elements each) at once, 500 times, pipelined: each merges
  the five sets of registers and estimates, since only a one-key count is cached.

Reported as seconds and the ratio mini-redis / Redis (lower is better). Both servers must count
the same: the script checks the replies agree. This is a benchmark, not a test.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from compare import start_servers  # bench/ is the script's folder, first on the path

COUNT_KEYS = 5
COUNT_KEY_ELEMENTS = 100_000
COUNT_CALLS = 500


def _command(*args):
    parts = [b"*%d\r\n" % len(args)]
    parts.extend(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)
    return b"".join(parts)


def pfadd_file(workdir, name, key, elements, per_command):
    path = os.path.join(workdir, name)
    with open(path, "wb") as out:
        for first in range(0, elements, per_command):
            members = [b"element:%d" % n for n in range(first, min(elements, first + per_command))]
            out.write(_command(b"PFADD", key, *members))
    return path


def piped_seconds(server, path):
    started = time.monotonic()
    with open(path, "rb") as data:
        done = subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], stdin=data, capture_output=True,
                              check=True, timeout=3600)
    elapsed = time.monotonic() - started
    if b"errors: 0" not in done.stdout:
        raise RuntimeError("%s answered errors: %r" % (server.name, done.stdout[-200:]))
    return elapsed


def redis_cli(server, *args):
    return subprocess.run(["redis-cli", "-p", str(server.port), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def pfcount_seconds(server, calls):
    """Seconds for calls pipelined PFCOUNTs of every count key, and the count they gave."""
    request = _command(b"PFCOUNT", *(b"count:%d" % n for n in range(COUNT_KEYS))) * calls
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        started = time.monotonic()
        sock.sendall(request)
        received = b""
        while received.count(b"\r\n") < calls:
            chunk = sock.recv(65536)
            if not chunk:
                raise RuntimeError("%s hung up" % server.name)
            received += chunk
        elapsed = time.monotonic() - started
    return elapsed, received.split(b"\r\n", 1)[0]


def measure(ours, redis, scale, rounds, workdir):
    big = pfadd_file(workdir, "pfadd-100.resp", b"visitors", 1_000_000 // scale, 100)
    single = pfadd_file(workdir, "pfadd-1.resp", b"visitors", 100_000 // scale, 1)
    loads = [pfadd_file(workdir, "count-%d.resp" % n, b"count:%d" % n, COUNT_KEY_ELEMENTS // scale, 1000)
             for n in range(COUNT_KEYS)]
    results = {}
    for _ in range(rounds):
        for server in (ours, redis):
            server.flush()
            results.setdefault(("PFADD %dk elements, 100 per command (s)" % (1000 // scale), server.name),
                               []).append(piped_seconds(server, big))
            counts = redis_cli(server, "PFCOUNT", "visitors")
            server.flush()
            results.setdefault(("PFADD %dk elements, 1 per command (s)" % (100 // scale), server.name),
                               []).append(piped_seconds(server, single))
            for path in loads:
                piped_seconds(server, path)
            seconds, merged = pfcount_seconds(server, COUNT_CALLS // scale)
            results.setdefault(("PFCOUNT of %d dense keys x%d (s)" % (COUNT_KEYS, COUNT_CALLS // scale),
                                server.name), []).append(seconds)
            results.setdefault(("counts", server.name), []).append((counts, merged))
    if results[("counts", ours.name)] != results[("counts", redis.name)]:
        raise RuntimeError("the counts differ: %r" % results)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round, a tenth of the elements")
    args = parser.parse_args()
    scale, rounds = (10, 1) if args.quick else (1, 3)
    with tempfile.TemporaryDirectory() as workdir:
        ours, redis = start_servers(workdir)
        try:
            results = measure(ours, redis, scale, rounds, workdir)
        finally:
            ours.stop()
            redis.stop()
    print("| metric | mini-redis | Redis 7.0 | ratio |")
    print("|---|---:|---:|---:|")
    for (metric, name), values in results.items():
        if name != ours.name or metric == "counts":
            continue
        mine, theirs = statistics.median(values), statistics.median(results[(metric, redis.name)])
        print("| %s | %.2f | %.2f | %.1f |" % (metric, mine, theirs, mine / theirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
