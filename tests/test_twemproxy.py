"""mini-redis instances behind twemproxy (Debian's nutcracker), as deploy/twemproxy sets them up: keys
spread by consistent hashing, multi-key commands split and merged by the proxy, hash tags, what the
proxy refuses, and deploy/twemproxy's own script."""
import bisect
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys

import pytest
import redis
from redis.driver_info import DriverInfo

from client import Client
from conftest import ROOT, RunningServer, free_port, start_ours

DEPLOY = os.path.join(ROOT, "deploy", "twemproxy")
SHARDS = 4


def nutcracker_binary():
    binary = shutil.which("nutcracker") or "/usr/sbin/nutcracker"
    if not os.access(binary, os.X_OK):
        pytest.fail("nutcracker is not installed: apt-get install nutcracker")
    return binary


def config_for(listen_port, backend_ports):
    """deploy/twemproxy/nutcracker.yml with its listen port and its servers (the last lines) replaced."""
    with open(os.path.join(DEPLOY, "nutcracker.yml")) as f:
        template = f.read()
    assert "listen: 127.0.0.1:22121\n" in template
    kept = [line for line in template.splitlines(True) if not line.lstrip().startswith("- 127.0.0.1:")]
    servers = ["    - 127.0.0.1:%d:1 mini-redis-%d\n" % (port, n) for n, port in enumerate(backend_ports, 1)]
    return "".join(kept).replace("127.0.0.1:22121", "127.0.0.1:%d" % listen_port) + "".join(servers)


