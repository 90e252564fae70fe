"""Replication commands, as Redis's replication.c: the master's side (PSYNC, SYNC, REPLCONF, WAIT, ROLE).

A replica opens with REPLCONF (listening-port, ip-address, capa), then PSYNC
<replid> <offset> (or SYNC); from then on its connection carries the stream
one way and REPLCONF ACK the other. The links themselves are replication/.
"""
import logging

from commands import Command, table
from errors import (REPLCONF_IP_TOO_LONG, REPLCONF_UNKNOWN_OPTION, SYNTAX, WAIT_ON_REPLICA, WAIT_TIMEOUT_NEGATIVE,
                    WAIT_TIMEOUT_NOT_INTEGER, ReplyError)
from protocol import string_to_int
from replication import master as replica_links
from serving.session import NO_REPLY
from storage.numeric import to_int, to_int_in_range

log = logging.getLogger("mini-redis")
NET_HOST_STR_LEN = 256  # the longest ip-address Redis takes (NET_HOST_STR_LEN)
INT64 = (-2**63, 2**63 - 1)


def replconf(session, *options):
    """REPLCONF <option> <value> [<option> <value> ...]"""
    if len(options) % 2:
        raise ReplyError(SYNTAX)
    link = replica_links.link_for(session)
    for index in range(0, len(options), 2):
        option, value = options[index].lower(), options[index + 1]
        if option == b"listening-port":
            link.listening_port = to_int(value)
        elif option == b"ip-address":
            if len(value) >= NET_HOST_STR_LEN:
                raise ReplyError(REPLCONF_IP_TOO_LONG % len(value))
            link.announced_ip = value.decode(errors="replace")
        elif option == b"capa":
            link.capabilities.add(value.lower().decode(errors="replace"))
        elif option == b"ack":  # REPLCONF ACK <offset> [FACK <aof offset>]: never answered, even when wrong
            offset = string_to_int(value)
            if offset is not None and session.is_replica():
                link.acknowledge(offset)
            return NO_REPLY
        elif option == b"getack":
            return NO_REPLY  # a master's request to its replica; a master asked it does nothing
        elif option == b"rdb-only":
            link.rdb_only = bool(to_int_in_range(value, 0, 1))
        else:
            raise ReplyError(REPLCONF_UNKNOWN_OPTION % options[index].decode(errors="replace"))
    return "OK"


def psync(session, replid, offset, *ignored):
    """PSYNC replicationid offset"""
    return _sync(session, replid, offset)


def sync(session):
    """SYNC"""
    return _sync(session, None, None)


def _sync(session, replid, raw_offset):
    """syncCommand: a partial resynchronisation from the backlog if PSYNC can have one, else a full one."""
    if session.is_replica():
        return NO_REPLY  # already a replica: Redis ignores it
    server = session.server
    replication = server.replication
    link = replica_links.link_for(session)
    log.info("Replica %s asks for synchronization", link.name())
    if replid is not None:
        offset = to_int(raw_offset)
        wanted = replid.decode(errors="replace")
        if replica_links.try_partial(server, link, wanted, offset):
            replication.sync_partial_ok += 1
            return NO_REPLY
        if wanted != "?":
            replication.sync_partial_err += 1
    else:
        link.old_protocol = True
    replication.sync_full += 1
    replica_links.attach(server, link)
    server.fullsync.request(link)
    session.connection.send_replies()  # +FULLRESYNC now, before the snapshot is sent behind it
    return NO_REPLY


def wait(session, numreplicas, timeout):
    """WAIT numreplicas timeout"""
    server = session.server
    replication = server.replication
    if replication.master is not None:
        raise ReplyError(WAIT_ON_REPLICA)
    wanted = to_int(numreplicas)
    milliseconds = to_int_in_range(timeout, *INT64, message=WAIT_TIMEOUT_NOT_INTEGER)
    if milliseconds < 0:
        raise ReplyError(WAIT_TIMEOUT_NEGATIVE)
    offset = session.stream_offset  # the stream up to this client's last command (Redis's c->woff)
    count = replication.acks_at(offset)
    if count >= wanted or session.in_exec:
        return count
    result = replication.add_waiter(offset, wanted)
    replication.request_acks()
    propagator = server.keyspace.propagator  # other clients' commands run while this one waits
    held = propagator.detach() if propagator is not None else None
    try:
        session.wait_for(result, milliseconds / 1000 if milliseconds else None)
    finally:
        replication.drop_waiter(result)
        if held is not None:
            propagator.attach(held)
    return replication.acks_at(offset)


def role(session):
    """ROLE"""
    replication = session.server.replication
    replicas = [[link.ip().encode(), b"%d" % link.listening_port, b"%d" % link.ack_offset]
                for link in replication.replicas if link.state == replica_links.ONLINE]
    return [b"master", replication.offset, replicas]


COMMANDS = table(
    Command("psync", psync, -3, ("admin", "noscript", "no_async_loading", "no_multi"), 0, 0, 0),
    Command("sync", sync, 1, ("admin", "noscript", "no_async_loading", "no_multi"), 0, 0, 0),
    Command("replconf", replconf, -1, ("admin", "noscript", "loading", "stale", "allow_busy"), 0, 0, 0),
    Command("wait", wait, 3, ("noscript",), 0, 0, 0),
    Command("role", role, 1, ("noscript", "loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
