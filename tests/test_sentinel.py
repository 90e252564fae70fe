"""Redis Sentinel (Debian's redis-sentinel) watching mini-redis, set up from deploy/'s files: what Sentinel
sends a monitored server (its MULTI/SLAVEOF/CONFIG REWRITE/CLIENT KILL transaction, beside Redis), and
failovers end to end: three sentinels, a master and two replicas, the master killed, a replica promoted,
the other and the returning old master made its replicas, redis-py's Sentinel client following; with
passwords, and with ACL users in fleets that mix real Redis and ours."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

from conftest import ROOT, RunningServer, free_port
from differential import WireClient

DEPLOY = os.path.join(ROOT, "deploy")
# As fast as Sentinel allows: down after 1.5 s of silence, failovers retried after 3 s. Not 1 s: a sentinel that
# learns of a new master from another starts its clock for the first PONG at once but, reconnecting at most once a
# second, may connect up to 1 s later; down-after-milliseconds 1000 left the new master no time to answer, so it
# counted as down (and, with the other sentinels' votes from the old master still held, failed over a second time).
SENTINEL_TIMING = {"down-after-milliseconds": 1500, "failover-timeout": 3000, "parallel-syncs": 2}
# Short replication timers, and full syncs at once rather than after diskless sync's 5-second wait.
FAST_REPLICATION = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1", "--repl-timeout", "5")
PASSWORD = "sentinel-test-password"  # requirepass and masterauth of every node


def deploy_file(*path):
    with open(os.path.join(DEPLOY, *path)) as f:
        return f.read()


def until(condition, what, timeout=30.0):
    """Poll condition() until it returns something true (which is returned), for timeout seconds at most."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = condition()
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail("not within %gs: %s" % (timeout, what))
        time.sleep(0.1)


class Instance:
    """A mini-redis (or with real=True Redis's redis-server) started from its own copy of deploy/replication's
    master.conf or replica.conf, with more config lines after it; its clients log in with credentials."""

    def __init__(self, folder, template, master_port=None, lines=(), real=False, credentials=None):
        self.folder = folder
        self.port = free_port()
        self.conf = folder / "mini-redis.conf"
        self.real = real
        self.credentials = credentials or {}
        text = deploy_file("replication", template)
        if master_port is not None:
            assert "\nreplicaof 127.0.0.1 7001\n" in text
            text = text.replace("replicaof 127.0.0.1 7001", "replicaof 127.0.0.1 %d" % master_port)
        self.conf.write_text(text + "".join(line + "\n" for line in lines))
        self.running = None
        self.start()

    def start(self):
        program = [shutil.which("redis-server")] if self.real else [sys.executable, os.path.join(ROOT, "server.py")]
        argv = program + [str(self.conf), "--port", str(self.port), "--dir", str(self.folder), "--save", "",
                          *FAST_REPLICATION]
        self.running = RunningServer(argv, self.port, str(self.folder))

    def kill(self):
        """SIGKILL: no goodbye to anyone, as a crash."""
        self.running.process.send_signal(signal.SIGKILL)
        self.running.process.wait()
        self.running.stop()

    def client(self):
        return redis.Redis(port=self.port, socket_timeout=5, **self.credentials)

    def role(self):
        with self.client() as client:
            return client.execute_command("ROLE")

    def get(self, key):
        with self.client() as client:
            return client.get(key)


def sentinel_conf(port, master_port, folder, quorum=2, lines=()):
    """deploy/sentinel/sentinel.conf for this test: its port, the master's, its folder, faster timing and
    more lines (after the monitor line: the master's credentials, more masters)."""
    text = deploy_file("sentinel", "sentinel.conf")
    assert "sentinel monitor mymaster 127.0.0.1 7001 2\n" in text
    text = text.replace("sentinel monitor mymaster 127.0.0.1 7001 2",
                        "sentinel monitor mymaster 127.0.0.1 %d %d" % (master_port, quorum))
    conf = []
    for line in text.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "sentinel" and words[1] in SENTINEL_TIMING:
            continue
        conf.append(line)
    conf += timing_lines("mymaster")
    return "\n".join(conf + list(lines) + ["port %d" % port, 'dir "%s"' % folder]) + "\n"


