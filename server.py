"""mini-redis: a Redis-compatible in-memory key-value server on gevent.

    python server.py [/path/to/mini-redis.conf] [--port 4000] [--bind 127.0.0.1] [--maxclients 10000] ...

A gevent StreamServer accepts connections and a Pool runs one greenlet per
client. Each greenlet reads what arrived, parses every complete frame,
runs each command, and sends all the replies with one sendall: that is
what makes pipelining cheap.
"""
import logging
import os
import resource
import signal
import socket
import sys
import time

import gevent
import gevent.event
from gevent.pool import Pool
from gevent.server import StreamServer

import version
from channels import PubSub
from commands import build_table, execute
from config import Config, ConfigError
from errors import MAX_CLIENTS, protocol_error
from keyspace import Keyspace
from protocol import Error, ProtocolError, ReplyWriter, RequestReader
from session import Session

READ_SIZE = 64 * 1024
HZ = 10  # Redis's default server.hz
PUBSUB_HARD_LIMIT = 32 * 1024 * 1024  # Redis's client-output-buffer-limit pubsub 32mb 8mb 60
PUBSUB_SOFT_LIMIT = 8 * 1024 * 1024
PUBSUB_SOFT_SECONDS = 60
log = logging.getLogger("mini-redis")


class Stats:
    """Counters that INFO stats reports."""

    __slots__ = ("connections_received", "commands_processed", "rejected_connections",
                 "net_input_bytes", "net_output_bytes", "error_replies")

    def __init__(self):
        self.reset()

    def reset(self):
        for name in self.__slots__:
            setattr(self, name, 0)


class Server:
    """One running mini-redis: its settings, data, clients, and the listening socket."""

    def __init__(self, config):
        self.config = config
        self.keyspace = Keyspace(config["databases"])
        self.pubsub = PubSub()
        self.commands = build_table()
        self.sessions = {}  # client id -> Session, for CLIENT LIST and INFO
        self.stats = Stats()
        self.started = time.time()
        self.run_id = os.urandom(20).hex()
        self._sockets = {}  # client id -> socket, so CLIENT KILL can close one
        self._next_id = 1
        self._pool = Pool()
        self._cron = None
        self._listener = StreamServer((config["bind"], config["port"]), self._accept,
                                      spawn=self._pool, backlog=511)

    @property
    def port(self):
        return self._listener.server_port

    def start(self):
        self._listener.start()
        self._cron = gevent.spawn(self._run_cron)
        log.info("Server initialized")
        log.info("Ready to accept connections tcp")

    def stop(self, timeout=2):
        """Stop accepting, then close every client connection."""
        self._listener.close()
        if self._cron is not None:
            self._cron.kill()
        self.kill(list(self.sessions.values()))
        self._pool.join(timeout=timeout)
        self._pool.kill()

    def reset_stats(self):
        """CONFIG RESETSTAT: the counters INFO stats shows start again from zero."""
        self.stats.reset()
        self.keyspace.reset_stats()

    def _run_cron(self):
        """Background work, HZ times a second, between commands: active expiry for now."""
        while True:
            gevent.sleep(1 / HZ)
            self.keyspace.expire_cycle()

    def kill(self, sessions):
        """Close these clients' connections (CLIENT KILL); their greenlets then clean up."""
        for session in sessions:
            connection = self._sockets.get(session.id)
            if connection is None:
                continue
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self, sock, address):
        if len(self.sessions) >= self.config["maxclients"]:
            self.stats.rejected_connections += 1
            try:
                sock.sendall(b"-%b\r\n" % MAX_CLIENTS.encode())
            except OSError:
                pass
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client_id, self._next_id = self._next_id, self._next_id + 1
        session = Session(self, client_id, _address(address), _address(sock.getsockname()), sock.fileno())
        self.sessions[client_id] = session
        self._sockets[client_id] = sock
        self.stats.connections_received += 1
        try:
            Connection(self, sock, session).serve()
        finally:
            session.close()
            del self.sessions[client_id]
            del self._sockets[client_id]


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
        self._chunks = []
        self._pending = 0  # bytes queued and not yet sent
        self._flushing = False
        self._flushed = gevent.event.Event()
        self._flushed.set()
        self._over_soft_limit_since = None
        self._closed = False
        session.wait_for = self.wait_for
        session.deliver = self.deliver

    def serve(self):
        """Read, run every complete command, send all the batch's replies at once."""
        server, session, writer = self.server, self.session, self.writer
        reader = RequestReader()
        commands, stats, config = server.commands, server.stats, server.config
        blocking = server.keyspace.blocking
        recv = self.sock.recv
        try:
            while not session.close_after_reply:
                data = recv(READ_SIZE)
                if not data:
                    return
                stats.net_input_bytes += len(data)
                session.last_active = time.monotonic()
                reader.max_bulk_len = config["proto-max-bulk-len"]
                reader.feed(data)
                try:
                    for argv in reader.frames():
                        reply = execute(commands, session, argv)
                        if blocking.has_ready():
                            blocking.serve_ready()
                        stats.commands_processed += 1
                        if type(reply) is Error:
                            stats.error_replies += 1
                        writer.protocol = session.protocol
                        writer.write(reply)
                        if session.close_after_reply:
                            break
                except ProtocolError as error:
                    log.debug("Protocol error (%s) from client id=%d addr=%s", error.message, session.id,
                              session.address)
                    writer.write(Error(protocol_error(error.message)))
                    session.close_after_reply = True
                self.send_replies()
            self._flushed.wait()  # QUIT or a protocol error: the last reply goes out before the close
        except OSError:
            pass  # the client went away mid-read or mid-write: nothing left to tell it

    def send_replies(self):
        output = self.writer.take()
        if output:
            self.server.stats.net_output_bytes += len(output)
            self._queue(output)
            if not self._flushing:
                self._flush()

    def deliver(self, data):
        """Queue bytes pushed to this client by another (a published message); never waits."""
        if self._closed:
            return
        self._queue(data)
        if self._over_output_limit():
            log.warning("Client id=%d addr=%s scheduled to be closed ASAP for overcoming of output buffer "
                        "limits.", self.session.id, self.session.address)
            self.close()
        elif not self._flushing:
            gevent.spawn(self._flush)

    def wait_for(self, result, timeout):
        """A blocked command's wait: its result, its timeout, or None at once if the client hangs up.

        Replies to the commands before it in the batch go out first. The
        greenlet is inside the command, so a helper peeks at the socket for a
        hang-up; commands sent meanwhile wait in the socket buffer, as they
        would in Redis's query buffer.
        """
        self.send_replies()

        def watch():
            try:
                data = self.sock.recv(1, socket.MSG_PEEK)
            except OSError:
                data = b""
            if not data:
                result.set(None)

        watcher = gevent.spawn(watch)
        try:
            return result.wait(timeout)
        finally:
            watcher.kill()

    def close(self):
        self._closed = True
        self._chunks.clear()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _queue(self, data):
        self._chunks.append(data)
        self._pending += len(data)

    def _over_output_limit(self):
        """Redis's default pubsub limit: over 32 MB at once, or over 8 MB for 60 seconds."""
        if self._pending > PUBSUB_HARD_LIMIT:
            return True
        if self._pending <= PUBSUB_SOFT_LIMIT:
            self._over_soft_limit_since = None
            return False
        now = time.monotonic()
        if self._over_soft_limit_since is None:
            self._over_soft_limit_since = now
        return now - self._over_soft_limit_since > PUBSUB_SOFT_SECONDS

    def _flush(self):
        """Send everything queued, in order, until the queue stays empty."""
        self._flushing = True
        self._flushed.clear()
        try:
            while self._chunks:
                data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
                self._chunks.clear()
                self.sock.sendall(data)
                self._pending -= len(data)
        except OSError:
            self.close()
        finally:
            self._flushing = False
            self._flushed.set()


