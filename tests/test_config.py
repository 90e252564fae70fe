"""Configuration: every parameter of CONFIG GET/SET, config files, the log, daemonize, compared with Redis 7.0.15."""
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from conftest import ROOT, RunningServer, free_port, start_ours, start_real_redis, wait_until
from differential import Pair, WireClient, unordered_pairs

REDIS_SERVER = shutil.which("redis-server") or "redis-server"
OURS = [sys.executable, os.path.join(ROOT, "server.py")]
LOG_LINE = re.compile(r"^(\d+):([CM]) \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.*#-]) (.*)$")


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """Ours and Redis for this module alone: the tests change their settings."""
    ours = start_ours(tmp_path_factory.mktemp("ours-config"))
    try:
        redis = start_real_redis(tmp_path_factory.mktemp("redis-config"))
    except BaseException:
        ours.stop()
        raise
    yield ours, redis
    ours.stop()
    redis.stop()


@pytest.fixture
def config_pair(both):
    with Pair(both[0].port, both[1].port) as pair:
        yield pair


def parse_pairs(reply):
    """A CONFIG GET reply (RESP2 array of name, value) as a dict."""
    lines = reply.split(b"\r\n")
    assert lines[0].startswith(b"*")
    items = lines[2:-1:2]
    return dict(zip(items[::2], items[1::2]))


# Values that depend on the run, not on the server: each has its own directory and port.
MACHINE_DEPENDENT = (b"dir", b"port")


def all_parameters(port, password=None):
    with WireClient(port) as client:
        if password:
            assert client.call("AUTH", password) == b"+OK\r\n"
        found = parse_pairs(client.call("CONFIG", "GET", "*"))
    for name in MACHINE_DEPENDENT:
        found[name] = b"(masked)"
    return found


def test_config_get_star_lists_redis_parameters_and_defaults(both):
    ours, redis = (all_parameters(running.port) for running in both)
    assert len(redis) == 192
    assert sorted(ours) == sorted(redis)
    assert {name: value for name, value in ours.items() if redis[name] != value} == {}


def test_hidden_parameters_answer_only_by_name(config_pair):
    for pattern in ("rdb-key-save-delay", "watchdog-period", "use-exit-on-panic", "*delay*", "key-load-*",
                    "loading-process-events-interval-bytes", "*events*"):
        config_pair.check("CONFIG", "GET", pattern, normalise=unordered_pairs)


def test_config_get_patterns_and_aliases(config_pair):
    for pattern in ("slave*", "*ziplist*", "repl-*", "tls-*", "cluster-*", "*-cpulist", "lazyfree-*",
                    "active-defrag-*", "SLAVEOF", "Hash-Max-Ziplist-Entries", "lua-time-limit", "*[ab]ind*"):
        config_pair.check("CONFIG", "GET", pattern, normalise=unordered_pairs)


