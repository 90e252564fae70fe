"""This server's replication identity: its IDs, its stream offset, its backlog, its replicas and master.

A history is named by a replication ID; master_repl_offset counts the bytes
of stream it has produced (or, on a replica, received). A promoted replica
takes a new ID and keeps the old one as replid2, valid up to
second_replid_offset, so its former siblings can continue with PSYNC.
"""
import os
import time

from replication.backlog import Backlog

NO_ID = "0" * 40


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
        self.no_replicas_since = time.monotonic()  # for repl-backlog-ttl

    @property
    def role(self):
        return "master" if self.master is None else "slave"

    def create_backlog(self):
        """Start keeping history from the current offset on (Redis's createReplicationBacklog)."""
        if self.backlog is None:
            self.backlog = Backlog(self.config["repl-backlog-size"], self.offset + 1)

    def free_backlog(self):
        """repl-backlog-ttl expired with no replica: history is dropped, so a new ID names what follows."""
        self.backlog = None
        self.replid = new_replid()
        self.clear_replid2()

    def append(self, data):
        """Stream bytes produced here (or received from our master): counted and kept in the backlog."""
        self.offset += len(data)
        if self.backlog is not None:
            self.backlog.append(data)

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
            return None if self.backlog is None else (0, self.replid, self.offset)
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
