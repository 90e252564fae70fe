"""LATENCY against real Redis: events recorded over latency-monitor-threshold (made with DEBUG SLEEP),
LATEST/HISTORY/RESET/GRAPH/DOCTOR/HISTOGRAM, help and errors; and the history's cap."""
import re
import time

import pytest

from conftest import start_ours
from differential import Pair, parse_reply
from serving.config import Config
from serving.latency import HISTORY_LENGTH, EventSeries, LatencyMonitor, doctor_report


@pytest.fixture
def both(servers):
    ours, redis = servers
    with Pair(ours.port, redis.port) as pair:
        for command in (("FLUSHALL",), ("CONFIG", "SET", "latency-monitor-threshold", "0"), ("LATENCY", "RESET"),
                        ("CONFIG", "RESETSTAT")):
            pair.check(*command)
        yield pair


def digits_masked(reply):
    """Numbers (latencies, times, ages) and the lengths that depend on them masked."""
    return re.sub(rb"\d+", b"N", reply)


@pytest.mark.parametrize("command", [
    ("LATENCY", "HELP"), ("LATENCY",), ("LATENCY", "FOO"), ("LATENCY", "LATEST", "x"), ("LATENCY", "HISTORY"),
    ("LATENCY", "HISTORY", "command"), ("LATENCY", "GRAPH"), ("LATENCY", "GRAPH", "command"),
    ("LATENCY", "GRAPH", "no such event"), ("LATENCY", "DOCTOR", "x"), ("LATENCY", "HELP", "x"),
    ("LATENCY", "RESET"), ("LATENCY", "RESET", "command", "foo"), ("LATENCY", "LATEST"), ("LATENCY", "DOCTOR"),
    ("LATENCY", "HISTOGRAM", "nosuchcommand"), ("DEBUG", "SLEEP"), ("DEBUG", "SLEEP", "abc"),
    ("DEBUG", "SLEEP", "0.01x"), ("DEBUG", "SLEEP", "-1"), ("DEBUG", "SLEEP", "0", "0"),
])
def test_help_errors_and_empty_answers(both, command):
    both.check(*command)


def test_doctor_with_the_monitor_on_and_nothing_seen(both):
    both.check("CONFIG", "SET", "latency-monitor-threshold", "100")
    both.check("LATENCY", "DOCTOR")


def test_a_slow_command_is_an_event(both):
    both.check("CONFIG", "SET", "latency-monitor-threshold", "100")
    both.check("DEBUG", "SLEEP", "0")
    both.check("LATENCY", "LATEST")  # below the threshold: nothing
    both.check("DEBUG", "SLEEP", "0.15")
    latest = [parse_reply(client.call("LATENCY", "LATEST")) for client in (both.ours, both.redis)]
    for got in latest:
        [[event, moment, latency, worst]] = got
        assert event == b"command" and 150 <= latency == worst < 1000 and moment > 1_700_000_000
    history = [parse_reply(client.call("LATENCY", "HISTORY", "command")) for client in (both.ours, both.redis)]
    assert [len(samples) for samples in history] == [1, 1]
    both.check("LATENCY", "GRAPH", "command", normalise=digits_masked)
    both.check("LATENCY", "DOCTOR", normalise=digits_masked)
    both.check("CONFIG", "SET", "slowlog-log-slower-than", "-1")
    both.check("LATENCY", "DOCTOR", normalise=digits_masked)
    both.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    both.check("LATENCY", "RESET", "command", "command", "fast-command")
    both.check("LATENCY", "LATEST")


def test_graph_of_several_samples():
    """The sparkline of samples in different seconds, as Redis draws it (the labels are their ages)."""
    from serving import sparkline
    series = EventSeries()
    for moment, latency in ((1000, 100), (1001, 200), (1002, 400), (1003, 800)):
        series.add(moment, latency)
    graph = sparkline.latency_graph("command", series, now=1003).split("\n")
    assert graph[0] == "command - high 800 ms, low 100 ms (all time high 800 ms)"
    assert graph[1] == "-" * 80
    assert graph[2:7] == ["   #", "   |", "  #|", "_o||", "    "]
    assert graph[7:9] == ["3210", "ssss"] and graph[9:] == [""]  # ages, written downwards


