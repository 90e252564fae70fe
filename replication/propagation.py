"""Redis's propagate(): every logged change goes, once and in one form, to the AOF and to the replication stream.

The dispatcher (commands.run) brackets each command with begin()/end(); as
Redis's call(), a command is logged as sent only if it changed something (it
added to keyspace.dirty, see commands.call), unless it said what to log
instead (Session.propagate: a rewrite, a forced propagation, or nothing, as
EVAL and EXEC whose commands log themselves). What a command logs waits
until the outermost command ends, then goes out, wrapped in MULTI/EXEC when
it is several commands (a script, a transaction, a served XREADGROUP's
claims), as Redis's propagatePendingCommands wraps also_propagate. Changes
made outside any command (expiry's DEL, eviction, a blocked client served
later) come through feed().

Each change has targets, Redis's PROPAGATE_AOF and PROPAGATE_REPL bits: both
as a rule, the replicas alone for PUBLISH, what redis.set_repl chose for a
script's commands (Propagation.targets while they run).

While neither the AOF is on nor a backlog exists, keyspace.propagator is
None (refresh()), so a plain client's commands skip all of this.
"""
from persistence.aof import OFF
from persistence.aof_format import encode_commands

AOF, REPLICAS = 1, 2  # PROPAGATE_AOF, PROPAGATE_REPL
BOTH = AOF | REPLICAS
MULTI, EXEC = [b"MULTI"], [b"EXEC"]


class Propagation:
    """The server's one propagator: the commands running, what they logged, and where it goes."""

    def __init__(self, server):
        self.server = server
        self.targets = BOTH  # where changes logged now may go (a script's redis.set_repl narrows it)
        self._levels = []  # per command running: keyspace.dirty as it started, None once it said what to log
        self._pending = []  # (db index, argv, targets) logged by the commands running, sent when the outermost ends

    def refresh(self):
        """Install this propagator while something listens (AOF on, a backlog kept, writes gated on
        min-replicas-to-write), or None, so the plain lane stays plain."""
        server = self.server
        needed = (server.aof.state != OFF or server.replication.backlog is not None
                  or server.replication.gates_writes())
        server.keyspace.propagator = self if needed else None

    def feed(self, index, *commands, targets=BOTH):
        """Log changes (one, or several that Redis wraps in MULTI/EXEC, as a served XREADGROUP's); inside a
        command they wait for the command's end (and may be grouped with MULTI)."""
        ops = [(index, argv, targets & self.targets) for argv in commands]
        if self._levels:
            self._pending.extend(ops)
        elif ops:
            self._emit(ops)

    def begin(self):
        """A command starts (commands.run): what it logs is held until the outermost command ends."""
        self._levels.append(self.server.keyspace.dirty)

    def replace(self, index, commands):
        """The running command logs these commands (maybe none) instead of itself (Session.propagate)."""
        if self._levels:
            self._levels[-1] = None
            self._pending.extend((index, argv, self.targets) for argv in commands)
        else:
            self._emit([(index, argv, self.targets) for argv in commands])

    def end(self, session):
        """A command ended: unless it said what to log, log it as sent if it changed something."""
        if not self._levels:
            return  # the propagator was installed by this very command
        dirty_before = self._levels.pop()
        if dirty_before is not None and self.server.keyspace.dirty > dirty_before:
            self._pending.append((session.db.index, session.argv, self.targets))
        if not self._levels:
            if self._pending:
                ops, self._pending = self._pending, []
                self._emit(ops)
            session.stream_offset = self.server.replication.offset  # what WAIT waits for (Redis's c->woff)

    def detach(self):
        """A command is about to wait (a blocking pop): send what it logged so far and put its levels aside,
        since other clients' commands run meanwhile; what attach() takes back."""
        levels, self._levels = self._levels, []
        if self._pending:
            ops, self._pending = self._pending, []
            self._emit(ops)
        return levels, self.server.keyspace.dirty

    def attach(self, held):
        """The waiting command goes on: the changes other clients made meanwhile are not its own."""
        levels, dirty_then = held
        waited = self.server.keyspace.dirty - dirty_then
        self._levels = [None if level is None else level + waited for level in levels]

    def _emit(self, ops):
        """Send what goes somewhere (Redis's shouldPropagate), in MULTI/EXEC if that is several commands."""
        server, replication = self.server, self.server.replication
        listening = (AOF if server.aof.state != OFF else 0) | (
            REPLICAS if replication.backlog is not None and replication.master is None else 0)  # a replica proxies
        ops = [op for op in ops if op[2] & listening]
        if not ops:
            return
        if len(ops) > 1:  # MULTI in the first command's database; EXEC in none (Redis's dbid -1): no SELECT for it
            ops = [(ops[0][0], MULTI, BOTH), *ops, (None, EXEC, BOTH)]
        if listening & AOF:
            server.aof.emit([(index, argv) for index, argv, targets in ops if targets & AOF])
        if listening & REPLICAS:
            replication.append(stream_bytes(replication, [(index, argv) for index, argv, targets in ops
                                                          if targets & REPLICAS]))


def stream_bytes(replication, ops):
    """ops as the replication stream carries them: a SELECT before a command of another database than the
    stream's last one (Redis's slaveseldb)."""
    data, replication.stream_db = encode_commands(ops, replication.stream_db)
    return data
