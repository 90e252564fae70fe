"""mini-redis: a Redis-compatible in-memory key-value server on gevent.

    python server.py [/path/to/mini-redis.conf] [--port 4000] [--bind 127.0.0.1] [--maxclients 10000] ...

A gevent StreamServer accepts connections and a Pool runs one greenlet per
client. Each greenlet reads what arrived, parses every complete frame,
runs each command, and sends all the replies with one sendall: that is
what makes pipelining cheap.
"""
import logging
import os
import signal
import socket
import sys
import time

import gevent
import gevent.event
import gevent.socket
from gevent.pool import Pool
from gevent.server import StreamServer

from commands.acl import new_users
from commands.cluster import MigrateSockets
from commands import Replayer, execute, is_plain, plain_table
from commands.families import build_table, with_stats
from commands.introspection import keys_of
from commands.module import load_at_start
from errors import MAX_CLIENTS, PROTECTED_MODE, protocol_error
from persistence import aof_load
from persistence.aof import AOFError, AppendOnly
from persistence.progress import LoadProgress
from persistence.rdb import RDBError
from persistence.snapshots import Snapshots
from protocol import Error, ProtocolError, ReplyWriter, RequestReader
from modules.loader import Modules
from replication import failover, master as replica_links, replica
from replication.fullsync import FullSync
from replication.propagation import Propagation
from replication.state import Replication
from serving import access, clients_cron, logs, process, version
from serving.sockets import address_text, keep_alive, listen_tcp, listen_unix
from serving.channels import PubSub
from serving.config import Config, ConfigError, ConfigFileError
from serving.latency import LatencyMonitor
from serving.notifications import Notifications
from serving.parameters import TLS_SWITCHES
from serving.pause import end_expired_pauses
from serving.session import REPLY_ON, Session
from serving.shutdown import NOSAVE, NOW, Shutdown
from serving.slowlog import SlowLog
from serving.stats import Stats
from scripting.engine import Scripting
from serving.tracking import Tracking
from storage.keyspace import Keyspace

READ_SIZE = 64 * 1024
ROOT = os.path.dirname(os.path.abspath(__file__))  # where a module's relative path is looked for last
log = logging.getLogger("mini-redis")


