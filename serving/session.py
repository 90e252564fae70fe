"""What the server knows about one connected client, apart from its socket.

Commands read and change it (SELECT, HELLO, CLIENT SETNAME, QUIT, MULTI,
WATCH, SUBSCRIBE); the connection loop in server.py owns the socket,
consults the flags and supplies deliver() and wait_for().
"""
import time

from storage.blocking import Waiter, wait_without_connection


def _undeliverable(data):
    """A session without a connection (tests on the keyspace) drops pushed messages."""


class Session:
    """One client: its id, addresses, database, protocol version and names."""

    __slots__ = ("server", "id", "address", "local_address", "fd", "created", "last_active",
                 "db", "protocol", "name", "lib_name", "lib_version", "last_command", "argv",
                 "close_after_reply", "in_exec", "wait_for", "deliver", "authenticated",
                 "multi", "multi_failed", "watching", "watch_dirty", "channels", "patterns", "blocked_ns")

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
        self.lib_name = b""
        self.lib_version = b""
        self.last_command = "NULL"
        self.argv = []  # the command being run, as sent (for errors that quote it)
        self.close_after_reply = False  # QUIT: send the reply, then close
        self.in_exec = False  # inside EXEC, blocking commands answer at once instead of blocking
        self.wait_for = wait_without_connection  # server.py swaps in one that also notices a hang-up
        self.deliver = _undeliverable  # server.py: queue pushed bytes (pub/sub messages) for the client
        self.authenticated = not server.config["requirepass"]  # AUTH sets it; see access.is_authenticated
        self.multi = None  # the queued (command, arguments, argv) between MULTI and EXEC
        self.multi_failed = False  # a command was refused while queuing: EXEC aborts
        self.watching = {}  # (db index, key) -> whether it was already expired when watched
        self.watch_dirty = False
        self.channels = set()
        self.patterns = set()
        self.blocked_ns = 0  # time spent blocked, which the command's duration leaves out (see commands.slow_call)

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
        waiter = Waiter(self.db, keys, serve)
        blocking.block(waiter)
        propagator = self.server.keyspace.propagator  # other clients' commands run while this one waits
        held = propagator.detach() if propagator is not None else None
        started = time.perf_counter_ns()
        try:
            return self.wait_for(waiter.result, timeout or None)
        finally:
            self.blocked_ns += time.perf_counter_ns() - started
            blocking.unblock(waiter)
            if held is not None:
                propagator.attach(held)

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
        return len(self.channels) + len(self.patterns)

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

    # -- leaving

    def reset(self):
        """RESET: back to the state of a fresh connection (the id and addresses stay)."""
        self.discard_transaction()
        self.unwatch()
        self.leave_channels()
        self.db = self.server.keyspace[0]
        self.protocol = 2
        self.name = b""
        self.authenticated = not self.server.config["requirepass"]

    def leave_channels(self):
        for channel in list(self.channels):
            self.unsubscribe(channel)
        for pattern in list(self.patterns):
            self.punsubscribe(pattern)

    def close(self):
        """The connection is gone: drop everything that refers to this session."""
        self.unwatch()
        self.leave_channels()

    def _flags(self):
        """CLIENT LIST's flags: x in MULTI, P subscribed, N for none."""
        flags = ("x" if self.multi is not None else "") + ("P" if self.subscription_count() else "")
        return flags or "N"

    def describe(self):
        """The CLIENT LIST / CLIENT INFO line, with Redis's field names."""
        now = time.monotonic()
        return ("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=%s db=%d sub=%d psub=%d "
                "ssub=0 multi=%d qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 "
                "omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s"
                % (self.id, self.address, self.local_address, self.fd,
                   self.name.decode(errors="replace"), now - self.created, now - self.last_active,
                   self._flags(), self.db.index, len(self.channels), len(self.patterns),
                   -1 if self.multi is None else len(self.multi), self.last_command, self.protocol,
                   self.lib_name.decode(errors="replace"), self.lib_version.decode(errors="replace")))