class Ketama:
    """twemproxy's ketama ring (nc_ketama.c) with the murmur hash (nc_murmur.c) and the "{}" hash tag, to
    know which instance a key belongs on without asking the proxy."""

    POINTS_PER_SERVER = 160

    def __init__(self, names):
        points = []
        for index, name in enumerate(names):  # equal weights: 160 points each, 4 from each MD5
            for group in range(self.POINTS_PER_SERVER // 4):
                digest = hashlib.md5(b"%s-%d" % (name.encode(), group)).digest()
                points += [(value, index) for value in struct.unpack("<4I", digest)]
        points.sort()
        self.values = [value for value, _ in points]
        self.owners = [index for _, index in points]

    @staticmethod
    def murmur(key):
        """nc_murmur.c's MurmurHash2: little-endian 4-byte words, seeded by the length."""
        mix, length = 0x5BD1E995, len(key)
        hashed = ((0xDEADBEEF * length) ^ length) & 0xFFFFFFFF
        whole = length - length % 4
        for (word,) in struct.iter_unpack("<I", key[:whole]):
            word = (word * mix) & 0xFFFFFFFF
            word = ((word ^ (word >> 24)) * mix) & 0xFFFFFFFF
            hashed = ((hashed * mix) & 0xFFFFFFFF) ^ word
        if whole < length:
            tail = key[whole:]
            hashed ^= sum(byte << (8 * n) for n, byte in enumerate(tail))
            hashed = (hashed * mix) & 0xFFFFFFFF
        hashed = ((hashed ^ (hashed >> 13)) * mix) & 0xFFFFFFFF
        return hashed ^ (hashed >> 15)

    def index_for(self, key):
        start = key.find(b"{")
        end = key.find(b"}", start + 1) if start >= 0 else -1
        if end - start > 1:
            key = key[start + 1:end]
        at = bisect.bisect_left(self.values, self.murmur(key))
        return self.owners[at % len(self.owners)]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """SHARDS instances of ours and nutcracker in front of them: (proxy port, backend ports)."""
    backends = [start_ours(tmp_path_factory.mktemp("shard")) for _ in range(SHARDS)]
    folder = tmp_path_factory.mktemp("nutcracker")
    listen = free_port()
    (folder / "nutcracker.yml").write_text(config_for(listen, [b.port for b in backends]))
    proxy = RunningServer([nutcracker_binary(), "-c", str(folder / "nutcracker.yml"), "-a", "127.0.0.1",
                           "-s", str(free_port()), "-o", str(folder / "nutcracker.log")], listen, str(folder))
    try:
        yield listen, [b.port for b in backends]
    finally:
        proxy.stop()
        for backend in backends:
            backend.stop()


def through_proxy(port):
    """redis-py as twemproxy needs it: RESP2 and no CLIENT SETINFO on connect (the proxy refuses HELLO and
    CLIENT by closing the connection)."""
    return redis.Redis(port=port, protocol=2, driver_info=DriverInfo(name=None, lib_version=None),
                       socket_timeout=10)


def where(backend_ports, keys):
    """For each key, the indexes of the backends that hold it, asked of each backend directly."""
    found = {key: [] for key in keys}
    for index, port in enumerate(backend_ports):
        with redis.Redis(port=port, socket_timeout=10) as backend:
            pipe = backend.pipeline(transaction=False)
            for key in keys:
                pipe.exists(key)
            for key, present in zip(keys, pipe.execute()):
                if present:
                    found[key].append(index)
    return found


def test_each_key_is_on_the_instance_consistent_hashing_picks(deployment):
    proxy_port, backend_ports = deployment
    keys = [b"tw:key:%d" % n for n in range(400)] + [b"tw:\xc3\xa9t\xe9:%d" % n for n in range(20)]
    with through_proxy(proxy_port) as proxy:
        pipe = proxy.pipeline(transaction=False)
        for n, key in enumerate(keys):
            pipe.set(key, n)
        assert pipe.execute() == [True] * len(keys)
        assert [proxy.get(key) for key in keys[::37]] == [b"%d" % n for n in range(0, len(keys), 37)]
    ring = Ketama(["mini-redis-%d" % n for n in range(1, SHARDS + 1)])
    found = where(backend_ports, keys)
    assert found == {key: [ring.index_for(key)] for key in keys}
    assert sorted({holders[0] for holders in found.values()}) == list(range(SHARDS))


def test_redis_cli_writes_and_reads_through_the_proxy(deployment):
    proxy_port, backend_ports = deployment
    cli = shutil.which("redis-cli")
    commands = "".join("SET tw:cli:%d value-%d\n" % (n, n) for n in range(100)).encode()
    written = subprocess.run([cli, "-p", str(proxy_port)], input=commands, capture_output=True, timeout=60)
    assert written.stdout == b"OK\n" * 100, written.stderr
    read = subprocess.run([cli, "-p", str(proxy_port), "MGET", *("tw:cli:%d" % n for n in range(100)),
                           "tw:cli:missing"], capture_output=True, timeout=60)
    assert read.stdout == b"".join(b"value-%d\n" % n for n in range(100)) + b"\n"
    holders = where(backend_ports, [b"tw:cli:%d" % n for n in range(100)])
    assert all(len(held) == 1 for held in holders.values())
    assert len({held[0] for held in holders.values()}) == SHARDS


def test_multi_key_commands_across_instances(deployment):
    proxy_port, backend_ports = deployment
    keys = [b"tw:multi:%d" % n for n in range(40)]
    ring = Ketama(["mini-redis-%d" % n for n in range(1, SHARDS + 1)])
    assert len({ring.index_for(key) for key in keys}) == SHARDS
    with through_proxy(proxy_port) as proxy:
        assert proxy.mset({key: b"v%d" % n for n, key in enumerate(keys)}) is True
        asked = [keys[0], b"tw:multi:none", *keys[1:]]
        assert proxy.mget(asked) == [b"v0", None] + [b"v%d" % n for n in range(1, 40)]
        # EXISTS is not split by twemproxy 0.5.0: the first key's instance counts the keys it holds.
        first_instance = [key for key in keys if ring.index_for(key) == ring.index_for(keys[0])]
        assert proxy.exists(*keys, b"tw:multi:none", keys[0]) == len(first_instance) + 1
        assert proxy.exists(keys[1]) == 1
        assert proxy.touch(*keys, b"tw:multi:none") == 40
        assert proxy.delete(*keys[:20], b"tw:multi:none") == 20
        assert proxy.unlink(*keys) == 20
        assert proxy.mget(keys) == [None] * 40
    assert all(held == [] for held in where(backend_ports, keys).values())


def test_our_client_through_the_proxy(deployment):
    """client.py sends nothing on connect that twemproxy refuses."""
    proxy_port, backend_ports = deployment
    keys = ["tw:ours:%d" % n for n in range(30)]
    ours = Client("127.0.0.1", proxy_port)
    assert ours.mset({key: n for n, key in enumerate(keys)}) is True
    assert ours.mget(*keys) == [b"%d" % n for n in range(30)]
    assert ours.delete(*keys) == 30
    assert all(held == [] for held in where(backend_ports, [key.encode() for key in keys]).values())


def test_hash_tags_keep_keys_together(deployment):
    proxy_port, backend_ports = deployment
    ring = Ketama(["mini-redis-%d" % n for n in range(1, SHARDS + 1)])
    tagged = [b"{user:7}:name", b"{user:7}:follows", b"{user:7}:followers", b"{user:7}:queue", b"{user:7}:done"]
    with through_proxy(proxy_port) as proxy:
        proxy.set(tagged[0], "ann")
        proxy.sadd(tagged[1], "bob", "cy")
        proxy.sadd(tagged[2], "cy", "dan")
        proxy.rpush(tagged[3], "job1", "job2")
        assert proxy.sunionstore(b"{user:7}:both", tagged[1], tagged[2]) == 3
        assert proxy.rpoplpush(tagged[3], tagged[4]) == b"job2"
        assert proxy.smembers(b"{user:7}:both") == {b"bob", b"cy", b"dan"}
        assert proxy.lrange(tagged[4], 0, -1) == [b"job2"]
    owner = ring.index_for(b"user:7")
    assert where(backend_ports, tagged + [b"{user:7}:both"]) == {key: [owner] for key in tagged + [b"{user:7}:both"]}
    # An empty tag does not count: "{}" keys hash whole, as ketama places them.
    spread = [b"{}tw:%d" % n for n in range(40)]
    with through_proxy(proxy_port) as proxy:
        proxy.mset({key: 1 for key in spread})
    assert where(backend_ports, spread) == {key: [ring.index_for(key)] for key in spread}
    assert len({ring.index_for(key) for key in spread}) > 1


@pytest.mark.parametrize("command", [b"KEYS *", b"MULTI", b"INFO", b"SELECT 1", b"HELLO 3", b"SUBSCRIBE news",
                                     b"SCAN 0", b"BLPOP tw:list 1"])
def test_unsupported_commands_get_the_connection_closed(deployment, command):
    """twemproxy's answer to a command it does not route is no reply: it closes the client's connection."""
    proxy_port, _ = deployment
    frame = b"*%d\r\n" % len(command.split()) + b"".join(b"$%d\r\n%s\r\n" % (len(word), word)
                                                        for word in command.split())
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as connection:
        connection.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert connection.recv(100) == b"+PONG\r\n"
        connection.sendall(frame)
        assert connection.recv(100) == b""
    with through_proxy(proxy_port) as proxy:
        assert proxy.ping() is True


def test_the_deploy_script_starts_instances_and_proxy(tmp_path):
    """deploy/twemproxy/start.sh with its nutcracker.yml on free ports, then deploy/stop.sh."""
    backend_ports = [free_port() for _ in range(3)]
    listen = free_port()
    (tmp_path / "nutcracker.yml").write_text(config_for(listen, backend_ports))
    environment = dict(os.environ, PYTHON=sys.executable, STATS_PORT=str(free_port()))
    state = tmp_path / "state"
    try:
        subprocess.run(["bash", os.path.join(DEPLOY, "start.sh"), str(state), str(tmp_path / "nutcracker.yml")],
                       env=environment, check=True, timeout=60)
        with through_proxy(listen) as proxy:
            proxy.mset({b"tw:deploy:%d" % n: n for n in range(30)})
            assert proxy.mget([b"tw:deploy:%d" % n for n in range(30)]) == [b"%d" % n for n in range(30)]
        holders = where(backend_ports, [b"tw:deploy:%d" % n for n in range(30)])
        assert sorted({held[0] for held in holders.values()}) == [0, 1, 2]
    finally:
        subprocess.run(["bash", os.path.join(ROOT, "deploy", "stop.sh"), str(state)], check=True, timeout=60)
    for port in backend_ports + [listen]:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
