"""Replication commands, as Redis's replication.c: the master's side (PSYNC, SYNC, REPLCONF, WAIT), the
replica's (REPLICAOF, SLAVEOF), and ROLE for both.

A replica opens with REPLCONF (listening-port, ip-address, capa), then PSYNC
<replid> <offset> (or SYNC); from then on its connection carries the stream
one way and REPLCONF ACK the other. The links themselves are replication/:
master.py for the replicas attached to us, replica.py for our link to our master.
"""
import logging

from commands import Command, table
from errors import (FAILOVER_FORCE_NEEDS, FAILOVER_IN_PROGRESS, FAILOVER_ON_REPLICA, FAILOVER_TARGET_OFFLINE,
                    FAILOVER_TARGET_UNKNOWN, FAILOVER_TIMEOUT_NOT_POSITIVE, FAILOVER_WITHOUT_REPLICAS,
                    INVALID_MASTER_PORT, NO_FAILOVER_IN_PROGRESS, PSYNC_FAILOVER_REPLID, RDB_FILTER_MISSING,
                    RDB_FILTER_UNSUPPORTED, REPLCONF_IP_TOO_LONG, REPLCONF_UNKNOWN_OPTION, REPLICA_CANNOT_REPLICAOF, REPLICAOF_WHILE_FAILING_OVER,
                    SYNC_WHILE_FAILING_OVER, SYNC_WITHOUT_MASTER_LINK, SYNTAX, WAIT_ON_REPLICA, WAIT_TIMEOUT_NEGATIVE,
                    WAIT_TIMEOUT_NOT_INTEGER, ReplyError)
from protocol import split_inline, string_to_int
from replication import failover, master as replica_links, replica
from replication.replica import CONNECTED
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
        elif option == b"rdb-filter-only":
            link.excluded = _rdb_filter(value)
        else:
            raise ReplyError(REPLCONF_UNKNOWN_OPTION % options[index].decode(errors="replace"))
    return "OK"


def _rdb_filter(value):
    """REPLCONF rdb-filter-only "functions" (redis-cli --functions-rdb): the parts of the snapshot it leaves
    out; the listed parts are kept, "" keeps none. "functions" is the only part Redis 7.0 names."""
    parts = split_inline(value)
    if parts is None:
        raise ReplyError(RDB_FILTER_MISSING)
    excluded = {"data", "functions"}
    for part in parts:
        if part.lower() != b"functions":
            raise ReplyError(RDB_FILTER_UNSUPPORTED % part.decode(errors="replace"))
        excluded.discard("functions")
    return frozenset(excluded)


def psync(session, replid, offset, *options):
    """PSYNC replicationid offset [FAILOVER]"""
    return _sync(session, replid, offset, options[0].lower() == b"failover" if options else False)


def sync(session):
    """SYNC"""
    return _sync(session, None, None)


def _sync(session, replid, raw_offset, failing_over=False):
    """syncCommand: a partial resynchronisation from the backlog if PSYNC can have one, else a full one.
    PSYNC ... FAILOVER comes from our master handing its role to us: we promote ourselves first."""
    if session.is_replica():
        return NO_REPLY  # already a replica: Redis ignores it
    server = session.server
    replication = server.replication
    if failing_over:
        if replid.decode(errors="replace") != replication.replid:
            raise ReplyError(PSYNC_FAILOVER_REPLID)
        replica.promote(server)
        log.info("MASTER MODE enabled (failover request from '%s')", session.describe())
    if replication.failover is not None:
        raise ReplyError(SYNC_WHILE_FAILING_OVER)
    if replication.master is not None and replication.master.state != CONNECTED:
        raise ReplyError(SYNC_WITHOUT_MASTER_LINK)
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


def replicaof(session, host, port):
    """REPLICAOF host port | NO ONE"""
    server = session.server
    link = server.replication.master
    if server.replication.failover is not None:
        raise ReplyError(REPLICAOF_WHILE_FAILING_OVER)
    if host.lower() == b"no" and port.lower() == b"one":
        if link is not None:
            replica.promote(server)
            log.info("MASTER MODE enabled (user request from '%s')", session.describe())
        return "OK"
    if session.is_replica():  # it would be disconnected along with the other replicas
        raise ReplyError(REPLICA_CANNOT_REPLICAOF)
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


def failover_command(session, *arguments):
    """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT milliseconds]"""
    server = session.server
    replication = server.replication
    if len(arguments) == 1 and arguments[0].lower() == b"abort":
        if replication.failover is None:
            raise ReplyError(NO_FAILOVER_IN_PROGRESS)
        failover.abort(server, "Failover manually aborted")
        return "OK"
    host, port, force, timeout = _failover_options(arguments)
    if replication.failover is not None:
        raise ReplyError(FAILOVER_IN_PROGRESS)
    if replication.master is not None:
        raise ReplyError(FAILOVER_ON_REPLICA)
    if not replication.replicas:
        raise ReplyError(FAILOVER_WITHOUT_REPLICAS)
    if force and not (timeout and host is not None):
        raise ReplyError(FAILOVER_FORCE_NEEDS)
    if host is not None:
        target = failover.find_replica(server, host, port)
        if target is None:
            raise ReplyError(FAILOVER_TARGET_UNKNOWN)
        if target.state != replica_links.ONLINE:
            raise ReplyError(FAILOVER_TARGET_OFFLINE)
    failover.start(server, host, port, force, timeout)
    return "OK"


def _failover_options(arguments):
    """(host, port, FORCE, timeout ms) as failoverCommand parses them: each option once, TIMEOUT above 0."""
    host = port = None
    force, timeout, index = False, 0, 0
    while index < len(arguments):
        option = arguments[index].lower()
        left = len(arguments) - index - 1
        if option == b"timeout" and left >= 1 and not timeout:
            timeout = to_int(arguments[index + 1])
            if timeout <= 0:
                raise ReplyError(FAILOVER_TIMEOUT_NOT_POSITIVE)
            index += 2
        elif option == b"to" and left >= 2 and host is None:
            port = to_int(arguments[index + 2])
            host = arguments[index + 1].decode(errors="replace")
            index += 3
        elif option == b"force" and not force:
            force = True
            index += 1
        else:
            raise ReplyError(SYNTAX)
    return host, port, force, timeout


def role(session):
    """ROLE"""
    replication = session.server.replication
    if replication.master is not None:
        return replication.master.role_reply()
    replicas = [[link.ip().encode(), b"%d" % link.listening_port, b"%d" % link.ack_offset]
                for link in replication.replicas if link.state == replica_links.ONLINE]
    return [b"master", replication.offset, replicas]


_REPLICAOF_FLAGS = ("admin", "noscript", "stale", "no_async_loading")

COMMANDS = table(
    Command("psync", psync, -3, ("admin", "noscript", "no_async_loading", "no_multi"), 0, 0, 0),
    Command("sync", sync, 1, ("admin", "noscript", "no_async_loading", "no_multi"), 0, 0, 0),
    Command("replconf", replconf, -1, ("admin", "noscript", "loading", "stale", "allow_busy"), 0, 0, 0),
    Command("wait", wait, 3, ("noscript",), 0, 0, 0),
    Command("replicaof", replicaof, 3, _REPLICAOF_FLAGS, 0, 0, 0),
    Command("failover", failover_command, -1, ("admin", "noscript", "stale"), 0, 0, 0),
    Command("slaveof", replicaof, 3, _REPLICAOF_FLAGS, 0, 0, 0),
    Command("role", role, 1, ("noscript", "loading", "stale", "fast"), 0, 0, 0),
    group="server",
)
