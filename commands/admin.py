"""Server commands: TIME. COMMAND, INFO and CONFIG have families of their own (introspection.py,
info.py, config.py)."""
import time

from commands import Command, table


def time_(session):
    """TIME"""
    now = time.time_ns() // 1000
    return [b"%d" % (now // 1_000_000), b"%d" % (now % 1_000_000)]


COMMANDS = table(
    Command("time", time_, 1, ("loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
