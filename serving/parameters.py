"""Every parameter Redis 7.0.15 knows, with its type, default, checks and whether CONFIG SET may change it.

The rows follow Redis's config.c table: the same names and aliases, the
same bounds and enum names, the same error texts (serving/values.py). A
parameter whose feature is not built here (replication, cluster, TLS...)
is still known, checked and settable as in Redis; the README lists those.
Defaults are written as a config file would say them; three are ours, not
Redis's: port 4000, bind 127.0.0.1 and save "" (see the README).
"""
from collections import namedtuple

from serving import values as v
from storage import eviction

Parameter = namedtuple("Parameter", "name default parse show mutable alias multi hidden written",
                       defaults=(str, True, None, False, False, None))
Parameter.__doc__ = """One setting. parse(words) gives the running value and show(value) what CONFIG GET prints;
mutable is True, False (CONFIG SET refuses it) or PROTECTED; multi means its value is several words;
hidden ones answer CONFIG GET by exact name only, as Redis's HIDDEN_CONFIG; written(value), if set, is
how CONFIG REWRITE writes it when that differs from show (sizes with units, strings quoted)."""

PROTECTED = "protected"  # Redis's PROTECTED_CONFIG: settable only with enable-protected-configs


def yes_no(name, default, mutable=True, alias=None, valid=None, hidden=False):
    parse = (lambda words: v.yes_no(words, valid)) if valid else v.yes_no
    return Parameter(name, default, parse, v.show_yes_no, mutable, alias, hidden=hidden)


def number(name, default, low, high, mutable=True, alias=None, hidden=False, **flags):
    kind = v.Number(low, high, **flags)
    return Parameter(name, default, kind, kind.show, mutable, alias, hidden=hidden, written=kind.written)


def memory(name, default, low, high, mutable=True, **flags):
    return number(name, default, low, high, mutable, memory=True, **flags)


def enum(name, default, names, mutable=True, same_as=None):
    return Parameter(name, default, v.one_of(names, same_as), str, mutable)


def text(name, default="", mutable=True, alias=None, parse=v.text):
    return Parameter(name, default, parse, str, mutable, alias, written=v.quoted)


def words(name, default, parse, mutable=True, alias=None, show=str):
    return Parameter(name, default, parse, show, mutable, alias, multi=True)


INT, UINT, LONG = v.INT_MAX, v.UINT_MAX, v.LLONG_MAX
PROTECTED_ACTION = ("no", "yes", "local")

