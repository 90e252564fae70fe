"""Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...) and how they are served.

A blocking command that finds nothing to pop registers a Waiter on its keys
and its greenlet sleeps on the waiter's result: no polling. A write that can
feed a waiter calls Blocking.signal(db, key). Right after the command that
signalled (or the whole MULTI/EXEC) finishes, and before any other command
runs, serve_ready() offers each ready key to its waiters in the order they
blocked, as Redis's handleClientsBlockedOnKeys() does, so a waiter never
loses an element to a client that came later.
"""
from collections import deque

from gevent.event import AsyncResult

UNBLOCK_ERROR = object()  # a waiter's result when CLIENT UNBLOCK ... ERROR ends its wait
ROLE_CHANGED = object()  # a waiter's result when the server turns replica (Redis's disconnectAllBlockedClients)


class Waiter:
    """One blocked client: its database, its keys, and how to serve it from a ready key.

    serve(key) runs the pop on the waiter's behalf and returns its reply, or
    None if the key cannot serve it (empty, or of another type): it keeps waiting.
    timeout is its wait in seconds, 0 for ever (INFO's clients_in_timeout_table counts the others).
    """

    __slots__ = ("db", "keys", "serve", "result", "timeout")

    def __init__(self, db, keys, serve, timeout=0):
        self.db = db
        self.keys = keys
        self.serve = serve
        self.timeout = timeout
        self.result = AsyncResult()


class Blocking:
    """The waiters of one server, by (database index, key), first come first served."""

    def __init__(self):
        self._waiters = {}
        self.ready = deque()  # keys that got data while clients wait on them: checked after every command
        self._ready_set = set()

    @property
    def blocked_clients(self):
        return len({id(waiter) for queue in self._waiters.values() for waiter in queue})

    @property
    def clients_in_timeout_table(self):
        """The blocked clients that wait with a timeout, as Redis keeps them in its timeout table."""
        return len({id(waiter) for queue in self._waiters.values() for waiter in queue if waiter.timeout})

    def block(self, waiter):
        for key in waiter.keys:
            self._waiters.setdefault((waiter.db.index, key), deque()).append(waiter)

    def unblock(self, waiter):
        for key in waiter.keys:
            slot = (waiter.db.index, key)
            queue = self._waiters.get(slot)
            if queue is None:
                continue
            try:
                queue.remove(waiter)
            except ValueError:
                pass
            if not queue:
                del self._waiters[slot]

    def signal(self, index, key):
        """A write gave key (in database index) something a waiter may take: serve it after the command."""
        slot = (index, key)
        if slot in self._waiters and slot not in self._ready_set:
            self._ready_set.add(slot)
            self.ready.append(slot)

    def serve_ready(self):
        """Offer every ready key to its waiters in arrival order; serving may make more keys ready."""
        while self.ready:
            slot = self.ready.popleft()
            self._ready_set.discard(slot)
            for waiter in list(self._waiters.get(slot, ())):
                if waiter.result.ready():  # timed out or hung up, and not yet unregistered
                    continue
                reply = waiter.serve(slot[1])
                if reply is None:
                    continue
                self.unblock(waiter)
                waiter.result.set(reply)

    def swap_databases(self, first, second):
        """SWAPDB: waiters of either database may now find their keys filled."""
        for index, key in list(self._waiters):
            if index in (first, second):
                self.signal(index, key)


def wait_without_connection(result, timeout):
    """How a session waits when nothing watches its connection (tests driving a Keyspace directly)."""
    return result.wait(timeout)