SETS = {
    "enums": [
        ("loglevel", "foo"), ("loglevel", "DEBUG"), ("loglevel", "Warning"), ("loglevel", "notice"),
        ("appendfsync", "ALWAYS"), ("appendfsync", "sometimes"), ("appendfsync", "everysec"),
        ("maxmemory-policy", "lru"), ("maxmemory-policy", "ALLKEYS-LFU"), ("maxmemory-policy", "noeviction"),
        ("repl-diskless-load", "foo"), ("repl-diskless-load", "swapdb"), ("oom-score-adj", "relative"),
        ("oom-score-adj", "ABSOLUTE"), ("oom-score-adj", "maybe"), ("oom-score-adj", "no"),
        ("acl-pubsub-default", "allchannels"), ("sanitize-dump-payload", "clients"), ("sanitize-dump-payload", "x"),
        ("cluster-preferred-endpoint-type", "hostname"), ("propagation-error-behavior", "x"),
        ("propagation-error-behavior", "panic-on-replicas"), ("tls-auth-clients", "optional"),
        ("tls-auth-clients", ""), ("supervised", "auto"), ("enable-debug-command", "yes"),
    ],
    "booleans": [
        ("activerehashing", "maybe"), ("activerehashing", "NO"), ("activerehashing", "yes"),
        ("replica-read-only", "no"), ("slave-read-only", "yes"), ("slave-serve-stale-data", ""),
        ("lazyfree-lazy-user-flush", "yes"), ("lazyfree-lazy-user-flush", "no"), ("crash-log-enabled", "1"),
        ("activedefrag", "yes"), ("activedefrag", "no"), ("tls-replication", "yes"), ("tls-cluster", "no"),
        ("jemalloc-bg-thread", "no"), ("daemonize", "yes"), ("rdbchecksum", "no"), ("cluster-enabled", "yes"),
    ],
    "integers": [
        ("hz", "0"), ("hz", "1000"), ("hz", "abc"), ("hz", "-1"), ("hz", "10"), ("active-expire-effort", "0"),
        ("active-expire-effort", "11"), ("active-expire-effort", "5"), ("maxmemory-eviction-tenacity", "101"),
        ("list-max-ziplist-size", "-2147483649"), ("list-max-ziplist-size", "5"), ("list-max-listpack-size", "-2"),
        ("tcp-keepalive", "-1"), ("tcp-keepalive", "60"), ("tcp-keepalive", "300"), ("slowlog-log-slower-than", "-2"),
        ("slowlog-log-slower-than", "-1"), ("slowlog-log-slower-than", "10000"), ("slowlog-max-len", "-1"),
        ("repl-backlog-ttl", "1.5"), ("lua-time-limit", "100"), ("busy-reply-threshold", "5000"),
        ("cluster-node-timeout", "9223372036854775808"), ("maxclients", "0"), ("maxclients", "4294967296"),
        ("maxclients", "+5"), ("maxclients", " 5"), ("maxclients", "100000"), ("maxclients", "10000"),
        ("repl-timeout", "0"), ("tls-port", "5"), ("tls-port", "0"), ("tls-session-cache-size", "-1"),
        ("active-defrag-max-scan-fields", "0"), ("acllog-max-len", "18446744073709551615"),
        ("tcp-backlog", "100"), ("databases", "4"), ("io-threads", "2"), ("socket-mark-id", "1"),
        ("unixsocketperm", "700"),
    ],
    "memory": [
        ("maxmemory", "1xb"), ("maxmemory", "-1"), ("maxmemory", "18446744073709551615"), ("maxmemory", "1GB"),
        ("maxmemory", "0"), ("proto-max-bulk-len", "1k"), ("proto-max-bulk-len", "2mb"),
        ("proto-max-bulk-len", "512mb"), ("hash-max-listpack-value", "1kb"), ("hash-max-ziplist-value", "64"),
        ("set-max-intset-entries", "1k"), ("repl-backlog-size", "0"), ("repl-backlog-size", "1m"),
        ("active-defrag-ignore-bytes", "0"), ("stream-node-max-bytes", "4kb"),
        ("cluster-link-sendbuf-limit", "18446744073709551615"), ("client-query-buffer-limit", "1.5mb"),
        ("auto-aof-rewrite-min-size", "99999999999999999999999"),
    ],
    "percentages": [
        ("maxmemory-clients", "200%"), ("maxmemory-clients", "5%"), ("maxmemory-clients", "0%"),
        ("maxmemory-clients", "-5"), ("maxmemory-clients", "1x"), ("maxmemory-clients", "1kb"),
        ("maxmemory-clients", "%"), ("maxmemory-clients", "-5%"), ("maxmemory-clients", "0"),
    ],
    "special": [
        ("save", "a b"), ("save", "900"), ("save", "900 1 300 10"), ("save", "0900 +1"), ("save", " 5 1"),
        ("save", "5 x"), ("save", "5 -1"), ("save", ""),
        ("client-output-buffer-limit", "pubsub 1 2 3k"), ("client-output-buffer-limit", "pubsub 1 2 +3"),
        ("client-output-buffer-limit", "pubsub 1  2"), ("client-output-buffer-limit", "Replica 1gb 2mb 3 normal x 0 0"),
        ("client-output-buffer-limit", "pubsub 32mb 8mb 60"),
        ("notify-keyspace-events", "Q"), ("notify-keyspace-events", "KEA"), ("notify-keyspace-events", "gxK$"),
        ("notify-keyspace-events", "An"), ("notify-keyspace-events", "nmA"), ("notify-keyspace-events", "lshzetdm"),
        ("notify-keyspace-events", ""),
        ("oom-score-adj-values", "1 2"), ("oom-score-adj-values", "1 2 3000"), ("oom-score-adj-values", "-2000 0 2000"),
        ("oom-score-adj-values", "0 200 800"),
        ("latency-tracking-info-percentiles", "50 101"), ("latency-tracking-info-percentiles", "a"),
        ("latency-tracking-info-percentiles", "50.50 0 100 1e1"), ("latency-tracking-info-percentiles", ""),
        ("latency-tracking-info-percentiles", "50 99 99.9"),
        ("shutdown-on-sigterm", "foo"), ("shutdown-on-sigterm", "save nosave"),
        ("shutdown-on-sigterm", "now force nosave"), ("shutdown-on-sigterm", "default save"),
        ("shutdown-on-sigterm", "default"),
        ("proc-title-template", "{title}"), ("proc-title-template", "x{"), ("proc-title-template", "}x"),
        ("proc-title-template", " "), ("proc-title-template", "{port} {config-file}"),
        ("proc-title-template", "{title} {listen-addr} {server-mode}"),
        ("cluster-announce-hostname", "a_b"), ("cluster-announce-hostname", "x" * 300),
        ("cluster-announce-hostname", "node-1.example"), ("cluster-announce-hostname", ""),
        ("replicaof", "no one"), ("slaveof", "127.0.0.1 1"),
    ],
    "immutable and protected": [
        ("appendfilename", "x.aof"), ("unixsocket", "/tmp/x.sock"), ("logfile", "x.log"), ("pidfile", "x.pid"),
        ("dir", "/nonexistent"), ("dbfilename", "a/b"), ("dbfilename", "dump.rdb"), ("aclfile", "x"),
    ],
}


