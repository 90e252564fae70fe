"""SLOWLOG: the commands that took at least slowlog-log-slower-than microseconds (serving/slowlog.py)."""
from commands import Command, subcommand_table, table
from errors import SLOWLOG_COUNT, ReplyError, subcommand_syntax
from protocol import string_to_int


def slowlog_get(session, *count):
    """SLOWLOG GET [count]"""
    if len(count) > 1:
        raise subcommand_syntax(session.argv)
    wanted = string_to_int(count[0]) if count else 10
    if wanted is None or wanted < -1:
        raise ReplyError(SLOWLOG_COUNT)
    return session.server.slowlog.newest(wanted)


def slowlog_len(session):
    """SLOWLOG LEN"""
    return len(session.server.slowlog.entries)


def slowlog_reset(session):
    """SLOWLOG RESET"""
    session.server.slowlog.reset()
    return "OK"


SLOWLOG_HELP = [
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN", "    Return the length of the slowlog.",
    "RESET", "    Reset the slowlog.",
    "HELP", "    Prints this help.",
]


def slowlog_help(session):
    """SLOWLOG HELP"""
    return SLOWLOG_HELP


SLOWLOG_SUBCOMMANDS = subcommand_table(
    "slowlog",
    Command("get", slowlog_get, -2, ("admin", "loading", "stale"), 0, 0, 0),
    Command("len", slowlog_len, 2, ("admin", "loading", "stale"), 0, 0, 0),
    Command("reset", slowlog_reset, 2, ("admin", "loading", "stale"), 0, 0, 0),
    Command("help", slowlog_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("slowlog", None, -2, (), 0, 0, 0, SLOWLOG_SUBCOMMANDS),
    group="server",
)
