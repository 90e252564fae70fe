"""Server commands: COMMAND, INFO, TIME."""
import os
import platform
import sys
import time

import gevent

from commands import Command, subcommand_table, synopsis, table
from errors import ReplyError
from protocol import PARSER, SetReply, Verbatim
from serving import version
from storage import eviction

ACL_CATEGORY_BY_GROUP = {"string": "@string", "list": "@list", "hash": "@hash", "set": "@set",
                         "sortedset": "@sortedset", "keyspace": "@keyspace", "connection": "@connection",
                         "server": "@server"}


def _all_commands(session):
    return session.server.commands.values()


def _acl_categories(command, group):
    flags = command.flags
    categories = ["@write" if "write" in flags else "@read" if "readonly" in flags else None,
                  "@admin" if "admin" in flags else None,
                  "@fast" if "fast" in flags else "@slow",
                  ACL_CATEGORY_BY_GROUP.get(group)]
    return [category for category in categories if category]


def _info_row(command, group=None):
    """One entry of COMMAND INFO, in Redis 7's ten-field layout."""
    group = group or command.group
    return [command.name.encode(), command.arity, SetReply(command.flags), command.first_key,
            command.last_key, command.step, SetReply(_acl_categories(command, group)), [], [],
            [_info_row(sub, group) for sub in command.subcommands.values()]]


def _summary(command):
    """The first line of a handler's docstring: the command's wire form."""
    handler = command.handler
    doc = handler.__doc__ if handler else None
    return (doc or command.name.upper()).strip().splitlines()[0].encode()


def _docs(command, group=None):
    group = group or command.group
    summary = _summary(command)
    docs = {b"summary": summary, b"since": b"1.0.0", b"group": group.encode()}
    arguments = synopsis.arguments(summary.decode(), command.name)
    if arguments:
        docs[b"arguments"] = arguments
    if command.subcommands:
        docs[b"subcommands"] = {sub.name.encode(): _docs(sub, group) for sub in command.subcommands.values()}
    return docs


def command_(session):
    """COMMAND"""
    return [_info_row(command) for command in _all_commands(session)]


def command_count(session):
    """COMMAND COUNT"""
    return len(session.server.commands)


def command_list(session, *filters):
    """COMMAND LIST"""
    if filters:
        raise ReplyError("ERR syntax error")
    return [command.name.encode() for command in _all_commands(session)]


def command_info(session, *names):
    """COMMAND INFO [command-name ...]"""
    if not names:
        return command_(session)
    commands = session.server.commands
    return [_info_row(commands[name.lower()]) if name.lower() in commands else None for name in names]


def command_docs(session, *names):
    """COMMAND DOCS [command-name ...]"""
    commands = session.server.commands
    wanted = [commands[name.lower()] for name in names if name.lower() in commands] if names \
        else list(commands.values())
    return {command.name.encode(): _docs(command) for command in wanted}


COMMAND_SUBCOMMANDS = subcommand_table(
    "command",
    Command("count", command_count, 2, ("loading", "stale"), 0, 0, 0),
    Command("list", command_list, -2, ("loading", "stale"), 0, 0, 0),
    Command("info", command_info, -2, ("loading", "stale"), 0, 0, 0),
    Command("docs", command_docs, -2, ("loading", "stale"), 0, 0, 0),
)


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


def time_(session):
    """TIME"""
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


COMMANDS = table(
    Command("command", command_, -1, ("loading", "stale"), 0, 0, 0, COMMAND_SUBCOMMANDS),
    Command("info", info, -1, ("loading", "stale"), 0, 0, 0),
    Command("time", time_, 1, ("loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
