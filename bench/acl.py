"""What ACL checks cost: SET and GET, unpipelined and -P 16, as the default user (allowed everything: the
plain lane) and as a user limited to `~app:* +@read +@write`, on mini-redis and on Redis 7.0 side by side.

    python bench/acl.py [--requests N] [--rounds R]

redis-benchmark -c 50 runs `SET app:__rand_int__ v` and `GET app:__rand_int__` (-r 100000) as each user;
figures are requests per second, medians of the rounds (the four cases alternate in each round), and
ratios mini-redis / Redis.
"""
import argparse
import csv
import statistics
import subprocess
import tempfile

from compare import describe_machine, start_servers

USER = ("ACL", "SETUSER", "app", "on", ">apppass", "~app:*", "+@read", "+@write")
COMMANDS = {"SET": ("SET", "app:__rand_int__", "v"), "GET": ("GET", "app:__rand_int__")}


def throughput(port, command, pipeline, requests, user):
    """Requests per second of one redis-benchmark run of a command, as user (None: the default user)."""
    login = ["--user", "app", "-a", "apppass"] if user else []
    result = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(requests), "-r", "100000",
                             "-P", str(pipeline), "--csv", *login, *COMMANDS[command]],
                            capture_output=True, text=True, timeout=3600)
    rows = [row for row in csv.reader(result.stdout.splitlines()) if row and row[0] != "test"]
    return float(rows[-1][1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        ours, redis = start_servers(workdir)
        try:
            for server in (ours, redis):
                subprocess.run(["redis-cli", "-p", str(server.port), *USER], check=True, capture_output=True)
            rows = []
            for pipeline in (1, 16):
                for command in ("SET", "GET"):
                    runs = {(server.name, user): [] for server in (ours, redis) for user in (False, True)}
                    for _ in range(args.rounds):  # alternated, so that the machine's drift touches all four
                        for server in (ours, redis):
                            for user in (False, True):
                                runs[server.name, user].append(
                                    throughput(server.port, command, pipeline, args.requests, user))
                    figures = {case: statistics.median(values) for case, values in runs.items()}
                    rows.append((command + ("" if pipeline == 1 else " -P 16"), figures))
        finally:
            ours.stop()
            redis.stop()
    print("Machine: %s" % describe_machine())
    print("redis-benchmark -c 50 -n %d -r 100000, medians of %d rounds, requests per second\n"
          % (args.requests, args.rounds))
    print("| command | mini-redis default | mini-redis `app` | Redis default | Redis `app` | `app` ratio | "
          "mini-redis `app` / default |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, figures in rows:
        ours_default, ours_app = figures["mini-redis", False], figures["mini-redis", True]
        redis_default, redis_app = figures["redis", False], figures["redis", True]
        print("| %s | %s | %s | %s | %s | %.2f | %.2f |" % (
            name, *("{:,.0f}".format(value) for value in (ours_default, ours_app, redis_default, redis_app)),
            ours_app / redis_app, ours_app / ours_default))


if __name__ == "__main__":
    main()