@pytest.mark.parametrize("kind", sorted(SETS))
def test_config_set_of_each_type_matches_redis(config_pair, kind):
    for name, value in SETS[kind]:
        config_pair.check("CONFIG", "SET", name, value)
        if name != "dir":  # each server has its own
            config_pair.check("CONFIG", "GET", name)


SEVERAL = [
    ("maxmemory", "1gb", "maxclients", "x"), ("maxclients", "5", "maxclients", "6"), ("nosuch", "1", "maxclients", "6"),
    ("maxclients", "x", "nosuch", "5"), ("timeout", "5", "daemonize", "yes"), ("daemonize", "yes", "nosuch", "1"),
    ("maxclients", "5", "MAXCLIENTS", "6"), ("hash-max-ziplist-entries", "1", "hash-max-listpack-entries", "2"),
    ("appendonly", "yes", "appendfsync", "x"), ("HZ", "x"), ("Hash-Max-Ziplist-Entries", "x"),
    ("hz", "20", "loglevel", "warning", "timeout", "0"), ("hz", "10", "loglevel", "notice"), ("hz",),
    ("save", "1 1", "dir", "/"), ("maxclients", "100000", "timeout", "7"),
]


def test_config_set_of_several_is_all_or_nothing_as_in_redis(config_pair):
    for arguments in SEVERAL:
        config_pair.check("CONFIG", "SET", *arguments)
        for name in ("maxmemory", "maxclients", "timeout", "hz", "appendonly", "save", "hash-max-listpack-entries"):
            config_pair.check("CONFIG", "GET", name)


# ------------------------------------------------------------------ files


def start_with_file(binary, conf, tmp_path, *options):
    port = free_port()
    argv = (binary if isinstance(binary, list) else [binary]) + [str(conf), "--port", str(port), *options]
    return RunningServer(argv, port, str(tmp_path))


def start_both_with_file(tmp_path, conf, *options):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    ours = start_with_file(OURS, conf, tmp_path / "ours", "--dir", str(tmp_path / "ours"), *options)
    try:
        redis = start_with_file(REDIS_SERVER, conf, tmp_path / "redis", "--dir", str(tmp_path / "redis"), *options)
    except BaseException:
        ours.stop()
        raise
    return ours, redis


def compare_all_parameters(ours, redis, masked=(), password=None):
    found = [all_parameters(running.port, password) for running in (ours, redis)]
    for values in found:
        for name in masked:
            values[name] = b"(masked)"
    assert found[0] == found[1]


def test_debian_stock_redis_conf_loads_unchanged(tmp_path):
    try:
        stock = open("/etc/redis/redis.conf", "rb").read()
    except OSError as error:
        pytest.fail("Debian's /etc/redis/redis.conf must be readable for this test: %s" % error)
    conf = tmp_path / "redis.conf"
    conf.write_bytes(stock)
    options = ("--daemonize", "no", "--logfile", "", "--pidfile", "")  # the pid file is the system service's
    ours, redis = start_both_with_file(tmp_path, conf, *options)
    try:
        with WireClient(ours.port) as client:
            assert client.call("PING") == b"+PONG\r\n"
            assert client.call("CONFIG", "GET", "tcp-backlog") == b"*2\r\n$11\r\ntcp-backlog\r\n$3\r\n511\r\n"
        compare_all_parameters(ours, redis, masked=(b"save",))  # our default save is "", the README says why
        with WireClient(redis.port) as client:
            assert client.call("CONFIG", "GET", "save") == b"*2\r\n$4\r\nsave\r\n$23\r\n3600 1 300 100 60 10000\r\n"
    finally:
        ours.stop()
        redis.stop()


