"""The master's side of replication: the replicas attached to us, their syncs, and their acknowledgements.

A client becomes a replica with SYNC or PSYNC. PSYNC <replid> <offset> is
served from the backlog when it can be (+CONTINUE, then the bytes it missed);
otherwise, as SYNC, by a full resynchronisation (fullsync.py): +FULLRESYNC
<replid> <offset>, an RDB of the keyspace at exactly that offset, then every
byte of the stream after it, which meanwhile waits in the link's buffer.
Once online, a replica gets the stream as it is produced (Replication.append
calls feed()); it answers REPLCONF ACK <offset> every second, which WAIT,
min-replicas-to-write, ROLE and INFO read.
"""
import logging
import time

log = logging.getLogger("mini-redis")

# A replica's states (Redis's SLAVE_STATE_*): waiting for a snapshot to begin, for it to end, receiving it, online.
WAIT_BGSAVE_START, WAIT_BGSAVE_END, SEND_BULK, ONLINE = "wait_bgsave_start", "wait_bgsave_end", "send_bulk", "online"
INFO_STATES = {WAIT_BGSAVE_START: "wait_bgsave", WAIT_BGSAVE_END: "wait_bgsave", SEND_BULK: "send_bulk",
               ONLINE: "online"}


class ReplicaLink:
    """One replica attached to us: its connection, what it announced, where its sync stands, its ACKs."""

    def __init__(self, server, session):
        self.server = server
        self.session = session
        self.connection = session.connection
        self.listening_port = 0  # REPLCONF listening-port
        self.announced_ip = None  # REPLCONF ip-address
        self.capabilities = set()  # REPLCONF capa: eof (diskless), psync2
        self.rdb_only = False  # REPLCONF rdb-only 1: the snapshot, then the link is closed
        self.excluded = frozenset()  # REPLCONF rdb-filter-only: the snapshot's parts left out (data, functions)
        self.old_protocol = False  # SYNC: no +FULLRESYNC line, as Redis's CLIENT_PRE_PSYNC
        self.state = None
        self.sync_offset = 0  # the offset the snapshot corresponds to (Redis's psync_initial_offset)
        self.buffer = None  # the stream after sync_offset, held while the snapshot goes out
        self.start_stream_on_ack = False  # diskless: the stream follows the RDB only once the replica ACKs
        self.ack_offset = 0
        self.ack_time = time.time()
        self.waiting_since = time.monotonic()  # in WAIT_BGSAVE_START (repl-diskless-sync-delay)
        self.last_progress = time.monotonic()  # during a transfer: when a chunk last went out
        self._over_soft_since = None

    # -- naming

    def ip(self):
        if self.announced_ip:
            return self.announced_ip
        return self.session.address.rsplit(":", 1)[0].strip("[]")

    def name(self):
        """How Redis's log names a replica (replicationGetSlaveName)."""
        if self.listening_port:
            return "%s:%d" % (self.ip(), self.listening_port)
        return "client id #%d" % self.session.id

    # -- the stream

    def feed(self, data):
        """Stream bytes produced after this replica's snapshot offset: sent, or held until the snapshot is out."""
        if self.state == WAIT_BGSAVE_START:
            return  # the snapshot it will get has not been taken: it will contain this
        if self.buffer is None:
            self.connection.push(data)
            return
        self.buffer += data
        if self.connection.over_output_limit(len(self.buffer)):
            log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
                        self.session.describe())
            self.drop()

    def start_stream(self):
        """The snapshot is out: what was held goes now, and the stream follows it directly (replicaStartCommandStream)."""
        held, self.buffer = self.buffer, None
        self.start_stream_on_ack = False
        if held:
            self.connection.push(bytes(held))

    def waiting_bytes(self):
        """The stream this replica has yet to receive: held while its snapshot goes out, then queued to its
        socket (CLIENT LIST's omem)."""
        return len(self.buffer or b"") + self.connection.buffer_sizes()[5]

    def put_online(self):
        self.state = ONLINE
        self.ack_time = time.time()
        log.info("Synchronization with replica %s succeeded", self.name())

    def acknowledge(self, offset):
        """REPLCONF ACK <offset>: how far the replica got; the first ACK after a diskless RDB starts its stream."""
        self.ack_offset = max(self.ack_offset, offset)
        self.ack_time = time.time()
        if self.start_stream_on_ack and self.state == ONLINE:
            self.start_stream()
        self.server.replication.acknowledged()

    def lag(self):
        return int(time.time() - self.ack_time)

    def online(self):
        return self.state == ONLINE

    def state_name(self):
        """The state as INFO and the log name it (replstateToString)."""
        return INFO_STATES[self.state]

    def drop(self):
        """Close the connection; the server's cleanup calls detach()."""
        self.server.kill([self.session])

    def info_line(self):
        return "ip=%s,port=%d,state=%s,offset=%d,lag=%d" % (
            self.ip(), self.listening_port, self.state_name(), self.ack_offset, self.lag())


