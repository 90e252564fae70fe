"""The append-only file: every change, as the command that replays it, in Redis's single-file format.

    *<argc>\\r\\n then per argument $<length>\\r\\n<bytes>\\r\\n     one RESP array per command
    SELECT <db> before a command of another database than the last one
    MULTI ... EXEC around what one command or transaction logged in several steps

Commands run by the dispatcher (commands.run) are logged as they were sent,
unless the command says otherwise through Session.propagate (relative
expiries become PEXPIREAT or SET ... PXAT, SPOP becomes SREM, a served
blocking pop the non-blocking pop...); changes made outside any command
(expiry, eviction, a blocked client served later) come through
Keyspace.propagate as the DEL or pop they amount to. The grouping is
replication/propagation.py's, shared with the replication stream; emit()
receives what it decided.

What is logged collects in a buffer. Connection.send_replies calls
before_reply() before any reply leaves: the buffer is written to the file
(and, with appendfsync always, fsynced in a worker thread while other
clients are served), so an acknowledged write is in the file before its
client hears of it. With everysec the cron fsyncs once a second.

BGREWRITEAOF forks: the child writes the keyspace it sees as fresh
commands; the parent keeps logging, also into a rewrite buffer, which it
appends to the child's file before renaming it over the old one.
"""
import errno
import logging
import os
import signal
import time

import gevent
import gevent.event

from errors import ReplyError
from persistence import run_in_child
from storage.keyspace import type_name
from storage.module_values import ModuleValue
from storage.streams import id_bytes

log = logging.getLogger("mini-redis")

OFF, ON, WAIT_REWRITE = "off", "on", "wait_rewrite"  # Redis's AOF_OFF, AOF_ON, AOF_WAIT_REWRITE
ITEMS_PER_COMMAND = 64  # AOF_REWRITE_ITEMS_PER_CMD: elements per RPUSH/SADD/HMSET/ZADD of a rewrite
REWRITE_RETRY_DELAY = 5  # seconds before a failed rewrite that enabling AOF needs is tried again
WRITE_CHUNK = 1 << 20
PROGRESS_SECONDS = 1.0


class AOFError(Exception):
    """An append-only file that cannot be loaded: the text is what the log says before start-up stops."""