def test_graph_and_doctor_of_samples_in_different_seconds(both):
    both.check("CONFIG", "SET", "latency-monitor-threshold", "100")
    # The middle sample sits mid-bar (step 6.5 of the graph's 12 between 150 and 600 ms), so a few
    # milliseconds more on a loaded machine draw the same bars on both (300 ms sat on a step's edge).
    for seconds in ("0.15", "0.39", "0.6"):
        both.check("DEBUG", "SLEEP", seconds)
        time.sleep(1.05)  # the next sample in another second on both
    both.check("LATENCY", "GRAPH", "command", normalise=digits_masked)
    both.check("LATENCY", "DOCTOR", normalise=digits_masked)


def test_histogram_of_commands(both):
    for index in range(5):
        both.check("SET", "k%d" % index, "v")
    both.check("GET", "k0")
    for client in (both.ours, both.redis):
        histograms = parse_reply(client.call("LATENCY", "HISTOGRAM", "set", "GET", "nosuch"))
        got = dict(zip(histograms[::2], histograms[1::2]))
        assert sorted(got) == [b"get", b"set"]
        fields = dict(zip(got[b"set"][::2], got[b"set"][1::2]))
        assert fields[b"calls"] == 5
        levels = fields[b"histogram_usec"]
        counts = levels[1::2]
        assert counts == sorted(counts) and counts[-1] == 5 and counts[0] > 0
        assert all(usec >= 1 for usec in levels[::2])
    both.check("LATENCY", "HISTOGRAM", "config|resetstat", normalise=digits_masked)


def test_history_is_capped():
    series = EventSeries()
    for moment in range(HISTORY_LENGTH + 40):
        series.add(moment, 10 + moment)
    series.add(HISTORY_LENGTH + 39, 1)  # the same second: the worst of the two stays
    assert len(series.samples) == HISTORY_LENGTH and series.samples[-1] == [HISTORY_LENGTH + 39, HISTORY_LENGTH + 49]
    assert series.samples[0][0] == 40 and series.max == HISTORY_LENGTH + 49
    monitor = LatencyMonitor()
    monitor.add("command", 5)
    assert monitor.reset(["command", "command", "fork"]) == 1 and monitor.latest() == []


def test_doctor_on_a_slow_fork():
    monitor = LatencyMonitor()
    monitor.add("fork", 150)
    config = Config()
    config.set("latency-monitor-threshold", "100")
    report = doctor_report(monitor, config, fork_rate=5.0)
    assert "1. fork: 1 latency spikes (average 150ms, mean deviation 0ms, period 1.00 sec). Worst all time event " \
           "150ms. Fork rate is 5.00 GB/sec (terrible).\n" in report
    assert "\n- If you are using a virtual machine, consider upgrading it" in report
    assert "Fork rate is 150.00 GB/sec (excellent)" in doctor_report(monitor, config, fork_rate=150.0)


def test_doctor_advice_for_the_aof_events_in_redis_order():
    monitor = LatencyMonitor()
    monitor.add("aof-write-alone", 120)
    monitor.add("aof-fsync-always", 130)
    config = Config()
    config.set("latency-monitor-threshold", "100")
    report = doctor_report(monitor, config)
    advice = [line[:40] for line in report.split("\n") if line.startswith("- ")]
    assert advice[:4] == ["- It is strongly advised to use local di", "- SSD disks are able to reduce fsync lat",
                          "- Mounting ext3/4 filesystems with data=", "- Your fsync policy is set to 'always'. "]


