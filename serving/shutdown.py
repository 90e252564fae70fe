"""SHUTDOWN, SIGTERM and SIGINT, as Redis 7.0's prepareForShutdown, isReadyToShutdown, finishShutdown and
abortShutdown.

A server whose replicas have not all acknowledged its offset does not stop at once (unless NOW, or
shutdown-timeout 0): it pauses writes under a pause of its own (serving/pause.py), asks the replicas
for an ACK (REPLCONF GETACK), and the cron finishes the shutdown as soon as every replica has
acknowledged the whole stream, or once shutdown-timeout has passed. Reads go on meanwhile; the SHUTDOWN
callers wait. SHUTDOWN ABORT, or a failure to finish (a save that failed, without FORCE), answers them
with Redis's error and lifts the pause. A signal only sets a flag, and the cron starts the shutdown with
the flags of shutdown-on-sigterm or shutdown-on-sigint, as Redis's signal handler and serverCron do.
"""
import logging
import os
import time

from gevent.event import AsyncResult

from persistence.snapshots import save_points
from serving import logs
from serving.pause import DURING_SHUTDOWN, PAUSE_ALL, PAUSE_WRITE, UNTIL_LIFTED_MS, pause_clients, unpause_clients

log = logging.getLogger("mini-redis")

NOSAVE, SAVE, NOW, FORCE = "nosave", "save", "now", "force"
FAILED, EXITING = "failed", "exiting"  # what a waiting SHUTDOWN caller is told


class Shutdown:
    """Where a shutdown stands: asked for by a signal, waiting for the replicas, and who waits for it."""

    def __init__(self, server):
        self.server = server
        self.signal = None  # "SIGTERM"/"SIGINT" received and not yet served nor aborted (shutdown_asap)
        self.flags = frozenset()
        self.deadline = None  # while waiting for the replicas: when to stop waiting (shutdown_mstime)
        self._callers = []  # one result per SHUTDOWN caller waiting (BLOCKED_SHUTDOWN)

    @property
    def initiated(self):
        return self.deadline is not None

    def waiting(self):
        """How many SHUTDOWN callers wait: INFO counts them among blocked_clients, as Redis does."""
        return len(self._callers)

    def command(self, session, flags):
        """SHUTDOWN from a client: it waits until the server exits (True, no reply) or the shutdown failed or
        was aborted (False: the caller answers Redis's error)."""
        result = AsyncResult()
        self._callers.append(result)
        try:
            if self.prepare(flags):
                return True
            outcome = session.wait_for(result, None)  # None if the client hung up: nothing to answer
        finally:
            self._callers.remove(result)
        return outcome != FAILED

    def prepare(self, flags):
        """prepareForShutdown: True once the server is stopping. False while it waits for its replicas, when
        it failed (its callers were answered), or when a shutdown is already under way (which decides)."""
        if self.initiated:
            return False
        server = self.server
        self.flags = frozenset(flags)
        log.warning("User requested shutdown...")
        timeout = server.config["shutdown-timeout"]
        if NOW not in self.flags and timeout and not self.ready():
            self.deadline = time.monotonic() + timeout
            if server.client_pause is None and server.replication.master is None:  # a replica only relays
                server.replication.request_acks()
            pause_clients(server, DURING_SHUTDOWN, PAUSE_WRITE, UNTIL_LIFTED_MS)
            log.info("Waiting for replicas before shutting down.")
            return False
        return self.finish()

    def ready(self):
        """isReadyToShutdown: every replica acknowledged the whole stream."""
        replication = self.server.replication
        return all(link.ack_offset == replication.offset for link in replication.replicas)

    def cron(self):
        """serverCron's part: start the shutdown a signal asked for, or finish once the replicas caught up
        or time ran out. True once the server is stopping."""
        if self.signal is not None and not self.initiated:
            words = self.server.config["shutdown-on-" + self.signal.lower()].split()
            return self.prepare(word for word in words if word != "default")
        if self.initiated and (time.monotonic() >= self.deadline or self.ready()):
            return self.finish()
        return False

    def signalled(self, name):
        """sigShutdownHandler: a log line and a flag for the cron; a SIGINT while a shutdown is pending
        means now, without saving nor waiting for the replicas."""
        if self.signal is not None and name == "SIGINT":
            logs.signal_line("You insist... exiting now.")
            os._exit(1)  # an error status: this was not a clean shutdown
        logs.signal_line("Received %s scheduling shutdown..." % name)
        self.signal = name

    def finish(self):
        """finishShutdown: the replicas' standing in the log, children stopped, the AOF synced, the final
        save; then the server stops, or, if that failed (without FORCE), the shutdown is cancelled."""
        server = self.server
        self._log_replicas()
        if not (self._stop_children() and self._final_save()):
            log.warning("Errors trying to shut down the server. Check the logs for more information.")
            self.cancel()
            return False
        pause_clients(server, DURING_SHUTDOWN, PAUSE_ALL, UNTIL_LIFTED_MS)  # nothing runs after the final save
        self._answer(EXITING)
        server.stopping.set()
        return True

    def abort(self):
        """SHUTDOWN ABORT: False if no shutdown is in progress nor asked for by a signal."""
        if self.initiated:
            self.cancel()
        elif self.signal is not None:
            self.signal = None
        else:
            return False
        log.info("Shutdown manually aborted.")
        return True

    def cancel(self):
        """cancelShutdown: the callers get their error, and writes go on."""
        self.signal = None
        self.flags = frozenset()
        self.deadline = None
        self._answer(FAILED)
        unpause_clients(self.server, DURING_SHUTDOWN)

    def _answer(self, outcome):
        for result in self._callers:
            if not result.ready():
                result.set(outcome)

    def _log_replicas(self):
        replication = self.server.replication
        lagging = [link for link in replication.replicas if link.ack_offset != replication.offset]
        for link in lagging:
            log.warning("Lagging replica %s reported offset %d behind master, lag=%d, state=%s.", link.name(),
                        replication.offset - link.ack_offset, link.lag() if link.online() else 0, link.state_name())
        if replication.replicas:
            log.info("%d of %d replicas are in sync when shutting down.",
                     len(replication.replicas) - len(lagging), len(replication.replicas))

    def _stop_children(self):
        """A background save is killed; an AOF rewrite too, unless it writes the AOF's first file (without FORCE
        the server cannot exit then: AppendOnly.shutdown says so). The AOF gets onto the disk."""
        snapshots = self.server.snapshots
        if snapshots.child_pid is not None:
            log.warning("There is a child saving an .rdb. Killing it!")
            snapshots.kill_child()
        return self.server.aof.shutdown(FORCE in self.flags)

    def _final_save(self):
        """The last snapshot: asked by SAVE, or by default when save points are set (not with NOSAVE). Never while
        a dataset loads (it would be half there), as Redis's SHUTDOWN turns into NOSAVE then."""
        if self.server.loading.active:
            return True
        save = SAVE in self.flags or NOSAVE not in self.flags and bool(save_points(self.server.config["save"]))
        if not save:
            return True
        log.info("Saving the final RDB snapshot before exiting.")
        if self.server.snapshots.save():
            return True
        if FORCE in self.flags:
            log.warning("Error trying to save the DB. Exit anyway.")
            return True
        log.warning("Error trying to save the DB, can't exit.")
        return False
