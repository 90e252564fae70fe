"""The append-only file: every change, as the command that replays it, in Redis 7.0's multi-part form.

The files live in dir/appenddirname, listed by a manifest (aof_manifest.py): a BASE,
the keyspace at the last rewrite (aof_rewrite.py), and INCR files of the commands
logged since (aof_format.py); aof_load.py loads them.

Commands run by the dispatcher (commands.run) are logged as sent, unless the command
says otherwise through Session.propagate (PEXPIREAT for a relative expiry, SREM for
SPOP...); changes made outside any command (expiry, eviction, a blocked client served
later) come through Keyspace.propagate. replication/propagation.py groups them (the
replication stream shares them) and hands them to emit().

What is logged collects in a buffer, written to the current INCR by before_reply()
before any reply leaves (with appendfsync always, also fsynced in a worker thread while
other clients are served); with everysec the cron fsyncs once a second.

BGREWRITEAOF opens the next INCR, where the parent goes on logging, and forks a child
that writes the next BASE; then the manifest names them, and the files they replace
become HISTORY, deleted unless aof-disable-auto-gc. No rewrite buffer is needed.
"""
import logging
import os
import signal
import time

import gevent
import gevent.event

from persistence import run_in_child
from persistence.aof_format import AOFError, encode_commands
from persistence.aof_load import delete_history, make_directory, open_at_start
from persistence.aof_manifest import Manifest, persist
from persistence.aof_rewrite import write_base

log = logging.getLogger("mini-redis")

OFF, ON, WAIT_REWRITE = "off", "on", "wait_rewrite"  # Redis's AOF_OFF, AOF_ON, AOF_WAIT_REWRITE
LIMIT_AFTER_FAILURES, LIMIT_MAX_MINUTES = 3, 60  # aofRewriteLimited's AOF_REWRITE_LIMITE_THRESHOLD and _MAX_MINUTES


