"""A dataset being loaded (Redis's startLoading, loadingAbsProgress and stopLoading): dump.rdb or the AOF at
start-up, or the master's RDB on a replica's full sync.

The loaders run on the greenlet that asked for the load and hand the event loop to the clients every
loading-process-events-interval-bytes of input (Redis's processEventsWhileBlocked), so a long load
freezes nobody. While it lasts, INFO persistence shows its figures and the clients get -LOADING for
every command not flagged `loading` (commands.refuse_while_loading); an async load (a replica's
swapdb sync within the history it holds) keeps serving the old data, and refuses only the commands
flagged `no_async_loading`. The server's cron does nothing meanwhile, as Redis runs no serverCron
while it loads: no expiry, eviction or save acts on a dataset half there.
"""
import time

import gevent

# How long the loader lets the event loop run at each yield. A timer, not sleep(0): gevent polls the
# sockets only when its loop waits, and a greenlet that yields with sleep(0) over and over never lets it.
EVENTS_WAIT_SECONDS = 0.0001


class LoadProgress:
    """The load under way, if any, and the keys the last one loaded (INFO's rdb_last_load_keys_*)."""

    def __init__(self, config):
        self.config = config
        self.active = False  # server.loading
        self.asynchronous = False  # server.async_loading: clients keep the old data meanwhile
        self.start_time = 0
        self.total_bytes = 0  # 0 when unknown (a diskless sync's RDB with an EOF mark)
        self.rdb_used_mem = 0  # the RDB's used-mem aux field, once read
        self.loaded_bytes = 0
        self.keys_loaded = 0
        self.keys_expired = 0

    def start(self, total_bytes, asynchronous=False):
        self.active, self.asynchronous = True, asynchronous
        self.start_time = int(time.time())
        self.total_bytes, self.rdb_used_mem, self.loaded_bytes = total_bytes, 0, 0
        self.keys_loaded = self.keys_expired = 0

    def stop(self):
        self.active = self.asynchronous = False

    @property
    def interval(self):
        return self.config["loading-process-events-interval-bytes"]

    def advance(self, loaded_bytes, result=None):
        """The loader read this far (result: the rdb.LoadResult so far): record it, then serve the clients."""
        self.loaded_bytes = loaded_bytes
        if result is not None:
            self.record(result)
            used_mem = result.aux.get(b"used-mem")
            if used_mem is not None and used_mem.isdigit():
                self.rdb_used_mem = int(used_mem)
        gevent.sleep(EVENTS_WAIT_SECONDS)

    def record(self, result):
        """The keys a load (an rdb.LoadResult) loaded and left out as expired, so far or in all: INFO's
        rdb_last_load_keys_loaded and rdb_last_load_keys_expired."""
        self.keys_loaded, self.keys_expired = result.loaded, result.expired

    def info(self):
        """INFO persistence's loading and async_loading; the other loading_* fields go last (info_tail)."""
        return [("loading", int(self.active and not self.asynchronous)), ("async_loading", int(self.asynchronous))]

    def info_tail(self):
        """The loading_* fields while a load is under way, computed as Redis's genRedisInfoString does."""
        if not self.active:
            return []
        percent, remaining = 0.0, 1
        if self.total_bytes:
            percent = self.loaded_bytes / self.total_bytes * 100
            remaining = self.total_bytes - self.loaded_bytes
        elif self.rdb_used_mem:  # the RDB's size unknown: its used-mem is a (poor) guess of it
            percent = min(self.loaded_bytes / self.rdb_used_mem * 100, 99.99)
            remaining = max(self.rdb_used_mem - self.loaded_bytes, 1)
        elapsed = int(time.time()) - self.start_time
        eta = 1 if elapsed == 0 else elapsed * remaining // (self.loaded_bytes + 1)
        return [("loading_start_time", self.start_time), ("loading_total_bytes", self.total_bytes),
                ("loading_rdb_used_mem", self.rdb_used_mem), ("loading_loaded_bytes", self.loaded_bytes),
                ("loading_loaded_perc", "%.2f" % percent), ("loading_eta_seconds", eta)]
