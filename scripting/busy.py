"""A script in execution, and what other clients meet while it runs (Redis's script.c run context).

A script runs alone: greenlets switch only when it yields, which the count hook does every
HOOK_INSTRUCTIONS instructions (tick()). At its first yield the script puts a BusyGate where the
server keeps a CLIENT PAUSE (server.pause, which the plain lane already checks once per batch,
so a running script costs the unpipelined GET/SET path nothing): every other client's command
then waits in commands.execute, as Redis leaves their sockets unread. Once busy-reply-threshold
has passed, the waiting commands wake and are refused with -BUSY, except the ones flagged
allow_busy (SCRIPT KILL, FUNCTION KILL, SHUTDOWN NOSAVE...). When the script ends, the gate
goes, the client pause on by then (server.client_pause) comes back, and the waiting commands run.
"""
import logging
import time

import gevent
from gevent.event import AsyncResult

from errors import BUSY_EVAL, BUSY_FUNCTION, ReplyError

log = logging.getLogger("mini-redis")
SCRIPT_FLAGS = ("no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys")  # in Redis's order
KILLED = "ERR Script killed by user with SCRIPT KILL..."
LOAD_TIMEOUT_SECONDS = 0.5  # FUNCTION LOAD's limit on a library's code (LOAD_TIMEOUT_MS)


class LibraryLoad:
    """A library's code running at FUNCTION LOAD: stopped after half a second, without yielding."""

    def __init__(self):
        self.started = time.monotonic()
        self.state = None

    def tick(self):
        return "ERR FUNCTION LOAD timeout" if time.monotonic() - self.started > LOAD_TIMEOUT_SECONDS else None

    def finish(self):
        pass


class ScriptRun:
    """One script in execution: whose it is, its flags, and whether it was killed or has written."""

    __slots__ = ("server", "caller", "name", "is_eval", "read_only", "allow_oom", "oom", "call", "state", "resp3",
                 "propagation_targets", "wrote", "killed", "started", "busy", "gate", "exit")

    def __init__(self, server, caller, name, is_eval, read_only, allow_oom, oom, call):
        self.server = server
        self.caller = caller
        self.name = name  # the sha of an EVAL, the function's name for FCALL
        self.is_eval = is_eval
        self.read_only = read_only
        self.allow_oom = allow_oom
        self.oom = oom  # over maxmemory as it started (script_oom): a denyoom command before any write is refused
        self.call = call  # runs one redis.call: (run, argv) -> reply (commands/scripting.py)
        self.state = None  # the LuaState it runs in
        self.resp3 = False  # redis.setresp(3)
        self.propagation_targets = 3  # redis.set_repl: where its commands go, the AOF (1) and the replicas (2)
        self.wrote = False  # SCRIPT_WRITE_DIRTY: a write command ran, the script can no longer be killed
        self.killed = False
        self.started = time.monotonic()
        self.busy = False  # past busy-reply-threshold: others get -BUSY
        self.gate = None
        self.exit = None  # a GreenletExit met while yielding: raised again once Lua has unwound

    def elapsed_ms(self):
        return int((time.monotonic() - self.started) * 1000)

    def tick(self):
        """The count hook: yield to the other greenlets; the error to stop with, once it must stop."""
        if self.killed or self.exit is not None:
            return KILLED
        if not self.busy and self.elapsed_ms() >= self.server.config["busy-reply-threshold"]:
            self.busy = True
            log.warning("Slow script detected: still in execution after %d milliseconds. You can try killing "
                        "the script using the %s command. Script name is: %s.", self.elapsed_ms(),
                        "SCRIPT KILL" if self.is_eval else "FUNCTION KILL", self.name.decode("utf-8", "replace"))
            if self.gate is not None:
                self.gate.wake()
        if self.gate is None:
            self.gate = BusyGate(self)
            self.gate.install(self.server)
        try:
            gevent.sleep(0)
        except BaseException as exit_:  # the server is going away (SHUTDOWN NOSAVE): unwind the script first
            self.exit = exit_
            return KILLED
        return KILLED if self.killed else None

    def finish(self):
        """The script returned: the gate goes and what waited at it runs."""
        if self.gate is not None:
            self.gate.remove(self.server)
        if self.exit is not None:
            raise self.exit

    def busy_error(self):
        return BUSY_EVAL if self.is_eval else BUSY_FUNCTION


class BusyGate:
    """What server.pause holds while a script runs and has yielded: the interface of a ClientPause."""

    def __init__(self, run):
        self.run = run
        self.ended = False
        self._waiting = set()  # one result per waiting client (its hang-up sets it to None)

    def install(self, server):
        server.pause = self

    def remove(self, server):
        server.pause = server.client_pause  # the pauses on now, whatever changed them while the script ran
        self.ended = True
        self.wake()

    def wake(self):
        """Busy now, or done: the waiting commands wake to be refused, or to run."""
        for result in self._waiting:
            if not result.ready():
                result.set(True)

    def holds(self, command, session):
        """Whether the command waits; refuses it with -BUSY once the script is busy."""
        if not self.run.busy:
            return True
        if "allow_busy" in command.flags:
            return False
        raise ReplyError(self.run.busy_error())

    def over(self):
        return False

    def waiting(self):
        return 0

    def wait(self, session):
        """Wait for the script to end or turn busy; False if the client hung up meanwhile."""
        result = AsyncResult()
        self._waiting.add(result)
        try:
            return session.wait_for(result, None) is not None
        finally:
            self._waiting.discard(result)