class Server:
    """One running mini-redis: its settings, data, clients, and the listening socket."""

    def __init__(self, config):
        self.config = config
        self.keyspace = Keyspace(config["databases"])
        self.keyspace.latency_event = self.latency_event
        self.keyspace.memory.configure(config)
        self.now = time.monotonic()  # advanced by the cron: idle times need no clock call per command
        self.hz = config["hz"]  # the cron's rate: hz, or more with dynamic-hz and many clients
        self.pubsub = PubSub()
        self.sessions = {}  # client id -> Session, for CLIENT LIST and INFO
        self.tracking = Tracking(self.sessions, keys_of, self.configure_notifications)
        self.notifications = Notifications(self.pubsub, self.tracking, self.keyspace.databases)
        self.configure_notifications()
        self.commands = build_table()
        self.modules = Modules(ROOT)  # the loaded modules (commands/module.py installs them in the table)
        self.acl = new_users(config)  # ACL rules name commands as Redis does, whatever rename-command says
        self.acl.set_default_password(access.requirepass(config))
        access.apply_renames(self.commands, config.renames)
        self.plain_commands = plain_table(self.commands)
        self.monitors = []  # the sessions in MONITOR mode (serving/monitors.py)
        self.client_pause = None  # the pauses on, if any: CLIENT PAUSE's, a FAILOVER's, a SHUTDOWN's (serving/pause.py)
        self.pause = None  # what commands wait at: the client pause, or a running script's gate (scripting/busy.py)
        self.scripting = Scripting(self)
        self.stats = Stats(config)
        self._fit_command_stats()
        self.slowlog = SlowLog()
        self.latency = LatencyMonitor()
        self.started = time.time()
        self.run_id = os.urandom(20).hex()
        self.replication = Replication(config)
        self.loading = LoadProgress(config)  # a dataset being loaded: dump.rdb or the AOF at start-up, a full sync
        self.snapshots = Snapshots(self)
        self.aof = AppendOnly(self)
        self.propagation = Propagation(self)  # keyspace.propagator while the AOF or the replication stream listens
        self.fullsync = FullSync(self)
        self.migrate_sockets = MigrateSockets()  # MIGRATE's connections to its targets, kept for the next one
        self.shutdown = Shutdown(self)  # SHUTDOWN and the signals: waiting for the replicas, then the last steps
        self.stopping = gevent.event.Event()  # set once a shutdown is decided (SHUTDOWN, SIGTERM)
        self._connections = {}  # client id -> Connection, so CLIENT KILL and timeout can close one
        self._next_id = 1
        self._pool = Pool()
        self._cron = None
        self._listeners = []
        self._listening = None  # the (bind, port) the listeners were opened for
        self._unix_listener = None

    @property
    def port(self):
        return self._listeners[0].server_port if self._listeners else self.config["port"]

    def start(self):
        """Listen on every bind address (all on one port) and the unix socket, then start the cron. As Redis
        does, before the data loads: the clients that come meanwhile get -LOADING."""
        self._listeners = self._open_listeners(self.config["bind"], self.config["port"])
        if not self._listeners:
            raise OSError("no bind address could be listened on")
        self._cron = gevent.spawn(self._run_cron)
        if self.config["unixsocket"]:
            sock = listen_unix(self.config["unixsocket"], self.config["unixsocketperm"], self.config["tcp-backlog"])
            self._unix_listener = StreamServer(sock, self._accept, spawn=self._pool)
            self._unix_listener.start()

    def announce_ready(self):
        """The data is loaded: Redis's lines for it."""
        log.info("Ready to accept connections")
        if self.config["unixsocket"]:
            log.info("The server is now ready to accept connections at %s", self.config["unixsocket"])

    def listen_again(self):
        """CONFIG SET port or bind: new listeners replace the old ones, or the old ones stay and the answer is
        False. As Redis does, a new port is opened before the old one closes; new addresses after the old
        ones close (they may share the port), and the old ones open again if the new cannot listen."""
        bind, port = self.config["bind"], self.config["port"]
        if self._listening == (bind, port):
            return True
        old_bind, old_port = self._listening
        if bind != old_bind:
            self._close_listeners()
        try:
            listeners = self._open_listeners(bind, port)
        except OSError as error:
            log.warning("Could not create server TCP listening socket %s:%d: %s", bind, port, error.strerror)
            if bind != old_bind:
                self._listeners = self._open_listeners(old_bind, old_port)
            return False
        self._close_listeners()
        self._listeners = listeners
        return True

    def _close_listeners(self):
        for listener in self._listeners:
            listener.close()
        self._listeners = []

    def _open_listeners(self, bind, port):
        """Started listeners on every bind address, all on one port; OSError, with none left open, if one fails."""
        listeners, wanted = [], (bind, port)
        try:
            for address in bind.split():
                sock = listen_tcp(address, port, self.config["tcp-backlog"])
                if sock is None:
                    continue
                port = sock.getsockname()[1]  # with port 0, the other addresses take the one the first got
                listeners.append(StreamServer(sock, self._accept, spawn=self._pool))
        except OSError:
            for listener in listeners:
                listener.close()
            raise
        for listener in listeners:
            listener.start()
        self._listening = wanted
        return listeners

    def stop(self, timeout=2):
        """Stop accepting, stop following our master, then close every client connection."""
        self._close_listeners()
        if self.replication.master is not None:
            self.replication.master.stop()
        if self._unix_listener is not None:
            self._unix_listener.close()
        if self._cron is not None:
            self._cron.kill()
        self.fullsync.stop()
        self.kill(list(self.sessions.values()))
        self._pool.join(timeout=timeout)
        self._pool.kill()

    def configure_stats(self):
        """Put the slow log's and latency monitor's thresholds into effect: every row's fast span."""
        before = self.stats.fast_usec
        self.stats.configure(self.config)
        if self.stats.fast_usec != before:
            self._fit_command_stats()

    def configure_notifications(self):
        """notify-keyspace-events and tracking-table-max-keys into effect: the keyspace announces its changes
        only while someone listens (notifications on, or a client tracking keys)."""
        self.notifications.flags = self.config["notify-keyspace-events"]
        self.tracking.max_keys = self.config["tracking-table-max-keys"]
        self.keyspace.listen(self.notifications.emit if self.notifications.listening() else None)

    def _fit_command_stats(self):
        fast_usec = self.stats.fast_usec
        for command in self.commands.values():
            command.stats.resize(fast_usec)
            for subcommand in command.subcommands.values():
                subcommand.stats.resize(fast_usec)

    def run_from_master(self, session, argv):
        """A command of our master's stream, run as its client (replication/replica.py): no reply goes back."""
        keyspace = self.keyspace
        keyspace.obeying_master = True  # its commands see the keys that expired here: it sends their DELs
        try:
            execute(self.commands, session, argv)
        finally:
            keyspace.obeying_master = False
        if keyspace.blocking.ready:
            keyspace.serve_blocked()
        self.stats.commands_processed += 1

    def master_client(self, link, db_index):
        """The client our master's stream runs as (flags=M, user (superuser)), listed while the stream runs;
        CLIENT KILL closes its link's connection."""
        sock = link.channel.sock
        client_id, self._next_id = self._next_id, self._next_id + 1
        session = Session(self, client_id, address_text(sock.getpeername()), address_text(sock.getsockname()), sock.fileno())
        session.master_client = True
        session.user = self.acl.superuser()
        session.authenticated = True
        session.connection = link
        session.select(db_index)
        self.sessions[client_id] = session
        self._connections[client_id] = link
        return session

    def release_master_client(self, session):
        session.close()
        self.sessions.pop(session.id, None)
        self._connections.pop(session.id, None)

    def replayer(self):
        """What replays this server's AOF: a client without a connection, which knows the built-in
        names and the renamed ones (commands were logged under their new names). Its rows count on
        statistics of their own: as in Redis, INFO does not count what loading ran."""
        commands = build_table()
        commands.update((name, with_stats(command)) for name, command in self.commands.items())
        session = Session(self, 0, "", "", -1)
        session.authenticated = True
        session.in_exec = True  # a blocking command answers at once instead of waiting
        return Replayer(commands, session)

    def fit_open_files(self, maxclients):
        """CONFIG SET maxclients: how many clients the descriptor limit allows, raised as far as it goes."""
        return process.fit_open_files(maxclients)

    def reset_stats(self):
        """CONFIG RESETSTAT: what INFO counts starts again from zero (the slow log and the latency
        monitor keep theirs, as in Redis)."""
        self.stats.reset()
        self.keyspace.reset_stats()
        for command in self.commands.values():
            command.stats.reset()
            for subcommand in command.subcommands.values():
                subcommand.stats.reset()

    def record_fork(self, started_ns):
        """A background save or rewrite forked: INFO's fork figures, and the latency monitor's fork event."""
        self.stats.forks += 1
        usec = self.stats.latest_fork_usec = max(1, (time.perf_counter_ns() - started_ns) // 1000)
        self.stats.fork_rate = self.keyspace.memory.used() * 1_000_000 / usec / 1024**3  # GB/s, as Redis
        self.latency_event("fork", started_ns)

    def latency_event(self, event, started_ns):
        """Record an event that began at started_ns (perf_counter_ns) if it took latency-monitor-threshold."""
        threshold = self.config["latency-monitor-threshold"]
        if threshold:
            ms = (time.perf_counter_ns() - started_ns) // 1_000_000
            if ms >= threshold:
                self.latency.add(event, ms)

    def _run_cron(self):
        """Background work, hz times a second, between commands: active expiry, background saves, timeouts."""
        idle_checked = sampled = time.monotonic()
        samples = 0
        while True:
            gevent.sleep(1 / self.hz)
            self.now = time.monotonic()
            if self.loading.active:  # as Redis runs no serverCron while it loads (persistence/progress.py)
                if self.shutdown.signal is not None and self.shutdown.prepare((NOSAVE, NOW)):  # whileBlockedCron
                    return
                continue
            self.hz = clients_cron.effective_hz(self.config, len(self.sessions))
            if self.scripting.running() is None and self.shutdown.cron():
                return  # stopping: Redis exits here
            if self.now - idle_checked >= 1:
                idle_checked = self.now
                if self.replication.master is not None:
                    self.replication.master.cron()
                clients_cron.close_idle_clients(self._connections.values(), self.config["timeout"], self.now)
                clients_cron.track_buffers(self.sessions.values(), self.stats, self.now)
                replica_links.cron(self)
                self.migrate_sockets.close_idle(self.now)
            if self.now - sampled >= 0.1:  # Redis samples the instantaneous rates every 100 ms, whatever hz is
                sampled = self.now
                self.stats.sample(samples)
                samples += 1
            self.configure_stats()  # CONFIG SET does it at once; this catches any other way in
            if self.replication.failover is not None:
                failover.update(self)
            if self.client_pause is not None:
                end_expired_pauses(self)
            if self.pause is None:  # a CLIENT PAUSE holds active expiry and eviction too
                if not self.keyspace.replica:
                    started = time.perf_counter_ns()
                    self.keyspace.expire_cycle(self.hz, self.config["active-expire-effort"])
                    self.stats.expire_cycle_ns += time.perf_counter_ns() - started
                    self.latency_event("expire-cycle", started)
                elif self.keyspace.active_expire:  # the master's keys expire when it says so (its DEL)
                    self.keyspace.expire_replica_keys()
                if self.keyspace.blocking.ready:  # an expired stream ends its XREADGROUP waiters' wait
                    self.keyspace.serve_blocked()
                if self.keyspace.memory.maxmemory:
                    self.keyspace.memory.cron()
            if self.scripting.running() is None:  # a script yielding mid-run: no snapshot of half its work
                self.snapshots.cron()
                self.aof.cron()
                self.fullsync.tick()
            tracking = self.tracking
            if tracking.max_keys and len(tracking.table) > tracking.max_keys:
                tracking.limit()

    def kill(self, sessions):
        """Close these clients' connections (CLIENT KILL); their greenlets then clean up."""
        for session in sessions:
            connection = self._connections.get(session.id)
            if connection is not None:
                connection.close()

    def _refuse(self, sock, error):
        self.stats.rejected_connections += 1
        try:
            sock.sendall(b"-%b\r\n" % error.encode())
        except OSError:
            pass

    def _accept(self, sock, address):
        if len(self.sessions) >= self.config["maxclients"]:
            self._refuse(sock, MAX_CLIENTS)
            return
        if sock.family == socket.AF_UNIX:  # local by nature: Redis shows the socket's path as both ends
            peer = here = "%s:0" % self.config["unixsocket"]
        else:
            if access.protected_mode_denies(self.config, self.acl, address[0]):
                self._refuse(sock, PROTECTED_MODE)
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            keep_alive(sock, self.config["tcp-keepalive"])
            peer, here = address_text(address), address_text(sock.getsockname())
        if log.isEnabledFor(logs.VERBOSE):
            log.log(logs.VERBOSE, "Accepted %s" % peer if sock.family != socket.AF_UNIX else
                    "Accepted connection to %s" % self.config["unixsocket"])
        client_id, self._next_id = self._next_id, self._next_id + 1
        session = Session(self, client_id, peer, here, sock.fileno())
        session.unix_socket = sock.family == socket.AF_UNIX
        connection = Connection(self, sock, session)
        self.sessions[client_id] = session
        self._connections[client_id] = connection
        self.stats.connections_received += 1
        try:
            connection.serve()
        finally:
            session.close()
            if session.replica is not None and not self.stopping.is_set():  # at exit, Redis logs no lost replica
                replica_links.detach(self, session.replica)
            del self.sessions[client_id]
            del self._connections[client_id]


class Connection:
    """One client's socket: reads and runs its commands, and sends its replies and pushed messages in order.

    Replies and pub/sub messages share one ordered outbox. The client's own
    greenlet sends its replies itself; a message published by another client
    is only queued, and a helper greenlet sends it, so a publisher never
    waits for a slow subscriber. A subscriber that lets more than the pubsub
    output limit pile up is disconnected, as Redis does.
    """

    def __init__(self, server, sock, session):
        self.server = server
        self.sock = sock
        self.session = session
        self.writer = ReplyWriter()
        self.reader = RequestReader()
        self._chunks = []
        self._pending = 0  # bytes queued and not yet sent
        self._pushed_queued = 0  # of those, bytes pushed by other clients' commands (see deliver)
        self._replication_queued = 0  # of those, a replica's stream and snapshot bytes (see push)
        self._flushing = False
        self._flushed = gevent.event.Event()
        self._flushed.set()
        self._over_soft_limit_since = None
        self._closed = False
        self.blocked = False  # inside a blocking command: the idle timeout spares it
        self._greenlet = None  # the one running serve()
        session.wait_for = self.wait_for
        session.deliver = self.deliver
        session.connection = self

    def serve(self):
        """Read, run every complete command, send all the batch's replies at once."""
        server, session, writer = self.server, self.session, self.writer
        reader = self.reader
        commands, plain_commands, stats = server.commands, server.plain_commands, server.stats
        self._greenlet = gevent.getcurrent()
        settings = server.config.values  # read directly: a batch looks up several of them
        blocking = server.keyspace.blocking
        # The OS socket's own recv, called once the socket is readable: gevent's recv() would try
        # first, fail with EAGAIN (a syscall and an exception per request), then wait.
        recv, wait_readable, readable = self.sock._sock.recv, self.sock._wait, self.sock._read_event
        ready = True  # try at once first (a client may have sent, or hung up, already), then after
        # a read that filled the buffer: more is probably waiting
        try:
            while not session.close_after_reply:
                if not ready:
                    wait_readable(readable)
                try:
                    data = recv(READ_SIZE)
                except BlockingIOError:  # woken for nothing (another reader took it): wait again
                    ready = False
                    continue
                if not data:
                    if log.isEnabledFor(logs.VERBOSE):
                        log.log(logs.VERBOSE, "Client closed connection %s", session.describe())
                    return
                ready = len(data) == READ_SIZE
                stats.net_input_bytes += len(data)
                stats.reads_processed += 1
                session.last_active = server.now
                reader.max_bulk_len = settings["proto-max-bulk-len"]
                if reader.feed(data) > settings["client-query-buffer-limit"]:
                    log.warning("Closing client that reached max query buffer length: %s (qbuf initial bytes: %r)",
                                session.describe(), reader.head(64))
                    return
                reader.authenticated = session.authenticated or not server.acl.auth_required
                output_limits = self._output_limits()
                hard_output_limit = output_limits[0]
                try:
                    plain = is_plain(session)
                    for argv in reader.frames():
                        entry = plain_commands.get(argv[0]) if plain else None
                        if entry is not None and entry[1] <= len(argv) <= entry[2]:
                            session.argv = argv  # what its errors quote
                            reply = plain(session, entry[0], argv[1:])  # call(), or checked_call()
                        else:
                            reply = execute(commands, session, argv)
                            if session.replies is not REPLY_ON or session.monitoring:  # CLIENT REPLY, MONITOR
                                reply = session.outgoing(reply)
                            # The next command is parsed after this one ran: AUTH lifts the limits for it.
                            reader.authenticated = session.authenticated or not server.acl.auth_required
                            writer.protocol = session.protocol
                            plain = is_plain(session)
                        if blocking.ready:
                            server.keyspace.serve_blocked()
                        stats.commands_processed += 1
                        writer.write(reply)
                        if session.close_after_reply:
                            break
                        if hard_output_limit and writer.buffer.tell() >= hard_output_limit:
                            break  # Redis stops at once too: send_replies() below closes the client
                except ProtocolError as error:
                    log.debug("Protocol error (%s) from client id=%d addr=%s", error.message, session.id,
                              session.address)
                    message = protocol_error(error.message)
                    stats.count_error(message)
                    writer.write(Error(message))
                    session.close_after_reply = True
                self.send_replies(output_limits)
            self._flushed.wait()  # QUIT or a protocol error: the last reply goes out before the close
        except OSError:
            pass  # the client went away mid-read or mid-write: nothing left to tell it

    def send_replies(self, output_limits=None):
        """Send the batch's replies; with an output limit for the client's class, a helper sends them
        while this greenlet reads on, so a client that never reads piles up output until the limit.

        What the batch logged reaches the AOF first (and the disk, with appendfsync always)."""
        server = self.server
        server.aof.before_reply()
        output = self.writer.take()
        if not output:
            return
        server.stats.net_output_bytes += len(output)
        server.stats.writes_processed += 1
        hard, soft, _ = output_limits or self._output_limits()
        if not (hard or soft or self._flushing or self._closed):  # nothing queued ahead: send it now
            sent = self._send(output)
            if sent == len(output):
                self.session.last_active = server.now
                return
            output = output[sent:]
        self._queue(output)
        if not (hard or soft):
            if not self._flushing:
                self._flush()
        elif not self._close_if_over_output_limit() and not self._flushing:
            self._flush_in_background()

    def deliver(self, data):
        """Queue bytes pushed to this client (a published message, an invalidation); never waits. Pushed by
        its own command, they join its batch's replies where they are, as Redis adds them to its buffer.
        Either way total_net_output_bytes counts them: send_replies() with the batch, or _flush() once written."""
        if self._closed:
            return
        if gevent.getcurrent() is self._greenlet:
            self.writer.buffer.write(data)
            return
        self._queue(data)
        self._pushed_queued += len(data)
        if not self._close_if_over_output_limit() and not self._flushing:
            self._flush_in_background()

    def wait_for(self, result, timeout):
        """A blocked command's wait: its result, its timeout, or None at once if the client hangs up.

        Replies to the commands before it in the batch go out first. The
        greenlet is inside the command, so a helper reads the socket: what the
        client sends meanwhile joins the query buffer (the commands run once
        this one is done, as in Redis), and end-of-file ends the wait.
        """
        self.send_replies()

        def watch():
            while True:
                try:
                    data = self.sock.recv(READ_SIZE)
                except OSError:
                    data = b""
                if not data:
                    result.set(None)
                    return
                self.reader.feed(data)

        watcher = gevent.spawn(watch)
        self.blocked = True
        try:
            return result.wait(timeout)
        finally:
            self.blocked = False
            if not result.ready():
                result.set(None)  # timed out: a push that comes while the watcher dies must pass it by
            watcher.kill()

    def buffer_sizes(self):
        """CLIENT LIST's byte counts: (qbuf, qbuf-free, read size, obl, oll, omem, events).

        obl is the batch's replies not yet handed to the socket; oll counts the blocks waiting to be
        sent (the one a flush is sending among them), omem their bytes."""
        pending = self.reader.pending()
        blocks = len(self._chunks) + (1 if self._flushing and self._pending else 0)
        return (pending, max(0, READ_SIZE - pending), READ_SIZE, self.writer.buffer.tell(), blocks,
                self._pending, "rw" if self._flushing else "r")

    def push(self, data, counted=True):
        """Queue bytes for a replica after everything before them, never waiting: its stream, which
        INFO's total_net_repl_output_bytes counts as it is written; not counted, a line Redis writes
        straight to the socket (+FULLRESYNC, the newline that keeps a waiting replica's link up)."""
        if self._closed:
            return
        if gevent.getcurrent() is self._greenlet:
            self.send_replies()  # its own replies go first, counted as any client's
        self._queue(data)
        if counted:
            self._replication_queued += len(data)
        if not self._close_if_over_output_limit() and not self._flushing:
            self._flush_in_background()

    def send_now(self, data, counted=True):
        """Send a replica data after everything queued before it, waiting as long as the socket needs (its
        RDB and backlog, which must not pile up in memory); OSError once the client is gone. Counted as
        push() counts."""
        if gevent.getcurrent() is self._greenlet:
            self.send_replies()
        self._flushed.wait()
        if self._closed:
            raise OSError("connection closed")
        self.sock.sendall(data)
        if counted:
            self.server.stats.net_repl_output_bytes += len(data)

    def close(self):
        self._closed = True
        self._chunks.clear()
        self._pushed_queued = self._replication_queued = 0
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _queue(self, data):
        self._chunks.append(data)
        self._pending += len(data)

    def _output_limits(self):
        """client-output-buffer-limit (hard, soft, soft seconds) of this client's class: pubsub while subscribed."""
        limits = self.server.config["client-output-buffer-limit"]
        session = self.session
        if session.replica is not None and session.is_replica():  # read per batch: no call for a plain client
            return limits["slave"]
        return limits["pubsub"] if session.subscribed() else limits["normal"]

    def _close_if_over_output_limit(self):
        if not self.over_output_limit(self._pending):
            return False
        log.warning("Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
                    self.session.describe())
        self.close()
        return True

    def over_output_limit(self, pending):
        """Redis's checkClientOutputBufferLimits for this many bytes waiting: the hard limit at once, or the soft
        one for long enough (0 = none)."""
        hard, soft, seconds = self._output_limits()
        if hard and pending >= hard:
            return True
        if not soft or pending < soft:
            self._over_soft_limit_since = None
            return False
        now = time.monotonic()
        if self._over_soft_limit_since is None:
            self._over_soft_limit_since = now
            return False
        return now - self._over_soft_limit_since > seconds

    def _send(self, data):
        """How many bytes one send() of the OS socket took: 0 if its buffer is full, all of them if the
        client is gone (the connection is closed, nothing is left to send). One send() is enough
        almost always; gevent's sendall() would ask the socket for its buffer size on every call."""
        try:
            return self.sock._sock.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self.close()  # the client went away: the read loop sees the end of the connection
            return len(data)

    def _flush_in_background(self):
        self._flushing = True  # before the helper runs, so that a second call does not start another
        self._flushed.clear()
        gevent.spawn(self._flush)

    def _flush(self):
        """Send everything queued, in order, until the queue stays empty."""
        self._flushing = True
        self._flushed.clear()
        try:
            while self._chunks:
                data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks.clear()
                pushed, replicated = self._pushed_queued, self._replication_queued
                self._pushed_queued = self._replication_queued = 0
                sent = self._send(data)
                if sent < len(data):  # the kernel's buffer is full: gevent waits until it drains
                    self.sock.sendall(memoryview(data)[sent:])
                self._pending -= len(data)
                if not self._closed:  # what the batches queued was counted as they were taken
                    self.server.stats.net_output_bytes += pushed
                    self.server.stats.net_repl_output_bytes += replicated
                self.session.last_active = self.server.now  # a reply sent counts as activity, as in Redis
        except OSError:
            self.close()
        finally:
            self._flushing = False
            self._flushed.set()


USAGE = """Usage: python server.py [/path/to/redis.conf] [options] [-]
       python server.py -v or --version
       python server.py -h or --help

Examples:
       python server.py (run the server with default conf)
       python server.py /etc/redis/6379.conf
       python server.py --port 7777
       python server.py /etc/myredis.conf --loglevel verbose

Options are configuration directives with -- in front, as for redis-server:
  --port 4000  --bind 127.0.0.1  --maxclients 10000  --daemonize yes  --logfile server.log
A config file may also say: rename-command FLUSHALL ""
"""


def load_config(argv):
    """A Config from the command line: an optional config file first, then --options."""
    config = Config()
    path = argv[0] if argv and not argv[0].startswith("-") else None
    config.load(path, argv[1:] if path else argv)
    access.apply_renames(build_table(), config.renames)  # a bad rename-command is a config error, as in Redis
    return config


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] in ("-v", "--version"):
        print("Redis server v=%s sha=00000000:0 malloc=libc bits=64 build=0 (mini-redis %s)"
              % (version.REDIS_VERSION, version.VERSION))
        return 0
    logs.configure("", "notice")
    try:
        config = load_config(argv)
    except ConfigFileError as error:
        log.warning("%s", error)
        return 1
    except ConfigError as error:
        sys.stderr.write("\n*** FATAL CONFIG FILE ERROR (Redis %s) ***\n%s\n" % (version.REDIS_VERSION, error))
        return 1
    logs.configure(config["logfile"], config["loglevel"])
    background = config["daemonize"] and config["supervised"] == "no"
    if background:
        process.daemonize()
        if not config["pidfile"]:
            config.values["pidfile"] = "/var/run/redis.pid"  # Redis's CONFIG_DEFAULT_PID_FILE
    log.warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    log.warning("Redis version=%s, bits=64, commit=00000000, modified=0, pid=%d, just started",
                version.REDIS_VERSION, os.getpid())
    if argv:
        log.warning("Configuration loaded")
    else:
        log.warning("Warning: no config file specified, using the default config. In order to specify a config "
                    "file use %s /path/to/redis.conf", sys.argv[0])
    logs.server_started()
    return serve(config)


