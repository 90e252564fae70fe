"""Fixtures: our server and a real Redis, each a subprocess on a free loopback port."""
import contextlib
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time

import pytest

from differential import Pair

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, process, timeout=15.0, loaded=False):
    """Until the server accepts a connection; with loaded, until its data is loaded too (its probe's PING no
    longer answered -LOADING, as Redis's test suite's wait_done_loading: a server listens while it loads;
    a load that lasts more than a minute is left to the test)."""
    deadline = time.monotonic() + timeout
    listening = False
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited with %s" % process.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
                if not loaded:
                    return
                if not listening:
                    listening, deadline = True, time.monotonic() + 60
                probe.settimeout(10)
                probe.sendall(b"PING\r\n")
                if not probe.recv(64).startswith(b"-LOADING"):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    if not listening:
        raise RuntimeError("server did not listen on port %d" % port)


class RunningServer:
    """A server process on 127.0.0.1:port, stopped with stop(); once it listens, unless loaded=False, it has
    loaded its data too."""

    def __init__(self, argv, port, cwd, loaded=False):
        self.port = port
        self.log_path = os.path.join(cwd, "server.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(argv, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT)
        wait_for_port(port, self.process, loaded=loaded)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_ours(tmp_dir, *options, loaded=True):
    """python server.py on a free port with extra redis-server-style options; loaded: wait until its data is."""
    port = free_port()
    argv = [sys.executable, os.path.join(ROOT, "server.py"), "--port", str(port), *options]
    return RunningServer(argv, port, str(tmp_dir), loaded)


def start_real_redis(tmp_dir, *options, loaded=True):
    """Debian's redis-server on a free port, no persistence: the oracle. loaded: wait until its data is."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: apt-get install redis-server")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(tmp_dir), *options]
    return RunningServer(argv, port, str(tmp_dir), loaded)


@contextlib.contextmanager
def ours_and_redis(ours_dir, redis_dir, *options):
    """Ours and Debian's redis-server, each in its own folder, started with the same options and
    stopped afterwards: (ours, redis)."""
    ours = start_ours(ours_dir, *options)
    try:
        redis = start_real_redis(redis_dir, *options)
        try:
            yield ours, redis
        finally:
            redis.stop()
    finally:
        ours.stop()


def wait_until(predicate, timeout=15.0, pause=0.02):
    """Poll predicate until it holds (True) or timeout seconds pass (False): a bounded wait, not a timing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(pause)
    return False


def aof_file(folder, kind="i", dirname="appendonlydir", filename="appendonly.aof"):
    """The path of the multi-part AOF's current INCR file (kind "i"), or of its BASE ("b"), as the manifest
    in folder/dirname names it: the file ours and Redis 7.0 append their commands to."""
    directory = pathlib.Path(folder) / dirname
    names = [line.split()[1] for line in (directory / (filename + ".manifest")).read_text().splitlines()
             if line.split()[-1] == kind]
    return directory / names[-1]


def logged_by_both(tmp_path, run, *options):
    """Run run(client) with a redis-py client on ours and then on Redis, both writing an AOF (with the
    extra options), and stop them: (our INCR file, Redis 7.0's), as bytes."""
    import redis
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "real", "--appendonly", "yes", *options) as servers:
        for server in servers:
            client = redis.Redis(port=server.port, socket_timeout=10)
            run(client)
            client.close()
    return aof_file(tmp_path / "ours").read_bytes(), aof_file(tmp_path / "real").read_bytes()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """Ours and Redis for one test module, DEBUG allowed on both: what a module changes server-wide
    (statistics, the slow log, the latency monitor) stays within it."""
    with ours_and_redis(tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("redis"),
                        "--enable-debug-command", "yes") as both:
        yield both


@pytest.fixture
def both(servers):
    """A differential Pair on the module's servers, emptied first and checked idle after (a module whose
    tests change settings defines its own, putting them back)."""
    with Pair(servers[0].port, servers[1].port) as pair:
        pair.check("FLUSHALL")
        yield pair
        pair.check_idle()


@pytest.fixture
def fresh(tmp_path):
    """A new server of ours and a new Redis, for scenarios that change server-wide state: their ports.
    differential.same_on_both() runs a scenario on each."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis") as (ours, redis):
        yield ours.port, redis.port


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """Our server, shared by the whole session: tests use their own keys or FLUSHALL first."""
    running = start_ours(tmp_path_factory.mktemp("ours"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def real_redis(tmp_path_factory):
    running = start_real_redis(tmp_path_factory.mktemp("redis"))
    yield running
    running.stop()


@pytest.fixture(params=["ours", "redis"])
def any_server(request):
    """Each test that takes it runs once against ours and once against real Redis."""
    return request.getfixturevalue("server" if request.param == "ours" else "real_redis")


@pytest.fixture
def pair(request, server, real_redis):
    """Fresh connections to ours and to real Redis, both emptied by FLUSHALL (see differential.py).

    After a passing test, a PING on both checks that no stray reply is left in either stream.
    """
    from differential import Pair
    failed_before = request.session.testsfailed
    with Pair(server.port, real_redis.port) as both:
        both.check("FLUSHALL")
        yield both
        if request.session.testsfailed == failed_before:
            both.check_idle()


@pytest.fixture
def clients(any_server):
    """Raw connections to one server (ours, then real Redis) for blocking tests: differential.BlockingClients."""
    from differential import BlockingClients
    connections = BlockingClients(any_server.port)
    yield connections
    connections.close()