def test_include_quoting_units_and_aliases_in_a_file(tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "a.conf").write_text("timeout 11\nhz 20\n")
    (tmp_path / "conf.d" / "b.conf").write_text("hz 30\ninclude %s\n" % (tmp_path / "deeper.conf"))
    (tmp_path / "deeper.conf").write_text("maxmemory-samples 9\nslave-priority 7\n")
    conf = tmp_path / "main.conf"
    conf.write_text(
        "# comment\n   \n  maxmemory 1gb  \r\nproto-max-bulk-len 2m\nsave 900 1\nsave 300 10\n"
        "requirepass \"two \\x41words\\n\"\nmasterauth 'it\\'s'\nnotify-keyspace-events \"KEA\"\n"
        "client-output-buffer-limit pubsub 1mb 2mb 3\nclient-output-buffer-limit \"replica 4 5 6\"\n"
        "oom-score-adj-values \"0 100 200\"\nhash-max-ziplist-entries 7\nlist-max-ziplist-entries 5\n"
        "lua-replicate-commands yes\nLOGLEVEL Warning\ninclude %s\ntimeout 12\nslaveof 127.0.0.1 1\n"
        "latency-tracking-info-percentiles 90 99.5\nmaxmemory-clients 10%%\nunixsocketperm 700\n"
        % (tmp_path / "conf.d" / "*.conf"))
    ours, redis = start_both_with_file(tmp_path, conf, "--maxmemory-policy", "allkeys-lru", "--save", "60", "5",
                                       "--bind", "127.0.0.1")
    try:
        compare_all_parameters(ours, redis, password="two Awords\n")
        with Pair(ours.port, redis.port) as pair:
            pair.check("AUTH", "two Awords\n")
            pair.check_sequence([("CONFIG", "GET", "requirepass"), ("CONFIG", "GET", "masterauth"),
                                 ("CONFIG", "GET", "save"), ("CONFIG", "GET", "timeout")])
    finally:
        ours.stop()
        redis.stop()


BAD_FILES = [
    "port 7000\nfoo bar\n", "maxclients abc\n", "save 900\n", 'daemonize "yes\n', "port 1 2\n",
    "client-output-buffer-limit normal 1 2\n", "rename-command NOSUCH x\n", "rename-command get set\n",
    "notify-keyspace-events\n", "list-max-ziplist-entries 5\nlua-replicate-commands yes\nport 7000\nloglevel bogus\n",
    "dir /nonexistent\n", "slaveof localhost\n", "replicaof localhost abc\n", "maxmemory-clients 101%\n",
    "unixsocketperm 778\n", "shutdown-on-sigint save nosave\n", "proc-title-template \"\"\n",
    "logfile /nonexistent/dir/x.log\n", "list-max-ziplist-entries 5 6\n", "hz 'x\n", "  # indented comment\nport x\n",
    "appendfilename \"\"\n", "bind a b c d e f g h i j k l m n o p q\n", "io-threads 200\n",
    "latency-tracking-info-percentiles 50 abc\n",
]


def run_to_failure(argv, cwd):
    done = subprocess.run(argv, cwd=str(cwd), capture_output=True, timeout=30)
    return done.returncode, done.stderr


@pytest.mark.parametrize("content", BAD_FILES)
def test_a_bad_config_file_names_the_line_as_redis_does(tmp_path, content):
    conf = tmp_path / "bad.conf"
    conf.write_text(content)
    expected = run_to_failure([REDIS_SERVER, str(conf)], tmp_path)
    assert expected[0] == 1 and b"FATAL CONFIG FILE ERROR" in expected[1]
    assert run_to_failure(OURS + [str(conf)], tmp_path) == expected


@pytest.mark.parametrize("options", [
    ["--maxclients", "abc"], ["--maxclients"], ["--save", "--port", "x"], ["--logfile", "--x", "--hz", "y"],
    ["--port", "1", "2"], ["--client-output-buffer-limit", "normal 1 2 3", "--nosuch", "1"],
])
def test_bad_options_after_a_file_name_their_line_as_redis_does(tmp_path, options):
    conf = tmp_path / "good.conf"
    conf.write_text("timeout 5\n# two lines\n")
    expected = run_to_failure([REDIS_SERVER, str(conf), *options], tmp_path)
    assert expected[0] == 1 and b"FATAL CONFIG FILE ERROR" in expected[1]
    assert run_to_failure(OURS + [str(conf), *options], tmp_path) == expected


