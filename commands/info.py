"""INFO: Redis 7.0's sections and fields, in its order.

A field means what it means in Redis; one whose feature does not exist
here (replicas, Lua, active defrag, I/O threads) shows the value
Redis shows while that feature is idle. `INFO` alone gives the default
sections, `all` and `everything` every one (no module adds its own).
"""
import os
import platform
import resource
import sys
import time

import gevent

from commands import Command, table
from protocol import PARSER, Verbatim
from replication import failover
from replication.master import buffer_memory
from serving import version
from serving.pause import paused_clients
from serving.stats import value_at_percentile
from storage import eviction

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
LRU_CLOCK_MAX = (1 << 24) - 1
BUILD_ID = version.VERSION.encode().hex()[:16]


def _resident_memory():
    """The process's resident set size in bytes (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def _scripting_memory(scripting):
    """The Lua states' memory (lupa's counts), the caches' (our estimates), and the exact counts."""
    eval_vm, scripts, functions_vm, functions = scripting.memory()
    return [
        ("used_memory_lua", eval_vm), ("used_memory_vm_eval", eval_vm), ("used_memory_lua_human", _human(eval_vm)),
        ("used_memory_scripts_eval", scripts), ("number_of_cached_scripts", len(scripting.scripts)),
        ("number_of_functions", sum(len(library.functions) for library in scripting.functions.libraries.values())),
        ("number_of_libraries", len(scripting.functions.libraries)), ("used_memory_vm_functions", functions_vm),
        ("used_memory_vm_total", eval_vm + functions_vm), ("used_memory_vm_total_human", _human(eval_vm + functions_vm)),
        ("used_memory_functions", functions), ("used_memory_scripts", scripts + functions),
        ("used_memory_scripts_human", _human(scripts + functions))]