def timing_lines(name):
    """SENTINEL_TIMING for the master called name, as sentinel.conf lines."""
    return ["sentinel %s %s %d" % (setting, name, value) for setting, value in SENTINEL_TIMING.items()]


def start_sentinel(folder, master_port, quorum=2, lines=()):
    binary = shutil.which("redis-sentinel")
    if binary is None:
        pytest.fail("redis-sentinel is not installed: apt-get install redis-sentinel")
    folder.mkdir()
    port = free_port()
    (folder / "sentinel.conf").write_text(sentinel_conf(port, master_port, folder, quorum, lines))
    return RunningServer([binary, str(folder / "sentinel.conf")], port, str(folder))


def sentinel_view(port, name="mymaster"):
    with redis.Redis(port=port, socket_timeout=5, decode_responses=True) as sentinel:
        return sentinel.sentinel_master(name)


def watching(port, name="mymaster"):
    """Whether the sentinel on port knows both replicas of the master called name and the two other sentinels."""
    view = sentinel_view(port, name)
    return view["num-slaves"] == 2 and view["num-other-sentinels"] == 2


def replica_flags(port, replica_port, name="mymaster"):
    with redis.Redis(port=port, socket_timeout=5, decode_responses=True) as sentinel:
        return {replica["port"]: replica["flags"] for replica in sentinel.sentinel_slaves(name)}.get(replica_port)


def promoted_address(client, old_port, name="mymaster"):
    """Where redis-py's Sentinel client finds the master called name, once it is not old_port any more."""
    address = client.discover_master(name)
    return address if address[1] != old_port else None


def sentinel_reconfigures(port, host, master_port):
    """What sentinelSendSlaveOf sends (SLAVEOF NO ONE to promote), while a plain client and a subscriber are
    connected: the replies, the other clients' fate, and ROLE after."""
    with WireClient(port) as plain, WireClient(port) as subscriber, WireClient(port) as sentinel:
        assert plain.call("CLIENT", "SETNAME", "app") == b"+OK\r\n"
        assert subscriber.call("SUBSCRIBE", "__sentinel__:hello").startswith(b"*3\r\n")
        replies = [sentinel.call(*command) for command in
                   (("MULTI",), ("SLAVEOF", host, master_port), ("CONFIG", "REWRITE"), ("CLIENT", "KILL", "TYPE", "normal"),
                    ("CLIENT", "KILL", "TYPE", "pubsub"), ("EXEC",))]
        return replies, plain.read_reply(), subscriber.read_reply(), sentinel.call("ROLE").split(b"\r\n")[2]


def test_sentinel_reconfiguration_as_redis(tmp_path):
    """Sentinel's MULTI / SLAVEOF / CONFIG REWRITE / CLIENT KILL TYPE normal and pubsub / EXEC, promoting a
    replica and then turning it back into one: the same replies and the same replicaof lines as Redis."""
    unreachable = str(free_port())
    text = "# sentinel test\nslaveof 127.0.0.1 %s\nreplica-priority 50\n" % unreachable
    found = []
    for kind, argv in (("ours", [sys.executable, os.path.join(ROOT, "server.py")]),
                       ("redis", [shutil.which("redis-server")])):
        folder = tmp_path / kind
        folder.mkdir()
        (folder / "node.conf").write_text(text)
        port = free_port()
        running = RunningServer(argv + [str(folder / "node.conf"), "--port", str(port), "--dir", str(folder),
                                        "--save", ""], port, str(folder))
        try:
            promoted = sentinel_reconfigures(port, "NO", "ONE")
            promoted_file = (folder / "node.conf").read_text().splitlines()
            demoted = sentinel_reconfigures(port, "127.0.0.1", unreachable)
            demoted_file = (folder / "node.conf").read_text().splitlines()
        finally:
            running.stop()
        found.append((promoted, demoted, [line for line in promoted_file if "replicaof" in line or "slaveof" in line],
                      [line for line in demoted_file if "replicaof" in line or "slaveof" in line]))
        assert promoted_file[:3] == ["# sentinel test", "", "replica-priority 50"]  # the line blanked, as Redis
        generated = demoted_file.index("# Generated by CONFIG REWRITE")
        assert demoted_file[generated + 1:] == promoted_file[generated + 1:] + ["", "replicaof 127.0.0.1 %s" % unreachable]
    assert found[0] == found[1]
    promoted = found[0][0]
    assert promoted[0][-1] == b"*4\r\n+OK\r\n+OK\r\n:1\r\n:1\r\n"
    assert promoted[1:] == ("<connection closed; unparsed: b''>", "<connection closed; unparsed: b''>", b"master")
    assert found[0][1][3] == b"slave"


