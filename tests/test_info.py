"""INFO against real Redis: the sections and field names in order, and the values that the same
commands make the same on both (command and error statistics, keyspace, replication, cluster)."""
import re
import socket
import time

import pytest

from commands.info import own_fields
from differential import Pair, WireClient, encode_command, parse_reply
from serving.stats import ERROR_CODES_CAP, CommandStats, Stats, bucket_of, highest_in_bucket, value_at_percentile
from serving.config import Config

DYNAMIC_PREFIXES = ("cmdstat_", "errorstat_", "latency_percentiles_usec_", "db")
OWN_FIELDS = [name for name, _ in own_fields()]  # ours, at the end of the Server section


@pytest.fixture
def both(servers):
    """Fresh connections to both, with the data, the statistics and the settings this module changes
    back to where they start."""
    ours, redis = servers
    with Pair(ours.port, redis.port) as pair:
        for command in (("FLUSHALL",), ("CONFIG", "SET", "latency-tracking", "yes"),
                        ("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9"),
                        ("CONFIG", "RESETSTAT")):
            pair.check(*command)
        yield pair


def info_lines(client, *sections):
    """INFO's text as lines (headers, fields, blank separators)."""
    text = parse_reply(client.call("INFO", *sections)).decode()
    assert text == "" or text.endswith("\r\n")
    return text.split("\r\n")[:-1]


def fields(client, *sections):
    """INFO's fields as a dict of strings."""
    return dict(line.split(":", 1) for line in info_lines(client, *sections) if line and not line.startswith("#"))


def shape(client, *sections):
    """Headers and field names in order, without the fields that name commands, error codes or databases,
    nor our own."""
    names = [line if line.startswith("#") or not line else line.split(":", 1)[0]
             for line in info_lines(client, *sections)
             if not line.startswith(DYNAMIC_PREFIXES)]
    return [name for name in names if name not in OWN_FIELDS]


def test_our_own_fields_end_the_server_section(both):
    lines = info_lines(both.ours, "server")
    assert [line.split(":")[0] for line in lines[-len(OWN_FIELDS):]] == OWN_FIELDS
    assert fields(both.ours)["redis_version"] == "7.0.15"


@pytest.mark.parametrize("sections", [(), ("default",), ("all",), ("everything",), ("ALL",), ("server",),
                                      ("server", "clients"), ("keyspace", "server"), ("default", "commandstats"),
                                      ("commandstats", "latencystats", "errorstats"), ("CPU",), ("modules",),
                                      ("cluster", "replication"), ("memory", "persistence", "stats"),
                                      ("foo",), ("foo", "server")])
def test_sections_and_field_names_in_order(both, sections):
    assert shape(both.ours, *sections) == shape(both.redis, *sections)


def test_headers_of_the_section_sets(both):
    headers = {}
    for sections in [(), ("all",), ("everything",), ("default",)]:
        ours = [line for line in info_lines(both.ours, *sections) if line.startswith("#")]
        assert ours == [line for line in info_lines(both.redis, *sections) if line.startswith("#")]
        headers[sections] = ours
    assert "# Commandstats" not in headers[()] and "# Latencystats" in headers[("all",)]
    assert headers[()] == headers[("default",)] and headers[("all",)] == headers[("everything",)]


def test_unknown_section_is_an_empty_reply(both):
    both.check("INFO", "nosuchsection")