def serve(config):
    """Run the server until SHUTDOWN or a signal: the pid file, the data, the listeners, then the last lines."""
    process.fit_maxclients_at_start(config)
    if config["pidfile"]:
        process.write_pid_file(config["pidfile"])
    if not config["bind"]:
        log.warning("Configured to not listen anywhere, exiting.")
        return 1
    if any(config[name] for name in TLS_SWITCHES):  # TLS is not built: as Redis when it cannot configure it
        if not config["tls-cert-file"]:
            log.warning("No tls-cert-file configured!")
        log.warning("Failed to configure TLS. Check logs for more info.")
        return 1
    server = Server(config)
    problem = access.load_users(server.acl, config) or load_at_start(server)
    if problem:
        log.warning("%s", problem)
        return 1
    log.info("Running mode=standalone, port=%d.", config["port"])
    log.warning("Server initialized")
    try:
        server.start()
    except OSError as error:
        log.warning("Failed listening on %s:%d: %s", config["bind"], config["port"], error)
        server.stop()
        return 1
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, _on_signal, signum, server)
    loader = gevent.spawn(load_data, server)
    gevent.wait([loader, server.stopping], count=1)
    if loader.ready():
        loaded, stream_db = loader.get()
        if not loaded:
            server.stop()
            return 1
        server.announce_ready()
        if config["replicaof"]:
            host, port = config["replicaof"].rsplit(" ", 1)
            replica.follow_at_start(server, host, int(port), stream_db)
        server.stopping.wait()
    else:  # SHUTDOWN or a signal while the data loaded: Redis exits then, without saving
        loader.kill()
    server.stop()
    process.remove_files(config)
    log.warning("Redis is now ready to exit, bye bye...")
    return 0