def test_an_error_in_an_included_file_names_its_line(tmp_path):
    (tmp_path / "inner.conf").write_text("timeout 1\n\nhz x\n")
    conf = tmp_path / "outer.conf"
    conf.write_text("port 7000\ninclude %s\n" % (tmp_path / "inner.conf"))
    expected = run_to_failure([REDIS_SERVER, str(conf)], tmp_path)
    assert b"at line 3\n>>> 'hz x'" in expected[1]
    assert run_to_failure(OURS + [str(conf)], tmp_path) == expected


def without_prefix(log_text):
    """The messages of a log, each line's pid, role, time and mark checked and taken off."""
    messages = []
    for line in log_text.splitlines():
        match = LOG_LINE.match(line)
        signal_line = re.match(r"^\d+:signal-handler \(\d+\) (.*)$", line)
        assert match or signal_line, line
        messages.append(match.group(3) + " " + match.group(4) if match else "signal " + signal_line.group(1))
    return messages


def test_a_missing_include_is_a_log_line(tmp_path):
    conf = tmp_path / "main.conf"
    conf.write_text("include %s\n" % (tmp_path / "missing.conf"))
    expected = subprocess.run([REDIS_SERVER, str(conf)], capture_output=True, timeout=30)
    got = subprocess.run(OURS + [str(conf)], capture_output=True, timeout=30)
    assert got.returncode == expected.returncode == 1
    assert without_prefix(got.stdout.decode()) == without_prefix(expected.stdout.decode())


# ------------------------------------------------------------------ the log, daemonize, pidfile



def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def daemon_run(binary, tmp_path, *options):
    """Start a server that detaches; SIGTERM it by its pid file; return (pid, its log)."""
    port, pidfile, logfile = free_port(), tmp_path / "server.pid", tmp_path / "server.log"
    argv = (binary if isinstance(binary, list) else [binary]) + [
        "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path), "--daemonize", "yes",
        "--pidfile", str(pidfile), "--logfile", str(logfile), *options]
    launcher = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, timeout=30)
    assert launcher.returncode == 0, launcher
    assert wait_until(lambda: "Ready to accept connections" in read(logfile)), read(logfile)
    pid = int(read(pidfile))
    assert read(pidfile) == "%d\n" % pid
    with WireClient(port) as client:
        assert client.call("PING") == b"+PONG\r\n"
        assert client.call("CONFIG", "GET", "daemonize") == b"*2\r\n$9\r\ndaemonize\r\n$3\r\nyes\r\n"
    os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not os.path.exists("/proc/%d" % pid) or "Z" in read("/proc/%d/stat" % pid).split()[2:3])
    assert not pidfile.exists()
    return pid, read(logfile)


def run_independent(message):
    """A log message with what differs between two runs masked: the pid, the port, the program's path."""
    message = re.sub(r"(pid|port)=\d+", r"\1=N", message)
    return re.sub(r"file use \S+ /path", "file use PROGRAM /path", message)


