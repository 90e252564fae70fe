"""The full command table, assembled from the family modules in the order they are listed.

Kept apart from commands/__init__.py, which every family imports for its Command rows: the
families import the table's helpers, this module imports the families, and nothing goes round.
"""
from commands import (admin, config, connection, expire, hashes, keys, lists, persistence, pubsub, sets,
                      strings, transactions, zsets)

FAMILIES = (strings, lists, hashes, sets, zsets, keys, expire, pubsub, transactions, connection, admin, config,
            persistence)


def build_table():
    """A new table of every command (name -> Command row): each server owns one, and renames its rows."""
    commands = {}
    for family in FAMILIES:
        commands.update(family.COMMANDS)
    return commands