def test_sentinel_kills_a_script_that_keeps_the_master_busy(tmp_path):
    """A master answering PING with -BUSY is down for Sentinel, which sends it SCRIPT KILL: the script stops
    and the master answers again (no failover: there is no replica to promote)."""
    (tmp_path / "master").mkdir()
    master = Instance(tmp_path / "master", "master.conf")
    sentinel = None
    try:
        sentinel = start_sentinel(tmp_path / "sentinel", master.port, quorum=1)
        until(lambda: sentinel_view(sentinel.port)["flags"] == "master", "the sentinel watching the master")
        # Sentinel sends SCRIPT KILL some seconds after the master turned busy (about 6 with Redis too): the
        # script's caller waits for its reply that long, with no retry on a timeout.
        with redis.Redis(port=master.port, socket_timeout=30, retry=Retry(NoBackoff(), 0)) as client:
            client.config_set("busy-reply-threshold", 100)
            with pytest.raises(redis.ResponseError, match="Script killed by user with SCRIPT KILL"):
                client.eval("while true do end", 0)
            assert client.ping() is True
    finally:
        if sentinel is not None:
            sentinel.stop()
        master.running.stop()


def test_failover_with_three_sentinels_and_passwords(tmp_path):
    """Three sentinels, a master and two replicas, all with requirepass and masterauth (the old master needs
    masterauth too, to follow the new one, as Redis's documentation advises); the sentinels log in with
    auth-pass, redis-py with the password. The master killed, a replica promoted, the other and the returning
    old master made its replicas, redis-py's Sentinel client following, no acknowledged write lost."""
    node_lines = ["requirepass " + PASSWORD, "masterauth " + PASSWORD]
    credentials = {"password": PASSWORD}
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    master = Instance(tmp_path / "a", "master.conf", lines=node_lines, credentials=credentials)
    replicas = [Instance(tmp_path / name, "replica.conf", master.port, node_lines, credentials=credentials)
                for name in ("b", "c")]
    sentinels = []
    try:
        for replica in replicas:
            until(lambda: replica.role()[3] == b"connected", "replica linked to the master")
        sentinels = [start_sentinel(tmp_path / ("sentinel-%d" % n), master.port,
                                    lines=["sentinel auth-pass mymaster " + PASSWORD]) for n in range(3)]
        for sentinel in sentinels:
            until(lambda: watching(sentinel.port), "each sentinel sees both replicas and the other sentinels")

        client = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=2, **credentials)
        assert client.discover_master("mymaster") == ("127.0.0.1", master.port)
        writer = client.master_for("mymaster", socket_timeout=2)
        for n in range(100):
            writer.set("before:%d" % n, n)
        assert writer.wait(2, 5000) == 2  # acknowledged by both replicas: no failover may lose them
        reader = client.slave_for("mymaster", socket_timeout=2)
        assert reader.get("before:99") == b"99"

        master.kill()
        new_address = until(lambda: promoted_address(client, master.port), "a replica promoted")
        promoted = next(r for r in replicas if r.port == new_address[1])
        other = next(r for r in replicas if r is not promoted)
        assert promoted.role()[0] == b"master"
        until(lambda: writer.set("after", "failover"), "a write through redis-py's master_for after the failover")
        assert writer.mget(["before:%d" % n for n in range(100)]) == [b"%d" % n for n in range(100)]
        until(lambda: other.role()[:4] == [b"slave", b"127.0.0.1", promoted.port, b"connected"],
              "the other replica following the new master")
        until(lambda: other.get("after") == b"failover", "the write replicated to the other replica")
        assert "replicaof 127.0.0.1 %d" % promoted.port in other.conf.read_text().splitlines()
        assert not [line for line in promoted.conf.read_text().splitlines() if line.startswith("replicaof")]

        master.start()
        until(lambda: master.role()[:4] == [b"slave", b"127.0.0.1", promoted.port, b"connected"],
              "the old master back as a replica of the new one", timeout=40)
        until(lambda: master.get("after") == b"failover", "the old master synchronised")
        assert "replicaof 127.0.0.1 %d" % promoted.port in master.conf.read_text().splitlines()
        until(lambda: replica_flags(sentinels[0].port, master.port) == "slave", "sentinel seeing the old master up")
        assert until(lambda: client.slave_for("mymaster", socket_timeout=2).get("after"), "a replica read") \
            == b"failover"
    finally:
        for process in sentinels + [master.running] + [r.running for r in replicas]:
            process.stop()


