"""Side-by-side benchmark: mini-redis against real Redis on this machine, reported as ratios.

    python bench/compare.py                  # the full run (several minutes)
    python bench/compare.py --quick          # fewer requests and rounds, for a first look

It starts Debian's redis-server and our server, each on a free loopback port
with no persistence, then, alternating between the two and repeating to take
medians:

- redis-benchmark -c 50 -n N for set, get, incr, lpush, rpop, sadd, hset,
  zadd, mset, lrange_100, unpipelined and with -P 16;
- the same for EVALSHA of a script doing one GET and one SET (--scripts-only: just these rows);
- mass insert: 1,000,000 SETs (key:N -> 16-byte values) through redis-cli --pipe;
- memory: the server's RSS after that insert;
- latency: p50 and p99 of unpipelined GET at 50 clients.

This is a benchmark, not a test: nothing here asserts a speed.
"""
import argparse
import csv
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = ["set", "get", "incr", "lpush", "rpop", "sadd", "hset", "zadd", "mset", "lrange_100"]
CSV_NAMES = {"set": "SET", "get": "GET", "incr": "INCR", "lpush": "LPUSH", "rpop": "RPOP", "sadd": "SADD",
             "hset": "HSET", "zadd": "ZADD", "mset": "MSET (10 keys)", "lrange_100": "LRANGE_100 (first 100 elements)"}


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(port, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on port %d did not answer PING" % port)


class Server:
    """A server process under test: its name, port and pid."""

    def __init__(self, name, argv, port, workdir):
        self.name, self.port = name, port
        self.log = open(os.path.join(workdir, name + ".log"), "wb")
        self.process = subprocess.Popen(argv, cwd=workdir, stdout=self.log, stderr=subprocess.STDOUT)
        wait_ready(port)

    def rss_bytes(self):
        with open("/proc/%d/status" % self.process.pid) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return 0

    def flush(self):
        subprocess.run(["redis-cli", "-p", str(self.port), "FLUSHALL"], capture_output=True, check=True)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def start_servers(workdir):
    ours_port, redis_port = free_port(), free_port()
    redis = Server("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", workdir], redis_port, workdir)
    ours = Server("mini-redis", [sys.executable, os.path.join(ROOT, "server.py"), "--port", str(ours_port)],
                  ours_port, workdir)
    return ours, redis


def redis_benchmark(server, tests, requests, pipeline):
    """{test name: (requests per second, p50 ms, p99 ms)} from one redis-benchmark run."""
    result = subprocess.run(["redis-benchmark", "-p", str(server.port), "-c", "50", "-n", str(requests),
                             "-P", str(pipeline), "-t", ",".join(tests), "--csv"],
                            capture_output=True, text=True, timeout=3600)
    rows = {row[0]: row for row in csv.reader(result.stdout.splitlines()) if row and row[0] != "test"}
    return {test: (float(rows[CSV_NAMES[test]][1]), float(rows[CSV_NAMES[test]][4]),
                   float(rows[CSV_NAMES[test]][6])) for test in tests if CSV_NAMES[test] in rows}


# One GET and one SET per call: what a script adds beyond the commands it runs.
GET_AND_SET = "local old = redis.call('GET', KEYS[1]) redis.call('SET', KEYS[1], ARGV[1]) return old"


def evalsha_benchmark(server, requests, pipeline):
    """Requests per second of EVALSHA of GET_AND_SET on random keys."""
    sha = subprocess.run(["redis-cli", "-p", str(server.port), "SCRIPT", "LOAD", GET_AND_SET],
                         capture_output=True, text=True, check=True).stdout.strip()
    result = subprocess.run(["redis-benchmark", "-p", str(server.port), "-c", "50", "-n", str(requests),
                             "-P", str(pipeline), "-r", "100000", "--csv", "EVALSHA", sha, "1", "key:__rand_int__",
                             "value"], capture_output=True, text=True, timeout=3600)
    rows = [row for row in csv.reader(result.stdout.splitlines()) if row and row[0] != "test"]
    return float(rows[0][1])


def mass_insert_file(workdir, count):
    """count SET commands in RESP, key:N -> a 16-byte value, as redis-cli --pipe takes them."""
    path = os.path.join(workdir, "mass-insert.resp")
    with open(path, "wb") as out:
        for number in range(count):
            key = b"key:%d" % number
            out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%b\r\n$16\r\n%016d\r\n" % (len(key), key, number))
    return path


