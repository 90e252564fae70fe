"""Replication's commands on the replica's side: REPLICAOF (SLAVEOF) and ROLE, as Redis's replication.c.

The link itself lives in replication/replica.py; these only turn it on and off and report it.
"""
import logging

from commands import Command, table
from errors import INVALID_MASTER_PORT, REPLICA_CANNOT_REPLICAOF, ReplyError
from protocol import string_to_int
from replication import replica

log = logging.getLogger("mini-redis")


def replicaof(session, host, port):
    """REPLICAOF host port | NO ONE"""
    server = session.server
    link = server.replication.master
    if host.lower() == b"no" and port.lower() == b"one":
        if link is not None:
            replica.promote(server)
            log.info("MASTER MODE enabled (user request from '%s')", session.describe())
        return "OK"
    number = string_to_int(port)
    if number is None or not 0 <= number <= 65535:
        raise ReplyError(INVALID_MASTER_PORT)
    host = host.decode(errors="replace")
    if link is not None and link.host.lower() == host.lower() and link.port == number:
        log.info("REPLICAOF would result into synchronization with the master we are already connected with. "
                 "No operation performed.")
        return "OK Already connected to specified master"
    replica.follow(server, host, number)
    log.info("REPLICAOF %s:%d enabled (user request from '%s')", host, number, session.describe())
    return "OK"


def role(session):
    """ROLE"""
    replication = session.server.replication
    if replication.master is not None:
        return replication.master.role_reply()
    return [b"master", replication.offset, []]


_FLAGS = ("admin", "noscript", "stale", "no_async_loading")

COMMANDS = table(
    Command("replicaof", replicaof, 3, _FLAGS, 0, 0, 0),
    Command("slaveof", replicaof, 3, _FLAGS, 0, 0, 0),
    Command("role", role, 1, ("noscript", "loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
