"""This server's replication identity: its IDs, its stream offset, its backlog, its replicas and master.

A history is named by a replication ID; master_repl_offset counts the bytes
of stream it has produced (or, on a replica, received). A promoted replica
takes a new ID and keeps the old one as replid2, valid up to
second_replid_offset, so its former siblings can continue with PSYNC.
"""
import os
import time

import gevent.event

from persistence.aof_format import encode
from replication.backlog import Backlog

NO_ID = "0" * 40
BACKLOG_MIN_SIZE = 16 * 1024  # CONFIG_REPL_BACKLOG_MIN_SIZE


def new_replid():
    return os.urandom(20).hex()


class Replication:
    """The state both roles share; the links themselves (master side, replica side) hang off it."""

    def __init__(self, config):
        self.config = config
        self.replid = new_replid()
        self.replid2 = NO_ID
        self.second_replid_offset = -1
        self.offset = 0  # master_repl_offset: stream bytes produced or received so far
        self.backlog = None  # made when the first replica attaches (or a replica links to its master)
        self.replicas = []  # links of the replicas attached to us
        self.master = None  # our link to our master while we are a replica
        self.failover = None  # the FAILOVER under way, if any (replication/failover.py)
        self.no_replicas_since = time.monotonic()  # for repl-backlog-ttl
        self.stream_db = -1  # the database the stream's last SELECT chose (Redis's slaveseldb; -1: none yet)
        self.cron_loops = 0  # seconds counted by the replication cron (repl-ping-replica-period)
        self.waiters = []  # (offset, replicas wanted, AsyncResult) of the WAIT commands blocked
        self.sync_full = self.sync_partial_ok = self.sync_partial_err = 0  # INFO stats

    @property
    def role(self):
        return "master" if self.master is None else "slave"

    def create_backlog(self):
        """Start keeping history from the current offset on (Redis's createReplicationBacklog)."""
        if self.backlog is None:
            self.backlog = Backlog(self.config["repl-backlog-size"], self.offset + 1)

    def resize_backlog(self):
        """CONFIG SET repl-backlog-size: as Redis's updateReplBacklogSize, at least 16 KB, the setting included."""
        size = self.config.values["repl-backlog-size"] = max(self.config["repl-backlog-size"], BACKLOG_MIN_SIZE)
        if self.backlog is not None:
            self.backlog.resize(size)

    def free_backlog(self):
        """repl-backlog-ttl expired with no replica: history is dropped, so a new ID names what follows."""
        self.backlog = None
        self.replid = new_replid()
        self.clear_replid2()

    def append(self, data):
        """Stream bytes produced here (or received from our master): counted, kept in the backlog, and fed
        to every replica attached to us."""
        self.offset += len(data)
        if self.backlog is not None:
            self.backlog.append(data)
        for link in self.replicas:
            link.feed(data)

    def new_history(self):
        """A backlog made from scratch names a new history: a new ID and no second one (syncCommand)."""
        self.replid = new_replid()
        self.clear_replid2()

    def feed_ping(self):
        """The master's PING every repl-ping-replica-period: part of the stream, in no database."""
        self.append(encode([b"PING"]))

    def request_acks(self):
        """REPLCONF GETACK * to every replica (WAIT): part of the stream too, as in Redis 7.0."""
        self.append(encode([b"REPLCONF", b"GETACK", b"*"]))

    def add_waiter(self, offset, wanted):
        result = gevent.event.AsyncResult()
        self.waiters.append((offset, wanted, result))
        return result

    def drop_waiter(self, result):
        """A WAIT is over (woken, timed out, or its client left)."""
        self.waiters = [waiter for waiter in self.waiters if waiter[2] is not result]

    def acknowledged(self):
        """A replica acknowledged (or left): the WAITs now satisfied are woken with their count."""
        for offset, wanted, result in self.waiters:
            if not result.ready() and self.acks_at(offset) >= wanted:
                result.set(True)

    def acks_at(self, offset):
        """How many online replicas acknowledged the stream up to offset (replicationCountAcksByOffset)."""
        return sum(1 for link in self.replicas if link.state == "online" and link.ack_offset >= offset)

    def good_replicas(self):
        """Online replicas whose last ACK is at most min-replicas-max-lag seconds old (refreshGoodSlavesCount)."""
        max_lag = self.config["min-replicas-max-lag"]
        return sum(1 for link in self.replicas if link.state == "online" and link.lag() <= max_lag)

    def gates_writes(self):
        """Whether min-replicas-to-write may refuse writes here (a master with both settings non-zero)."""
        return bool(self.master is None and self.config["min-replicas-to-write"] and self.config["min-replicas-max-lag"])

    def too_few_replicas(self):
        """Whether writes are refused with NOREPLICAS now."""
        return self.gates_writes() and self.good_replicas() < self.config["min-replicas-to-write"]

    def shift_replid(self):
        """This server's history goes on under a new ID (a promotion); the old one stays valid up to here."""
        self.replid2 = self.replid
        self.second_replid_offset = self.offset + 1
        self.replid = new_replid()

    def clear_replid2(self):
        self.replid2 = NO_ID
        self.second_replid_offset = -1

    def can_continue(self, replid, offset):
        """Whether PSYNC replid offset can be served from the backlog (Redis's masterTryPartialResynchronization)."""
        if replid != self.replid and (replid != self.replid2 or offset > self.second_replid_offset):
            return False
        return self.backlog is not None and self.backlog.holds(offset)

    def save_info(self):
        """(stream db, ID, offset) for an RDB's repl-* aux fields, or None (Redis's rdbPopulateSaveInfo): a master
        writes them once it keeps a backlog, a replica while it has a history to continue."""
        link = self.master
        if link is None:
            return None if self.backlog is None else (max(self.stream_db, 0), self.replid, self.offset)
        if link.session is not None:
            return link.session.db.index, self.replid, self.offset
        return (link.stream_db, self.replid, self.offset) if link.continuable else None

    def restore(self, aux, as_replica):
        """At start-up, from the loaded RDB's aux fields (Redis 7.0's loadDataFromDisk): a replica takes the
        history back to continue it (its stream's db, or None if there is none); a master keeps it as
        replid2, its offset rebased, so its old replicas can continue."""
        try:
            replid = aux[b"repl-id"].decode()
            offset, stream_db = int(aux[b"repl-offset"]), int(aux[b"repl-stream-db"])
        except (KeyError, ValueError, UnicodeDecodeError):
            return None
        if len(replid) != 40 or offset == -1 or stream_db == -1:
            return None
        if as_replica:
            self.replid, self.offset = replid, offset
            return stream_db
        self.replid2, self.second_replid_offset = replid, offset + 1
        self.offset += offset
        self.backlog = None
        self.create_backlog()
        self.no_replicas_since = time.monotonic()
        return None