def _address(address):
    host, port = address[:2]
    return "%s:%d" % (host, port)


def _raise_open_files_limit(maxclients):
    """Like Redis, ask for enough file descriptors to serve maxclients (plus a few of our own)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = maxclients + 32
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new_soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new_soft, hard))
        if new_soft < wanted:
            log.warning("You requested maxclients of %d requiring at least %d max file descriptors; "
                        "the limit is %d", maxclients, wanted, new_soft)


USAGE = """Usage: python server.py [/path/to/mini-redis.conf] [options]
       python server.py -v or --version
       python server.py -h or --help

Options are configuration directives with -- in front, as for redis-server:
  --port 4000  --bind 127.0.0.1  --maxclients 10000  --databases 16  --proto-max-bulk-len 512mb
"""


def load_config(argv):
    """A Config from the command line: an optional config file first, then --options."""
    config = Config()
    if argv and not argv[0].startswith("--"):
        config.load_file(argv[0])
        argv = argv[1:]
    config.load_options(argv)
    return config


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv and argv[0] in ("-v", "--version"):
        print("mini-redis v=%s (redis_version %s)" % (version.VERSION, version.REDIS_VERSION))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(process)d:M %(asctime)s.%(msecs)03d * %(message)s",
                        datefmt="%d %b %Y %H:%M:%S")
    try:
        config = load_config(argv)
    except (ConfigError, OSError) as error:
        print("\n*** FATAL CONFIG FILE ERROR (mini-redis %s) ***\n%s" % (version.VERSION, error),
              file=sys.stderr)
        return 1
    log.info("mini-redis %s (redis_version %s), pid=%d, just started", version.VERSION,
             version.REDIS_VERSION, os.getpid())
    _raise_open_files_limit(config["maxclients"])
    server = Server(config)
    try:
        server.start()
    except OSError as error:
        log.error("Failed listening on %s:%d: %s", config["bind"], config["port"], error)
        return 1
    stopping = gevent.event.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        gevent.signal_handler(signum, _on_signal, signum, stopping)
    stopping.wait()
    server.stop()
    log.info("mini-redis is now ready to exit, bye bye...")
    return 0


def _on_signal(signum, stopping):
    log.info("Received %s scheduling shutdown...", signal.Signals(signum).name)
    stopping.set()


if __name__ == "__main__":
    sys.exit(main())