def test_idle_fields_match(both):
    """Replication of a master without replicas, cluster, and the idle values of absent features (the Lua
    states' used_memory_lua is lupa's count, not Redis's: left out)."""
    names = ["role", "connected_slaves", "master_failover_state", "master_replid2", "master_repl_offset",
             "second_repl_offset", "repl_backlog_active", "repl_backlog_size", "repl_backlog_first_byte_offset",
             "repl_backlog_histlen", "cluster_enabled", "redis_version", "redis_mode", "arch_bits", "hz",
             "configured_hz", "io_threads_active", "tracking_clients", "maxclients", "number_of_cached_scripts", "used_memory_scripts", "maxmemory_policy", "loading", "aof_enabled",
             "sync_full", "pubsub_channels", "total_forks", "unexpected_error_replies", "mem_replication_backlog",
             "used_cpu_sys_children", "used_cpu_user_children", "blocked_clients"]
    ours, redis = fields(both.ours, "everything"), fields(both.redis, "everything")
    assert {name: ours[name] for name in names} == {name: redis[name] for name in names}
    assert re.fullmatch("[0-9a-f]{40}", ours["master_replid"])
    for name in ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_main_thread", "used_cpu_user_main_thread"):
        assert re.fullmatch(r"\d+\.\d{6}", ours[name])
    assert int(ours["tcp_port"]) == both.ours.port


def _statistics(client):
    """cmdstat_* without the times, errorstat_* and total_error_replies."""
    stats = fields(client, "commandstats", "errorstats", "stats")
    commands = {name: re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", value)
                for name, value in stats.items() if name.startswith("cmdstat_")}
    errors = {name: value for name, value in stats.items() if name.startswith("errorstat_")}
    return commands, errors, stats["total_error_replies"]