def mass_insert(server, path):
    """Seconds to pipe the file in, and the RSS afterwards."""
    server.flush()
    started = time.monotonic()
    with open(path, "rb") as data:
        subprocess.run(["redis-cli", "-p", str(server.port), "--pipe"], stdin=data, capture_output=True,
                       check=True, timeout=3600)
    elapsed = time.monotonic() - started
    time.sleep(0.5)
    return elapsed, server.rss_bytes()


def measure(ours, redis, args, workdir):
    """Every figure for both servers: {metric: (ours, redis)}, medians over the rounds."""
    samples = {}

    def add(metric, server, value):
        samples.setdefault(metric, {}).setdefault(server.name, []).append(value)

    for round_number in range(args.rounds):
        for server in ((ours, redis) if round_number % 2 == 0 else (redis, ours)):
            for pipeline in (1, 16):
                server.flush()
                add("evalsha GET+SET%s" % ("" if pipeline == 1 else " -P 16"), server,
                    evalsha_benchmark(server, args.requests, pipeline))
                if args.scripts_only:
                    continue
                for test, (rps, p50, p99) in redis_benchmark(server, TESTS, args.requests, pipeline).items():
                    add("%s%s" % (test, "" if pipeline == 1 else " -P 16"), server, rps)
                    if test == "get" and pipeline == 1:
                        add("get p50 latency (ms)", server, p50)
                        add("get p99 latency (ms)", server, p99)
            print("round %d: %s done" % (round_number + 1, server.name), file=sys.stderr, flush=True)
    if args.scripts_only:
        return _medians(samples)
    path = mass_insert_file(workdir, args.keys)
    for round_number in range(args.insert_rounds):
        for server in ((ours, redis) if round_number % 2 == 0 else (redis, ours)):
            seconds, rss = mass_insert(server, path)
            add("mass insert %dk SETs (s)" % (args.keys // 1000), server, seconds)
            add("RSS after %dk keys (MB)" % (args.keys // 1000), server, rss / 1024 / 1024)
    return _medians(samples)


def _medians(samples):
    return {metric: (statistics.median(values["mini-redis"]), statistics.median(values["redis"]))
            for metric, values in samples.items()}


def table(results):
    """A Markdown table; the ratio is always mini-redis divided by Redis."""
    lines = ["| metric | mini-redis | Redis 7.0 | ratio |", "|---|---:|---:|---:|"]
    for metric, (ours, theirs) in results.items():
        ratio = ours / theirs if theirs else float("nan")
        lines.append("| %s | %s | %s | %.2f |" % (metric, _figure(ours), _figure(theirs), ratio))
    return "\n".join(lines)


def _figure(value):
    return "{:,.0f}".format(value) if value >= 100 else "{:.2f}".format(value)


def describe_machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return "%s, %d cores, Python %s, %s" % (cpu, os.cpu_count(), platform.python_version(),
                                            subprocess.run(["redis-server", "--version"], capture_output=True,
                                                           text=True).stdout.split(" sha")[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests per redis-benchmark test")
    parser.add_argument("--rounds", type=int, default=3, help="redis-benchmark rounds per server (median)")
    parser.add_argument("--keys", type=int, default=1_000_000, help="keys for mass insert and memory")
    parser.add_argument("--insert-rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="20k requests, 1 round, 200k keys")
    parser.add_argument("--scripts-only", action="store_true", help="only the EVALSHA rows")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.rounds, args.keys = 20_000, 1, 200_000
    for tool in ("redis-server", "redis-cli", "redis-benchmark"):
        if shutil.which(tool) is None:
            sys.exit("%s is missing: apt-get install redis-server redis-tools" % tool)
    with tempfile.TemporaryDirectory() as workdir:
        ours, redis = start_servers(workdir)
        try:
            results = measure(ours, redis, args, workdir)
        finally:
            ours.stop()
            redis.stop()
    print("Machine: %s" % describe_machine())
    print("redis-benchmark -c 50 -n %d, medians of %d round(s); ratio = mini-redis / Redis "
          "(higher is better for req/s, lower for seconds, MB and ms)\n" % (args.requests, args.rounds))
    print(table(results))


if __name__ == "__main__":
    main()
