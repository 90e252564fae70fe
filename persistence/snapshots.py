"""When snapshots are taken: SAVE, BGSAVE in a forked child, save points; serving/shutdown.py takes the last.

A background save forks: the child has the keyspace as it was at the fork
(copy-on-write pages), writes it with rdb.save and leaves with os._exit;
the parent keeps serving and the cron reaps the child. Changes made while
the child ran stay counted as unsaved, as in Redis.
"""
import logging
import os
import signal
import time

from errors import ReplyError
from persistence import rdb, run_in_child

log = logging.getLogger("mini-redis")
BGSAVE_RETRY_DELAY = 5  # CONFIG_BGSAVE_RETRY_DELAY: seconds before a failed background save is retried


class Snapshots:
    """One server's RDB state: the file, the child saving it, and what INFO persistence reports."""

    def __init__(self, server):
        self.server = server
        self.last_save = int(time.time())  # LASTSAVE: the last successful save (start-up counts)
        self.last_status_ok = True
        self.last_bgsave_seconds = -1
        self.last_bgsave_try = 0
        self.saves = 0
        self.scheduled = False
        self.child_pid = None
        self.child_started = 0.0
        self.dirty_before_child = 0

    @property
    def path(self):
        config = self.server.config
        return os.path.join(config["dir"], config["dbfilename"])

    def _limits(self):
        return rdb.Limits(self.server.config, self.server.keyspace.quicklist_packed_threshold,
                          self.server.keyspace.module_types)

    def dump_to(self, file, data=True, functions=True, aof_base=False):
        """Write the keyspace as an RDB into an open file (a diskless sync's pipe), with this server's settings;
        without its keys or its function libraries if asked (REPLCONF rdb-filter-only). aof_base: as the
        BASE of a multi-part AOF (rdbSaveRio with RDBFLAGS_AOF_PREAMBLE: no replication fields)."""
        config = self.server.config
        rdb.dump(self.server.keyspace if data else None, file, self._limits(), config["rdbcompression"],
                 config["rdbchecksum"], functions=self.server.scripting.functions.codes() if functions else (),
                 repl_info=None if aof_base else self.server.replication.save_info(), aof_base=aof_base)

    # -- loading

    def load(self, drop_expired=True, serving=False):
        """Read the snapshot file into the keyspace: what the load found (rdb.LoadResult), False if there is no
        file. RDBError if it is corrupt. A replica keeps expired keys (drop_expired=False): its master deletes them.
        serving: the clients are served while it loads (at start-up), getting -LOADING (persistence/progress.py)."""
        path = self.path
        if not os.path.exists(path):
            return False
        started = time.monotonic()
        progress = self.server.loading if serving else None
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as error:
            raise rdb.RDBError("Fatal error loading the DB: %s. Exiting." % error.strerror) from None
        if serving:
            progress.start(len(data))
        try:
            result = self.load_data(data, drop_expired, progress)
        finally:
            if serving:
                progress.stop()
        log.info("DB loaded from disk: %.3f seconds", time.monotonic() - started)
        return result

    def load_data(self, data, drop_expired=True, progress=None):
        """Read an RDB (a whole file, or an AOF's BASE) into the keyspace: its rdb.LoadResult, RDBError if corrupt.
        progress: the server's LoadProgress while the clients are served during the load."""
        result = rdb.loads(data, self.server.keyspace, self._limits(), self.server.config["rdbchecksum"],
                           drop_expired, progress)
        version = result.aux.get(b"redis-ver")
        if version is not None:
            log.info("Loading RDB produced by version %s", version.decode(errors="replace"))
        if result.aux.get(b"aof-base") == b"1":
            log.info("RDB is base AOF")
        for code in result.functions:  # the server's scripting links each library in, as rdbFunctionLoad does
            try:
                self.server.scripting.functions.load(code, replace=True)
            except ReplyError as error:
                raise rdb.RDBError("Failed loading library: %s" % error.message) from None
        log.info("Done loading RDB, keys loaded: %d, keys expired: %d.", result.loaded, result.expired)
        self.server.loading.record(result)
        return result
        return result

    # -- saving

    def save(self):
        """A synchronous save (SAVE, SHUTDOWN, DEBUG RELOAD); True if it worked."""
        config, keyspace = self.server.config, self.server.keyspace
        try:
            rdb.save(keyspace, self.path, self._limits(), config["rdbcompression"], config["rdbchecksum"],
                     functions=self.server.scripting.functions.codes(), repl_info=self.server.replication.save_info())
        except (OSError, rdb.RDBError) as error:
            log.warning("Failed saving the DB: %s", error)
            self.last_status_ok = False
            return False
        log.info("DB saved on disk")
        keyspace.dirty = 0
        self.last_save = int(time.time())
        self.last_status_ok = True
        self.saves += 1
        return True

    @property
    def in_progress(self):
        """A child writing an RDB: a BGSAVE's, or a diskless sync's (Redis's RDB_CHILD_TYPE_SOCKET)."""
        return self.child_pid is not None or self.server.fullsync.child_pid is not None

    def background_save(self):
        """Fork a child that writes the snapshot; True if it started."""
        config = self.server.config
        self.last_bgsave_try = int(time.time())
        self.dirty_before_child = self.server.keyspace.dirty
        started = time.perf_counter_ns()
        try:
            pid = os.fork()
        except OSError as error:
            log.warning("Can't save in background: fork: %s", error.strerror)
            self.last_status_ok = False
            return False
        if pid == 0:
            self._child(config)
        self.server.record_fork(started)
        self.child_pid = pid
        self.child_started = time.monotonic()
        self.scheduled = False
        log.info("Background saving started by pid %d", pid)
        return True

    def _child(self, config):
        """In the forked child: write the snapshot, never return."""
        def save():
            rdb.save(self.server.keyspace, self.path, self._limits(), config["rdbcompression"],
                     config["rdbchecksum"], functions=self.server.scripting.functions.codes(),
                     repl_info=self.server.replication.save_info())
            log.info("DB saved on disk")
        run_in_child(save, "Write error saving DB on disk")

    def reap(self):
        """If the child finished, record how it went (called from the cron)."""
        if self.child_pid is None:
            return
        try:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.child_pid, 1
        if pid == 0:
            return
        self.child_pid = None
        self.last_bgsave_seconds = int(time.monotonic() - self.child_started)
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        if ok:
            log.info("Background saving terminated with success")
            keyspace = self.server.keyspace
            keyspace.dirty = max(0, keyspace.dirty - self.dirty_before_child)
            self.last_save = int(time.time())
            self.last_status_ok = True
            self.saves += 1
        else:
            log.warning("Background saving error" if os.WIFEXITED(status) else
                        "Background saving terminated by signal %d" % os.WTERMSIG(status))
            self.last_status_ok = False
        self.server.fullsync.saved(ok)  # replicas waiting for this snapshot get it now

    def kill_child(self):
        """Stop a background save (shutdown, or a save that replaces it) and drop its temporary file."""
        if self.child_pid is None:
            return
        pid, self.child_pid = self.child_pid, None
        log.info("Killing running background save child: %d", pid)
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except OSError:
            pass
        started = time.perf_counter_ns()
        try:
            os.unlink(os.path.join(self.server.config["dir"], "temp-%d.rdb" % pid))
        except OSError:
            pass
        self.server.latency_event("rdb-unlink-temp-file", started)

    def cron(self):
        """Serve a scheduled BGSAVE or a reached save point, as serverCron does."""
        self.reap()
        if self.in_progress or self.server.aof.child_pid is not None:
            return  # one child at a time, as Redis: a rewriting AOF child defers the snapshot
        now = int(time.time())
        may_retry = self.last_status_ok or now - self.last_bgsave_try > BGSAVE_RETRY_DELAY
        if self.scheduled and may_retry:
            self.background_save()
            return
        dirty = self.server.keyspace.dirty
        for seconds, changes in save_points(self.server.config["save"]):
            if dirty >= changes and now - self.last_save > seconds and may_retry:
                log.info("%d changes in %d seconds. Saving...", changes, seconds)
                self.background_save()
                return

    def info(self):
        """The fields of INFO persistence, named and ordered as Redis 7.0 shows them."""
        running = self.in_progress
        loading = self.server.loading
        return loading.info() + [
            ("current_cow_peak", 0), ("current_cow_size", 0),
            ("current_cow_size_age", 0), ("current_fork_perc", "0.00"), ("current_save_keys_processed", 0),
            ("current_save_keys_total", 0),
            ("rdb_changes_since_last_save", self.server.keyspace.dirty),
            ("rdb_bgsave_in_progress", int(running)),
            ("rdb_last_save_time", self.last_save),
            ("rdb_last_bgsave_status", "ok" if self.last_status_ok else "err"),
            ("rdb_last_bgsave_time_sec", self.last_bgsave_seconds),
            ("rdb_current_bgsave_time_sec", int(time.monotonic() - self.child_started) if running else -1),
            ("rdb_saves", self.saves), ("rdb_last_cow_size", 0),
            ("rdb_last_load_keys_expired", loading.keys_expired), ("rdb_last_load_keys_loaded", loading.keys_loaded),
            ("aof_enabled", 0), ("aof_rewrite_in_progress", 0), ("aof_rewrite_scheduled", 0),
            ("aof_last_rewrite_time_sec", -1), ("aof_current_rewrite_time_sec", -1),
            ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", 0), ("aof_rewrites_consecutive_failures", 0),
            ("aof_last_write_status", "ok"), ("aof_last_cow_size", 0),
            ("module_fork_in_progress", 0), ("module_fork_last_cow_size", 0),
        ]


def save_points(text):
    """The save parameter's '3600 1 300 100' as [(3600, 1), (300, 100)]."""
    numbers = [int(word) for word in text.split()]
    return list(zip(numbers[::2], numbers[1::2]))