def test_the_deploy_scripts(tmp_path):
    """deploy/sentinel/start.sh (which runs deploy/replication/start.sh) on free ports with a password
    (REQUIREPASS), then deploy/stop.sh."""
    master_port, *replica_ports = [free_port() for _ in range(3)]
    sentinel_ports = [free_port() for _ in range(3)]
    password = "deploy-password"
    environment = dict(os.environ, PYTHON=sys.executable, MASTER_PORT=str(master_port), REQUIREPASS=password,
                       REPLICA_PORTS=" ".join(map(str, replica_ports)), SENTINEL_PORTS=" ".join(map(str, sentinel_ports)))
    state = tmp_path / "state"
    try:
        subprocess.run(["bash", os.path.join(DEPLOY, "sentinel", "start.sh"), str(state)], env=environment,
                       check=True, timeout=60)
        with redis.Redis(port=master_port, socket_timeout=5) as anonymous:
            with pytest.raises(redis.AuthenticationError):
                anonymous.ping()
        with redis.Redis(port=master_port, socket_timeout=5, password=password) as master:
            master.set("greeting", "hello")
            assert master.wait(2, 5000) == 2
        for port in replica_ports:
            with redis.Redis(port=port, socket_timeout=5, password=password) as replica:
                assert replica.get("greeting") == b"hello"
        until(lambda: watching(sentinel_ports[0]), "the sentinels watching the deployment", timeout=20)
        assert (state / str(replica_ports[0]) / "mini-redis.conf").read_text().count(
            "\nreplicaof 127.0.0.1 %d\n" % master_port) == 1
    finally:
        subprocess.run(["bash", os.path.join(DEPLOY, "stop.sh"), str(state)], check=True, timeout=60)
    for port in [master_port, *replica_ports, *sentinel_ports]:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


# The users Redis's ACL documentation gives Sentinel and replicas (the least each needs), and one for the
# application; the default user is off, so every connection must log in as one of them.
ACL_USERS = {
    "app": ("app-password", "~* &* +@all"),
    "replica-user": ("replica-password", "+psync +replconf +ping"),
    "sentinel-user": ("sentinel-password", "allchannels +multi +slaveof +ping +exec +subscribe +config|rewrite +role "
                                           "+publish +info +client|setname +client|kill +script|kill"),
}
ACL_NODE_LINES = (["user default off"] + ["user %s on >%s %s" % (name, password, rules)
                                          for name, (password, rules) in ACL_USERS.items()]
                  + ["masteruser replica-user", "masterauth replica-password", "enable-debug-command yes"])
APP = {"username": "app", "password": "app-password"}


def sentinel_login(name):
    """sentinel.conf's lines for the sentinels to log in to the master called name (and its replicas)."""
    return ["sentinel auth-user %s sentinel-user" % name, "sentinel auth-pass %s sentinel-password" % name]


def digests(nodes):
    """DEBUG DIGEST of each node (the dataset's hash, the same in Redis and ours)."""
    found = []
    for node in nodes:
        with node.client() as client:
            found.append(client.execute_command("DEBUG", "DIGEST"))
    return found


def fill(writer, prefix):
    """Keys of each kind through the master, acknowledged by both replicas."""
    for n in range(50):
        writer.set("%s:string:%d" % (prefix, n), n)
        writer.hset("%s:hash" % prefix, "field%d" % n, n)
        writer.rpush("%s:list" % prefix, n)
        writer.zadd("%s:zset" % prefix, {"member%d" % n: n})
        writer.sadd("%s:set" % prefix, n)
    assert writer.wait(2, 5000) == 2