class AppendOnly:
    """One server's AOF: its state, file, buffers, fsync bookkeeping, rewrite child, and INFO figures."""

    def __init__(self, server):
        self.server = server
        self.state = OFF
        self.fd = None
        self.buffer = bytearray()  # logged, not yet written to the file
        self.selected = -1  # the database the file's last SELECT chose (-1: the next command says it)
        self.written = 0  # bytes written to the file, counted across files
        self.synced = 0  # how many of those are known to be on disk
        self._syncing = None  # an Event while a worker thread fsyncs
        self._last_fsync = time.monotonic()
        self.manifest = Manifest()
        self.current_size = 0  # the BASE and INCR files together, as Redis counts them
        self.base_size = 0  # that size after the last rewrite, which auto-aof-rewrite-percentage grows from
        self.incr_size = 0  # the current INCR's (aof_last_incr_size)
        self.timestamp = 0  # the last #TS: annotation's (aof-timestamp-enabled)
        self.last_write_ok = True
        self.last_write_error = ""  # strerror of the failed write, while last_write_ok is False
        # Rewriting
        self.child_pid = None
        self.rewrite_started = 0.0
        self.rewrite_scheduled = False
        self.limit_minutes = 0  # aofRewriteLimited: the last delay, and when it ends (0: none running)
        self.limit_until = 0.0
        self.last_rewrite_seconds = -1
        self.last_rewrite_ok = True
        self.rewrites = 0
        self.consecutive_failures = 0

    @property
    def config(self):
        return self.server.config

    @property
    def directory(self):
        return os.path.join(self.config["dir"], self.config["appenddirname"])

    def file_size(self, name, fatal=False):
        """getAppendOnlyFileSize of a file in the folder (0 if it cannot be had, or AOFError if fatal)."""
        started = time.perf_counter_ns()
        try:
            size = os.stat(os.path.join(self.directory, name)).st_size
        except OSError as error:
            message = "Unable to obtain the AOF file %s length. stat: %s" % (name, error.strerror)
            if fatal:
                raise AOFError(message) from None
            log.warning("%s", message)
            size = 0
        self.server.latency_event("aof-fstat", started)
        return size

    def _activate(self, state):
        self.state = state
        self.server.propagation.refresh()

    # ------------------------------------------------------------------ what is logged

    def emit(self, ops):
        """Encode logged commands (replication/propagation.py groups them) into the buffer, with SELECTs
        (none before a command of no database, an EXEC)."""
        data, self.selected = encode_commands(ops, self.selected)
        if self.config["aof-timestamp-enabled"] and int(time.time()) > self.timestamp:
            self.timestamp = int(time.time())  # genAofTimestampAnnotationIfNeeded
            data = b"#TS:%d\r\n" % self.timestamp + data
        if self.state == ON or (self.state == WAIT_REWRITE and self.child_pid is not None):
            self.buffer += data  # waiting for the first rewrite: into the temporary INCR

    # ------------------------------------------------------------------ writing and fsync

    def before_reply(self):
        """Before a client hears a reply: the buffer goes to the file, and with 'always' to the disk.

        Waits for the fsync in a worker thread, so this client's greenlet
        sleeps while others run; every reply sent afterwards is covered.
        """
        if self.buffer:
            self.write_buffer()
        if self.synced < self.written and self.config["appendfsync"] == "always":
            self.sync(self.written)

    def write_buffer(self):
        """Write the buffer to the file; on an error keep it for the next try (and, with 'always', exit)."""
        if self.fd is None or not self.buffer:
            return
        data, self.buffer = self.buffer, bytearray()
        incr_before = self.incr_size
        started = time.perf_counter_ns() if self.config["latency-monitor-threshold"] else None
        try:
            view = memoryview(data)
            while view:
                done = os.write(self.fd, view)
                view = view[done:]
                self.current_size += done
                self.incr_size += done
                self.written += done
        except OSError as error:
            log.warning("Error writing to the AOF file: %s", error.strerror)
            self.last_write_ok = False
            self.last_write_error = error.strerror
            self._undo_partial_write(incr_before)
            self.buffer = data + self.buffer
            if self.config["appendfsync"] == "always":
                log.warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...")
                os._exit(1)
            return
        if started is not None:
            self._write_latency(started)
        if not self.last_write_ok:
            log.warning("AOF write error looks solved, Redis can write again.")
            self.last_write_ok = True

    def _write_latency(self, started):
        """The latency monitor's events for a write, named by what else was going on, as Redis names them."""
        if self._syncing is not None:
            self.server.latency_event("aof-write-pending-fsync", started)
        elif self.child_pid is not None or self.server.snapshots.child_pid is not None:
            self.server.latency_event("aof-write-active-child", started)
        else:
            self.server.latency_event("aof-write-alone", started)
        self.server.latency_event("aof-write", started)

    def _undo_partial_write(self, incr_before):
        """Cut a half-written command back off, as Redis does, so the file stays loadable."""
        partial = self.incr_size - incr_before
        if not partial:
            return
        try:
            os.ftruncate(self.fd, incr_before)
        except OSError:
            return
        self.written -= partial
        self.current_size -= partial
        self.incr_size = incr_before

    def sync(self, target):
        """Return once the first target bytes written are on disk; one fsync serves every client waiting."""
        while self.synced < target:
            if self._syncing is not None:
                self._syncing.wait()
                continue
            fd, upto = self.fd, self.written
            if fd is None:
                return
            done = self._syncing = gevent.event.Event()
            started = time.perf_counter_ns()
            try:
                gevent.get_hub().threadpool.apply(os.fsync, (fd,))
                if self.config["appendfsync"] == "always":
                    self.server.latency_event("aof-fsync-always", started)
            except OSError as error:
                self._fsync_failed(error)
                return
            finally:
                self._syncing = None
                done.set()
            self.synced = max(self.synced, upto)
            self._last_fsync = time.monotonic()

    def _fsync_failed(self, error):
        log.warning("Error syncing the AOF file to disk: %s", error.strerror)
        self.last_write_ok = False
        self.last_write_error = error.strerror
        if self.config["appendfsync"] == "always":
            log.warning("Can't persist AOF for fsync error when the AOF fsync policy is 'always': %s. Exiting...",
                        error.strerror)
            os._exit(1)

    def _sync_here(self):
        """fsync on the event loop, for the moments Redis does it synchronously (stopping AOF, shutdown)."""
        if self.fd is None:
            return
        self.write_buffer()
        try:
            os.fsync(self.fd)
        except OSError as error:
            self._fsync_failed(error)
            return
        self.synced = self.written

    # ------------------------------------------------------------------ the cron

    def cron(self):
        """Ten times a second: write the buffer, fsync every second (everysec), reap or start a rewrite."""
        if self.buffer:
            self.write_buffer()
        if (self.config["appendfsync"] == "everysec" and self.synced < self.written and self._syncing is None
                and time.monotonic() - self._last_fsync >= 1):
            gevent.spawn(self.sync, self.written)
        if self.child_pid is not None:
            self.reap()
            return
        if self.server.snapshots.in_progress:
            return
        if self.rewrite_scheduled:
            if not self._rewrite_limited():
                self.rewrite_in_background()
        elif self.state == ON:
            self._maybe_auto_rewrite()

    def _rewrite_limited(self):
        """aofRewriteLimited: after 3 failed rewrites in a row, the automatic and scheduled ones wait 1 minute,
        then 2, 4... at most 60 (BGREWRITEAOF itself is never held back)."""
        if self.consecutive_failures < LIMIT_AFTER_FAILURES:
            self.limit_minutes, self.limit_until = 0, 0.0
            return False
        if self.limit_until:
            if time.time() < self.limit_until:
                return True
            self.limit_until = 0.0
            return False
        self.limit_minutes = min(self.limit_minutes * 2 or 1, LIMIT_MAX_MINUTES)
        self.limit_until = time.time() + self.limit_minutes * 60
        log.warning("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in %d minutes",
                    self.limit_minutes)
        return True

    def _maybe_auto_rewrite(self):
        percentage, minimum = self.config["auto-aof-rewrite-percentage"], self.config["auto-aof-rewrite-min-size"]
        if not percentage or self.current_size <= minimum:
            return
        growth = self.current_size * 100 // (self.base_size or 1) - 100
        if growth >= percentage and not self._rewrite_limited():
            log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
            self.rewrite_in_background()

    # ------------------------------------------------------------------ switching on and off

    def open_at_start(self):
        """After loading with appendonly yes: the files to append to (persistence/aof_load.py), then AOF is on."""
        open_at_start(self)
        self._activate(ON)

    def switch(self, enabled, in_exec=False):
        """CONFIG SET appendonly: True if the change took effect."""
        if enabled and self.state == OFF:
            return self.start(in_exec)
        if not enabled and self.state != OFF:
            self.stop()
        return True

    def start(self, in_exec=False):
        """appendonly yes at run time (Redis's startAppendOnly): a rewrite makes the BASE while what is logged
        meanwhile goes to a temporary INCR; AOF is on once it is done. Inside a transaction it is scheduled."""
        self._activate(WAIT_REWRITE)
        busy = self.server.snapshots.in_progress
        if busy or in_exec:
            log.warning("AOF was enabled %s. An AOF background was scheduled to start when possible."
                        % ("but there is already another background operation" if busy else "during a transaction"))
            self.rewrite_scheduled = True
            return True
        if self.child_pid is not None:
            log.warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background "
                        "AOF and starting a rewrite now.")
            self.kill_child()
        if not self.rewrite_in_background():
            self._activate(OFF)
            log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. "
                        "Check the above logs for more info about the error.")
            return False
        return True

    def stop(self):
        """appendonly no: flush, fsync and close the INCR; a rewrite in progress is abandoned."""
        self._sync_here()
        self._close()
        self._activate(OFF)
        self.rewrite_scheduled = False
        self.incr_size = 0
        self.kill_child()
        self.buffer = bytearray()

    def _close(self):
        """Close the file; if a worker thread still fsyncs it, it is closed after that."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if self._syncing is None:
            os.close(fd)
        else:
            gevent.spawn(self._close_later, self._syncing, fd, False)
        self.synced = self.written

    def _retire(self, fd):
        """aof_background_fsync_and_close: the INCR left behind is fsynced and closed in a worker thread (with
        appendfsync always, what was written is on disk before any reply is sent, so here and now)."""
        if fd is None:
            return
        if self.config["appendfsync"] == "always" and self.synced < self.written:
            try:
                os.fsync(fd)
            except OSError as error:
                self._fsync_failed(error)
        gevent.spawn(self._close_later, self._syncing, fd, True)
        self.synced = self.written

    @staticmethod
    def _close_later(syncing, fd, fsync):
        """Close fd once the fsync a worker thread runs on it is done (and after one more, if fsync)."""
        if syncing is not None:
            syncing.wait()
        try:
            if fsync:
                gevent.get_hub().threadpool.apply(os.fsync, (fd,))
        except OSError as error:
            log.warning("Error syncing the AOF file to disk: %s", error.strerror)
        finally:
            os.close(fd)

    def shutdown(self, force=False):
        """prepareForShutdown's AOF part: stop a rewrite and get everything logged onto the disk. False while
        the first rewrite of an AOF just switched on runs (its INCR is not in the manifest yet), unless force."""
        if self.child_pid is not None and self.state != OFF:
            if self.state == WAIT_REWRITE:
                if not force:
                    log.warning("Writing initial AOF, can't exit.")
                    return False
                log.warning("Writing initial AOF. Exit anyway.")
            log.warning("There is a child rewriting the AOF. Killing it!")
        self.kill_child()
        if self.state != OFF:
            log.info("Calling fsync() on the AOF file.")
            self._sync_here()
        return True

    # ------------------------------------------------------------------ rewriting

    def rewrite_in_background(self):
        """rewriteAppendOnlyFileBackground: open the next INCR, fork a child that writes the next BASE;
        True if it started."""
        try:
            make_directory(self.directory)
        except AOFError as error:
            log.warning("%s", error)
            self.last_rewrite_ok = False
            return False
        self.selected = -1  # the new INCR starts with a SELECT
        self.write_buffer()
        if not self._open_new_incr():
            self.last_rewrite_ok = False
            return False
        self.rewrites += 1
        self.rewrite_started = time.monotonic()
        started = time.perf_counter_ns()
        try:
            pid = os.fork()
        except OSError as error:
            log.warning("Can't rewrite append only file in background: fork: %s", error.strerror)
            self.last_rewrite_ok = False
            self.consecutive_failures += 1
            return False
        if pid == 0:
            self._child()
        self.server.record_fork(started)
        self.child_pid = pid
        self.rewrite_scheduled = False
        log.info("Background append only file rewriting started by pid %d", pid)
        return True

    def _temporary_incr(self):
        return "temp-%s.incr" % self.config["appendfilename"]

    def _open_new_incr(self):
        """openNewIncrAofForAppend: AOF on, the next INCR, in the manifest before it is used; waiting for the
        first rewrite, a temporary INCR that the rewrite's end names. False if it could not be done."""
        if self.state == OFF:
            return True
        filename = self.config["appendfilename"]
        manifest = None
        if self.state == WAIT_REWRITE:
            name = self._temporary_incr()
        else:
            manifest = self.manifest.copy()
            name = manifest.new_incr(filename)
        try:
            fd = os.open(os.path.join(self.directory, name), os.O_WRONLY | os.O_APPEND | os.O_TRUNC | os.O_CREAT,
                         0o644)
        except OSError as error:
            log.warning("Can't open the append-only file %s: %s", name, error.strerror)
            return False
        problem = persist(manifest, self.directory, filename) if manifest is not None else None
        if problem is not None:
            log.warning("%s", problem)
            os.close(fd)
            return False
        log.info("Creating AOF incr file %s on background rewrite", name)
        self._retire(self.fd)
        self.fd = fd
        self.incr_size = 0
        if manifest is not None:
            self.manifest = manifest
        return True

    def _temporary_path(self, pid):
        return os.path.join(self.config["dir"], "temp-rewriteaof-bg-%d.aof" % pid)

    def _child(self):
        """In the forked child: write the next BASE under a temporary name, never return."""
        def write():
            temporary = self._temporary_path(os.getpid())
            write_base(self, temporary)
            log.info("Successfully created the temporary AOF base file %s", os.path.basename(temporary))
        run_in_child(write, "Write error writing append only file on disk")

    def reap(self):
        """backgroundRewriteDoneHandler, once the rewrite child finished (called from the cron)."""
        try:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.child_pid, 1
        if pid == 0:
            return
        pid, self.child_pid = self.child_pid, None
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            log.info("Background AOF rewrite terminated with success")
            if not self._finish_rewrite(pid):
                self.last_rewrite_ok = False
                self.consecutive_failures += 1
        elif os.WIFEXITED(status):
            self.last_rewrite_ok = False
            self.consecutive_failures += 1
            log.warning("Background AOF rewrite terminated with error")
        else:
            if os.WTERMSIG(status) != signal.SIGUSR1:  # SIGUSR1: killed on purpose, not a failure
                self.last_rewrite_ok = False
                self.consecutive_failures += 1
            log.warning("Background AOF rewrite terminated by signal %d", os.WTERMSIG(status))
        self._after_rewrite(pid)

    def _after_rewrite(self, pid):
        """The end of any rewrite: temporary files go; while AOF waits to be on, another rewrite is scheduled."""
        _unlink(self._temporary_path(pid))
        _unlink(os.path.join(self.config["dir"], "temp-rewriteaof-%d.aof" % pid))
        if self.state == WAIT_REWRITE:
            self.buffer = bytearray()
            log.info("Removing the temp incr aof file %s in the background", self._temporary_incr())
            _unlink(os.path.join(self.directory, self._temporary_incr()))
            self.rewrite_scheduled = True  # AOF cannot be on without its files: try again
        self.last_rewrite_seconds = int(time.monotonic() - self.rewrite_started)

    def _finish_rewrite(self, pid):
        """The child's file becomes the new BASE (and the temporary INCR the first INCR, if AOF was waiting
        for this); the manifest names them; what they replace becomes HISTORY. False if a step failed."""
        filename, dirname = self.config["appendfilename"], self.config["appenddirname"]
        manifest = self.manifest.copy()
        base = manifest.new_base(filename, self.config["aof-use-rdb-preamble"])
        temporary = os.path.basename(self._temporary_path(pid))
        if not self._rename(self._temporary_path(pid), base, "base", temporary):
            return False
        new_incr = None
        if self.state == WAIT_REWRITE:
            new_incr = manifest.new_incr(filename)
            if not self._rename(os.path.join(self.directory, self._temporary_incr()), new_incr, "incr",
                                self._temporary_incr(), os.path.join(dirname, self._temporary_incr())):
                _unlink(os.path.join(self.directory, base))
                return False
        manifest.rewritten_incrs_to_history(keep_last=self.fd is not None)
        problem = persist(manifest, self.directory, filename)
        if problem is not None:
            log.warning("%s", problem)
            for name in (base, new_incr):
                if name is not None:
                    _unlink(os.path.join(self.directory, name))
            return False
        self.manifest = manifest
        if self.fd is not None:  # the INCR in use began with a SELECT: Redis 7.0.15 issues no other here
            self.current_size = self.base_size = self.file_size(base) + self.incr_size
        delete_history(self)
        self.last_rewrite_ok = True
        self.consecutive_failures = 0
        log.info("Background AOF rewrite finished successfully")
        if self.state == WAIT_REWRITE:
            self._activate(ON)
        return True

    def _rename(self, source, name, kind, shown, shown_source=None):
        """Rename a temporary file to name in the folder, with the latency event and Redis's lines."""
        started = time.perf_counter_ns()
        try:
            os.rename(source, os.path.join(self.directory, name))
        except OSError as error:
            log.warning("Error trying to rename the temporary AOF %s file %s into %s: %s", kind,
                        shown_source or shown, os.path.join(self.config["appenddirname"], name), error.strerror)
            return False
        self.server.latency_event("aof-rename", started)
        log.info("Successfully renamed the temporary AOF %s file %s into %s", kind, shown, name)
        return True

    def kill_child(self):
        """killAppendOnlyChild: stop a rewrite and drop its temporary files."""
        if self.child_pid is None:
            return
        pid, self.child_pid = self.child_pid, None
        log.info("Killing running AOF rewrite child: %d", pid)
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except OSError:
            pass
        _unlink(self._temporary_path(pid))
        _unlink(os.path.join(self.config["dir"], "temp-rewriteaof-%d.aof" % pid))

    # ------------------------------------------------------------------ INFO

    def info(self):
        """The aof_* fields of INFO persistence, as Redis 7.0 names them."""
        running = self.child_pid is not None
        fields = {
            "aof_enabled": int(self.state != OFF),
            "aof_rewrite_in_progress": int(running),
            "aof_rewrite_scheduled": int(self.rewrite_scheduled),
            "aof_last_rewrite_time_sec": self.last_rewrite_seconds,
            "aof_current_rewrite_time_sec": int(time.monotonic() - self.rewrite_started) if running else -1,
            "aof_last_bgrewrite_status": "ok" if self.last_rewrite_ok else "err",
            "aof_rewrites": self.rewrites,
            "aof_rewrites_consecutive_failures": self.consecutive_failures,
            "aof_last_write_status": "ok" if self.last_write_ok else "err",
        }
        extra = []
        if self.config["appendonly"]:
            extra = [("aof_current_size", self.current_size), ("aof_base_size", self.base_size),
                     ("aof_pending_rewrite", int(self.rewrite_scheduled)), ("aof_buffer_length", len(self.buffer)),
                     ("aof_pending_bio_fsync", int(self._syncing is not None)), ("aof_delayed_fsync", 0)]
        return fields, extra


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