PARAMETERS = [
    # The network and the clients: see server.py.
    words("bind", "127.0.0.1", v.bind_addresses),
    number("port", "4000", 0, 65535),
    number("tcp-backlog", "511", 0, INT, mutable=False),
    number("tcp-keepalive", "300", 0, INT),
    number("timeout", "0", 0, INT),
    number("maxclients", "10000", 1, UINT, unsigned=True),
    number("databases", "16", 1, INT, mutable=False),
    memory("proto-max-bulk-len", "512mb", 1024 * 1024, LONG),
    memory("client-query-buffer-limit", "1gb", 1024 * 1024, LONG, unsigned=True),
    words("client-output-buffer-limit", "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
          v.output_buffer_limits, show=v.show_output_buffer_limits),
    memory("maxmemory-clients", "0", -100, LONG, percent=True),
    number("hz", "10", 0, INT, clamp=(1, 500)),
    yes_no("dynamic-hz", "yes"),
    number("active-expire-effort", "1", 1, 10),
    yes_no("activerehashing", "yes"),
    number("busy-reply-threshold", "5000", 0, LONG, alias="lua-time-limit"),
    # Access: see serving/access.py.
    text("requirepass"),
    yes_no("protected-mode", "yes"),
    text("aclfile", mutable=False),
    enum("acl-pubsub-default", "resetchannels", ("allchannels", "resetchannels")),
    number("acllog-max-len", "128", 0, LONG, unsigned=True),
    enum("enable-protected-configs", "no", PROTECTED_ACTION, mutable=False),
    enum("enable-debug-command", "no", PROTECTED_ACTION, mutable=False),
    enum("enable-module-command", "no", PROTECTED_ACTION, mutable=False),
    # Start-up, process and logging: see server.py and serving/logs.py.
    yes_no("daemonize", "no", mutable=False),
    text("pidfile", mutable=False),
    enum("loglevel", "notice", ("debug", "verbose", "notice", "warning")),
    text("logfile", mutable=False),
    enum("supervised", "no", ("upstart", "systemd", "auto", "no"), mutable=False),
    yes_no("syslog-enabled", "no", mutable=False),
    text("syslog-ident", "redis", mutable=False),
    enum("syslog-facility", "local0", ("user",) + tuple("local%d" % n for n in range(8)), mutable=False),
    yes_no("always-show-logo", "no", mutable=False),
    yes_no("set-proc-title", "yes", mutable=False),
    text("proc-title-template", "{title} {listen-addr} {server-mode}", parse=v.proc_title_template),
    text("unixsocket", mutable=False),
    number("unixsocketperm", "0", 0, 0o777, mutable=False, octal=True, unsigned=True),
    number("socket-mark-id", "0", 0, UINT, mutable=False, unsigned=True),
    text("ignore-warnings"),
    yes_no("crash-log-enabled", "yes"),
    yes_no("crash-memcheck-enabled", "yes"),
    yes_no("disable-thp", "yes", mutable=False),
    enum("oom-score-adj", "no", ("no", "yes", "relative", "absolute"), same_as={"relative": "yes"}),
    words("oom-score-adj-values", "0 200 800", v.oom_score_adj_values),
    words("shutdown-on-sigint", "default", v.shutdown_flags),
    words("shutdown-on-sigterm", "default", v.shutdown_flags),
    number("shutdown-timeout", "10", 0, INT),
    text("server_cpulist", mutable=False),
    text("bio_cpulist", mutable=False),
    text("aof_rewrite_cpulist", mutable=False),
    text("bgsave_cpulist", mutable=False),
    number("io-threads", "1", 1, 128, mutable=False),
    yes_no("io-threads-do-reads", "no", mutable=False),
    yes_no("jemalloc-bg-thread", "yes"),
    # Snapshots: see persistence/snapshots.py.
    words("save", "", v.save_points),
    Parameter("dir", ".", v.directory, str, PROTECTED, written=v.quoted),
    Parameter("dbfilename", "dump.rdb", v.base_name("dbfilename"), str, PROTECTED, written=v.quoted),
    yes_no("rdbcompression", "yes"),
    yes_no("rdbchecksum", "yes", mutable=False),
    yes_no("stop-writes-on-bgsave-error", "yes"),
    yes_no("rdb-del-sync-files", "no"),
    yes_no("rdb-save-incremental-fsync", "yes"),
    enum("sanitize-dump-payload", "no", ("no", "yes", "clients")),
    # The append-only file: see persistence/aof.py.
    yes_no("appendonly", "no"),
    text("appendfilename", "appendonly.aof", mutable=False,
         parse=v.base_name("appendfilename", allow_empty=False)),
    text("appenddirname", "appendonlydir", mutable=False,
         parse=v.base_name("appenddirname", "dirname", allow_empty=False)),
    enum("appendfsync", "everysec", ("everysec", "always", "no")),
    yes_no("no-appendfsync-on-rewrite", "no"),
    number("auto-aof-rewrite-percentage", "100", 0, INT),
    memory("auto-aof-rewrite-min-size", "64mb", 0, LONG),
    yes_no("aof-load-truncated", "yes"),
    yes_no("aof-use-rdb-preamble", "yes"),
    yes_no("aof-timestamp-enabled", "no"),
    yes_no("aof-rewrite-incremental-fsync", "yes"),
    yes_no("aof-disable-auto-gc", "no"),
    # Memory and eviction: see storage/eviction.py.
    memory("maxmemory", "0", 0, 2**64 - 1, unsigned=True),
    enum("maxmemory-policy", "noeviction", eviction.POLICIES),
    number("maxmemory-samples", "5", 1, INT),
    number("maxmemory-eviction-tenacity", "10", 0, 100),
    number("lfu-log-factor", "10", 0, INT),
    number("lfu-decay-time", "1", 0, INT),
    yes_no("lazyfree-lazy-eviction", "no"),
    yes_no("lazyfree-lazy-expire", "no"),
    yes_no("lazyfree-lazy-server-del", "no"),
    yes_no("lazyfree-lazy-user-del", "no"),
    yes_no("lazyfree-lazy-user-flush", "no"),
    yes_no("activedefrag", "no", valid=v.refuse_active_defrag),
    memory("active-defrag-ignore-bytes", "100mb", 1, LONG, unsigned=True),
    number("active-defrag-threshold-lower", "10", 0, 1000),
    number("active-defrag-threshold-upper", "100", 0, 1000),
    number("active-defrag-cycle-min", "1", 1, 99),
    number("active-defrag-cycle-max", "25", 1, 99),
    number("active-defrag-max-scan-fields", "1000", 1, LONG, unsigned=True),
    # Encodings of the value types, which OBJECT ENCODING reports.
    number("hash-max-listpack-entries", "512", 0, LONG, alias="hash-max-ziplist-entries", unsigned=True),
    memory("hash-max-listpack-value", "64", 0, LONG, alias="hash-max-ziplist-value", unsigned=True),
    number("list-max-listpack-size", "-2", -2**31, INT, alias="list-max-ziplist-size"),
    number("list-compress-depth", "0", 0, INT),
    number("set-max-intset-entries", "512", 0, LONG, unsigned=True),
    number("zset-max-listpack-entries", "128", 0, LONG, alias="zset-max-ziplist-entries", unsigned=True),
    memory("zset-max-listpack-value", "64", 0, LONG, alias="zset-max-ziplist-value", unsigned=True),
    memory("hll-sparse-max-bytes", "3000", 0, LONG, unsigned=True),
    memory("stream-node-max-bytes", "4096", 0, LONG, unsigned=True),
    number("stream-node-max-entries", "100", 0, LONG),
    number("tracking-table-max-keys", "1000000", 0, LONG, unsigned=True),
    Parameter("notify-keyspace-events", "", v.keyspace_events, v.show_keyspace_events,
              written=lambda flags: v.quoted(v.show_keyspace_events(flags))),
    # Introspection: read by SLOWLOG, LATENCY and INFO.
    number("slowlog-log-slower-than", "10000", -1, LONG),
    number("slowlog-max-len", "128", 0, LONG, unsigned=True),
    number("latency-monitor-threshold", "0", 0, LONG),
    yes_no("latency-tracking", "yes"),
    words("latency-tracking-info-percentiles", "50 99 99.9", v.percentiles),
    # Replication: known and checked, not built yet.
    words("replicaof", "no one", v.replica_of, mutable=False, alias="slaveof"),
    text("masterauth"),
    text("masteruser"),
    yes_no("replica-serve-stale-data", "yes", alias="slave-serve-stale-data"),
    yes_no("replica-read-only", "yes", alias="slave-read-only"),
    yes_no("replica-lazy-flush", "no", alias="slave-lazy-flush"),
    yes_no("replica-ignore-maxmemory", "yes", alias="slave-ignore-maxmemory"),
    yes_no("replica-announced", "yes"),
    yes_no("replica-ignore-disk-write-errors", "no"),
    number("replica-priority", "100", 0, INT, alias="slave-priority"),
    text("replica-announce-ip", alias="slave-announce-ip"),
    number("replica-announce-port", "0", 0, 65535, alias="slave-announce-port"),
    yes_no("repl-diskless-sync", "yes"),
    number("repl-diskless-sync-delay", "5", 0, INT),
    number("repl-diskless-sync-max-replicas", "0", 0, INT),
    enum("repl-diskless-load", "disabled", ("disabled", "on-empty-db", "swapdb")),
    yes_no("repl-disable-tcp-nodelay", "no"),
    number("repl-ping-replica-period", "10", 1, INT, alias="repl-ping-slave-period"),
    number("repl-timeout", "60", 1, INT),
    memory("repl-backlog-size", "1mb", 1, LONG),
    number("repl-backlog-ttl", "3600", 0, LONG),
    number("min-replicas-to-write", "0", 0, INT, alias="min-slaves-to-write"),
    number("min-replicas-max-lag", "10", 0, INT, alias="min-slaves-max-lag"),
    enum("propagation-error-behavior", "ignore", ("ignore", "panic", "panic-on-replicas")),
    text("bind-source-addr"),
    # Cluster: known and checked, not built yet.
    yes_no("cluster-enabled", "no", mutable=False),
    text("cluster-config-file", "nodes.conf", mutable=False),
    number("cluster-port", "0", 0, 65535, mutable=False),
    number("cluster-node-timeout", "15000", 0, LONG),
    text("cluster-announce-ip"),
    text("cluster-announce-hostname", parse=v.hostname),
    number("cluster-announce-port", "0", 0, 65535),
    number("cluster-announce-bus-port", "0", 0, 65535),
    number("cluster-announce-tls-port", "0", 0, 65535),
    enum("cluster-preferred-endpoint-type", "ip", ("ip", "hostname", "unknown-endpoint")),
    number("cluster-replica-validity-factor", "10", 0, INT, alias="cluster-slave-validity-factor"),
    yes_no("cluster-replica-no-failover", "no", alias="cluster-slave-no-failover"),
    number("cluster-migration-barrier", "1", 0, INT),
    yes_no("cluster-allow-replica-migration", "yes"),
    yes_no("cluster-require-full-coverage", "yes"),
    yes_no("cluster-allow-reads-when-down", "no"),
    yes_no("cluster-allow-pubsubshard-when-down", "yes"),
    memory("cluster-link-sendbuf-limit", "0", 0, 2**64 - 1, unsigned=True),
    # TLS: known and checked, not built (turning it on fails as it does without certificates: see TLS_SWITCHES).
    number("tls-port", "0", 0, 65535),
    yes_no("tls-replication", "no"),
    yes_no("tls-cluster", "no"),
    enum("tls-auth-clients", "yes", ("no", "yes", "optional")),
    yes_no("tls-prefer-server-ciphers", "no"),
    yes_no("tls-session-caching", "yes"),
    number("tls-session-cache-size", "20480", 0, INT),
    number("tls-session-cache-timeout", "300", 0, INT),
] + [text(name) for name in ("tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
                             "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file",
                             "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols", "tls-ciphers",
                             "tls-ciphersuites")] + [
    # Redis's test hooks: answered by exact name only, as in Redis.
    number("rdb-key-save-delay", "0", -2**31, INT, hidden=True),
    number("key-load-delay", "0", -2**31, INT, hidden=True),
    number("watchdog-period", "0", 0, INT, hidden=True),
    yes_no("use-exit-on-panic", "no", hidden=True),
    number("loading-process-events-interval-bytes", "2097152", 1024, INT, hidden=True),
]

BY_NAME = {name: parameter for parameter in PARAMETERS for name in (parameter.name, parameter.alias) if name}

# What turns TLS on: CONFIG SET of one fails, and a start with one set stops, as in a Redis without certificates.
TLS_SWITCHES = ("tls-port", "tls-replication", "tls-cluster")
DENIED_WHILE_LOADING = frozenset(("appendonly", "repl-diskless-load"))  # Redis's DENY_LOADING_CONFIG ones

# Directives of older versions that a config file may still hold: read and ignored, as Redis does
# (each with exactly one argument).
IGNORED_DIRECTIVES = ("list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands")