def test_failover_of_mixed_fleets_with_acl_users(tmp_path):
    """Two masters under the same three sentinels, all nodes with ACL users (Sentinel's and the replicas' as
    Redis's documentation gives them, the default user off): mymaster a real Redis with two mini-redis
    replicas (the one of priority 10 must be promoted), ours a mini-redis with a real Redis replica and a
    mini-redis replica of priority 0 (never promoted: the Redis one must be). Both masters are killed at once;
    after the failovers, the other replicas follow the new masters, the old masters come back as their
    replicas, no acknowledged write is lost, DEBUG DIGEST is the same on every node of a fleet and no node's
    ACL LOG holds a refusal."""
    folders = {}
    for name in ("redis-a", "ours-b", "ours-c", "ours-d", "redis-e", "ours-f"):
        folders[name] = tmp_path / name
        folders[name].mkdir()

    def node(name, template, master=None, lines=()):
        return Instance(folders[name], template, master and master.port, ACL_NODE_LINES + list(lines),
                        real=name.startswith("redis"), credentials=APP)

    redis_master = node("redis-a", "master.conf")
    chosen = node("ours-b", "replica.conf", redis_master, ["replica-priority 10"])
    other = node("ours-c", "replica.conf", redis_master)
    our_master = node("ours-d", "master.conf")
    redis_replica = node("redis-e", "replica.conf", our_master)
    never = node("ours-f", "replica.conf", our_master, ["replica-priority 0"])
    fleets = {"mymaster": [redis_master, chosen, other], "ours": [our_master, redis_replica, never]}
    nodes = fleets["mymaster"] + fleets["ours"]
    sentinels = []
    try:
        for replica in (chosen, other, redis_replica, never):
            until(lambda: replica.role()[3] == b"connected", "replica linked to the master")
        lines = (sentinel_login("mymaster") + ["sentinel monitor ours 127.0.0.1 %d 2" % our_master.port]
                 + timing_lines("ours") + sentinel_login("ours"))
        sentinels = [start_sentinel(tmp_path / ("sentinel-%d" % n), redis_master.port, lines=lines)
                     for n in range(3)]
        for sentinel in sentinels:
            for name in fleets:
                until(lambda: watching(sentinel.port, name), "each sentinel sees both fleets and the other sentinels")

        client = Sentinel([("127.0.0.1", s.port) for s in sentinels], socket_timeout=2, **APP)
        writers = {name: client.master_for(name, socket_timeout=2) for name in fleets}
        for name, writer in writers.items():
            fill(writer, name)
        acknowledged = {name: digests(fleet[:1])[0] for name, fleet in fleets.items()}

        redis_master.kill()
        our_master.kill()
        for name, (old, promoted, follower) in fleets.items():
            assert until(lambda: promoted_address(client, old.port, name), "a replica promoted") \
                == ("127.0.0.1", promoted.port)
            assert digests([promoted]) == [acknowledged[name]]  # every acknowledged write, nothing else
            until(lambda: writers[name].set("after", "failover"), "a write through master_for after the failover")
            until(lambda: follower.role()[:4] == [b"slave", b"127.0.0.1", promoted.port, b"connected"],
                  "the other replica following the new master")
        for old, _, _ in fleets.values():
            old.start()
        for name, (old, promoted, follower) in fleets.items():
            until(lambda: old.role()[:4] == [b"slave", b"127.0.0.1", promoted.port, b"connected"],
                  "the old master back as a replica of the new one", timeout=40)
            until(lambda: len(set(digests([old, promoted, follower]))) == 1, "the fleet holding the same data")
            until(lambda: replica_flags(sentinels[0].port, old.port, name) == "slave",
                  "sentinel seeing the old master up")
            assert old.get("after") == b"failover"
        for server in nodes:  # nothing Sentinel or a replica sent was refused, on Redis as on ours
            with server.client() as admin:
                assert admin.acl_log() == []
    finally:
        for process in sentinels + [n.running for n in nodes]:
            process.stop()
