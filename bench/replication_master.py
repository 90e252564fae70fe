"""A master with a real Redis replica, mini-redis beside Redis: the full sync, and SET under a replica.

    python bench/replication_master.py             # 1,000,000 keys, 100,000 SETs
    python bench/replication_master.py --quick     # 100,000 keys, 20,000 SETs

For each master (Debian's redis-server, then ours; diskless sync without delay), loaded with the keys
by redis-cli --pipe (16-byte values), it measures:

- full sync: from starting a redis-server --replicaof the master until the replica's link is up
  (the RDB made, sent and loaded);
- SET with one replica: redis-benchmark -c 50 SET throughput while the replica follows;
- catch-up: after that load, how long until the replica has every byte of the stream.

Reported with the ratio mini-redis / Redis (seconds: lower is better; requests per second: higher).
A benchmark, not a test: loopback only, bounded counts.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

from compare import ROOT, Server, free_port, mass_insert_file  # bench/ is the script's folder, first on the path


def info(port, section):
    text = subprocess.run(["redis-cli", "-p", str(port), "INFO", section], capture_output=True, text=True,
                          check=True).stdout
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_for(predicate, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise RuntimeError("timed out")


def sizes(description):
    """The key and request counts from the command line (both replication benchmarks take the same)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="100,000 keys and 20,000 SETs")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.keys, arguments.requests = 100_000, 20_000
    return arguments.keys, arguments.requests


def load_keys(port, workdir, keys):
    """Fill a server with the keys by redis-cli --pipe."""
    with open(mass_insert_file(workdir, keys), "rb") as commands:
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=commands, capture_output=True, check=True)


def catch_up_seconds(master_port, replica_port, since):
    """Seconds from since until the replica has applied every byte of the master's stream."""
    target = int(info(master_port, "replication")["master_repl_offset"])
    wait_for(lambda: int(info(replica_port, "replication")["slave_repl_offset"]) >= target)
    return time.monotonic() - since


def start_master(kind, workdir):
    port = free_port()
    options = ["--port", str(port), "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]
    if kind == "redis":
        argv = ["redis-server", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir, *options]
    else:
        argv = [sys.executable, os.path.join(ROOT, "server.py"), "--dir", workdir, *options]
    return Server(kind, argv, port, workdir)


def measure(kind, keys, requests, workdir):
    """(full sync seconds, SET requests per second with a replica, catch-up seconds) for one kind of master."""
    master = start_master(kind, workdir)
    replica = None
    try:
        load_keys(master.port, workdir, keys)
        replica_port = free_port()
        started = time.monotonic()
        replica = Server(kind + "-replica", ["redis-server", "--port", str(replica_port), "--bind", "127.0.0.1",
                                             "--save", "", "--appendonly", "no", "--dir", workdir,
                                             "--replicaof", "127.0.0.1", str(master.port)], replica_port, workdir)
        wait_for(lambda: info(replica_port, "replication").get("master_link_status") == "up")
        full_sync = time.monotonic() - started
        result = subprocess.run(["redis-benchmark", "-p", str(master.port), "-c", "50", "-n", str(requests), "-t",
                                 "set", "-r", "100000", "--csv"], capture_output=True, text=True, check=True)
        throughput = float(result.stdout.splitlines()[-1].split(",")[1].strip('"'))
        return full_sync, throughput, catch_up_seconds(master.port, replica_port, time.monotonic())
    finally:
        if replica is not None:
            replica.stop()
        master.stop()


def main():
    keys, requests = sizes(__doc__.splitlines()[0])
    results = {}
    for kind in ("redis", "mini-redis"):
        with tempfile.TemporaryDirectory() as workdir:
            results[kind] = measure(kind, keys, requests, workdir)
    print("| metric | mini-redis | Redis 7.0 | ratio |")
    print("|---|---:|---:|---:|")
    names = ("full sync of %dk keys to a Redis replica (s)" % (keys // 1000),
             "SET with one replica (requests/s)", "replica catch-up after the SETs (s)")
    for index, name in enumerate(names):
        ours, theirs = results["mini-redis"][index], results["redis"][index]
        print("| %s | %.2f | %.2f | %.2f |" % (name, ours, theirs, ours / theirs if theirs else float("nan")))


if __name__ == "__main__":
    main()
