"""Server commands: INFO, CONFIG, TIME."""
import os
import platform
import sys
import time

import gevent

from commands import Command, subcommand_table, table
from errors import SYNTAX, ReplyError, printed
from protocol import PARSER, Verbatim
from serving import version
from serving.config import ConfigError
from storage import eviction

# ------------------------------------------------------------------ INFO

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _resident_memory():
    """The process's resident set size in bytes (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def _human(size):
    """Redis's bytesToHuman: 1.18M, 512B."""
    for unit, scale in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if size >= scale:
            return "%.2f%s" % (size / scale, unit)
    return "%dB" % size


def _server_section(server):
    uptime = int(time.time() - server.started)
    uname = os.uname()
    return [
        ("redis_version", version.REDIS_VERSION), ("mini_redis_version", version.VERSION),
        ("redis_mode", "standalone"), ("os", "%s %s %s" % (uname.sysname, uname.release, uname.machine)),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32), ("python_version", platform.python_version()),
        ("gevent_version", gevent.__version__), ("request_parser", PARSER),  # hiredis, or pure Python
        ("process_id", os.getpid()), ("run_id", server.run_id),
        ("tcp_port", server.port), ("server_time_usec", time.time_ns() // 1000),
        ("uptime_in_seconds", uptime), ("uptime_in_days", uptime // 86400),
        ("executable", os.path.abspath(sys.argv[0])), ("config_file", server.config.config_file),
    ]


def _clients_section(server):
    return [("connected_clients", len(server.sessions)), ("maxclients", server.config["maxclients"]),
            ("blocked_clients", server.keyspace.blocking.blocked_clients)]


def _memory_section(server):
    memory = server.keyspace.memory
    used, rss = memory.used(), _resident_memory()  # used: storage/eviction.py's estimate, what maxmemory limits
    return [("used_memory", used), ("used_memory_human", _human(used)), ("used_memory_rss", rss),
            ("used_memory_rss_human", _human(rss)), ("used_memory_peak", memory.peak),
            ("used_memory_peak_human", _human(memory.peak)), ("used_memory_startup", eviction.STARTUP_MEMORY),
            ("maxmemory", memory.maxmemory), ("maxmemory_human", _human(memory.maxmemory)),
            ("maxmemory_policy", memory.policy)]


def _stats_section(server):
    stats = server.stats
    keyspace = server.keyspace
    return [("total_connections_received", stats.connections_received),
            ("total_commands_processed", stats.commands_processed),
            ("total_net_input_bytes", stats.net_input_bytes),
            ("total_net_output_bytes", stats.net_output_bytes),
            ("rejected_connections", stats.rejected_connections),
            ("expired_keys", keyspace.expired_keys),
            ("evicted_keys", keyspace.evicted_keys),
            ("keyspace_hits", keyspace.hits),
            ("keyspace_misses", keyspace.misses),
            ("pubsub_channels", len(server.pubsub.channels)),
            ("pubsub_patterns", len(server.pubsub.patterns)),
            ("total_error_replies", stats.error_replies)]


def _keyspace_section(server):
    return [("db%d" % db.index, "keys=%d,expires=0,avg_ttl=0" % len(db)) for db in server.keyspace.databases if len(db)]


def _persistence_section(server):
    """The snapshot fields, with the append-only file's own in place of its aof_* ones."""
    aof_fields, aof_extra = server.aof.info()
    return [(name, aof_fields.get(name, value)) for name, value in server.snapshots.info()] + aof_extra


INFO_SECTIONS = {"server": _server_section, "clients": _clients_section, "memory": _memory_section,
                 "persistence": _persistence_section, "stats": _stats_section, "keyspace": _keyspace_section}


def info(session, *sections):
    """INFO [section ...]"""
    wanted = {section.decode(errors="replace").lower() for section in sections} or {"default"}
    if wanted & {"all", "everything", "default"}:
        wanted = INFO_SECTIONS.keys()
    texts = []
    for name, fields in INFO_SECTIONS.items():
        if name in wanted:
            lines = ["# " + name.capitalize()] + ["%s:%s" % field for field in fields(session.server)]
            texts.append("\r\n".join(lines) + "\r\n")
    return Verbatim("txt", "\r\n".join(texts).encode())


# ------------------------------------------------------------------ CONFIG


def config_get(session, *patterns):
    """CONFIG GET parameter [parameter ...]"""
    found = {}  # by lowercased name, as Redis's case-insensitive dict: the first spelling asked wins
    for pattern in patterns:
        for name, value in session.server.config.get_matching(pattern.decode("utf-8", "surrogateescape")):
            found.setdefault(name.lower(), (name.encode("utf-8", "surrogateescape"), value.encode()))
    return dict(found.values())


def _set_failed(name, reason):
    return ReplyError("ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (name, reason))


def config_set(session, *arguments):
    """CONFIG SET parameter value [parameter value ...]"""
    if len(arguments) % 2:
        raise ReplyError(SYNTAX)
    config = session.server.config
    names = [raw.decode("utf-8", "surrogateescape") for raw in arguments[::2]]
    seen = set()
    for raw, name in zip(arguments[::2], names):  # Redis reports the first problem in argument order
        parameter = config.find(name)
        if parameter is None:
            raise ReplyError("ERR Unknown option or number of arguments for CONFIG SET - '%s'" % printed(raw))
        if not parameter.mutable:
            raise _set_failed(printed(raw), "can't set immutable config")
        if parameter.name in seen:
            raise _set_failed(printed(raw), "duplicate parameter")
        seen.add(parameter.name)
    try:
        config.set_many(zip(names, (value.decode("utf-8", "surrogateescape") for value in arguments[1::2])))
    except ConfigError as error:
        raise _set_failed(*error.args) from None
    session.server.keyspace.memory.configure(config)
    if not session.server.aof.switch(config["appendonly"]):
        config.values["appendonly"] = False
        raise _set_failed("appendonly", "Unable to turn on AOF. Check server logs.")
    return "OK"


def config_resetstat(session):
    """CONFIG RESETSTAT"""
    session.server.reset_stats()
    return "OK"


def config_rewrite(session):
    """CONFIG REWRITE"""
    config = session.server.config
    if not config.config_file:
        raise ReplyError("ERR The server is running without a config file")
    try:
        config.rewrite()
    except OSError as error:
        raise ReplyError("ERR Rewriting config file: %s" % error.strerror) from None
    return "OK"


CONFIG_HELP = [
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
    "RESETSTAT", "    Reset statistics reported by the INFO command.",
    "REWRITE", "    Rewrite the configuration file.",
    "HELP", "    Prints this help.",
]


def config_help(session):
    """CONFIG HELP"""
    return CONFIG_HELP


CONFIG_SUBCOMMANDS = subcommand_table(
    "config",
    Command("get", config_get, -3, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("set", config_set, -4, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("resetstat", config_resetstat, 2, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("rewrite", config_rewrite, 2, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("help", config_help, 2, ("loading", "stale"), 0, 0, 0),
)


def time_(session):
    """TIME"""
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


COMMANDS = table(
    Command("info", info, -1, ("loading", "stale"), 0, 0, 0),
    Command("config", None, -2, (), 0, 0, 0, CONFIG_SUBCOMMANDS),
    Command("time", time_, 1, ("loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