def _human(size):
    """Redis's bytesToHuman: 1.18M, 512B."""
    for unit, scale in (("P", 1024**5), ("T", 1024**4), ("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size >= scale:
            return "%.2f%s" % (size / scale, unit)
    return "%dB" % size


def _gcc_version():
    """The compiler that built the interpreter running us, as Redis names the one that built it."""
    compiler = platform.python_compiler()
    return compiler.split()[1] if compiler.startswith("GCC ") else "0.0.0"


def _server(server):
    uptime = int(time.time() - server.started)
    uname = os.uname()
    return [
        ("redis_version", version.REDIS_VERSION), ("redis_git_sha1", "00000000"), ("redis_git_dirty", 0),
        ("redis_build_id", BUILD_ID), ("redis_mode", "standalone"),
        ("os", "%s %s %s" % (uname.sysname, uname.release, uname.machine)),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32), ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll"), ("atomicvar_api", "c11-builtin"), ("gcc_version", _gcc_version()),
        ("process_id", os.getpid()), ("process_supervised", "no"), ("run_id", server.run_id),
        ("tcp_port", server.port), ("server_time_usec", time.time_ns() // 1000),
        ("uptime_in_seconds", uptime), ("uptime_in_days", uptime // 86400),
        ("hz", server.hz), ("configured_hz", server.config["hz"]), ("lru_clock", int(time.time()) & LRU_CLOCK_MAX),
        ("executable", os.path.abspath(sys.argv[0])), ("config_file", server.config.config_file),
        ("io_threads_active", 0),
    ] + own_fields()


def own_fields():
    """Ours, after all of Redis's (a client that reads INFO skips names it does not know): what runs this
    server, and which request parser (the CI passes check the one they asked for)."""
    return [("mini_redis_version", version.VERSION), ("python_version", platform.python_version()),
            ("gevent_version", gevent.__version__), ("request_parser", PARSER)]


def _clients(server):
    recent_input, recent_output = server.stats.recent_max_buffers()
    return [("connected_clients", len(server.sessions) - len(server.replication.replicas)),  # as Redis: not replicas
            ("cluster_connections", 0),
            ("maxclients", server.config["maxclients"]), ("client_recent_max_input_buffer", recent_input),
            ("client_recent_max_output_buffer", recent_output),
            ("blocked_clients", server.keyspace.blocking.blocked_clients + paused_clients(server)
             + len(server.replication.waiters) + server.shutdown.waiting()),  # WAIT and SHUTDOWN block one too
            ("tracking_clients", server.tracking.clients),
            ("clients_in_timeout_table", server.keyspace.blocking.clients_in_timeout_table)]


def _ratio(part, whole):
    return "%.2f" % (part / whole) if whole else "0.00"


def _memory(server):
    """used_memory is storage/eviction.py's estimate, what maxmemory limits; Python's allocator is the
    allocator, so allocated and active are that estimate and resident is the process's RSS."""
    memory = server.keyspace.memory
    used, rss = memory.used(), _resident_memory()
    startup = eviction.STARTUP_MEMORY
    dataset = max(0, used - startup)
    backlog, replicas = buffer_memory(server)
    system = PAGE_SIZE * os.sysconf("SC_PHYS_PAGES")
    return [
        ("used_memory", used), ("used_memory_human", _human(used)), ("used_memory_rss", rss),
        ("used_memory_rss_human", _human(rss)), ("used_memory_peak", memory.peak),
        ("used_memory_peak_human", _human(memory.peak)),
        ("used_memory_peak_perc", "%.2f%%" % (used * 100 / memory.peak if memory.peak else 0)),
        ("used_memory_overhead", startup), ("used_memory_startup", startup), ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", "%.2f%%" % (dataset * 100 / (used - startup) if used > startup else 0)),
        ("allocator_allocated", used), ("allocator_active", used), ("allocator_resident", rss),
        ("total_system_memory", system), ("total_system_memory_human", _human(system)),
        *_scripting_memory(server.scripting),
        ("maxmemory", memory.maxmemory), ("maxmemory_human", _human(memory.maxmemory)),
        ("maxmemory_policy", memory.policy),
        ("allocator_frag_ratio", "1.00"), ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", _ratio(rss, used)), ("allocator_rss_bytes", rss - used),
        ("rss_overhead_ratio", "1.00"), ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", _ratio(rss, used)), ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", replicas + len(server.aof.buffer)),  # what eviction leaves out, as Redis
        ("mem_replication_backlog", backlog), ("mem_total_replication_buffers", backlog + replicas),
        ("mem_clients_slaves", replicas), ("mem_clients_normal", server.stats.clients_memory),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", len(server.aof.buffer)), ("mem_allocator", "libc"), ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0), ("lazyfreed_objects", 0),
    ]


def _persistence(server):
    """The snapshot fields, with the append-only file's own in place of its aof_* ones; last, while a dataset
    loads, its loading_* ones."""
    aof_fields, aof_extra = server.aof.info()
    return ([(name, aof_fields.get(name, value)) for name, value in server.snapshots.info()] + aof_extra
            + server.loading.info_tail())


def _stats(server):
    stats, keyspace = server.stats, server.keyspace
    return [
        ("total_connections_received", stats.connections_received),
        ("total_commands_processed", stats.commands_processed),
        ("instantaneous_ops_per_sec", stats.instantaneous("ops")),
        ("total_net_input_bytes", stats.net_input_bytes + stats.net_repl_input_bytes),  # as Redis 7.0: the
        ("total_net_output_bytes", stats.net_output_bytes + stats.net_repl_output_bytes),  # replication's too
        ("total_net_repl_input_bytes", stats.net_repl_input_bytes),
        ("total_net_repl_output_bytes", stats.net_repl_output_bytes),
        ("instantaneous_input_kbps", "%.2f" % (stats.instantaneous("input") / 1024)),
        ("instantaneous_output_kbps", "%.2f" % (stats.instantaneous("output") / 1024)),
        ("instantaneous_input_repl_kbps", "%.2f" % (stats.instantaneous("repl_input") / 1024)),
        ("instantaneous_output_repl_kbps", "%.2f" % (stats.instantaneous("repl_output") / 1024)),
        ("rejected_connections", stats.rejected_connections),
        ("sync_full", server.replication.sync_full), ("sync_partial_ok", server.replication.sync_partial_ok),
        ("sync_partial_err", server.replication.sync_partial_err),
        ("expired_keys", keyspace.expired_keys),
        ("expired_stale_perc", "%.2f" % (keyspace.expired_stale_share * 100)),
        ("expired_time_cap_reached_count", keyspace.expire_time_cap_reached),
        ("expire_cycle_cpu_milliseconds", stats.expire_cycle_ns // 1_000_000),
        ("evicted_keys", keyspace.evicted_keys), ("evicted_clients", 0),
        *zip(("total_eviction_exceeded_time", "current_eviction_exceeded_time"), keyspace.memory.exceeded_ms()),
        ("keyspace_hits", keyspace.hits), ("keyspace_misses", keyspace.misses),
        ("pubsub_channels", len(server.pubsub.channels)), ("pubsub_patterns", len(server.pubsub.patterns)),
        ("pubsubshard_channels", len(server.pubsub.shard_channels)), ("latest_fork_usec", stats.latest_fork_usec),
        ("total_forks", stats.forks),
        ("migrate_cached_sockets", 0), ("slave_expires_tracked_keys", len(keyspace.replica_keys_with_ttl)),
        ("active_defrag_hits", 0), ("active_defrag_misses", 0), ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0), ("total_active_defrag_time", 0), ("current_active_defrag_time", 0),
        ("tracking_total_keys", len(server.tracking.table)), ("tracking_total_items", server.tracking.items),
        ("tracking_total_prefixes", len(server.tracking.prefixes)),
        ("unexpected_error_replies", 0), ("total_error_replies", stats.error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", stats.reads_processed), ("total_writes_processed", stats.writes_processed),
        ("io_threaded_reads_processed", 0), ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", 0), ("reply_buffer_expands", 0),
    ]


def _replication(server):
    """Our role (a replica's link fields after it), then the replicas attached (slaveN: each with its address),
    the IDs, offset and backlog."""
    replication = server.replication
    link, backlog = replication.master, replication.backlog
    fields = [("role", "master")] if link is None else [("role", "slave"), *link.info_fields()]
    fields.append(("connected_slaves", len(replication.replicas)))
    if server.config["min-replicas-to-write"] and server.config["min-replicas-max-lag"]:
        fields.append(("min_slaves_good_slaves", replication.good_replicas()))
    fields += [("slave%d" % index, replica.info_line()) for index, replica in enumerate(replication.replicas)]
    return fields + [
        ("master_failover_state", failover.state(server)),
        ("master_replid", replication.replid), ("master_replid2", replication.replid2),
        ("master_repl_offset", replication.offset), ("second_repl_offset", replication.second_replid_offset),
        ("repl_backlog_active", int(backlog is not None)), ("repl_backlog_size", server.config["repl-backlog-size"]),
        ("repl_backlog_first_byte_offset", backlog.start if backlog is not None else 0),
        ("repl_backlog_histlen", backlog.histlen if backlog is not None else 0)]


def _seconds(value):
    return "%.6f" % value


def _cpu(server):
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    thread = resource.getrusage(resource.RUSAGE_THREAD)
    return [("used_cpu_sys", _seconds(own.ru_stime)), ("used_cpu_user", _seconds(own.ru_utime)),
            ("used_cpu_sys_children", _seconds(children.ru_stime)),
            ("used_cpu_user_children", _seconds(children.ru_utime)),
            ("used_cpu_sys_main_thread", _seconds(thread.ru_stime)),
            ("used_cpu_user_main_thread", _seconds(thread.ru_utime))]


def _modules(server):
    """One line per loaded module, as genModulesInfoString writes it (API version 1, no filters, no options)."""
    return [("module", "name=%s,ver=%d,api=1,filters=0,usedby=[],using=[],options=[]" % (module.name, module.version))
            for module in server.modules.loaded.values()]


def command_rows(server):
    """Every row of the table, each container's subcommands after it."""
    for command in server.commands.values():
        yield command
        yield from command.subcommands.values()


def _commandstats(server):
    fields = []
    for command in command_rows(server):
        stats = command.stats
        calls = stats.calls  # summed from the counts each time: read once
        if calls or stats.rejected or stats.failed:
            usec = stats.ns // 1000
            fields.append(("cmdstat_" + command.name,
                           "calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d"
                           % (calls, usec, usec / calls if calls else 0, stats.rejected, stats.failed)))
    return fields


def _errorstats(server):
    return [("errorstat_" + code, "count=%d" % count) for code, count in sorted(server.stats.errors.items())]


def _latencystats(server):
    """Empty while latency-tracking is off, as in Redis, whatever the histograms hold."""
    percentiles = server.config["latency-tracking-info-percentiles"].split()  # as Redis shows them: 99.9
    fields = []
    if not server.config["latency-tracking"]:
        return fields
    for command in command_rows(server):
        histogram = command.stats.histogram  # built from the counts each time: read once
        if any(histogram):
            fields.append(("latency_percentiles_usec_" + command.name, ",".join(
                "p%s=%.3f" % (percentile, value_at_percentile(histogram, float(percentile)) / 1000)
                for percentile in percentiles)))
    return fields


def _cluster(server):
    return [("cluster_enabled", 0)]


def _keyspace(server):
    now = server.keyspace.clock()
    return [("db%d" % db.index,
             "keys=%d,expires=%d,avg_ttl=%d" % (len(db), len(db.expires), db.expires.average_ttl(now)))
            for db in server.keyspace.databases if len(db)]


# (name, title, its fields, whether INFO alone shows it), in Redis's order.
SECTIONS = [
    ("server", "Server", _server, True), ("clients", "Clients", _clients, True),
    ("memory", "Memory", _memory, True), ("persistence", "Persistence", _persistence, True),
    ("stats", "Stats", _stats, True), ("replication", "Replication", _replication, True),
    ("cpu", "CPU", _cpu, True), ("modules", "Modules", _modules, True),
    ("commandstats", "Commandstats", _commandstats, False), ("errorstats", "Errorstats", _errorstats, True),
    ("latencystats", "Latencystats", _latencystats, False), ("cluster", "Cluster", _cluster, True),
    ("keyspace", "Keyspace", _keyspace, True),
]


def _wanted(arguments):
    """The section names asked for: 'default' when none, 'all' and 'everything' for every one."""
    wanted = {argument.decode(errors="replace").lower() for argument in arguments} or {"default"}
    if wanted & {"all", "everything"}:
        return {name for name, _, _, _ in SECTIONS}
    if "default" in wanted:
        wanted |= {name for name, _, _, shown in SECTIONS if shown}
    return wanted


def info(session, *sections):
    """INFO [section [section ...]]"""
    wanted = _wanted(sections)
    texts = []
    for name, title, fields, _ in SECTIONS:
        if name in wanted:
            lines = ["# " + title] + ["%s:%s" % field for field in fields(session.server)]
            texts.append("\r\n".join(lines) + "\r\n")
    return Verbatim("txt", "\r\n".join(texts).encode())


COMMANDS = table(
    Command("info", info, -1, ("loading", "stale"), 0, 0, 0),
    group="server",
)
