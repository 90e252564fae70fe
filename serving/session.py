"""What the server knows about one connected client, apart from its socket.

Commands read and change it (SELECT, HELLO, CLIENT SETNAME, QUIT, MULTI,
WATCH, SUBSCRIBE); the connection loop in server.py owns the socket,
consults the flags and supplies deliver() and wait_for().
"""
import time

from errors import UNBLOCKED, UNBLOCKED_ROLE_CHANGED, ReplyError
from protocol import Frames
from storage.blocking import ROLE_CHANGED, UNBLOCK_ERROR, Waiter, wait_without_connection

REPLY_ON, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP = "on", "off", "skip-next", "skip"
NO_REPLY = Frames()  # what the writer writes for a reply CLIENT REPLY OFF or SKIP withholds: nothing


def _undeliverable(data):
    """A session without a connection (tests on the keyspace) drops pushed messages."""


class Session:
    """One client: its id, addresses, database, protocol version and names."""

    __slots__ = ("server", "id", "address", "local_address", "fd", "created", "last_active",
                 "db", "protocol", "name", "last_command", "argv",
                 "close_after_reply", "in_exec", "wait_for", "deliver", "authenticated",
                 "multi", "multi_failed", "watching", "watch_dirty", "channels", "patterns", "shard_channels",
                 "connection", "replies", "monitoring", "own_monitor_lines", "no_evict", "waiter", "paused",
                 "blocked_ns", "unix_socket", "user", "tracking", "replica", "master_client", "stream_offset")

    def __init__(self, server, client_id, address, local_address, fd):
        self.server = server
        self.id = client_id
        self.address = address
        self.local_address = local_address
        self.fd = fd
        self.created = self.last_active = time.monotonic()
        self.db = server.keyspace[0]
        self.protocol = 2
        self.name = b""
        self.last_command = None  # the row of the last command looked up (CLIENT LIST's cmd)
        self.unix_socket = False  # connected through unixsocket (CLIENT LIST's flag U)
        self.argv = []  # the command being run, as sent (for errors that quote it)
        self.close_after_reply = False  # QUIT: send the reply, then close
        self.in_exec = False  # inside EXEC, blocking commands answer at once instead of blocking
        self.wait_for = wait_without_connection  # server.py swaps in one that also notices a hang-up
        self.deliver = _undeliverable  # server.py: queue pushed bytes (pub/sub messages) for the client
        self.user = server.acl.default  # the ACL user whose permissions apply (AUTH, HELLO AUTH change it)
        self.authenticated = not server.acl.auth_required  # AUTH sets it; see access.is_authenticated
        self.multi = None  # the queued (command, arguments, argv) between MULTI and EXEC
        self.multi_failed = False  # a command was refused while queuing: EXEC aborts
        self.watching = {}  # (db index, key) -> whether it was already expired when watched
        self.watch_dirty = False
        self.channels = set()
        self.patterns = set()
        self.shard_channels = set()
        self.blocked_ns = 0  # time spent blocked, which the command's duration leaves out (see commands.slow_call)
        self.connection = None  # server.py's Connection: CLIENT LIST reads its buffers
        self.replies = REPLY_ON  # CLIENT REPLY: on, off, or skipping (see outgoing)
        self.monitoring = False  # MONITOR
        self.own_monitor_lines = []  # a monitor's own commands, shown after their replies
        self.no_evict = False  # CLIENT NO-EVICT: only shown, there is no client eviction
        self.waiter = None  # while blocked on keys: what CLIENT UNBLOCK wakes
        self.paused = False  # waiting out a CLIENT PAUSE
        self.tracking = None  # CLIENT TRACKING ON: its serving.tracking.ClientTracking
        self.replica = None  # REPLCONF or PSYNC: its replication.master.ReplicaLink
        self.master_client = False  # the client our master's stream runs as (replication/replica.py): flag M
        self.stream_offset = 0  # the replication offset after its last command (Redis's woff), for WAIT

    def is_replica(self):
        """Redis's CLIENT_SLAVE: a SYNC or PSYNC made this client one of our replicas (flag S)."""
        return self.replica is not None and self.replica.state is not None

    def outgoing(self, reply):
        """What goes out for a reply when CLIENT REPLY is OFF or SKIP, or this is a monitor (off the
        plain lane): NO_REPLY when withheld; a monitor's own command's line after its reply.

        SKIP withholds its own reply and the next command's, as Redis's resetClient() counts; a
        monitor still sees the SKIP itself, whose line Redis writes before the skipping starts."""
        lines, mode = self.own_monitor_lines, self.replies
        if mode == REPLY_SKIP_NEXT:
            self.replies = REPLY_SKIP
            reply = NO_REPLY
        elif mode != REPLY_ON:
            if mode == REPLY_SKIP:
                self.replies = REPLY_ON
            lines.clear()
            return NO_REPLY
        if lines:
            reply = Frames([reply, *lines])
            lines.clear()
        return reply

    def select(self, index):
        self.db = self.server.keyspace[index]

    def block_on(self, keys, serve, timeout):
        """Block this client until serve(key) gives a reply for one of keys; None on timeout (seconds, 0 = forever).

        serve runs in the writer's greenlet, right after its command, as Redis serves
        blocked clients; this greenlet only sleeps on the result.
        """
        if self.in_exec:
            return None
        blocking = self.server.keyspace.blocking
        waiter = self.waiter = Waiter(self.db, keys, serve, timeout)
        blocking.block(waiter)
        propagator = self.server.keyspace.propagator  # other clients' commands run while this one waits
        held = propagator.detach() if propagator is not None else None
        started = time.perf_counter_ns()
        try:
            reply = self.wait_for(waiter.result, timeout or None)
        finally:
            self.waiter = None
            self.blocked_ns += time.perf_counter_ns() - started
            blocking.unblock(waiter)
            if held is not None:
                propagator.attach(held)
        if reply is UNBLOCK_ERROR:
            raise ReplyError(UNBLOCKED)
        if reply is ROLE_CHANGED:
            self.close_after_reply = True
            raise ReplyError(UNBLOCKED_ROLE_CHANGED)
        return reply

    def propagate(self, *commands):
        """Log these commands (argv lists of bytes, in this client's database) to the AOF instead of the
        command running; none: log nothing for it (it changed nothing, or logged its effects itself)."""
        propagator = self.server.keyspace.propagator
        if propagator is not None:
            propagator.replace(self.db.index, commands)

    # -- transactions

    def discard_transaction(self):
        self.multi = None
        self.multi_failed = False

    def watch(self, key):
        slot = (self.db.index, key)
        if slot not in self.watching:
            deadline = self.db.expires.get(key)
            self.watching[slot] = deadline is not None and deadline <= self.db.keyspace.clock()
            self.server.keyspace.watch(self, *slot)

    def unwatch(self):
        for slot in self.watching:
            self.server.keyspace.unwatch(self, *slot)
        self.watching = {}
        self.watch_dirty = False

    def watch_broken(self):
        """Whether EXEC must fail: a watched key changed, or expired since WATCH (Redis 7.0's check)."""
        if self.watch_dirty:
            return True
        keyspace = self.server.keyspace
        now = keyspace.clock()
        for (index, key), expired_when_watched in self.watching.items():
            deadline = keyspace[index].expires.get(key)
            if not expired_when_watched and deadline is not None and deadline <= now:
                return True
        return False

    # -- pub/sub

    def subscription_count(self):
        """The count SUBSCRIBE and PSUBSCRIBE confirm (shard channels are counted apart, as in Redis)."""
        return len(self.channels) + len(self.patterns)

    def subscribed(self):
        """Redis's CLIENT_PUBSUB: in the subscribed context (RESP2), the pubsub output class, flag P."""
        return bool(self.channels or self.patterns or self.shard_channels)

    def subscribe(self, channel):
        if self.server.pubsub.subscribe(self, channel):
            self.channels.add(channel)

    def unsubscribe(self, channel):
        self.server.pubsub.unsubscribe(self, channel)
        self.channels.discard(channel)

    def psubscribe(self, pattern):
        if self.server.pubsub.psubscribe(self, pattern):
            self.patterns.add(pattern)

    def punsubscribe(self, pattern):
        self.server.pubsub.punsubscribe(self, pattern)
        self.patterns.discard(pattern)

    def ssubscribe(self, channel):
        if self.server.pubsub.ssubscribe(self, channel):
            self.shard_channels.add(channel)

    def sunsubscribe(self, channel):
        self.server.pubsub.sunsubscribe(self, channel)
        self.shard_channels.discard(channel)

    # -- leaving

    def reset(self):
        """RESET: back to the state of a fresh connection (the id and addresses stay)."""
        self.discard_transaction()
        self.unwatch()
        self.leave_channels()
        self.db = self.server.keyspace[0]
        self.protocol = 2
        self.name = b""
        self.user = self.server.acl.default
        self.authenticated = not self.server.acl.auth_required
        self.replies = REPLY_ON
        self.no_evict = False
        self.stop_monitoring()
        self.server.tracking.disable(self)

    def leave_channels(self):
        for channel in list(self.channels):
            self.unsubscribe(channel)
        for pattern in list(self.patterns):
            self.punsubscribe(pattern)
        for channel in list(self.shard_channels):
            self.sunsubscribe(channel)

    def close(self):
        """The connection is gone: drop everything that refers to this session."""
        self.unwatch()
        self.leave_channels()
        self.stop_monitoring()
        self.server.tracking.disable(self)

    def stop_monitoring(self):
        if self.monitoring:
            self.monitoring = False
            self.server.monitors.remove(self)

    def _flags(self):
        """CLIENT LIST's flags, in Redis's order: S replica, O monitor, M our master, P subscribed, x in MULTI, b
        blocked, t tracking
        (R its redirect gone, B broadcasting), d a WATCHed key changed, c closing after the reply, U on the
        Unix socket, e no-evict; N for none. (Redis's u and A mark a client between two steps of its event
        loop, never seen from another here.)"""
        tracking = self.tracking
        flags = "".join(letter for letter, on in (
            ("S", self.is_replica()), ("O", self.monitoring), ("M", self.master_client), ("P", self.subscribed()),
            ("x", self.multi is not None),
            ("b", self.waiter is not None or self.paused), ("t", tracking is not None),
            ("R", tracking is not None and tracking.broken_redirect), ("B", tracking is not None and tracking.bcast),
            ("d", self.watch_dirty), ("c", self.close_after_reply), ("U", self.unix_socket),
            ("e", self.no_evict)) if on)
        return flags or "N"

    def buffers(self, caller=None):
        """(argv-mem, multi-mem, the connection's buffer sizes, tot-mem) as CLIENT LIST shows them to
        caller; the cron adds up the tot-mem of all for INFO's mem_clients_normal."""
        argv_mem = sum(map(len, self.argv)) if self is caller or self.waiter is not None else 0
        multi_mem = sum(len(arg) for _, _, argv in self.multi for arg in argv) if self.multi else 0
        sizes = self.connection.buffer_sizes() if self.connection is not None else (0, 0, 0, 0, 0, 0, "r")
        if self.replica is not None:  # a replica's omem holds its stream also while its snapshot goes out
            sizes = (*sizes[:5], self.replica.waiting_bytes(), sizes[6])
        qbuf, qbuf_free, read_size, obl, _, omem, _ = sizes
        return argv_mem, multi_mem, sizes, qbuf + qbuf_free + read_size + argv_mem + multi_mem + obl + omem

    def describe(self, caller=None):
        """The CLIENT LIST / CLIENT INFO line, with Redis 7.0's fields in its order; the byte counts are
        our buffers': the query buffer, the command's arguments (the caller's, or a blocked one's),
        the queued transaction's, and the replies waiting to be sent."""
        now = time.monotonic()
        argv_mem, multi_mem, sizes, total = self.buffers(caller)
        qbuf, qbuf_free, read_size, obl, oll, omem, events = sizes
        return ("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
                "ssub=%d multi=%d qbuf=%d qbuf-free=%d argv-mem=%d multi-mem=%d rbs=%d rbp=%d obl=%d oll=%d "
                "omem=%d tot-mem=%d events=%s cmd=%s user=%s redir=%d resp=%d"
                % (self.id, self.address, self.local_address, self.fd,
                   self.name.decode(errors="replace"), now - self.created, now - self.last_active,
                   self._flags(), self.db.index, len(self.channels), len(self.patterns),
                   len(self.shard_channels), -1 if self.multi is None else len(self.multi), qbuf, qbuf_free, argv_mem,
                   multi_mem, read_size, read_size, obl, oll, omem, total, events,
                   self.last_command.name if self.last_command else "NULL",
                   self.user.name.decode(errors="replace"), -1 if self.tracking is None else self.tracking.redirect,
                   self.protocol))