def test_command_and_error_statistics_after_the_same_commands(both):
    both.check("SET", "k", "v")
    both.check("GET", "k")
    both.check("GET")  # wrong arity: a rejected call
    both.check("LPUSH", "k", "x")  # WRONGTYPE: a failed call
    both.check("INCR", "k")  # ERR not an integer: failed
    both.check("CONFIG", "NOSUCH")  # unknown subcommand: no command to blame
    both.check("CONFIG")  # the container's arity: config's rejected call
    both.check("CONFIG", "GET")  # the subcommand's: config|get's
    both.check("NOSUCHCOMMAND", "a")
    both.check("CONFIG", "GET", "maxclients")
    both.check("CLIENT", "ID", normalise=lambda reply: b":<id>" if reply.startswith(b":") else reply)
    both.check_pipeline([("MULTI",), ("SET", "m", "1"), ("LPUSH", "k", "x"), ("EXEC",)])
    both.check_pipeline([("MULTI",), ("GET",), ("EXEC",)])  # queued with an error: EXECABORT
    both.check_raw(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$4\r\nPING\r\n", replies=2)
    assert _statistics(both.ours) == _statistics(both.redis)
    commands, errors, total = _statistics(both.ours)
    assert commands["cmdstat_get"] == "calls=1,rejected_calls=2,failed_calls=0"
    assert errors == {"errorstat_ERR": "count=7", "errorstat_WRONGTYPE": "count=2", "errorstat_EXECABORT": "count=1"}
    assert total == "10"
    assert commands["cmdstat_config"] == "calls=0,rejected_calls=1,failed_calls=0"
    assert commands["cmdstat_config|get"] == "calls=1,rejected_calls=1,failed_calls=0"


def test_protocol_error_counts(servers):
    totals = []
    for server in servers:
        with WireClient(server.port) as client:
            client.call("CONFIG", "RESETSTAT")
            with WireClient(server.port) as bad:
                bad.send_raw(b"*1\r\n$x\r\n")
                assert bad.read_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"
            stats = fields(client, "errorstats", "stats")
            totals.append((stats["errorstat_ERR"], stats["total_error_replies"]))
    assert totals[0] == totals[1] == ("count=1", "1")


def test_config_resetstat_resets_what_redis_resets(both):
    for command in [("SET", "a", "1"), ("GET",), ("LPUSH", "a", "x"), ("GET", "a"), ("GET", "missing")]:
        both.check(*command)
    both.check("CONFIG", "RESETSTAT")
    ours, redis = fields(both.ours, "everything"), fields(both.redis, "everything")
    reset = ["total_commands_processed", "total_error_replies", "keyspace_hits", "keyspace_misses",
             "expired_keys", "evicted_keys", "rejected_connections", "total_connections_received"]
    assert {name: ours[name] for name in reset} == {name: redis[name] for name in reset}
    assert sorted(name for name in ours if name.startswith(("cmdstat_", "errorstat_"))) == \
        sorted(name for name in redis if name.startswith(("cmdstat_", "errorstat_"))) == ["cmdstat_config|resetstat"]
    assert int(ours["total_net_input_bytes"]) < 200 and int(ours["rdb_changes_since_last_save"]) > 0


def test_keyspace_counts_keys_expires_and_average_ttl(both):
    for index in range(10):
        both.check("SET", "plain%d" % index, "v")
    for index in range(5):
        both.check("SET", "ttl%d" % index, "v", "EX", "100")
    both.check("SELECT", "3")
    both.check("SET", "three", "v", "PX", "50000")
    ours, redis = fields(both.ours, "keyspace"), fields(both.redis, "keyspace")
    assert ours.keys() == redis.keys() == {"db0", "db3"}
    for db, ttl in (("db0", 100_000), ("db3", 50_000)):
        ours_counts, ours_ttl = ours[db].rsplit(",", 1)
        assert ours_counts == redis[db].rsplit(",", 1)[0]
        assert ttl - 5000 <= int(ours_ttl.split("=")[1]) <= ttl
    assert ours["db0"].startswith("keys=15,expires=5,")


def test_latencystats_lines_follow_the_percentiles_setting(both):
    for index in range(20):
        both.check("SET", "k%d" % index, "v")
    pattern = re.compile(r"p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}")
    for client in (both.ours, both.redis):
        assert pattern.fullmatch(fields(client, "latencystats")["latency_percentiles_usec_set"])
    both.check("CONFIG", "SET", "latency-tracking-info-percentiles", "0 12.5 100")
    both.check("CONFIG", "GET", "latency-tracking-info-percentiles")
    ours = fields(both.ours, "latencystats")["latency_percentiles_usec_set"]
    assert re.sub(r"=[\d.]+", "=", ours) == re.sub(r"=[\d.]+", "=", fields(both.redis, "latencystats")[
        "latency_percentiles_usec_set"]) == "p0=,p12.5=,p100="
    both.check("CONFIG", "SET", "latency-tracking-info-percentiles", "")
    assert fields(both.ours, "latencystats")["latency_percentiles_usec_set"] == ""


def test_latency_tracking_off_adds_no_histograms(both):
    both.check("CONFIG", "SET", "latency-tracking", "no")
    both.check("SET", "a", "1")
    both.check("GET", "a")
    assert sorted(fields(both.ours, "latencystats")) == sorted(fields(both.redis, "latencystats"))
    assert "latency_percentiles_usec_get" not in fields(both.ours, "latencystats")
    both.check("LATENCY", "HISTOGRAM", "set", "get")


@pytest.mark.parametrize("command", [
    ("CONFIG", "SET", "slowlog-log-slower-than", "-2"), ("CONFIG", "SET", "slowlog-max-len", "-1"),
    ("CONFIG", "SET", "latency-monitor-threshold", "-1"), ("CONFIG", "SET", "latency-tracking", "maybe"),
    ("CONFIG", "SET", "latency-tracking-info-percentiles", "101"),
    ("CONFIG", "SET", "latency-tracking-info-percentiles", "abc"),
    ("CONFIG", "SET", "slowlog-log-slower-than", "x"),
    ("CONFIG", "GET", "slowlog-*"), ("CONFIG", "GET", "latency-*"),
])
def test_settings_errors_and_values(both, command):
    from differential import unordered_pairs
    both.check(*command, normalise=unordered_pairs)


def test_instantaneous_ops_are_sampled(servers):
    """A burst of commands shows in instantaneous_ops_per_sec (and input kbps) within a few samples."""
    with WireClient(servers[0].port) as client:
        batch = encode_command(("PING",)) * 500
        deadline = time.monotonic() + 1.0
        sent = 0
        while time.monotonic() < deadline and sent < 40:
            client.send_raw(batch)
            client.read_replies(500)
            sent += 1
            time.sleep(0.02)
        stats = fields(client, "stats")
    assert int(stats["instantaneous_ops_per_sec"]) > 0
    assert float(stats["instantaneous_input_kbps"]) > 0


# ------------------------------------------------------------------ the statistics themselves


def test_error_codes_are_capped_as_redis_caps_them():
    stats = Stats(Config())
    for code in range(ERROR_CODES_CAP):
        stats.count_error("CODE%d something went wrong" % code)
    assert len(stats.errors) == ERROR_CODES_CAP
    stats.count_error("ONEMORE and errorstats stop")
    assert stats.errors == {} and stats.error_replies == ERROR_CODES_CAP + 1
    stats.count_error("ERR still counted in the total")
    assert stats.errors == {} and stats.error_replies == ERROR_CODES_CAP + 2
    stats.reset()
    stats.count_error("ERR back")
    stats.count_error("NOSPACEINTHEFIRSTTHIRTYONECHARACTERSATALL")
    assert stats.errors == {"ERR": 2}


def test_histogram_buckets_keep_an_eighth_of_precision():
    for ns in (1, 7, 15, 16, 17, 1000, 1023, 1024, 123_456, 10**9, 2**40 + 12345):
        index = bucket_of(ns)
        assert ns <= highest_in_bucket(index) <= ns * 1.125 + 1
        previous = index - 1 if index != 40 else 15  # 16 to 39 are never used
        assert index == 0 or highest_in_bucket(previous) < ns
    stats = CommandStats(fast_usec=1)
    for ns in [1000] * 98 + [50_000, 900_000]:
        counted(stats, ns)
    assert 1000 <= value_at_percentile(stats.histogram, 50) <= 1125
    assert 50_000 <= value_at_percentile(stats.histogram, 99) <= 56_250
    assert 900_000 <= value_at_percentile(stats.histogram, 99.9) <= 1_012_500


def counted(stats, ns):
    """What call() does with a duration: one update in the fast counts, else count_slow()."""
    try:
        stats.fast[ns // 1000] += 1
    except IndexError:
        stats.count_slow(ns)


def test_fast_calls_count_by_whole_microseconds_and_join_the_slow_ones():
    """The fast counts (one update per call) add up as Redis adds usec, and read out with the slow ones."""
    stats = CommandStats(fast_usec=10)
    assert stats.fast == [] and stats.slow_buckets is None and stats.calls == 0 and not stats.called()
    for ns in (400, 1_999, 2_000, 9_999, 50_000):
        counted(stats, ns)
    assert len(stats.fast) == 10 and sum(stats.slow_buckets) == 1  # each made at its first call
    assert stats.calls == 5 and stats.ns == (0 + 1 + 2 + 9) * 1000 + 50_000
    assert sum(stats.histogram) == 5 and value_at_percentile(stats.histogram, 20) <= 1000
    assert 50_000 <= value_at_percentile(stats.histogram, 100) <= 56_250
    stats.resize(1)  # a lower threshold: what was fast moves to the slow side, nothing is lost
    assert stats.fast == [] and stats.calls == 5 and stats.ns == 62_000
    counted(stats, 999)
    assert len(stats.fast) == 1 and stats.calls == 6 and stats.called()
    stats.reset()
    assert stats.fast == [] and not stats.called() and stats.calls == 0
    counted(stats, 500)
    assert stats.fast == [1] and stats.calls == 1


def test_a_background_save_counts_a_fork(both):
    both.check("SET", "k", "v")
    both.check("BGSAVE")
    for client in (both.ours, both.redis):
        deadline = time.monotonic() + 10
        while fields(client, "persistence")["rdb_bgsave_in_progress"] != "0" and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = fields(client, "stats")
        assert stats["total_forks"] == "1" and int(stats["latest_fork_usec"]) > 0
    both.check("CONFIG", "RESETSTAT")
    assert fields(both.ours, "stats")["total_forks"] == fields(both.redis, "stats")["total_forks"]


def test_blocked_clients_and_the_timeout_table(servers):
    """blocked_clients counts every blocked client, clients_in_timeout_table those that wait with a
    timeout (BLPOP 0 waits for ever, outside the table), on both servers alike as they come and go."""
    def blocked_figures(port):
        with WireClient(port) as probe:
            waiters = [WireClient(port) for _ in range(3)]
            try:
                for waiter, command in zip(waiters, (("BLPOP", "t:a", "30"), ("BLPOP", "t:b", "0"),
                                                     ("BZPOPMIN", "t:c", "30"))):
                    waiter.send_raw(encode_command(command))
                seen = []

                def figures():
                    info = probe.call("INFO", "clients").decode()
                    return tuple(int(re.search(name + r":(\d+)", info).group(1))
                                 for name in ("blocked_clients", "clients_in_timeout_table"))

                for push in (None, ("RPUSH", "t:a", "x"), ("RPUSH", "t:b", "x"), ("ZADD", "t:c", "1", "m")):
                    if push:
                        probe.call(*push)
                    deadline = time.monotonic() + 5
                    expected_blocked = 3 - len(seen)
                    while figures()[0] != expected_blocked:
                        assert time.monotonic() < deadline, "clients did not block or wake"
                        time.sleep(0.02)
                    seen.append(figures())
                return seen
            finally:
                for waiter in waiters:
                    waiter.close()
                probe.call("DEL", "t:a", "t:b", "t:c")
    ours, redis = servers
    expected = blocked_figures(redis.port)
    assert expected == [(3, 2), (2, 1), (1, 1), (0, 0)]
    assert blocked_figures(ours.port) == expected


def test_recent_max_buffers_show_a_large_query_and_a_large_unread_output(servers):
    """client_recent_max_input_buffer and _output_buffer: within a couple of seconds, a client halfway
    through sending a 200 kB argument and one that does not read its 16 MB of replies show, on both."""
    def recent_peaks(port):
        with WireClient(port) as probe, WireClient(port) as sender, WireClient(port) as reader:
            probe.call("SET", "t:big", b"x" * 1024 * 1024)
            sender.send_raw(b"*2\r\n$3\r\nGET\r\n$200000\r\n" + b"y" * 150_000)
            reader.send_raw(encode_command(("GET", "t:big")) * 16)
            deadline = time.monotonic() + 10
            while True:
                info = probe.call("INFO", "clients").decode()
                peaks = [int(re.search(name + r":(\d+)", info).group(1))
                         for name in ("client_recent_max_input_buffer", "client_recent_max_output_buffer")]
                if peaks[0] >= 150_000 and peaks[1] >= 1024 * 1024 or time.monotonic() > deadline:
                    probe.call("DEL", "t:big")
                    return peaks
                time.sleep(0.1)
    ours, redis = servers
    for port in (redis.port, ours.port):
        largest_input, largest_output = recent_peaks(port)
        assert largest_input >= 150_000 and largest_output >= 1024 * 1024, (port, largest_input, largest_output)


def test_expired_stale_perc_and_time_cap_as_redis_keeps_them(both):
    """100k keys expired at once: the active cycle finds most samples stale and runs out of its time, on
    both; CONFIG RESETSTAT zeroes both figures."""
    for client in (both.ours, both.redis):
        client.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
        for start in range(0, 100_000, 5000):
            client.send_raw(b"".join(encode_command(("SET", "k:%d" % index, "v", "PX", "1"))
                                     for index in range(start, start + 5000)))
            assert set(client.read_replies(5000)) == {b"+OK\r\n"}
        time.sleep(0.01)
        client.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
    time.sleep(0.4)
    for client in (both.ours, both.redis):
        stats = fields(client, "stats")
        assert float(stats["expired_stale_perc"]) > 1 and int(stats["expired_time_cap_reached_count"]) >= 1
    both.check("FLUSHALL")
    both.check("CONFIG", "RESETSTAT")
    for client in (both.ours, both.redis):
        stats = fields(client, "stats")
        assert (stats["expired_stale_perc"], stats["expired_time_cap_reached_count"]) == ("0.00", "0")


def test_eviction_exceeded_time_while_memory_stays_over(both):
    """Over maxmemory under noeviction the time runs (current = total); once eviction brings memory
    back under the limit, current drops to 0 and the total keeps what ran, as in Redis."""
    both.check("SET", "big", "x" * 3_000_000)
    both.check("CONFIG", "SET", "maxmemory", "1mb")
    both.check("SET", "small", "v")  # refused: OOM, and the clock starts
    time.sleep(0.3)
    for client in (both.ours, both.redis):
        stats = fields(client, "stats")
        total, current = int(stats["total_eviction_exceeded_time"]), int(stats["current_eviction_exceeded_time"])
        assert 250 <= current == total < 5000
    both.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
    both.check("SET", "small", "v")  # evicts the big key: under the limit again
    for client in (both.ours, both.redis):
        stats = fields(client, "stats")
        assert int(stats["total_eviction_exceeded_time"]) >= 250 and stats["current_eviction_exceeded_time"] == "0"
    both.check("CONFIG", "SET", "maxmemory", "0")
    both.check("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_total_net_output_bytes_counts_the_messages_pushed_to_subscribers(servers):
    """Redis counts every byte written to a client, a reply or a message another client's PUBLISH pushed
    (writeToClient): between two INFOs the output grows by the replies and the ten messages, on both."""
    pushed = []
    for server in servers:
        with WireClient(server.port) as subscriber, WireClient(server.port) as publisher:
            subscriber.call("SUBSCRIBE", "news")
            first = publisher.call("INFO", "stats")
            replies = len(first) + sum(len(publisher.call("PUBLISH", "news", "x" * 100)) for _ in range(10))
            messages = subscriber.read_replies(10)  # written, so counted
            second = publisher.call("INFO", "stats")
        output = [int(re.search(rb"\r\ntotal_net_output_bytes:(\d+)", parse_reply(reply)).group(1))
                  for reply in (first, second)]
        pushed.append(output[1] - output[0] - replies)
    assert pushed[0] == pushed[1] == sum(map(len, messages))


def test_mem_clients_normal_adds_up_the_clients_tot_mem(both):
    """mem_clients_normal is every client's tot-mem as the once-a-second cron added them up (Redis's
    clientsCron), and MEMORY STATS' clients.normal is the same figure."""
    idle = [WireClient(both.ours.port) for _ in range(3)]
    try:
        time.sleep(1.3)
        listing = parse_reply(both.ours.call("CLIENT", "LIST")).decode()
        memory = fields(both.ours, "memory")
        stats = parse_reply(both.ours.call("MEMORY", "STATS"))
        tot_mem = [int(re.search(r" tot-mem=(\d+)", line).group(1)) for line in listing.splitlines()]
        caller_argv = len(b"CLIENTLIST")  # the caller's argv-mem, counted in CLIENT LIST's own line only
        assert len(tot_mem) == 4 and int(memory["mem_clients_normal"]) == sum(tot_mem) - caller_argv
        assert stats[stats.index(b"clients.normal") + 1] == int(memory["mem_clients_normal"])
    finally:
        for client in idle:
            client.close()
    assert int(fields(both.redis, "memory")["mem_clients_normal"]) > 0


def test_dynamic_hz_doubles_hz_for_many_clients(both):
    """2,011 clients at hz 10 are more than 200 per tick: INFO's hz becomes 20 on both, configured_hz
    stays 10; with dynamic-hz off it is 10 again."""
    sockets = []
    try:
        for port in (both.ours.port, both.redis.port):
            sockets += [socket.create_connection(("127.0.0.1", port)) for _ in range(2011)]
        time.sleep(0.5)
        for client in (both.ours, both.redis):
            server = fields(client, "server")
            assert (server["hz"], server["configured_hz"]) == ("20", "10")
        both.check("CONFIG", "SET", "dynamic-hz", "no")
        time.sleep(0.3)
        for client in (both.ours, both.redis):
            assert fields(client, "server")["hz"] == "10"
    finally:
        both.check("CONFIG", "SET", "dynamic-hz", "yes")
        for sock in sockets:
            sock.close()