def encode(argv):
    """One command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(argv)]
    for argument in argv:
        parts.append(b"$%d\r\n%s\r\n" % (len(argument), argument))
    return b"".join(parts)


def encode_commands(ops, selected):
    """(db index, argv) pairs as RESP commands, a SELECT before one of another database than the last
    selected (none before one of no database, an EXEC): the bytes, and the database selected after."""
    parts = []
    for index, argv in ops:
        if index != selected and index is not None:
            parts.append(encode([b"SELECT", b"%d" % index]))
            selected = index
        parts.append(encode(argv))
    return b"".join(parts), selected


def _never():
    """The clock while loading: no key counts as expired, as in Redis, so replay sees what the writer saw."""
    return 0


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
        self.current_size = 0
        self.base_size = 0
        self.last_write_ok = True
        self.last_write_error = ""  # strerror of the failed write, while last_write_ok is False
        # Rewriting
        self.child_pid = None
        self.rewrite_buffer = None  # what was logged since the child forked
        self.rewrite_started = 0.0
        self.rewrite_scheduled = False
        self.rewrite_retry_at = 0.0
        self.last_rewrite_seconds = -1
        self.last_rewrite_ok = True
        self.rewrites = 0
        self.consecutive_failures = 0

    @property
    def config(self):
        return self.server.config

    @property
    def path(self):
        return os.path.join(self.config["dir"], self.config["appendfilename"])

    def _activate(self, state):
        self.state = state
        self.server.propagation.refresh()

    # ------------------------------------------------------------------ what is logged

    def emit(self, ops):
        """Encode logged commands (replication/propagation.py groups them) into the buffer(s), with SELECTs
        (none before a command of no database, an EXEC)."""
        data, self.selected = encode_commands(ops, self.selected)
        if self.state == ON:
            self.buffer += data
        if self.rewrite_buffer is not None:
            self.rewrite_buffer += data

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
        size_before = self.current_size
        started = time.perf_counter_ns() if self.config["latency-monitor-threshold"] else None
        try:
            view = memoryview(data)
            while view:
                done = os.write(self.fd, view)
                view = view[done:]
                self.current_size += done
                self.written += done
        except OSError as error:
            log.warning("Error writing to the AOF file: %s", error.strerror)
            self.last_write_ok = False
            self.last_write_error = error.strerror
            self._undo_partial_write(size_before)
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

    def _undo_partial_write(self, size_before):
        """Cut a half-written command back off, as Redis does, so the file stays loadable."""
        if self.current_size == size_before:
            return
        try:
            os.ftruncate(self.fd, size_before)
        except OSError:
            return
        self.written -= self.current_size - size_before
        self.current_size = size_before

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
        if self.rewrite_scheduled and time.monotonic() >= self.rewrite_retry_at:
            self.rewrite_in_background()
        elif self.state == ON:
            self._maybe_auto_rewrite()

    def _maybe_auto_rewrite(self):
        percentage, minimum = self.config["auto-aof-rewrite-percentage"], self.config["auto-aof-rewrite-min-size"]
        if not percentage or self.current_size <= minimum:
            return
        growth = self.current_size * 100 // (self.base_size or 1) - 100
        if growth >= percentage:
            log.info("Starting automatic rewriting of AOF on %d%% growth", growth)
            self.rewrite_in_background()

    # ------------------------------------------------------------------ switching on and off

    def open_at_start(self):
        """After loading, with appendonly yes: append to the file (created empty if there was none)."""
        if not os.path.exists(self.path):
            log.info("Creating AOF file %s on server start", self.config["appendfilename"])
        try:
            self._open()
        except OSError as error:
            raise AOFError("Can't open the append-only file %s: %s"
                           % (self.config["appendfilename"], error.strerror)) from None
        self.base_size = self.current_size
        self._activate(ON)

    def _open(self):
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        started = time.perf_counter_ns()
        self.current_size = os.fstat(self.fd).st_size
        self.server.latency_event("aof-fstat", started)
        self.selected = -1

    def switch(self, enabled):
        """CONFIG SET appendonly: True if the change took effect."""
        if enabled and self.state == OFF:
            return self.start()
        if not enabled and self.state != OFF:
            self.stop()
        return True

    def start(self):
        """appendonly yes at run time (Redis's startAppendOnly): a rewrite makes the file, AOF is on once it is done."""
        if self.child_pid is not None:
            log.warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background "
                        "AOF and starting a rewrite now.")
            self.kill_child()
        if self.server.snapshots.in_progress:
            log.warning("AOF was enabled but there is already another background operation. An AOF background "
                        "was scheduled to start when possible.")
            self.rewrite_scheduled = True
        elif not self.rewrite_in_background():
            log.warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. "
                        "Check the above logs for more info about the error.")
            return False
        self._activate(WAIT_REWRITE)
        return True

    def stop(self):
        """appendonly no: flush, fsync and close the file; a rewrite in progress is abandoned."""
        self._sync_here()
        if self.child_pid is not None:
            log.info("Killing running AOF rewrite child: %d", self.child_pid)
            self.kill_child()
        self._close()
        self._activate(OFF)
        self.rewrite_scheduled = False
        self.buffer = bytearray()

    def _close(self):
        """Close the file; if a worker thread still fsyncs it, that thread's waiter closes it after."""
        fd, self.fd = self.fd, None
        if fd is None:
            return
        if self._syncing is None:
            os.close(fd)
        else:
            gevent.spawn(self._close_after_sync, self._syncing, fd)
        self.synced = self.written

    @staticmethod
    def _close_after_sync(syncing, fd):
        syncing.wait()
        os.close(fd)

    def shutdown(self):
        """Before exiting: stop a rewrite, and get everything logged onto the disk."""
        if self.child_pid is not None:
            self.kill_child()
        if self.state == ON:
            log.info("Calling fsync() on the AOF file.")
            self._sync_here()

    # ------------------------------------------------------------------ rewriting

    def rewrite_in_background(self):
        """Fork a child that writes the keyspace as fresh commands; True if it started."""
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
        self.rewrite_buffer = bytearray()
        self.selected = -1  # the rewritten file ends in any database: the next command says which
        self.rewrite_scheduled = False
        log.info("Background append only file rewriting started by pid %d", pid)
        return True

    def _temporary_path(self, pid):
        return os.path.join(self.config["dir"], "temp-rewriteaof-bg-%d.aof" % pid)

    def _child(self):
        """In the forked child: write the rewritten file, never return."""
        run_in_child(lambda: write_rewrite(self.server.keyspace, self._temporary_path(os.getpid()),
                                           self.server.scripting.functions.codes()),
                     "Write error writing append only file on disk")

    def reap(self):
        """If the rewrite child finished: on success put its file in place (called from the cron)."""
        try:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
        except ChildProcessError:
            pid, status = self.child_pid, 1
        if pid == 0:
            return
        pid, self.child_pid = self.child_pid, None
        self.last_rewrite_seconds = int(time.monotonic() - self.rewrite_started)
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
            log.info("Background AOF rewrite terminated with success")
            if self._finish_rewrite(pid):
                return
        else:
            log.warning("Background AOF rewrite terminated with error" if os.WIFEXITED(status) else
                        "Background AOF rewrite terminated by signal %d" % os.WTERMSIG(status))
        self._rewrite_failed(pid)

    def _rewrite_failed(self, pid):
        self.rewrite_buffer = None
        self.last_rewrite_ok = False
        self.consecutive_failures += 1
        _unlink(self._temporary_path(pid))
        if self.state == WAIT_REWRITE:  # AOF cannot be on without its file: try again a little later
            self.rewrite_scheduled = True
            self.rewrite_retry_at = time.monotonic() + REWRITE_RETRY_DELAY

    def _finish_rewrite(self, pid):
        """Append what was logged meanwhile to the child's file, fsync it, rename it over the AOF, switch to it."""
        while self._syncing is not None:  # the old file descriptor is about to close
            self._syncing.wait()
        if self.state == ON:
            self.write_buffer()  # the old file stays whole until the rename replaces it
        temporary = self._temporary_path(pid)
        try:
            started = time.perf_counter_ns()
            with open(temporary, "ab") as file:
                file.write(self.rewrite_buffer)
                file.flush()
                os.fsync(file.fileno())
            self.server.latency_event("aof-rewrite-diff-write", started)
            log.info("Residual parent diff successfully flushed to the rewritten AOF (%.2f MB)",
                     len(self.rewrite_buffer) / (1024 * 1024))
            started = time.perf_counter_ns()
            os.replace(temporary, self.path)
            self.server.latency_event("aof-rename", started)
            _sync_directory(self.config["dir"])
        except OSError as error:
            log.warning("Error trying to rename the temporary AOF file %s into %s: %s",
                        os.path.basename(temporary), self.config["appendfilename"], error.strerror)
            return False
        self.rewrite_buffer = None
        if self.state != OFF:
            old_fd = self.fd
            self._open()
            if old_fd is not None:
                os.close(old_fd)
            self.buffer = bytearray()  # all of it was in the rewrite buffer too
            self.synced = self.written
            if self.state == WAIT_REWRITE:
                log.info("AOF rewrite done, AOF is now on")
            self._activate(ON)
        else:
            self.current_size = os.path.getsize(self.path)
        self.base_size = self.current_size
        self.last_rewrite_ok = True
        self.consecutive_failures = 0
        self.rewrites += 1
        log.info("Background AOF rewrite finished successfully")
        return True

    def kill_child(self):
        if self.child_pid is None:
            return
        pid, self.child_pid = self.child_pid, None
        try:
            os.kill(pid, signal.SIGUSR1)
            os.waitpid(pid, 0)
        except OSError:
            pass
        self.rewrite_buffer = None
        _unlink(self._temporary_path(pid))

    # ------------------------------------------------------------------ loading

    def load(self, replayer, serving=False):
        """Replay the AOF into the keyspace through replayer (a commands.Replayer) at start-up with
        appendonly yes; AOFError if it cannot be loaded. serving: the clients are served while it loads
        (at start-up), getting -LOADING (persistence/progress.py).

        A torn last command is cut off when aof-load-truncated allows it; a
        bad command before the end stops start-up, naming its offset.
        """
        path, name = self.path, self.config["appendfilename"]
        if not os.path.exists(path):
            return False
        started = time.monotonic()
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as error:
            raise AOFError("Fatal error: can't open the append log file %s for reading: %s"
                           % (name, error.strerror)) from None
        if not data:
            log.info("DB loaded from append only file: %.3f seconds", time.monotonic() - started)
            return True
        if data.startswith(b"REDIS"):
            raise AOFError("The AOF file %s starts with an RDB preamble, which mini-redis cannot load" % name)
        log.info("Reading RDB/AOF %s (%d bytes)...", name, len(data))
        keyspace = self.server.keyspace
        clock, keyspace.clock = keyspace.clock, _never
        progress = self.server.loading if serving else None
        try:
            if serving:
                progress.start(len(data))
            replay = _Replay(replayer, data, name, progress)
            valid_up_to = replay.run()
        finally:
            keyspace.clock = clock
            if serving:
                progress.stop()
        keyspace.dirty = 0
        if valid_up_to is not None:
            self._truncate(path, name, valid_up_to)
        log.info("Done loading AOF, commands replayed: %d", replay.commands)
        log.info("DB loaded from append only file: %.3f seconds", time.monotonic() - started)
        return True

    def _truncate(self, path, name, valid_up_to):
        """A torn tail: cut it off if aof-load-truncated allows, else refuse to start (Redis's messages)."""
        if self.config["aof-load-truncated"]:
            log.warning("!!! Warning: short read while loading the AOF file %s!!!", name)
            log.warning("!!! Truncating the AOF %s at offset %d !!!", name, valid_up_to)
            try:
                os.truncate(path, valid_up_to)
            except OSError as error:
                raise AOFError("Error truncating the AOF file %s: %s" % (name, error.strerror)) from None
            log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", name)
            return
        raise AOFError("Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your "
                       "AOF file, then use ./redis-check-aof --fix <filename>. 2) Alternatively you can set the "
                       "'aof-load-truncated' configuration option to yes and restart the server." % name)

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


