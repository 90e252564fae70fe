"""Server commands: CONFIG, TIME."""
import time

from commands import Command, subcommand_table, table
from errors import SYNTAX, ReplyError, printed
from serving.config import ConfigError


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
    session.server.stats.configure(config)  # the slow log's and latency monitor's thresholds
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
    Command("config", None, -2, (), 0, 0, 0, CONFIG_SUBCOMMANDS),
    Command("time", time_, 1, ("loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