def test_daemonize_pidfile_logfile_and_the_start_and_sigterm_lines(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    pid, ours = daemon_run(OURS, tmp_path / "ours")
    _, redis = daemon_run(REDIS_SERVER, tmp_path / "redis")
    lines = ours.splitlines()
    assert all(line.startswith("%d:" % pid) for line in lines)
    ours_messages, redis_messages = without_prefix(ours), without_prefix(redis)
    for message in ("# oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo",
                    "# Redis version=7.0.15, bits=64, commit=00000000, modified=0, pid=%d, just started" % pid,
                    "# Server initialized", "* Ready to accept connections",
                    "signal Received SIGTERM scheduling shutdown...", "# User requested shutdown...",
                    "* Removing the pid file.", "# Redis is now ready to exit, bye bye..."):
        assert message in ours_messages, (message, ours)
    # Every line we write, Redis writes too, in the same order and with the same role and level.
    position = 0
    for message in ours_messages:
        message = run_independent(message)
        found = [run_independent(line) for line in redis_messages[position:]]
        assert message in found, (message, redis)
        position += found.index(message) + 1
    assert [LOG_LINE.match(line).group(2) for line in lines if LOG_LINE.match(line)][:3] == ["C", "C", "C"]


def test_loglevel_chooses_the_lines(tmp_path):
    running = start_ours(tmp_path, "--loglevel", "warning")
    try:
        with WireClient(running.port) as client:
            assert client.call("CONFIG", "SET", "loglevel", "notice") == b"+OK\r\n"
    finally:
        running.stop()
    messages = without_prefix(running.log())
    assert "# Server initialized" in messages
    assert "* Ready to accept connections" not in messages  # a notice line, under loglevel warning
    assert "* Running mode=standalone, port=%d." % running.port not in messages
    assert "# User requested shutdown..." in messages  # SIGTERM came after CONFIG SET loglevel notice


def test_loglevel_debug_writes_debug_lines(tmp_path):
    running = start_ours(tmp_path, "--loglevel", "debug", "--timeout", "1")
    try:
        with WireClient(running.port):
            assert wait_until(lambda: "Closing idle client" in running.log())
    finally:
        running.stop()
    assert any(message.startswith(". Closing idle client") for message in without_prefix(running.log()))


def test_config_rewrite_writes_as_redis_writes(tmp_path):
    conf = tmp_path / "rewrite.conf"
    conf.write_text("# keep me\ntimeout 3\nhz 10\n# and me\n")
    running = start_with_file(OURS, conf, tmp_path, "--dir", str(tmp_path))
    try:
        with WireClient(running.port) as client:
            for name, value in (("requirepass", "two words"), ("save", "900 1 300 10"), ("hz", "20"),
                                ("notify-keyspace-events", "KEA"), ("maxmemory", "1gb"), ("timeout", "0"),
                                ("maxmemory-clients", "5%"), ("hash-max-listpack-value", "1536")):
                assert client.call("CONFIG", "SET", name, value) == b"+OK\r\n"
            assert client.call("CONFIG", "REWRITE") == b"+OK\r\n"
    finally:
        running.stop()
    lines = conf.read_text().splitlines()
    assert lines[:6] == ["# keep me", "timeout 0", "hz 20", "# and me", "", "# Generated by CONFIG REWRITE"]
    assert sorted(lines[6:]) == sorted(['port %d' % running.port, 'requirepass "two words"', "save 900 1 300 10",
                                        'notify-keyspace-events "AKE"', "maxmemory 1gb", "maxmemory-clients 5%",
                                        "hash-max-listpack-value 1536", 'dir "%s"' % tmp_path,
                                        "latency-tracking-info-percentiles 50 99 99.9",  # both always written
                                        "user default on #%s ~* &* +@all" % hashlib.sha256(b"two words").hexdigest()])
    again = start_with_file(OURS, conf, tmp_path)
    try:
        with WireClient(again.port) as client:
            assert client.call("AUTH", "two words") == b"+OK\r\n"
            assert client.call("CONFIG", "GET", "notify-keyspace-events") == \
                b"*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n"
            assert client.call("CONFIG", "GET", "maxmemory") == b"*2\r\n$9\r\nmaxmemory\r\n$10\r\n1073741824\r\n"
    finally:
        again.stop()


@pytest.mark.parametrize("content, options", [
    ("save 900 1\nsave 300 10\n", ()), ("save 900 1\nsave 300 10\n", ("--save", "60", "5")),
    ("save 900 1\nhz 5\nsave 300 10\nsave \"\"\nsave 1 1\n", ()), ("hz 5\n", ("--save", "")),
    ("save 900 1\ninclude {inner}\nsave 300 10\n", ()), ("save \"900 1 300 10\"\n", ("--save", "7 7")),
])
def test_save_lines_add_up_as_in_redis(tmp_path, content, options):
    (tmp_path / "inner.conf").write_text("hz 7\n")
    conf = tmp_path / "save.conf"
    conf.write_text(content.replace("{inner}", str(tmp_path / "inner.conf")))
    ours, redis = start_both_with_file(tmp_path, conf, *options)
    try:
        with Pair(ours.port, redis.port) as pair:
            pair.check("CONFIG", "GET", "save")
    finally:
        ours.stop()
        redis.stop()


def test_config_set_port_and_bind_listen_again_as_in_redis(tmp_path_factory):
    ours = start_ours(tmp_path_factory.mktemp("ours-port"))
    redis = start_real_redis(tmp_path_factory.mktemp("redis-port"))
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        replies = []
        for running in (ours, redis):
            with WireClient(running.port) as client:
                new_port = free_port()
                got = [client.call("CONFIG", "SET", "port", str(blocker.getsockname()[1])),  # taken: the old stays
                       client.call("CONFIG", "SET", "bind", "192.0.2.1"),  # not an address of this machine
                       client.call("CONFIG", "GET", "bind"),
                       client.call("CONFIG", "SET", "port", str(new_port)),
                       client.call("PING")]  # a connection made before stays
                with WireClient(new_port) as moved:
                    got.append(moved.call("CONFIG", "SET", "bind", "127.0.0.1 127.0.0.2", "port", str(new_port)))
                    got.append(moved.call("CONFIG", "GET", "bind"))
                with WireClient(new_port, host="127.0.0.2") as second:
                    got.append(second.call("CONFIG", "SET", "bind", "127.0.0.1"))
                replies.append(got)
        assert replies[0] == replies[1]
        assert replies[0][0].startswith(b"-ERR CONFIG SET failed (possibly related to argument 'port')")
    finally:
        blocker.close()
        ours.stop()
        redis.stop()


def unix_call(path, *words):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall(b"%s\r\n" % " ".join(words).encode())
        return sock.recv(65536)


def test_unixsocket_and_its_permissions(tmp_path):
    path, redis_path = str(tmp_path / "ours.sock"), str(tmp_path / "redis.sock")
    running = start_ours(tmp_path, "--unixsocket", path, "--unixsocketperm", "700")
    (tmp_path / "redis").mkdir()
    redis = start_real_redis(tmp_path / "redis", "--unixsocket", redis_path, "--unixsocketperm", "700")
    try:
        assert oct(os.stat(path).st_mode & 0o777) == "0o700"
        assert unix_call(path, "PING") == b"+PONG\r\n"
        info = unix_call(path, "CLIENT", "INFO")
        assert b" addr=%s:0 laddr=%s:0 " % (path.encode(), path.encode()) in info
        flags = [re.search(rb" flags=(\w+) ", reply).group(1)
                 for reply in (info, unix_call(redis_path, "CLIENT", "INFO"))]
        assert flags == [b"U", b"U"]
        assert unix_call(path, "CONFIG", "GET", "unixsocketperm") == b"*2\r\n$14\r\nunixsocketperm\r\n$3\r\n700\r\n"
    finally:
        running.stop()
        redis.stop()
    assert not os.path.exists(path)
    messages = without_prefix(running.log())
    assert messages.index("* The server is now ready to accept connections at %s" % path) == \
        messages.index("* Ready to accept connections") + 1
    assert messages[-2:] == ["* Removing the unix socket file.", "# Redis is now ready to exit, bye bye..."]


def keepalive_timers(port):
    """What `ss` says of the server's side of its established connections: their keepalive timers."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.fail("ss (Debian's iproute2) is needed to see a socket's keepalive timer")
    listing = subprocess.run([ss, "-tnoH", "state", "established", "( sport = :%d )" % port],
                             capture_output=True, text=True, timeout=10).stdout
    return re.findall(r"timer:\(keepalive,([^,]+),", listing)


def test_tcp_keepalive_sets_the_probe_timer(tmp_path):
    running = start_ours(tmp_path, "--tcp-keepalive", "77")
    try:
        with WireClient(running.port) as client:
            assert client.call("PING") == b"+PONG\r\n"
            timers = keepalive_timers(running.port)
            assert len(timers) == 1 and re.fullmatch(r"1min1\dsec", timers[0]), timers
            assert client.call("CONFIG", "SET", "tcp-keepalive", "0") == b"+OK\r\n"
    finally:
        running.stop()
    running = start_ours(tmp_path, "--tcp-keepalive", "0")
    try:
        with WireClient(running.port) as client:
            assert client.call("PING") == b"+PONG\r\n"  # as above, where the timer showed
            assert keepalive_timers(running.port) == []
    finally:
        running.stop()


def test_enable_protected_configs_lets_config_set_change_dir(tmp_path):
    running = start_ours(tmp_path, "--enable-protected-configs", "local")
    try:
        with WireClient(running.port) as client:
            assert client.call("CONFIG", "SET", "dir", str(tmp_path), "dbfilename", "other.rdb") == b"+OK\r\n"
            assert client.call("SAVE") == b"+OK\r\n"
        assert (tmp_path / "other.rdb").exists()
    finally:
        running.stop()


@pytest.mark.parametrize("options, saved", [
    (("--save", "3600 1", "--shutdown-on-sigterm", "nosave"), False), (("--shutdown-on-sigterm", "save"), True),
    (("--save", "3600 1"), True), ((), False),
])
def test_shutdown_on_sigterm_chooses_the_final_save(tmp_path, options, saved):
    running = start_ours(tmp_path, "--dir", str(tmp_path), *options)
    try:
        with WireClient(running.port) as client:
            assert client.call("SET", "k", "v") == b"+OK\r\n"
    finally:
        running.stop()  # SIGTERM
    assert (tmp_path / "dump.rdb").exists() is saved
    assert ("* Saving the final RDB snapshot before exiting." in without_prefix(running.log())) is saved


def test_loglevel_verbose_writes_connections_as_redis(tmp_path):
    running = start_ours(tmp_path, "--loglevel", "verbose")
    try:
        with WireClient(running.port) as client:
            assert client.call("PING") == b"+PONG\r\n"
            peer = client.sock.getsockname()
        closed = "- Client closed connection id=2 addr=%s:%d " % peer  # id 1 was the harness's probe
        assert wait_until(lambda: any(line.startswith(closed) for line in without_prefix(running.log())))
    finally:
        running.stop()
    messages = without_prefix(running.log())
    assert messages.index("- Accepted %s:%d" % peer) + 1 == \
        [index for index, message in enumerate(messages) if message.startswith(closed)][0]


@pytest.mark.parametrize("option", [("--tls-port", "16999"), ("--tls-replication", "yes"), ("--tls-cluster", "yes")])
def test_tls_in_a_file_stops_the_start_as_redis_without_certificates(tmp_path, option):
    conf = tmp_path / "tls.conf"
    conf.write_text("%s %s\n" % (option[0][2:], option[1]))
    runs = [subprocess.run(binary + [str(conf), "--port", str(free_port()), "--save", ""], cwd=str(tmp_path),
                           capture_output=True, timeout=30) for binary in ([REDIS_SERVER], OURS)]
    assert runs[0].returncode == runs[1].returncode == 1
    expected, got = (without_prefix(run.stdout.decode())[-2:] for run in runs)
    assert got == expected == ["# No tls-cert-file configured!", "# Failed to configure TLS. Check logs for more info."]


def commented_examples():
    """Every '# directive value' line of Debian's redis.conf whose directive is a parameter (prose included)."""
    try:
        text = open("/etc/redis/redis.conf").read()
    except OSError as error:
        pytest.fail("Debian's /etc/redis/redis.conf must be readable for this test: %s" % error)
    from serving.parameters import BY_NAME
    return [match.group(1) + " " + match.group(2) for match in re.finditer(r"(?m)^# ?([a-z][a-z0-9_-]+) (\S.*)$", text)
            if match.group(1) in BY_NAME]


def test_every_example_line_of_redis_conf_reads_as_in_redis(tmp_path):
    """Each commented example alone in a file: Redis and ours accept the same ones, and refuse the others
    (prose that happens to start with a parameter's name) with the same words."""
    from serving.config import Config, ConfigError
    safe = ["--port", "0", "--daemonize", "no", "--logfile", "", "--pidfile", "", "--unixsocket", "",
            "--cluster-enabled", "no", "--dir", str(tmp_path)]
    examples = commented_examples()
    assert len(examples) > 100
    conf = tmp_path / "one.conf"
    for line in examples:
        conf.write_text(line + "\n")
        redis = subprocess.run([REDIS_SERVER, str(conf), *safe], cwd=str(tmp_path), capture_output=True,
                               text=True, timeout=30)
        try:
            Config().load(str(conf), safe)
            ours = ""
        except ConfigError as error:
            ours = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n%s\n" % error
        assert ours == redis.stderr, line


def test_config_rewrite_writes_the_users_as_redis_does(tmp_path):
    """rewriteConfigUserOption: every user as ACL LIST writes it, in name order, the file's own user lines
    replaced where they stand, the rest after the new settings, a deleted user's line gone."""
    text = "# top\nuser alice on >pw ~a* +get\nhz 10\nuser carol off\n"
    found = []
    for binary, name, options in ((REDIS_SERVER, "redis", ("--bind", "127.0.0.1")), (OURS, "ours", ())):
        folder = tmp_path / name
        folder.mkdir()
        conf = folder / "users.conf"
        conf.write_text(text)
        running = start_with_file(binary, conf, folder, "--dir", str(folder), *options)
        try:
            with WireClient(running.port) as client:
                assert client.call("ACL", "SETUSER", "bob", "on", ">x", "~b*", "+@read") == b"+OK\r\n"
                assert client.call("ACL", "DELUSER", "carol") == b":1\r\n"
                assert client.call("CONFIG", "REWRITE") == b"+OK\r\n"
        finally:
            running.stop()
        lines = conf.read_text().splitlines()
        users = [line for line in lines if line.startswith("user ")]
        found.append((lines.index(users[0]), users))
    assert found[0] == found[1]
    assert found[1][0] == 1 and [line.split()[1] for line in found[1][1]] == ["alice", "bob", "default"]