class _Replay:
    """Reads an AOF's commands and hands them to a commands.Replayer, a client without a connection."""

    def __init__(self, replayer, data, name, progress=None):
        self.replayer = replayer
        self.data = data
        self.name = name
        self.progress = progress  # the server's LoadProgress, told every 1024 commands (it lets the clients in)
        self.commands = 0

    def run(self):
        """Replay everything; the offset to truncate at when the tail is torn, else None."""
        data, size = self.data, len(self.data)
        position = valid_up_to = 0
        queued = None  # the commands of an open MULTI
        before_multi = 0
        next_report = time.monotonic() + PROGRESS_SECONDS
        while position < size:
            start = position
            if data[position] == 0x23:  # '#': an annotation line
                end = data.find(b"\n", position)
                if end < 0:
                    break
                position = valid_up_to = end + 1
                continue
            argv, position = self._command(position)
            if argv is None:
                break  # the file ends inside this command
            command, arguments = self._lookup(argv, start)
            if command.name == "multi":
                queued, before_multi = [], start
            elif command.name == "exec":
                self._exec(queued or [])
                queued = None
            elif queued is not None:
                queued.append((command, arguments, argv))
            else:
                self.replayer.run(command, arguments, argv)
            valid_up_to = position
            self.commands += 1
            if not self.commands % 1024:  # as Redis's loadSingleAppendOnlyFile, by commands
                if self.progress is not None:
                    self.progress.advance(position)
                if time.monotonic() >= next_report:
                    log.info("AOF loading: %d%% (%d of %d bytes)", position * 100 // size, position, size)
                    next_report = time.monotonic() + PROGRESS_SECONDS
        if queued is not None:
            log.warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", self.name)
            return before_multi
        return valid_up_to if position < size else None

    def _bad_format(self, offset):
        raise AOFError("Bad file format reading the append only file %s at offset %d: make a backup of your AOF "
                       "file, then use ./redis-check-aof --fix <filename>" % (self.name, offset))

    def _line(self, position):
        """(the line's bytes without CRLF, where the next begins), or (None, None) at the end of the data."""
        end = self.data.find(b"\r\n", position)
        if end < 0:
            return None, None
        return self.data[position:end], end + 2

    def _number(self, line, prefix, offset):
        if line[:1] != prefix or not line[1:].isdigit():
            self._bad_format(offset)
        return int(line[1:])

    def _command(self, position):
        """(argv, next position), or (None, position) if the data ends before the command does."""
        start = position
        line, position = self._line(position)
        if line is None:
            return None, start
        argc = self._number(line, b"*", start)
        if argc < 1:
            self._bad_format(start)
        argv = []
        for _ in range(argc):
            offset = position
            line, position = self._line(position)
            if line is None:
                return None, start
            length = self._number(line, b"$", offset)
            end = position + length
            if end + 2 > len(self.data):
                return None, start
            if self.data[end:end + 2] != b"\r\n":
                self._bad_format(end)
            argv.append(self.data[position:end])
            position = end + 2
        return argv, position

    def _lookup(self, argv, offset):
        try:
            return self.replayer.lookup(argv)
        except ReplyError:
            raise AOFError("Unknown command '%s' reading the append only file %s (offset %d)"
                           % (argv[0].decode(errors="replace"), self.name, offset)) from None

    def _exec(self, queued):
        for command, arguments, argv in queued:
            self.replayer.run(command, arguments, argv)


# ------------------------------------------------------------------ the rewritten file


def _score(score):
    """A sorted-set score as Redis writes it in a rewrite (%.17g: exact, and 'inf'/'-inf')."""
    return b"%.17g" % score


def _chunks(items, make):
    items = list(items)
    for start in range(0, len(items), ITEMS_PER_COMMAND):
        yield make(items[start:start + ITEMS_PER_COMMAND])


def rebuild(key, value):
    """The commands that recreate one key's value (Redis's rewriteAppendOnlyFileRio)."""
    if type(value) is ModuleValue:
        return _rebuild_module_value(key, value)
    kind = type_name(value)
    if kind == "string":
        return [[b"SET", key, value]]
    if kind == "list":
        return list(_chunks(value, lambda chunk: [b"RPUSH", key, *chunk]))
    if kind == "set":
        return list(_chunks(value, lambda chunk: [b"SADD", key, *chunk]))
    if kind == "hash":
        return list(_chunks(value.items(), lambda chunk: [b"HMSET", key, *(x for pair in chunk for x in pair)]))
    if kind == "zset":
        return list(_chunks(value.items(), lambda chunk: [b"ZADD", key, *(x for member, score in chunk
                                                                          for x in (_score(score), member))]))
    if kind == "stream":
        return list(_rebuild_stream(key, value))
    raise ValueError("cannot rewrite a value of type %s" % kind)


def _rebuild_module_value(key, value):
    """rewriteModuleObject: the commands the type's rewrite callback gives (argv lists of bytes)."""
    rewrite = value.module_type.rewrite
    if rewrite is None:
        raise ValueError("module type %s has no rewrite callback" % value.module_type.name)
    commands = [list(argv) for argv in rewrite(key, value.value)]
    if not all(argv and all(isinstance(argument, bytes) for argument in argv) for argv in commands):
        raise ValueError("module type %s's rewrite callback gave something other than lists of bytes"
                         % value.module_type.name)
    return commands


def _rebuild_stream(key, stream):
    """rewriteStreamObject: an XADD per entry (an empty stream made by XADD MAXLEN 0), XSETID, then each
    group, its consumers and their pending entries as XCLAIM ... JUSTID FORCE."""
    if len(stream):
        for stream_id, fields in stream.entries:
            yield [b"XADD", key, id_bytes(stream_id), *fields]
    else:
        yield [b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]
    yield [b"XSETID", key, id_bytes(stream.last_id), b"ENTRIESADDED", b"%d" % stream.entries_added,
           b"MAXDELETEDID", id_bytes(stream.max_deleted_id)]
    for name, group in sorted(stream.groups.items()):
        yield [b"XGROUP", b"CREATE", key, name, id_bytes(group.last_id), b"ENTRIESREAD", b"%d" % group.entries_read]
        for consumer_name, consumer in sorted(group.consumers.items()):
            if not consumer.pel:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, consumer_name]
            for stream_id, nack in consumer.pel.items():
                yield [b"XCLAIM", key, name, consumer_name, b"0", id_bytes(stream_id), b"TIME",
                       b"%d" % nack.delivery_time, b"RETRYCOUNT", b"%d" % nack.delivery_count, b"JUSTID", b"FORCE"]