def link_for(session):
    """The session's ReplicaLink, made on its first REPLCONF (not yet attached as a replica)."""
    if session.replica is None:
        session.replica = ReplicaLink(session.server, session)
    return session.replica


def attach(server, link):
    """The client is now a replica (CLIENT_SLAVE): counted, listed, fed the stream. The first replica
    makes the backlog, under a new replication ID, as Redis's syncCommand does."""
    replication = server.replication
    replication.replicas.append(link)
    if replication.backlog is None:
        replication.new_history()
        replication.create_backlog()
        server.propagation.refresh()
        log.info("Replication backlog created, my new replication IDs are '%s' and '%s'",
                 replication.replid, replication.replid2)


def detach(server, link):
    """The replica's connection is gone (freeClient's replica part)."""
    replication = server.replication
    if link not in replication.replicas:
        return
    replication.replicas.remove(link)
    if link.state == ONLINE:
        log.info("Connection with replica %s lost.", link.name())
    if not replication.replicas:
        replication.no_replicas_since = time.monotonic()
    replication.acknowledged()


def try_partial(server, link, replid, offset):
    """PSYNC's partial resynchronisation (masterTryPartialResynchronization): True if served from the backlog."""
    replication = server.replication
    if replid != replication.replid and (replid != replication.replid2 or offset > replication.second_replid_offset):
        if replid == "?":
            log.info("Full resync requested by replica %s", link.name())
        elif replid not in (replication.replid, replication.replid2):
            log.info("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '%s', my "
                     "replication IDs are '%s' and '%s')", replid, replication.replid, replication.replid2)
        else:
            log.info("Partial resynchronization not accepted: Requested offset for second ID was %d, but I can "
                     "reply up to %d", offset, replication.second_replid_offset)
        return False
    if not replication.can_continue(replid, offset):
        log.info("Unable to partial resync with replica %s for lack of backlog (Replica request was: %d).",
                 link.name(), offset)
        if offset > replication.offset:
            log.warning("Warning: replica %s tried to PSYNC with an offset that is greater than the master "
                        "replication offset.", link.name())
        return False
    backlog = replication.backlog.since(offset)
    line = b"+CONTINUE %s\r\n" % replication.replid.encode() if "psync2" in link.capabilities else b"+CONTINUE\r\n"
    link.state = ONLINE
    link.ack_time = time.time()
    link.buffer = bytearray()  # what is written while the backlog goes out follows it
    replication.replicas.append(link)
    try:
        link.connection.send_now(line, counted=False)  # as Redis, which writes it straight to the socket
        link.connection.send_now(backlog)
    except OSError:
        return True  # the replica left: its cleanup detaches it
    log.info("Partial resynchronization request from %s accepted. Sending %d bytes of backlog starting from "
             "offset %d.", link.name(), len(backlog), offset)
    link.start_stream()
    return True


def cron(server):
    """Once a second (replicationCron): PING the replicas every repl-ping-replica-period, keep replicas that
    wait for a snapshot alive with a newline, drop the silent ones, free a backlog nobody needed for
    repl-backlog-ttl."""
    replication, config = server.replication, server.config
    replication.cron_loops += 1
    if replication.replicas and replication.cron_loops % config["repl-ping-replica-period"] == 0 \
            and replication.master is None and server.pause is None:
        replication.feed_ping()
    now, timeout = time.time(), config["repl-timeout"]
    for link in list(replication.replicas):
        if link.state == WAIT_BGSAVE_START or (link.state == WAIT_BGSAVE_END and not server.fullsync.diskless):
            link.connection.push(b"\n", counted=False)
        elif link.state == ONLINE and not link.old_protocol and now - link.ack_time > timeout:
            log.warning("Disconnecting timedout replica (streaming sync): %s", link.name())
            link.drop()
        elif link.state == SEND_BULK and time.monotonic() - link.last_progress > timeout:
            log.warning("Disconnecting timedout replica (full sync): %s", link.name())
            link.drop()
    ttl = config["repl-backlog-ttl"]
    if (not replication.replicas and ttl and replication.backlog is not None and replication.master is None
            and time.monotonic() - replication.no_replicas_since > ttl):
        replication.free_backlog()
        server.propagation.refresh()
        log.info("Replication backlog freed after %d seconds without connected replicas.", ttl)


def buffer_memory(server):
    """(mem_replication_backlog, mem_clients_slaves), as Redis 7.0's getMemoryOverheadData: there one buffer
    holds the backlog and what every replica has yet to receive, and the replicas are charged only what it
    holds beyond repl-backlog-size. Ours are separate buffers; the shared one would be the longest of them."""
    replication = server.replication
    if replication.backlog is None:
        return 0, 0
    shared = max([replication.backlog.histlen] + [link.waiting_bytes() for link in replication.replicas])
    size = server.config["repl-backlog-size"]
    if replication.replicas and shared > size:
        return size, shared - size
    return shared, 0
