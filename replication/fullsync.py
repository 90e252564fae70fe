"""Full resynchronisation: a snapshot of the keyspace at an exact stream offset, sent to the replicas that asked.

Disk-based (repl-diskless-sync no, or a replica without capa eof): a BGSAVE
writes dump.rdb as any BGSAVE does; when it ends each waiting replica gets
$<length>\\r\\n and the file, then the stream it missed meanwhile. Diskless:
a forked child writes the RDB into a pipe, framed as $EOF:<40 random
characters>\\r\\n ... <the same 40>, and the parent forwards it to every
replica of the transfer; a replica's stream starts on its first REPLCONF ACK,
so it is never glued to the end of the RDB (as Redis does).

Either way the offset in +FULLRESYNC is the offset at the fork: the child
sees the keyspace exactly as the stream left it there, and every byte
produced after it waits in the replica's buffer (ReplicaLink.feed).
"""
import logging
import os
import signal
import time

import gevent
import gevent.os

from persistence import run_in_child
from replication.master import ONLINE, SEND_BULK, WAIT_BGSAVE_END, WAIT_BGSAVE_START

log = logging.getLogger("mini-redis")
CHUNK = 64 * 1024  # PROTO_IOBUF_LEN: what one read of the file or the pipe forwards


class FullSync:
    """The snapshot for replicas under way, if any: a disk BGSAVE they wait for, or a diskless child."""

    def __init__(self, server):
        self.server = server
        self.child_pid = None  # the diskless child writing into the pipe
        self.diskless = False  # whether the snapshot under way goes to sockets
        self._transfer = None  # the greenlet forwarding the pipe

    def _waiting(self, state):
        return [link for link in self.server.replication.replicas if link.state == state]

    def _child_active(self):
        server = self.server
        return server.snapshots.in_progress or server.aof.child_pid is not None

    def request(self, link):
        """A replica needs a full sync (syncCommand's three cases): join the disk BGSAVE under way, wait for
        the next one, or start one."""
        link.state = WAIT_BGSAVE_START
        link.waiting_since = time.monotonic()
        config = self.server.config
        if self.server.snapshots.in_progress and not self.diskless:
            twin = next((other for other in self._waiting(WAIT_BGSAVE_END)
                         if other.capabilities == link.capabilities and other.rdb_only == link.rdb_only
                         and other.excluded == link.excluded), None)
            if twin is not None:
                link.buffer = bytearray(twin.buffer)
                self._set_up(link, twin.sync_offset)
                log.info("Waiting for end of BGSAVE for SYNC")
            else:
                log.info("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
        elif self.diskless:
            log.info("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
        elif config["repl-diskless-sync"] and "eof" in link.capabilities and config["repl-diskless-sync-delay"]:
            log.info("Delay next BGSAVE for diskless SYNC")
        elif not self._child_active():
            self._start([link])
        else:
            log.info("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed")

    def tick(self):
        """From the cron: start the snapshot replicas wait for once no child runs and, diskless, once
        repl-diskless-sync-delay passed or repl-diskless-sync-max-replicas arrived."""
        waiting = self._waiting(WAIT_BGSAVE_START)
        if not waiting or self._child_active():
            return
        # One snapshot serves the replicas that want the same parts of it as the first (a filtered one, say).
        waiting = [link for link in waiting if link.excluded == waiting[0].excluded]
        config = self.server.config
        if config["repl-diskless-sync"]:
            most = config["repl-diskless-sync-max-replicas"]
            idle = time.monotonic() - min(link.waiting_since for link in waiting)
            if not (most and len(waiting) >= most) and idle < config["repl-diskless-sync-delay"]:
                return
        self._start(waiting)

    def _start(self, links):
        """startBgsaveForReplication: to the sockets if diskless and every replica can take it, else to disk.
        A filtered snapshot (REPLCONF rdb-filter-only) always goes to the sockets, never over dump.rdb."""
        excluded = links[0].excluded
        to_sockets = ((self.server.config["repl-diskless-sync"] or excluded)
                      and all("eof" in link.capabilities for link in links))
        log.info("Starting BGSAVE for SYNC with target: %s", "replicas sockets" if to_sockets else "disk")
        offset = self.server.replication.offset
        started = self._fork_to_sockets(links, excluded) if to_sockets else self.server.snapshots.background_save()
        if not started:
            log.warning("BGSAVE for replication failed")
            for link in links:
                link.connection.deliver(b"-ERR BGSAVE failed, maybe there is another background save in progress\r\n")
                link.drop()
            return
        for link in links:
            link.buffer = bytearray()
            self._set_up(link, offset)

    def _set_up(self, link, offset):
        """replicationSetupSlaveForFullResync: the snapshot's offset is fixed; the next command re-SELECTs."""
        link.sync_offset = offset
        link.state = WAIT_BGSAVE_END
        self.server.replication.stream_db = -1
        if not link.old_protocol:
            line = b"+FULLRESYNC %s %d\r\n" % (self.server.replication.replid.encode(), offset)
            link.connection.push(line, counted=False)  # as Redis, which writes it straight to the socket

    # -- disk

    def saved(self, ok):
        """A BGSAVE ended (snapshots.reap): the replicas waiting for it get the file, or are dropped."""
        links = [link for link in self._waiting(WAIT_BGSAVE_END) if not self.diskless]
        for link in links:
            if not ok:
                log.warning("SYNC failed. BGSAVE child returned an error")
                link.drop()
                continue
            try:
                file = open(self.server.snapshots.path, "rb")
            except OSError as error:
                log.warning("SYNC failed. Can't open/stat DB after BGSAVE: %s", error.strerror)
                link.drop()
                continue
            link.state = SEND_BULK
            link.last_progress = time.monotonic()
            gevent.spawn(self._send_file, link, file)

    def _send_file(self, link, file):
        """sendBulkToSlave: $<length>, the file, then the replica is online and its stream follows."""
        with file:
            try:
                link.connection.send_now(b"$%d\r\n" % os.fstat(file.fileno()).st_size)
                while True:
                    chunk = file.read(CHUNK)
                    if not chunk:
                        break
                    link.connection.send_now(chunk)
                    link.last_progress = time.monotonic()
            except OSError:
                link.drop()
                return
        self._done(link)
        if link.state == ONLINE:
            link.start_stream()

    def _done(self, link):
        """The RDB is out: online, or, for REPLCONF rdb-only, closed."""
        if link.rdb_only:
            link.drop()
            return
        link.put_online()

    # -- diskless

    def _fork_to_sockets(self, links, excluded):
        """rdbSaveToSlavesSockets: fork a child writing the framed RDB (without the excluded parts) into a pipe;
        True if it started."""
        read_end, write_end = os.pipe()
        mark = os.urandom(20).hex().encode()
        started = time.perf_counter_ns()
        try:
            pid = os.fork()
        except OSError as error:
            log.warning("Can't save in background: fork: %s", error.strerror)
            os.close(read_end)
            os.close(write_end)
            return False
        if pid == 0:
            os.close(read_end)
            run_in_child(lambda: self._write_framed(write_end, mark, excluded), "Diskless RDB transfer failed")
        os.close(write_end)
        self.server.record_fork(started)
        self.child_pid, self.diskless = pid, True
        self.server.snapshots.child_started = time.monotonic()  # INFO's rdb_current_bgsave_time_sec
        log.info("Background RDB transfer started by pid %d", pid)
        self._transfer = gevent.spawn(self._forward, read_end, list(links))
        return True

    def _write_framed(self, fd, mark, excluded):
        with os.fdopen(fd, "wb") as pipe:
            pipe.write(b"$EOF:%s\r\n" % mark)
            self.server.snapshots.dump_to(pipe, data="data" not in excluded, functions="functions" not in excluded)
            pipe.write(mark)

    def _forward(self, fd, links):
        """The parent's side: every chunk the child writes goes to every replica still there; the pipe is
        read without blocking, so clients are served while the child writes."""
        gevent.os.make_nonblocking(fd)
        try:
            while True:
                chunk = gevent.os.nb_read(fd, CHUNK)
                if not chunk:
                    break
                for link in list(links):
                    try:
                        link.connection.send_now(chunk)
                        link.last_progress = time.monotonic()
                    except OSError:
                        links.remove(link)
                if not links:
                    log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
                    os.kill(self.child_pid, signal.SIGUSR1)
                    break
        finally:
            os.close(fd)
        if links:
            log.info("Diskless RDB transfer, done reading from pipe, %d replicas still up.", len(links))
        ok = self._reap()
        for link in links:
            if link.state != WAIT_BGSAVE_END:
                continue
            if not ok:
                log.warning("SYNC failed. BGSAVE child returned an error")
                link.drop()
                continue
            log.info("Streamed RDB transfer with replica %s succeeded (socket). Waiting for REPLCONF ACK from "
                     "slave to enable streaming", link.name())
            self._done(link)
            link.start_stream_on_ack = True

    def _reap(self):
        """Wait for the diskless child (it has closed the pipe: it is exiting); True if it succeeded."""
        pid = self.child_pid
        try:
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                gevent.sleep(0.01)
        except ChildProcessError:
            status = 1
        self.child_pid, self.diskless, self._transfer = None, False, None
        ok = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        if ok:
            log.info("Background RDB transfer terminated with success")
        else:
            log.warning("Background transfer error")
        return ok

    def stop(self):
        """Shutdown: the diskless child is killed."""
        if self._transfer is not None:
            self._transfer.kill()
        if self.child_pid is not None:
            try:
                os.kill(self.child_pid, signal.SIGKILL)
            except OSError:
                pass