def load_data(server):
    """dump.rdb or, with appendonly yes, the AOF (Redis's loadDataFromDisk), the clients served meanwhile:
    (whether it loaded, the database of the history dump.rdb held for a replica to continue or None)."""
    config = server.config
    try:
        aof_load.load_manifest(server.aof)  # whatever appendonly says, as Redis: a bad manifest stops start-up
        stream_db = None
        if config["appendonly"]:  # as Redis: with AOF on, the AOF is the data, and dump.rdb is not read
            aof_load.load_at_start(server.aof, server.replayer(), server.loading)
            server.stats.reset()  # the replies the replay had are nobody's errors
            server.aof.open_at_start()
        else:
            loaded = server.snapshots.load(drop_expired=not config["replicaof"], serving=True)
            stream_db = server.replication.restore(loaded.aux, bool(config["replicaof"])) if loaded else None
            server.propagation.refresh()  # a master that took its history back keeps a backlog
        aof_load.delete_history(server.aof)
    except AOFError as error:
        log.warning("%s", error)
        return False, None
    except RDBError as error:
        log.warning("%s", error)
        log.warning("Fatal error loading the DB (%s): mini-redis cannot start.", server.snapshots.path)
        return False, None
    return True, stream_db


def _on_signal(signum, server):
    """SIGINT, SIGTERM: a flag the cron serves, with shutdown-on-sigint / shutdown-on-sigterm's flags."""
    server.shutdown.signalled(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
