"""FAILOVER, as Redis 7.0's: a master hands its role to one of its replicas without losing a write.

The master pauses writes (as CLIENT PAUSE WRITE does, under a pause of its own: serving/pause.py) for
as long as it takes, and waits until a replica has acknowledged its whole stream: the one named by
TO, or the first that catches up. Then it becomes that replica's replica, asking PSYNC <its ID>
<offset+1> FAILOVER, which makes the target promote itself and continue our shared history with
+CONTINUE. Its pause ends once the target answered; writes that waited then find a replica
(READONLY). TIMEOUT gives up (or, with FORCE, fails over to the target all the same); ABORT gives up
at once, and a master that already turned replica turns back.
"""
import logging
import time

from replication import replica
from serving.pause import DURING_FAILOVER, PAUSE_WRITE, UNTIL_LIFTED_MS, pause_clients, unpause_clients

log = logging.getLogger("mini-redis")

NO_FAILOVER, WAIT_FOR_SYNC, IN_PROGRESS = "no-failover", "waiting-for-sync", "failover-in-progress"


class Failover:
    """One failover under way: its target (None until one is chosen), FORCE, the deadline, the state."""

    def __init__(self, server, host, port, force, timeout_ms):
        self.server = server
        self.host, self.port = host, port
        self.force = force
        self.deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms else None
        self.state = WAIT_FOR_SYNC

    def describe(self):
        return "%s:%d" % (self.host, self.port) if self.host is not None else "any replica"

    def psync_answered(self, accepted):
        """The target answered our PSYNC ... FAILOVER: done, or turned down (then we are master again)."""
        if accepted:
            clear(self.server)
        else:
            abort(self.server, "Failover target rejected psync request")


def start(server, host, port, force, timeout_ms):
    if host is not None:
        log.info("FAILOVER requested to %s:%d.", host, port)
    else:
        log.info("FAILOVER requested to any replica.")
    server.replication.failover = Failover(server, host, port, force, timeout_ms)
    pause_clients(server, DURING_FAILOVER, PAUSE_WRITE, UNTIL_LIFTED_MS)


def find_replica(server, host, port):
    """The replica attached to us at host (its announced or its peer address) and listening port."""
    for link in server.replication.replicas:
        if link.ip().lower() == host.lower() and link.listening_port == port:
            return link
    return None


def update(server):
    """Redis's updateFailoverStatus, every cron tick and at every ACK: time out, or fail over to a caught-up
    replica."""
    replication = server.replication
    failover = replication.failover
    if failover is None or failover.state != WAIT_FOR_SYNC:
        return
    if failover.deadline is not None and time.monotonic() >= failover.deadline:
        if failover.force:
            log.info("FAILOVER to %s time out exceeded, failing over.", failover.describe())
            _fail_over(server, failover)
        else:
            abort(server, "Replica never caught up before timeout")
        return
    if failover.host is not None:
        target = find_replica(server, failover.host, failover.port)
    else:
        target = next((link for link in replication.replicas if link.ack_offset == replication.offset), None)
        if target is not None:
            failover.host, failover.port = target.ip(), target.listening_port
    if target is not None and target.ack_offset == replication.offset:
        log.info("Failover target %s is synced, failing over.", failover.describe())
        _fail_over(server, failover)


def _fail_over(server, failover):
    failover.state = IN_PROGRESS
    replica.follow(server, failover.host, failover.port)


def abort(server, reason):
    """abortFailover: give up; a master that already turned replica of the target is a master again."""
    failover = server.replication.failover
    if failover is None:
        return
    log.info("FAILOVER to %s aborted: %s", failover.describe(), reason)
    if failover.state == IN_PROGRESS:
        replica.promote(server)
    clear(server)


def clear(server):
    """clearFailoverState: the failover is over, and so is its pause (a CLIENT PAUSE's goes on)."""
    server.replication.failover = None
    unpause_clients(server, DURING_FAILOVER)


def state(server):
    """INFO's master_failover_state."""
    failover = server.replication.failover
    return NO_FAILOVER if failover is None else failover.state