def rewrite_commands(keyspace, now, functions=()):
    """Every command of a rewritten AOF: a FUNCTION LOAD per function library (rewriteFunctions), then
    per database a SELECT, then each live key and its deadline."""
    for code in functions:
        yield [b"FUNCTION", b"LOAD", code]
    for db in keyspace.databases:
        if not db.data:
            continue
        yield [b"SELECT", b"%d" % db.index]
        deadlines = db.expires.deadlines
        for key, value in db.data.items():
            deadline = deadlines.get(key)
            if deadline is not None and deadline < now:
                continue  # already expired: the parent logs its DEL anyway
            yield from rebuild(key, value)
            if deadline is not None:
                yield [b"PEXPIREAT", key, b"%d" % deadline]


def write_rewrite(keyspace, path, functions=()):
    """Write the rewritten AOF to path and fsync it."""
    with open(path, "wb") as file:
        chunk = bytearray()
        for argv in rewrite_commands(keyspace, keyspace.clock(), functions):
            chunk += encode(argv)
            if len(chunk) >= WRITE_CHUNK:
                file.write(chunk)
                chunk = bytearray()
        file.write(chunk)
        file.flush()
        os.fsync(file.fileno())


def _sync_directory(directory):
    """fsync the directory, so that a rename survives a power loss."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):
            log.warning("Error syncing the directory %s: %s", directory, error.strerror)
    finally:
        os.close(fd)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass
