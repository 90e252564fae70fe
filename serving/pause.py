"""Client pauses, as Redis 7.0's pauseClients/unpauseClients: while one lasts, clients' commands wait
(writes only, or all of them), and so do active expiry and eviction (blockPostponeClient).

Pauses are kept apart by purpose, as in Redis: CLIENT PAUSE's, a FAILOVER's and a SHUTDOWN's (waiting
for its replicas). Each has its mode and deadline and ends on its own (CLIENT UNPAUSE ends only CLIENT
PAUSE's, a failover or a shutdown lifts only its own); the strictest of those on applies, so a CLIENT
PAUSE ALL during a failover holds reads until its own deadline, then writes stay held by the failover.

The server holds a ClientPause only while one is on: with none, nothing here costs a command anything.
"""
import time

from gevent.event import AsyncResult

PAUSE_WRITE, PAUSE_ALL = 1, 2
BY_CLIENT_COMMAND, DURING_SHUTDOWN, DURING_FAILOVER = "client-command", "shutdown", "failover"  # pause_purpose
UNTIL_LIFTED_MS = 2 ** 62  # a failover's or a shutdown's pause: Redis's LLONG_MAX, until its purpose lifts it
SCRIPT_CALLS = frozenset(("eval", "evalsha", "fcall"))  # may write, as their script's flags say


class ClientPause:
    """The pauses on, by purpose, each (mode, deadline in monotonic seconds), and the clients they hold.

    mode is the strictest among them, deadline the latest of those of that mode (Redis's
    client_pause_type and client_pause_end_time): when it passes, the expired purposes go."""

    def __init__(self, purposes):
        self.purposes = dict(purposes)
        self.ended = False
        self._waiting = {}  # one result per paused client, in the order they came: released in that order
        self._settle()

    def add(self, purpose, mode, deadline):
        """pauseClients(): for a purpose already on, the wider mode and the later deadline win."""
        if purpose in self.purposes:
            old_mode, old_deadline = self.purposes[purpose]
            mode, deadline = max(mode, old_mode), max(deadline, old_deadline)
        self.purposes[purpose] = (mode, deadline)
        self._settle()

    def _settle(self):
        self.mode = max(mode for mode, _ in self.purposes.values())
        self.deadline = max(deadline for mode, deadline in self.purposes.values() if mode == self.mode)

    def over(self):
        """Whether the effective pause's deadline passed: some purpose expired (see end_expired_pauses)."""
        return self.ended or time.monotonic() >= self.deadline

    def waiting(self):
        return len(self._waiting)

    def release(self):
        """This pause is replaced or over: wake the first waiter; each hands the turn on as it goes (see wait)."""
        self.ended = True
        self._wake_next()

    def _wake_next(self):
        for result in self._waiting:
            if not result.ready():
                result.set(True)
                return

    def holds(self, command, session):
        """Whether this command must wait: every one under ALL; under WRITE, writes and the
        may-replicate ones (PUBLISH...), an EXEC whose transaction holds one, and a script that may
        write (EVAL, EVALSHA, FCALL unless its flags say no-writes, as Redis's evalGetCommandFlags)."""
        if self.mode == PAUSE_ALL:
            return True
        scripting = session.server.scripting
        if _may_replicate(command) or command.name in SCRIPT_CALLS and scripting.may_write(session.argv):
            return True
        queued = session.multi if command.name == "exec" else None
        return queued is not None and any(_may_replicate(row) or row.name in SCRIPT_CALLS and scripting.may_write(argv)
                                          for row, _, argv in queued)

    def wait(self, session):
        """Wait until this pause is over or replaced; False if the client hung up meanwhile.

        Only a change of the pauses (UNPAUSE, a purpose lifted, or the cron or a command finding a
        deadline passed, as Redis's checks run) releases the waiters, one after the other in the order
        they came: each wakes the next as it leaves, and checks again (a pause that still holds it
        takes it back, in the same order), or runs its command before the next one can run (a
        greenlet runs on until it waits), so the commands run in that order, as in Redis. The
        session's wait_for watches the socket as for a blocked command: a client that leaves is
        noticed, and its command never runs."""
        result = AsyncResult()
        self._waiting[result] = None
        try:
            released = session.wait_for(result, None)
        finally:
            del self._waiting[result]
            if self.ended:
                self._wake_next()
        return released is not None


def _may_replicate(command):
    return "write" in command.flags or "may_replicate" in command.flags


def pause_clients(server, purpose, mode, milliseconds):
    """pauseClients: start this purpose's pause, or lengthen and widen it; the others are left as they are."""
    if time.time() * 1000 + milliseconds >= 2 ** 63:
        milliseconds = 0  # Redis adds it to the clock in a long long, which wraps into the past
    deadline = time.monotonic() + milliseconds / 1000
    pause = server.client_pause
    if pause is None:
        _replace(server, None, ClientPause({purpose: (mode, deadline)}))
    else:
        pause.add(purpose, mode, deadline)


def unpause_clients(server, purpose):
    """unpauseClients: this purpose's pause ends (CLIENT UNPAUSE, a failover or a shutdown over); the
    others stay, and everyone it held is released to check again."""
    pause = server.client_pause
    if pause is not None and purpose in pause.purposes:
        _lift(server, pause, [purpose])


def end_expired_pauses(server):
    """The effective deadline passed (the cron, or a command, notices): the purposes whose deadlines passed
    end, as Redis's checkClientPauseTimeoutAndReturnIfPaused."""
    pause = server.client_pause
    if pause is not None and pause.over():
        _lift(server, pause, ())


def _lift(server, pause, purposes):
    """Those purposes end, and any other whose deadline passed, as updateClientPauseTypeAndEndTime clears them."""
    now = time.monotonic()
    remaining = {purpose: (mode, deadline) for purpose, (mode, deadline) in pause.purposes.items()
                 if purpose not in purposes and deadline > now}
    _replace(server, pause, ClientPause(remaining) if remaining else None)
    pause.release()


def _replace(server, old, new):
    """server.pause follows the client pause, unless a running script's gate is there (scripting/busy.py):
    that one puts server.client_pause back when the script ends."""
    server.client_pause = new
    if server.pause is old:
        server.pause = new
    server.keyspace.paused = new is not None  # active and lazy expiry, and eviction, wait for the end


def paused_clients(server):
    """How many clients wait out the pause: INFO counts them among blocked_clients, as Redis does."""
    return server.client_pause.waiting() if server.client_pause is not None else 0


def wait_while_paused(session, command):
    """Before a command (off the plain lane, which a pause turns off): wait while the pause holds it.
    False if the client hung up while it waited: its command must not run.

    server.pause may also hold a running script's gate (scripting/busy.py), which has this
    interface and refuses commands with -BUSY once the script is busy; when the script ends the
    pause it covered comes back, so the check starts again after every wait."""
    server = session.server
    while True:
        pause = server.pause
        if pause is None or session.monitoring and isinstance(pause, ClientPause):  # Redis never pauses a replica
            return True
        if not pause.holds(command, session):
            return True
        if pause.over():  # a deadline passed, and the cron has not noticed yet
            end_expired_pauses(server)
            continue
        session.paused = True
        try:
            if not pause.wait(session):
                return False
        finally:
            session.paused = False
