"""Our link to our master while we are a replica (Redis's replica side of replication.c).

One greenlet keeps the link: connect, the handshake (PING, AUTH with masteruser/masterauth,
REPLCONF listening-port/ip-address/capa), PSYNC with the history we can continue (our replication
ID and offset+1) or PSYNC ? -1, then a full sync (loading.py) or +CONTINUE, then the command
stream. The stream's commands run as the master client (flags=M in CLIENT LIST) through the
function server.py hands in, their replies dropped; the offset counts the bytes of the commands
applied (a MULTI's only at its EXEC), which also go to server.replication.append() so our
backlog and sub-replicas get them verbatim. When the link drops its state is kept (Redis's
cached master), so the next PSYNC continues; a failed attempt is retried every second.
"""
import logging
import time

import gevent
import gevent.socket

from persistence.progress import EVENTS_WAIT_SECONDS
from replication import loading
from replication.stream import READ_SIZE, Channel, LinkError, LinkTimeout, next_command
from serving import logs
from storage.blocking import ROLE_CHANGED

log = logging.getLogger("mini-redis")

# Redis's repl_state, as ROLE names them
CONNECT, CONNECTING, HANDSHAKE, TRANSFER, CONNECTED = "connect", "connecting", "handshake", "sync", "connected"
RETRY_SECONDS = 1  # replicationCron's period: how soon a failed link is tried again
TIMEOUTS = {  # what Redis logs when repl-timeout passes without a byte from the master, by state
    HANDSHAKE: "Timeout connecting to the MASTER...",
    TRANSFER: "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' "
              "parameter in redis.conf to a larger value.",
    CONNECTED: "MASTER timeout: no data nor PING received...",
}


