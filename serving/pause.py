"""CLIENT PAUSE: while a pause lasts, clients' commands wait (writes only, or all of them), and so do
active expiry and eviction, as in Redis 7.0 (pauseClients, blockPostponeClient).

The server holds a ClientPause only while one is on: with none, nothing here costs a command anything.
"""
import time

from gevent.event import AsyncResult

PAUSE_WRITE, PAUSE_ALL = 1, 2
SCRIPT_CALLS = frozenset(("eval", "evalsha", "fcall"))  # may write, as their script's flags say


class ClientPause:
    """One pause: its mode and deadline (monotonic seconds); a later pause only lengthens or widens it."""

    def __init__(self, mode, deadline):
        self.mode = mode
        self.deadline = deadline
        self.ended = False
        self._waiting = {}  # one result per paused client, in the order they came: released in that order

    def extend(self, mode, deadline):
        """pauseClients(): the wider mode and the later deadline win."""
        self.mode = max(self.mode, mode)
        self.deadline = max(self.deadline, deadline)

    def over(self):
        return self.ended or time.monotonic() >= self.deadline

    def waiting(self):
        return len(self._waiting)

    def release(self):
        """Wake the first waiter; each hands the turn on as it goes (see wait)."""
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
        """Wait until the pause ends; False if the client hung up meanwhile.

        Only end_pause() (UNPAUSE, or the cron or a command finding the deadline passed, as
        Redis's checks run) releases the waiters, one after the other in the order they came:
        each wakes the next as it leaves, and runs its command before that one can run (a
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


def pause_clients(server, mode, milliseconds):
    """CLIENT PAUSE: start a pause, or lengthen and widen the one on."""
    if time.time() * 1000 + milliseconds >= 2 ** 63:
        milliseconds = 0  # Redis adds it to the clock in a long long, which wraps into the past
    deadline = time.monotonic() + milliseconds / 1000
    if server.pause is None:
        server.pause = ClientPause(mode, deadline)
    else:
        server.pause.extend(mode, deadline)
    server.keyspace.paused = True  # active and lazy expiry, and eviction, wait for the end


def end_pause(server):
    """CLIENT UNPAUSE, or the deadline passed (the cron, or a command, notices): release everyone, in order."""
    pause = server.pause
    if pause is not None:
        server.pause = None
        server.keyspace.paused = False
        pause.release()


def paused_clients(server):
    """How many clients wait out the pause: INFO counts them among blocked_clients, as Redis does."""
    return server.pause.waiting() if server.pause is not None else 0


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
        if pause.over():  # its deadline passed, and the cron has not noticed yet
            end_pause(server)
            return True
        session.paused = True
        try:
            if not pause.wait(session):
                return False
        finally:
            session.paused = False
