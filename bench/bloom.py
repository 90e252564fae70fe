"""A Python module command against a built-in one: BF.ADD and BF.EXISTS beside SET and GET, one server.

    python bench/bloom.py             # 3 rounds of 50,000 requests per command
    python bench/bloom.py --quick     # 1 round of 10,000

It starts our server with --loadmodule modules/bloom.py, reserves a Bloom filter for a million items
at 1% (so it never scales during the run), and runs redis-benchmark -c 50 (unpipelined, then -P 16)
for SET and GET and for `BF.ADD bench:bloom __rand_int__` and `BF.EXISTS bench:bloom __rand_int__`
(-r 100000: random items among 100,000). Reported as requests per second, medians of the rounds,
and each module command's rate over its built-in neighbour's (BF.ADD / SET, BF.EXISTS / GET).
This is a benchmark, not a test: nothing here asserts a speed.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile

from compare import ROOT, Server, free_port  # bench/ is the script's folder, first on the path

KEY = "bench:bloom"
COMMANDS = {"SET": ["-t", "set"], "GET": ["-t", "get"],
            "BF.ADD": ["BF.ADD", KEY, "__rand_int__"], "BF.EXISTS": ["BF.EXISTS", KEY, "__rand_int__"]}
BASELINE = {"BF.ADD": "SET", "BF.EXISTS": "GET"}


def requests_per_second(server, command, requests, pipeline):
    result = subprocess.run(["redis-benchmark", "-p", str(server.port), "-c", "50", "-n", str(requests),
                             "-r", "100000", "-P", str(pipeline), "--csv", *COMMANDS[command]],
                            capture_output=True, text=True, timeout=3600, check=True)
    rows = [row for row in csv.reader(result.stdout.splitlines()) if row and row[0] != "test"]
    return float(rows[0][1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one round of 10,000 requests")
    args = parser.parse_args()
    requests, rounds = (10_000, 1) if args.quick else (50_000, 3)
    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server = Server("mini-redis", [sys.executable, os.path.join(ROOT, "server.py"), "--port", str(port),
                                       "--loadmodule", os.path.join(ROOT, "modules", "bloom.py")], port, workdir)
        try:
            subprocess.run(["redis-cli", "-p", str(port), "BF.RESERVE", KEY, "0.01", "1000000"], check=True,
                           capture_output=True)
            for _ in range(rounds):
                for pipeline in (1, 16):
                    for command in COMMANDS:
                        results.setdefault((command, pipeline), []).append(
                            requests_per_second(server, command, requests, pipeline))
        finally:
            server.stop()
    print("| command | requests/s | -P 16 requests/s | vs built-in | -P 16 vs built-in |")
    print("|---|---:|---:|---:|---:|")
    medians = {case: statistics.median(values) for case, values in results.items()}
    for command in COMMANDS:
        single, piped = medians[(command, 1)], medians[(command, 16)]
        base = BASELINE.get(command)
        ratios = ("%.2f" % (single / medians[(base, 1)]), "%.2f" % (piped / medians[(base, 16)])) if base else ("", "")
        print("| %s | {:,.0f} | {:,.0f} | %s | %s |".format(single, piped) % (command, *ratios))
    return 0


if __name__ == "__main__":
    sys.exit(main())
