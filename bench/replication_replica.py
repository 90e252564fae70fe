"""A real Redis master with mini-redis as its replica, beside a real Redis replica: the full sync, and the lag.

    python bench/replication_replica.py             # 1,000,000 keys, 100,000 SETs
    python bench/replication_replica.py --quick     # 100,000 keys, 20,000 SETs

Debian's redis-server is the master (diskless sync without delay), loaded with the keys by redis-cli
--pipe (16-byte values). For each kind of replica (Debian's redis-server, then ours), it measures:

- full sync: from starting the replica with --replicaof until its link is up (the RDB made by the
  master, received, checked and loaded by the replica);
- the longest wait for a reply during the full sync: another client sends PING and INFO replication
  in turn, one after the other (any reply counts, -LOADING too), from the start until the link is up;
- lag under load: while redis-benchmark -c 50 SET runs on the master, the largest gap seen between the
  master's offset and the replica's (bytes of stream not yet applied), sampled every 10 ms;
- catch-up: after that load, how long until the replica has applied every byte of the stream.

Reported with the ratio mini-redis / Redis (lower is better). A benchmark, not a test: loopback only,
bounded counts.
"""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

from compare import ROOT, Server, free_port  # bench/ is the script's folder, first on the path
from replication_master import catch_up_seconds, info, load_keys, sizes


def start_replica(kind, workdir, master_port):
    port = free_port()
    options = ["--port", str(port), "--dir", workdir, "--replicaof", "127.0.0.1", str(master_port)]
    if kind == "redis":
        argv = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *options]
    else:
        argv = [sys.executable, os.path.join(ROOT, "server.py"), *options]
    return Server(kind + "-replica", argv, port, workdir)


def offsets(master_port, replica_port):
    """(the master's offset, the replica's), the replica's read first: a gap is never under-reported."""
    applied = int(info(replica_port, "replication")["slave_repl_offset"])
    return int(info(master_port, "replication")["master_repl_offset"]), applied


def largest_lag_while(master_port, replica_port, work):
    """Run work() while sampling the replica's lag behind the master; the largest gap seen, in bytes."""
    largest, done = 0, threading.Event()

    def sample():
        nonlocal largest
        while not done.is_set():
            produced, applied = offsets(master_port, replica_port)
            largest = max(largest, produced - applied)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        work()
    finally:
        done.set()
        sampler.join()
    return largest


def longest_wait_until_synced(port):
    """Over one connection, PING the replica and ask INFO replication in turn, one after the other, until
    its link is up: the longest wait for a reply (any reply: -LOADING is one too)."""
    longest, linked = 0.0, False
    with socket.create_connection(("127.0.0.1", port)) as sock:
        reader = sock.makefile("rb")
        while not linked:
            for request in (b"PING\r\n", b"INFO replication\r\n"):
                sent = time.monotonic()
                sock.sendall(request)
                reply = reader.readline()
                if reply.startswith(b"$"):
                    reply = reader.read(int(reply[1:]) + 2)
                longest = max(longest, time.monotonic() - sent)
                linked = linked or b"master_link_status:up" in reply
    return longest


def measure(kind, master, requests, workdir):
    """(full sync seconds, longest wait for a reply during it, largest lag in bytes under SET load, catch-up seconds)
    for one kind of replica."""
    started = time.monotonic()
    replica = start_replica(kind, workdir, master.port)
    try:
        ping_wait = longest_wait_until_synced(replica.port)
        full_sync = time.monotonic() - started
        lag = largest_lag_while(master.port, replica.port, lambda: subprocess.run(
            ["redis-benchmark", "-p", str(master.port), "-c", "50", "-n", str(requests), "-t", "set",
             "-r", "100000", "-q"], capture_output=True, check=True))
        return full_sync, ping_wait, lag, catch_up_seconds(master.port, replica.port, time.monotonic())
    finally:
        replica.stop()


def main():
    keys, requests = sizes(__doc__.splitlines()[0])
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        master = Server("redis", ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no", "--dir", workdir, "--repl-diskless-sync", "yes",
                                  "--repl-diskless-sync-delay", "0"], port, workdir)
        try:
            load_keys(port, workdir, keys)
            for kind in ("redis", "mini-redis"):
                with tempfile.TemporaryDirectory(dir=workdir) as folder:
                    results[kind] = measure(kind, master, requests, folder)
        finally:
            master.stop()
    print("| metric | mini-redis | Redis 7.0 | ratio |")
    print("|---|---:|---:|---:|")
    rows = (("full sync of %dk keys from a Redis master (s)" % (keys // 1000), "%.2f"),
            ("longest wait for PING or INFO during the full sync (s)", "%.3f"),
            ("largest lag under SET load (bytes)", "{:,.0f}"), ("catch-up after the SETs (s)", "%.2f"))
    for index, (name, shown) in enumerate(rows):
        ours, theirs = results["mini-redis"][index], results["redis"][index]
        figures = [shown.format(value) if "{" in shown else shown % value for value in (ours, theirs)]
        print("| %s | %s | %s | %.2f |" % (name, *figures, ours / theirs if theirs else float("nan")))


if __name__ == "__main__":
    main()
