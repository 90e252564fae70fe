"""The full command table, assembled from the family modules in the order they are listed.

Kept apart from commands/__init__.py, which every family imports for its Command rows: the
families import the table's helpers, this module imports the families, and nothing goes round.
"""
from types import MappingProxyType

from commands import (acl, admin, bitmaps, client, cluster, config, connection, debug, dump, expire, functions, geo,
                      hashes, hyperloglog, info, introspection, keys, latency, lists, lolwut, memory, module,
                      persistence, pubsub, replication, scripting, sets, slowlog, sort, stream_groups, stream_info,
                      stream_reads, streams, strings, transactions, zsets)
from serving.stats import CommandStats

FAMILIES = (strings, lists, hashes, sets, zsets, geo, streams, stream_reads, stream_groups, stream_info, keys, expire,
            pubsub, transactions, connection, client, admin, config, introspection, info, slowlog, latency, memory,
            persistence, debug, lolwut, dump, cluster, bitmaps, sort, hyperloglog, scripting, functions, acl,
            replication, module)


def build_table():
    """A new table of every command (name -> Command row): each server owns one, and renames its rows."""
    commands = {}
    for family in FAMILIES:
        commands.update((name, with_stats(command)) for name, command in family.COMMANDS.items())
    return commands


def with_stats(command):
    """The row with its own CommandStats, and its subcommands' rows with theirs."""
    subcommands = MappingProxyType({name: with_stats(sub) for name, sub in command.subcommands.items()})
    return command._replace(stats=CommandStats(), subcommands=subcommands)
