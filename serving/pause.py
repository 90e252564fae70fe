"""CLIENT PAUSE: while a pause lasts, clients' commands wait (writes only, or all of them), and so do
active expiry and eviction, as in Redis 7.0 (pauseClients, blockPostponeClient).

The server holds a ClientPause only while one is on: with none, nothing here costs a command anything.
"""
import time

import gevent.event

PAUSE_WRITE, PAUSE_ALL = 1, 2


class ClientPause:
    """One pause: its mode and deadline (monotonic seconds); a later pause only lengthens or widens it."""

    def __init__(self, mode, deadline):
        self.mode = mode
        self.deadline = deadline
        self.released = gevent.event.Event()

    def extend(self, mode, deadline):
        """pauseClients(): the wider mode and the later deadline win."""
        self.mode = max(self.mode, mode)
        self.deadline = max(self.deadline, deadline)

    def over(self):
        return self.released.is_set() or time.monotonic() >= self.deadline

    def holds(self, command, queued):
        """Whether this command must wait: every one under ALL; under WRITE, writes and the
        may-replicate ones (PUBLISH...), and an EXEC whose transaction holds one."""
        if self.mode == PAUSE_ALL:
            return True
        if _may_replicate(command):
            return True
        return command.name == "exec" and queued is not None and any(_may_replicate(row) for row, _, _ in queued)

    def wait(self):
        """Sleep until the pause ends (UNPAUSE, or its deadline)."""
        while not self.over():
            self.released.wait(self.deadline - time.monotonic())


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
    """CLIENT UNPAUSE, or the deadline passed (the cron, or a waiting client, notices): release everyone."""
    pause = server.pause
    if pause is not None:
        server.pause = None
        server.keyspace.paused = False
        pause.released.set()


def wait_while_paused(session, command):
    """Before a command (off the plain lane, which a pause turns off): wait while the pause holds it."""
    server = session.server
    pause = server.pause
    if pause is None or session.monitoring:  # Redis never pauses a replica, and a monitor is one
        return
    if not pause.holds(command, session.multi if command.name == "exec" else None):
        return
    if pause.over():
        end_pause(server)
        return
    session.paused = True
    try:
        pause.wait()
    finally:
        session.paused = False
    if server.pause is pause:
        end_pause(server)