class MasterLink:
    """Where our master is, how far we are, and the greenlet that follows it."""

    def __init__(self, server, host, port, continuable=False, stream_db=0):
        self.server = server
        self.host, self.port = host, port
        self.state = CONNECT
        self.continuable = continuable  # we hold a history PSYNC may continue (Redis's cached master)
        self.stream_db = stream_db  # the database the stream had selected when it stopped
        self.channel = None
        self.session = None  # the master client, while the stream runs
        self.read_offset = 0  # stream bytes received (slave_read_repl_offset)
        self.pending = bytearray()  # a transaction's bytes, applied (counted) at its EXEC
        self.last_io = 0.0
        self.down_since = 0  # when the link last went down (0: never since we became a replica)
        self.transfer = None
        self.stopped = False
        self._greenlet = None

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)

    def start(self):
        log.info("Connecting to MASTER %s", self.address)
        self._greenlet = gevent.spawn(self._run)

    def stop(self):
        """We stop following this master (REPLICAOF NO ONE, another master, shutdown)."""
        self.stopped = True
        self.close()
        if self._greenlet is not None and self._greenlet is not gevent.getcurrent():
            self._greenlet.kill()
        self._lost()

    def close(self):
        """Close the connection (CLIENT KILL TYPE master, a timeout): the link connects again."""
        if self.channel is not None:
            self.channel.close()

    # -- the link's life

    def _run(self):
        while not self.stopped:
            log.info("MASTER <-> REPLICA sync started")
            try:
                self._connect()
                self._follow()
            except LinkTimeout:
                if not self.stopped:
                    log.warning(TIMEOUTS[self.state])
            except LinkError as error:
                if not self.stopped:
                    log.warning("%s", error)
            except OSError as error:
                if not self.stopped:
                    log.warning("Error condition on socket for SYNC: %s", error.strerror or error)
            except Exception:  # a bug of ours must not leave the link dead while it looks up: log, start again
                log.exception("Replication link to MASTER %s failed", self.address)
            self._lost()
            if not self.stopped:
                gevent.sleep(RETRY_SECONDS)
                log.info("Reconnecting to MASTER %s after failure", self.address)

    def _lost(self):
        """The connection is gone: keep what lets the next PSYNC continue, forget the rest."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        loading.discard(self.transfer)
        self.transfer = None
        if self.session is not None:
            log.info("Connection with master lost.")
            log.info("Caching the disconnected master state.")
            session, self.session = self.session, None
            self.stream_db = session.db.index
            session.discard_transaction()
            self.server.release_master_client(session)
            self.continuable = True
            self.down_since = time.time()
        self.pending.clear()
        self.state = CONNECT

    def _connect(self):
        config = self.server.config
        self.state = CONNECTING
        sock = gevent.socket.create_connection((self.host, self.port), timeout=config["repl-timeout"])
        self.channel = channel = Channel(sock)
        log.info("Non blocking connect for SYNC fired the event.")
        self.state = HANDSHAKE
        self.last_io = time.monotonic()
        reply = channel.command("PING")
        if reply.startswith("-") and not reply.startswith(("-NOAUTH", "-NOPERM", "-ERR operation not permitted")):
            raise LinkError("Error reply to PING from master: '%s'" % reply)
        log.info("Master replied to PING, replication can continue...")
        if config["masterauth"]:
            credentials = [config["masteruser"]] if config["masteruser"] else []
            reply = channel.command("AUTH", *credentials, config["masterauth"])
            if reply.startswith("-"):
                raise LinkError("Unable to AUTH to MASTER: %s" % reply)
        port = config["replica-announce-port"] or self.server.port
        self._optional(channel, "listening-port", ("listening-port", port))
        if config["replica-announce-ip"]:
            self._optional(channel, "ip-address", ("ip-address", config["replica-announce-ip"]))
        self._optional(channel, "capa", ("capa", "eof", "capa", "psync2"))
        self._psync(channel)

    @staticmethod
    def _optional(channel, name, arguments):
        reply = channel.command("REPLCONF", *arguments)
        if reply.startswith("-"):
            log.info("(Non critical) Master does not understand REPLCONF %s: %s", name, reply)

    def _psync(self, channel):
        """PSYNC, then the full sync or the continuation the master answers with (slaveTryPartialResynchronization)."""
        replication = self.server.replication
        if self.continuable:
            replid, offset = replication.replid, replication.offset + 1
            log.info("Trying a partial resynchronization (request %s:%d).", replid, offset)
        else:
            replid, offset = "?", -1
            log.info("Partial resynchronization not possible (no cached master)")
        failover = replication.failover  # handing our role over: the target is to promote itself
        if failover is not None and failover.state != "failover-in-progress":
            failover = None
        channel.send("PSYNC", replid, offset, *(["FAILOVER"] if failover is not None else []))
        reply = ""
        while not reply:  # the master may send newlines before its answer, to keep the link alive
            reply = channel.line().decode(errors="replace")
            self._touch()
        channel.stats = self.server.stats  # what follows the answer is replication input
        channel.stats.net_repl_input_bytes += len(channel.buffer)
        if failover is not None:
            failover.psync_answered(reply.startswith(("+FULLRESYNC", "+CONTINUE")))
            if self.stopped:  # turned down: we are a master again
                return
        if reply.startswith("+FULLRESYNC"):
            words = reply.split()
            if len(words) != 3 or len(words[1]) != 40 or not words[2].isdigit():
                raise LinkError("Master replied with wrong +FULLRESYNC syntax.")
            log.info("Full resync from master: %s:%s", words[1], words[2])
            self._full_sync(channel, words[1], int(words[2]))
        elif reply.startswith("+CONTINUE"):
            log.info("Successful partial resynchronization with master.")
            self._continue(reply[len("+CONTINUE"):].strip())
        elif reply.startswith(("-NOMASTERLINK", "-LOADING")):
            raise LinkError("Master is currently unable to PSYNC but should be in the future: %s" % reply[1:])
        else:
            raise LinkError("Unexpected reply to PSYNC from master: %s" % reply)

    def _full_sync(self, channel, replid, offset):
        server = self.server
        config = server.config
        self.state = TRANSFER
        mode = config["repl-diskless-load"]
        # as Redis's useDisklessLoad: on-empty-db receives on disk unless we hold no key
        on_disk = mode == "disabled" or mode == "on-empty-db" and any(db.data for db in server.keyspace.databases)
        # Redis's async loading: with swapdb, data of the very history the master goes on with keeps being served
        asynchronous = mode == "swapdb" and replid == server.replication.replid
        self.transfer = transfer = loading.Transfer(loading.temporary_path(config) if on_disk else None)

        def on_header():  # Redis parses what it does not receive on disk as it comes: it is loading from here
            if not on_disk:
                if mode != "swapdb":
                    self._discard_cached_master()
                server.loading.start(transfer.size, asynchronous)

        try:
            data = loading.receive(channel, transfer, self._touch, on_header)
            if mode != "swapdb":  # as Redis: our history goes as the old data does (swapdb: once the new is in)
                self._discard_cached_master()
            disconnect_replicas(self.server)  # our replicas follow the new history from its start
            loading.load(server, data, transfer, self._discard_cached_master)
        finally:
            server.loading.stop()
        self.transfer = None
        replication = server.replication
        replication.replid, replication.offset = replid, offset
        replication.clear_replid2()
        replication.backlog = None
        replication.create_backlog()
        server.propagation.refresh()
        self.stream_db = 0
        log.info("MASTER <-> REPLICA sync: Finished with success")
        self._attach()
        self.send_ack()  # a diskless master waits for it before it streams

    def _discard_cached_master(self):
        if self.continuable:
            log.info("Discarding previously cached master state.")
            self.continuable = False

    def _continue(self, new_replid):
        """+CONTINUE [replid]: our history goes on; under the master's new ID if it changed, ours kept as replid2
        (Redis's replicationResurrectCachedMaster and the ID switch before it)."""
        replication = self.server.replication
        if new_replid and new_replid != replication.replid:
            log.info("Master replication ID changed to %s", new_replid)
            replication.replid2 = replication.replid
            replication.second_replid_offset = replication.offset + 1
            replication.replid = new_replid
            disconnect_replicas(self.server)  # they must learn the new ID
        replication.create_backlog()
        self.server.propagation.refresh()
        log.info("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
        self._attach()

    def _attach(self):
        """The stream starts: the master client appears, and the link is up."""
        self.session = self.server.master_client(self, self.stream_db)
        self.last_io = time.monotonic()  # as replicationCreateMasterClient sets the master's lastinteraction
        self.state = CONNECTED
        self.down_since = 0
        self.continuable = True

    def _touch(self):
        self.last_io = time.monotonic()
        if self.transfer is not None:
            self.transfer.last_io = self.last_io

    # -- the stream

    def _follow(self):
        """Apply the master's commands as they come, until the link drops."""
        channel = self.channel
        channel.sock.settimeout(self.server.config["repl-timeout"])
        self.read_offset = self.server.replication.offset + len(channel.buffer)  # what came with the last reply
        while True:
            self._apply_buffered(channel.buffer)
            received = channel.receive()
            self.read_offset += received
            self.last_io = time.monotonic()
            if received == READ_SIZE:
                # More is waiting, and gevent's recv() returns it without a turn of the event loop: let the
                # clients in first, as Redis serves its master client one read per turn like any client.
                gevent.sleep(EVENTS_WAIT_SECONDS)

    def _apply_buffered(self, buffer):
        server, session = self.server, self.session
        replication, pending = server.replication, self.pending
        position = 0
        while True:
            parsed = next_command(buffer, position)
            if parsed is None:
                break
            argv, end = parsed
            if len(argv) > 1 and argv[0].lower() == b"replconf" and argv[1].lower() == b"getack":
                self.send_ack()  # the offset before the GETACK itself, as Redis answers it
            elif argv:
                server.run_from_master(session, argv)
            pending += buffer[position:end]
            position = end
            if session.multi is None:
                replication.append(bytes(pending))
                pending.clear()
            if self.stopped:  # the command ended the link (REPLICAOF)
                break
        del buffer[:position]
        server.aof.before_reply()

    def send_ack(self):
        """REPLCONF ACK <offset applied>: once a second, and when the master asks (GETACK)."""
        if self.state == CONNECTED and self.channel is not None:
            try:
                self.channel.send("REPLCONF", "ACK", self.server.replication.offset)
            except OSError:
                self.close()

    def cron(self):
        """Once a second, from the server's cron: the ACK (a silent master is noticed by the socket's
        timeout, repl-timeout)."""
        self.send_ack()

    # -- what the server shows of it

    def buffer_sizes(self):
        """CLIENT LIST's byte counts for the master client: its query buffer is the stream not yet applied."""
        pending = len(self.channel.buffer) if self.channel is not None else 0
        return pending, 0, 0, 0, 0, 0, "r"

    def info_fields(self):
        """INFO replication's replica fields, in Redis 7.0's order, after role:slave."""
        config, replication = self.server.config, self.server.replication
        now = time.monotonic()
        if self.session is not None:
            applied, read = replication.offset, self.read_offset
        else:
            applied = read = replication.offset if self.continuable else 1
        fields = [("master_host", self.host), ("master_port", self.port),
                  ("master_link_status", "up" if self.state == CONNECTED else "down"),
                  ("master_last_io_seconds_ago", int(now - self.last_io) if self.session is not None else -1),
                  ("master_sync_in_progress", int(self.state == TRANSFER)),
                  ("slave_read_repl_offset", read), ("slave_repl_offset", applied)]
        transfer = self.transfer
        if self.state == TRANSFER and transfer is not None:
            read = transfer.read if transfer.path is not None else 0  # Redis's parser reads past the counter
            percent = read / transfer.size * 100 if transfer.size else 0
            fields += [("master_sync_total_bytes", transfer.size), ("master_sync_read_bytes", read),
                       ("master_sync_left_bytes", transfer.size - read),
                       ("master_sync_perc", "%.2f" % percent),
                       ("master_sync_last_io_seconds_ago", int(now - transfer.last_io))]
        if self.state != CONNECTED:
            fields.append(("master_link_down_since_seconds",
                           int(time.time() - self.down_since) if self.down_since else -1))
        fields += [("slave_priority", config["replica-priority"]),
                   ("slave_read_only", int(config["replica-read-only"])),
                   ("replica_announced", int(config["replica-announced"]))]
        return fields

    def role_reply(self):
        """ROLE: slave, the master's host and port, the link's state, the offset applied (-1 before the stream)."""
        offset = self.server.replication.offset if self.session is not None else -1
        return [b"slave", self.host.encode(), self.port, self.state.encode(), offset]


def follow(server, host, port):
    """Become (or stay) a replica, of this master now (Redis's replicationSetMaster). A master first makes
    its own history the one to continue, so the new master may answer PSYNC with +CONTINUE."""
    replication = server.replication
    old = replication.master
    if old is None:
        log.info("Before turning into a replica, using my own master parameters to synthesize a cached master: "
                 "I may be able to synchronize with the new master with just a partial transfer.")
        continuable, stream_db = True, 0
    else:
        old.stop()
        continuable, stream_db = old.continuable, old.stream_db
    for session in server.sessions.values():  # what they wait for may never come: they get an error and go
        if session.waiter is not None:
            session.waiter.result.set(ROLE_CHANGED)
    replication.master = link = MasterLink(server, host, port, continuable, stream_db)
    server.keyspace.set_replica(True)
    logs.set_replica(True)
    server.config.values["replicaof"] = "%s %d" % (host, port)
    link.start()


def follow_at_start(server, host, port, stream_db):
    """replicaof in the configuration: follow that master from the start, continuing the history dump.rdb
    held (stream_db not None) if it held one, as Redis's replicationCacheMasterUsingMyself after loading."""
    link = server.replication.master = MasterLink(server, host, port, stream_db is not None, stream_db or 0)
    server.keyspace.set_replica(True)
    logs.set_replica(True)
    link.start()


def promote(server):
    """Be a master again (Redis's replicationUnsetMaster): our history goes on under a new ID, the old one
    kept as replid2 so our former siblings and replicas can continue with PSYNC."""
    replication = server.replication
    link, replication.master = replication.master, None
    link.continuable = False
    link.stop()
    replication.shift_replid()
    log.warning("Setting secondary replication ID to %s, valid up to offset: %d. New replication ID is %s",
                replication.replid2, replication.second_replid_offset, replication.replid)
    disconnect_replicas(server)  # they learn the new ID as they reconnect, and continue
    replication.stream_db = -1  # our stream starts with a SELECT, whatever the master's last was
    server.propagation.refresh()
    server.keyspace.set_replica(False)
    logs.set_replica(False)
    server.config.values["replicaof"] = ""
    replication.no_replicas_since = time.monotonic()
    if server.config["appendonly"] and server.aof.state == loading.OFF:  # stopped for a sync that never ended
        server.aof.start()


def disconnect_replicas(server):
    """Our own replicas must sync again (Redis's disconnectSlaves): our history changed its name or its start."""
    replicas = server.replication.replicas
    if replicas:
        server.kill([link.session for link in list(replicas)])