def test_aof_writes_and_fsyncs_with_the_monitor_on(tmp_path):
    """With appendfsync always and a 1 ms threshold, writing still works (events only if the disk is slow)."""
    from differential import WireClient
    server = start_ours(tmp_path, "--appendonly", "yes", "--appendfsync", "always", "--dir", str(tmp_path),
                        "--latency-monitor-threshold", "1")
    try:
        with WireClient(server.port) as client:
            for index in range(50):
                assert client.call("SET", "k%d" % index, "v") == b"+OK\r\n"
            events = {event for event, *_ in parse_reply(client.call("LATENCY", "LATEST"))}
            assert events <= {b"aof-write", b"aof-write-alone", b"aof-write-pending-fsync", b"aof-fsync-always",
                              b"command", b"fast-command", b"expire-cycle"}
            assert client.call("DBSIZE") == b":50\r\n"
        assert "Traceback" not in server.log()
    finally:
        server.stop()


def test_eviction_reports_each_deletion_and_the_run():
    """performEvictions' latency events: eviction-del around each key it deletes, eviction-cycle around
    the run; nothing while memory fits or under noeviction (no run)."""
    from storage.keyspace import Keyspace
    keyspace = Keyspace()
    events = []
    keyspace.latency_event = lambda event, started_ns: events.append((event, time.perf_counter_ns() >= started_ns))
    db = keyspace[0]
    for index in range(200):
        db.set(b"key:%d" % index, b"v" * 1000)
    config = Config()
    config.set("maxmemory", "%d" % (keyspace.memory.used() + 100_000))
    config.set("maxmemory-policy", "allkeys-random")
    keyspace.memory.configure(config)
    assert keyspace.memory.perform_evictions() and events == []  # it fits
    config.set("maxmemory", "%d" % (keyspace.memory.used() - 50_000))
    keyspace.memory.configure(config)
    assert keyspace.memory.perform_evictions()
    evicted = keyspace.evicted_keys
    assert evicted >= 40 and events == [("eviction-del", True)] * evicted + [("eviction-cycle", True)]


def test_a_long_eviction_run_is_an_eviction_cycle_event(tmp_path):
    """20k keys over a lowered maxmemory: the cron evicts in runs of its 25 ms budget, each past a 1 ms
    threshold, so LATENCY LATEST shows eviction-cycle."""
    from differential import WireClient, encode_command
    server = start_ours(tmp_path, "--latency-monitor-threshold", "1", "--maxmemory-policy", "allkeys-lru")
    try:
        with WireClient(server.port) as client:
            for start in range(0, 20_000, 5000):
                client.send_raw(b"".join(encode_command(("SET", "k%d" % index, "v" * 100))
                                         for index in range(start, start + 5000)))
                assert set(client.read_replies(5000)) == {b"+OK\r\n"}
            assert client.call("CONFIG", "SET", "maxmemory", "1") == b"+OK\r\n"
            deadline = time.monotonic() + 10
            while client.call("DBSIZE") != b":0\r\n" and time.monotonic() < deadline:
                time.sleep(0.05)
            events = {event for event, *_ in parse_reply(client.call("LATENCY", "LATEST"))}
            assert b"eviction-cycle" in events
            assert client.call("CONFIG", "SET", "maxmemory", "0") == b"+OK\r\n"
    finally:
        server.stop()


def test_persistence_steps_report_to_the_latency_monitor(tmp_path):
    """The AOF's fstat at each open, the rewrite's rename, and the removal of a killed
    background save's temporary file each go to the latency monitor under Redis's names (a real
    server in this process, real files and forks; only the recorder is swapped in)."""
    import os
    import server as server_module
    config = Config()
    config.set("dir", str(tmp_path))
    config.set("appendonly", "yes")
    server = server_module.Server(config)
    events = []
    server.latency_event = lambda event, started_ns: events.append(event)
    server.aof.open_at_start()
    assert events == ["aof-fstat"]
    server.keyspace[0].set(b"k", b"v")
    assert server.aof.rewrite_in_background()
    deadline = time.monotonic() + 10
    while server.aof.child_pid is not None and time.monotonic() < deadline:
        server.aof.reap()
        time.sleep(0.01)
    assert events == ["aof-fstat", "fork", "aof-rename", "aof-fstat"]  # the new BASE's
    assert server.snapshots.background_save()
    server.snapshots.kill_child()
    assert events[-2:] == ["fork", "rdb-unlink-temp-file"]
    assert not [name for name in os.listdir(tmp_path) if name.startswith("temp-")]
    server.aof.shutdown()
