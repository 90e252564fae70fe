"""The master's side of replication, proven with Debian's redis-server as our replica: full syncs (diskless and
disk-based) of every data type, the live stream after them, a partial resync after a dropped link, WAIT, ROLE,
min-replicas-to-write, INFO replication, and a replica that stops reading dropped at its output limit."""
import re
import socket
import threading
import time

import pytest
import redis

from conftest import aof_file, start_ours, start_real_redis, wait_until
from differential import WireClient

FAST = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1", "--enable-debug-command", "yes")
LIBRARY = "#!lua name=replicated\nredis.register_function('echo1', function(keys, args) return args[1] end)"



def fill_every_type(client):
    """Every data type, in three databases, with TTLs and function libraries: what a full sync must carry."""
    pipe = client.pipeline(transaction=False)
    pipe.set("string", "value").set("number", 12345).set("ttl", "soon", px=600_000)
    pipe.rpush("list", *range(20)).rpush("biglist", *("x" * 100 for _ in range(200)))
    pipe.hset("hash", mapping={"f%d" % i: i for i in range(10)})
    pipe.hset("bighash", mapping={"f%d" % i: "v" * 80 for i in range(600)})
    pipe.sadd("intset", *range(30)).sadd("set", *("m%d" % i for i in range(40)))
    pipe.zadd("zset", {"a": 1, "b": 2.5, "c": -3}).zadd("bigzset", {"m%d" % i: i / 7 for i in range(300)})
    pipe.pfadd("hll", *("e%d" % i for i in range(100)))
    pipe.geoadd("geo", (13.361389, 38.115556, "Palermo"), (15.087269, 37.502669, "Catania"))
    pipe.execute()
    for i in range(30):
        client.xadd("stream", {"n": i}, id="1-%d" % (i + 1))
    client.xgroup_create("stream", "group", id="0")
    client.xreadgroup("group", "alice", {"stream": ">"}, count=5)
    client.xgroup_createconsumer("stream", "group", "bob")
    client.expire("hash", 900)
    client.function_load(LIBRARY)
    for db in (3, 15):
        other = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=db)
        other.set("in-db-%d" % db, db)
        other.rpush("list-%d" % db, "a", "b")
        other.set("expiring-%d" % db, "x", ex=1000)
        other.close()


def in_sync(master, replica):
    """The replica's link is up and it has every byte the master produced (the PINGs keep both moving)."""
    info = replica.info("replication")
    if info.get("master_link_status") != "up":
        return False
    return info["slave_repl_offset"] == master.info("replication")["master_repl_offset"]


def assert_same_data(master, replica):
    assert wait_until(lambda: master.execute_command("DEBUG", "DIGEST") == replica.execute_command("DEBUG", "DIGEST")), \
        "digests differ: %r %r" % (master.execute_command("DEBUG", "DIGEST"), replica.execute_command("DEBUG", "DIGEST"))
    assert master.execute_command("DEBUG", "DIGEST") != b"0" * 40


class Deployment:
    """Our server as master, a real redis-server as its replica, and a client on each."""

    def __init__(self, tmp_path_factory, *options, fill=True):
        self.ours = start_ours(tmp_path_factory.mktemp("master"), *FAST, *options)
        self.master = redis.Redis(port=self.ours.port, socket_timeout=20)
        if fill:
            fill_every_type(self.master)
        self.real = start_real_redis(tmp_path_factory.mktemp("replica"), "--replicaof", "127.0.0.1",
                                     str(self.ours.port), "--enable-debug-command", "yes", "--repl-timeout", "5")
        self.replica = redis.Redis(port=self.real.port, socket_timeout=20)
        assert wait_until(lambda: in_sync(self.master, self.replica)), self.ours.log()

    def stop(self):
        self.master.close()
        self.replica.close()
        self.real.stop()
        self.ours.stop()


@pytest.fixture(scope="module")
def diskless(tmp_path_factory):
    deployment = Deployment(tmp_path_factory, "--repl-diskless-sync", "yes")
    yield deployment
    deployment.stop()


def test_a_real_replica_full_syncs_every_type_diskless(diskless):
    master, replica = diskless.master, diskless.replica
    assert_same_data(master, replica)
    assert replica.lrange("list", 0, -1) == [b"%d" % i for i in range(20)]
    assert replica.xinfo_groups("stream")[0]["pending"] == 5
    assert replica.function_list()[0][1] == b"replicated"  # library_name
    assert 0 < replica.ttl("ttl") <= 600
    assert redis.Redis(port=diskless.real.port, db=15).get("in-db-15") == b"15"
    log = diskless.ours.log()
    assert "Starting BGSAVE for SYNC with target: replicas sockets" in log
    assert "Streamed RDB transfer with replica 127.0.0.1:%d succeeded (socket)" % diskless.real.port in log
    assert master.info("stats")["sync_full"] == 1


def test_the_live_stream_reaches_the_replica(diskless):
    master, replica = diskless.master, diskless.replica
    pipe = master.pipeline(transaction=True)
    pipe.incr("counter").lpush("list", "in-multi").hset("hash", "f", "multi")
    pipe.execute()
    master.eval("redis.call('set', KEYS[1], ARGV[1]); return redis.call('incr', KEYS[2])", 2, "from-lua", "n", "v")
    master.eval("redis.call('select', 7); redis.call('set', 'lua-db', 7)", 0)
    master.set("short-lived", "x", px=30)
    db9 = redis.Redis(port=diskless.ours.port, db=9)
    db9.set("nine", 9)
    db9.spop("missing")
    db9.sadd("s", "a", "b", "c")
    db9.spop("s")
    db9.close()
    assert wait_until(lambda: replica.exists("short-lived") == 0)  # the master's DEL of the expired key
    assert master.wait(1, 5000) == 1
    assert_same_data(master, replica)
    assert replica.get("from-lua") == b"v"
    assert redis.Redis(port=diskless.real.port, db=7).get("lua-db") == b"7"
    assert redis.Redis(port=diskless.real.port, db=9).get("nine") == b"9"


def test_a_blocked_pop_served_later_reaches_the_replica(diskless):
    master, replica = diskless.master, diskless.replica
    blocked = redis.Redis(port=diskless.ours.port, socket_timeout=20)
    result = []
    waiter = threading.Thread(target=lambda: result.append(blocked.blpop("queue", 10)))
    waiter.start()
    assert wait_until(lambda: master.info("clients")["blocked_clients"] == 1)
    master.rpush("queue", "one", "two")
    waiter.join(15)
    blocked.close()
    assert result == [(b"queue", b"one")]
    assert master.wait(1, 5000) == 1
    assert replica.lrange("queue", 0, -1) == [b"two"]
    assert_same_data(master, replica)


def test_a_dropped_link_comes_back_with_a_partial_resync(diskless):
    master, replica = diskless.master, diskless.replica
    before = master.info("stats")
    assert master.client_kill_filter(_type="replica") == 1
    master.set("written-while-down", "yes")
    master.rpush("list", "while-down")
    assert wait_until(lambda: master.info("stats")["sync_partial_ok"] == before["sync_partial_ok"] + 1)
    assert wait_until(lambda: in_sync(master, replica))
    assert master.info("stats")["sync_full"] == before["sync_full"]
    assert replica.get("written-while-down") == b"yes"
    assert_same_data(master, replica)
    assert "Partial resynchronization request from 127.0.0.1:%d accepted." % diskless.real.port in diskless.ours.log()


def test_wait_role_and_info_on_the_master(diskless):
    master, replica = diskless.master, diskless.replica
    master.set("acknowledged", 1)
    assert master.wait(1, 5000) == 1
    assert master.wait(2, 1000) == 1  # a timeout: the count it has (the replica ACKs every second at least)
    waiting = []
    waiter = threading.Thread(target=lambda: waiting.append(
        redis.Redis(port=diskless.ours.port, socket_timeout=20).wait(2, 1500)))
    waiter.start()
    assert wait_until(lambda: master.info("clients")["blocked_clients"] == 1)  # the client waits, the server serves
    assert master.ping()
    waiter.join(10)
    assert waiting == [1] and master.info("clients")["blocked_clients"] == 0
    role = master.execute_command("ROLE")
    assert role[0] == b"master" and isinstance(role[1], int)
    assert role[2] == [[b"127.0.0.1", b"%d" % diskless.real.port, role[2][0][2]]]
    info = master.info("replication")
    assert info["role"] == "master" and info["connected_slaves"] == 1
    assert info["slave0"]["port"] == diskless.real.port and info["slave0"]["state"] == "online"
    assert info["repl_backlog_active"] == 1
    assert info["repl_backlog_first_byte_offset"] + info["repl_backlog_histlen"] == info["master_repl_offset"] + 1
    assert info["master_replid"] == replica.info("replication")["master_replid"]
    replica_role = replica.execute_command("ROLE")
    assert replica_role[:2] == [b"slave", b"127.0.0.1"] and replica_role[3] == b"connected"
    clients = master.client_list(_type="replica")
    assert len(clients) == 1 and clients[0]["flags"] == "S"
    assert master.execute_command("CLIENT", "LIST", "TYPE", "slave").count(b"flags=S") == 1
    assert master.info("clients")["connected_clients"] == len(master.client_list()) - 1


GATED = [("SET", "g:k", "v"), ("GET", "g:k"), ("MULTI",), ("INCR", "g:n"), ("EXEC",), ("MULTI",), ("GET", "g:n"),
         ("EXEC",), ("EVAL", "return redis.call('set', 'g:k', 'v')", "0"), ("EVAL", "return redis.call('get', 'g:k')", "0"),
         ("EVAL", "#!lua\nreturn redis.call('set', 'g:k', 'v')", "0"),
         ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'g:k')", "0"),
         ("WAIT", "0", "x"), ("WAIT", "x", "0"), ("WAIT", "0", "-1"), ("REPLCONF", "foo", "bar"), ("REPLCONF", "ack"),
         ("REPLCONF", "rdb-only", "5"), ("REPLCONF", "listening-port", "x"), ("REPLCONF", "ip-address", "a" * 300),
         ("REPLCONF", "listening-port", "7000", "capa", "eof"), ("MULTI",), ("PSYNC", "?", "-1"), ("EXEC",)]


def shapes(reply):
    """A reply's structure: the types of its values, lists kept as lists."""
    if isinstance(reply, list):
        return [shapes(item) for item in reply]
    return type(reply).__name__


def test_info_role_and_client_list_shaped_as_a_real_masters(diskless, tmp_path_factory):
    """A real Redis master with a real replica beside ours: INFO replication's fields in the same order, ROLE's
    shape, and the replica's CLIENT LIST line."""
    real_master = start_real_redis(tmp_path_factory.mktemp("real-master"), "--repl-diskless-sync-delay", "0")
    real_replica = start_real_redis(tmp_path_factory.mktemp("real-replica"), "--replicaof", "127.0.0.1",
                                    str(real_master.port))
    theirs = redis.Redis(port=real_master.port, socket_timeout=20)
    try:
        assert wait_until(lambda: in_sync(theirs, redis.Redis(port=real_replica.port)))
        theirs.set("x", 1)
        assert theirs.wait(1, 5000) == 1
        ours = diskless.master
        assert list(ours.info("replication")) == list(theirs.info("replication"))
        assert shapes(ours.execute_command("ROLE")) == shapes(theirs.execute_command("ROLE"))
        line = lambda client: {field: value for field, value in client.client_list(_type="replica")[0].items()
                               if field in ("flags", "db", "cmd", "multi", "sub", "psub", "resp")}
        assert line(ours) == line(theirs)
        stats = lambda client: [name for name in client.info("stats") if name.startswith("sync_")]
        assert stats(ours) == stats(theirs)
    finally:
        theirs.close()
        real_replica.stop()
        real_master.stop()


def test_min_replicas_to_write_and_errors_as_redis_does(diskless, tmp_path):
    """min-replicas-to-write not met (Redis: 1 wanted, none attached; ours: 2 wanted, 1 attached) refuses
    writes, transactions holding one and scripts' writes with Redis's words; the commands' own errors too."""
    master = diskless.master
    real_master = start_real_redis(tmp_path, "--min-replicas-to-write", "1")
    master.config_set("min-replicas-to-write", 2)
    try:
        with WireClient(diskless.ours.port) as ours, WireClient(real_master.port) as real:
            for command in GATED:
                assert ours.call(*command) == real.call(*command), command
            for client in (ours, real):  # a client that is no replica: ACK and GETACK get no reply, right or wrong
                client.send_raw(b"REPLCONF ACK x\r\nREPLCONF ACK 5 FACK 3\r\nREPLCONF GETACK *\r\n")
            assert ours.call("PING") == real.call("PING") == b"+PONG\r\n"
        assert list(master.info("replication"))[:3] == list(redis.Redis(port=real_master.port).info("replication"))[:3]
        assert master.info("replication")["min_slaves_good_slaves"] == 1
        master.config_set("min-replicas-to-write", 1)
        assert master.set("g:k", "v")
    finally:
        master.config_set("min-replicas-to-write", 0)
        real_master.stop()


def test_a_disk_based_full_sync(tmp_path_factory):
    deployment = Deployment(tmp_path_factory, "--repl-diskless-sync", "no")
    try:
        assert_same_data(deployment.master, deployment.replica)
        log = deployment.ours.log()
        assert "Starting BGSAVE for SYNC with target: disk" in log
        assert "Synchronization with replica 127.0.0.1:%d succeeded" % deployment.real.port in log
        deployment.master.set("after-disk-sync", 1)
        assert deployment.master.wait(1, 5000) == 1
        assert deployment.replica.get("after-disk-sync") == b"1"
        assert_same_data(deployment.master, deployment.replica)
    finally:
        deployment.stop()


def test_a_replica_that_stops_reading_is_dropped_at_its_output_limit(tmp_path):
    ours = start_ours(tmp_path, *FAST, "--client-output-buffer-limit", "replica 1mb 0 0")
    try:
        client = redis.Redis(port=ours.port, socket_timeout=20)
        silent = socket.create_connection(("127.0.0.1", ours.port))
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        silent.sendall(b"REPLCONF capa eof\r\nPSYNC ? -1\r\n")
        assert wait_until(lambda: client.info("replication")["connected_slaves"] == 1)
        value = b"v" * 10_000
        for batch in range(200):  # at most 20 MB, far past the 1 MB limit and the kernel's buffers
            pipe = client.pipeline(transaction=False)
            for index in range(10):
                pipe.set("key-%d" % index, value)
            pipe.execute()
            if client.info("replication")["connected_slaves"] == 0:
                break
        assert client.info("replication")["connected_slaves"] == 0
        assert "scheduled to be closed ASAP for overcoming of output buffer limits" in ours.log()
        silent.close()
        client.close()
    finally:
        ours.stop()


class RawReplica:
    """A replica spoken by hand over a socket: the handshake, the RDB as sent, then the stream's bytes."""

    def __init__(self, port, *handshake):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""
        for command in handshake:
            self.sock.sendall(command.encode() + b"\r\n")
            if command.startswith("REPLCONF"):
                assert self.line() == b"+OK"

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buffer += data

    def line(self):
        """The next line, skipping the newlines a master sends while the snapshot is being made."""
        while True:
            while b"\r\n" not in self.buffer and not self.buffer.startswith(b"\n"):
                self._fill()
            if self.buffer.startswith(b"\n"):
                self.buffer = self.buffer[1:]
                continue
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            return line

    def take(self, count):
        while len(self.buffer) < count:
            self._fill()
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def stream_until(self, expected):
        """Whether the stream, past any PING the master sent first, goes on with exactly these bytes."""
        ping = b"*1\r\n$4\r\nPING\r\n"
        while True:
            while self.buffer.startswith(ping):
                self.buffer = self.buffer[len(ping):]
            if len(self.buffer) >= len(expected) and not self.buffer.startswith(ping[:len(self.buffer)]):
                return self.take(len(expected)) == expected
            self._fill()

    def rdb(self):
        """The RDB's bytes, framed by length ($<length>) or, diskless, by the $EOF:<mark> mark."""
        header = self.line()
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            while not self.buffer.endswith(mark):
                self._fill()
            data, self.buffer = self.buffer[:-len(mark)], b""
            return data
        return self.take(int(header[1:]))

    def closed(self):
        try:
            self.sock.settimeout(0.2)
            return self.sock.recv(65536) == b""
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.sock.close()


def test_sync_rdb_only_timeouts_and_the_backlog_ttl(tmp_path):
    """SYNC (no +FULLRESYNC line, disk-based), REPLCONF rdb-only (closed after the RDB), a replica that never
    ACKs dropped after repl-timeout, the backlog freed after repl-backlog-ttl without replicas."""
    ours = start_ours(tmp_path, *FAST, "--repl-timeout", "1", "--repl-backlog-ttl", "1", "--loglevel", "verbose")
    client = redis.Redis(port=ours.port, socket_timeout=20)
    try:
        client.set("before", "sync")
        old = RawReplica(ours.port, "SYNC")
        assert old.rdb().startswith(b"REDIS0010")
        client.set("after", "sync")
        assert old.stream_until(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$4\r\nsync\r\n")
        old.close()  # SYNC's replicas never time out, as in Redis
        only = RawReplica(ours.port, "REPLCONF rdb-only 1", "REPLCONF capa eof", "PSYNC ? -1")
        assert only.line().startswith(b"+FULLRESYNC ")
        assert only.rdb().startswith(b"REDIS0010")
        assert wait_until(only.closed)
        silent = RawReplica(ours.port, "REPLCONF listening-port 1234", "REPLCONF capa eof", "PSYNC ? -1")
        replid = silent.line().split()[1].decode()
        silent.rdb()
        assert wait_until(lambda: "Disconnecting timedout replica (streaming sync): 127.0.0.1:1234" in ours.log())
        assert wait_until(silent.closed)
        assert wait_until(lambda: client.info("replication")["repl_backlog_active"] == 0)
        assert client.info("replication")["master_replid"] != replid  # a new history after the backlog is gone
        assert "Replication backlog freed after 1 seconds without connected replicas." in ours.log()
        only.close()
        silent.close()
    finally:
        client.close()
        ours.stop()


def test_the_backlog_size_and_a_partial_resync_by_hand(tmp_path):
    """CONFIG SET repl-backlog-size is at least 16 KB as in Redis; PSYNC continues from the backlog with exactly
    the bytes after the offset asked for, or falls back to a full sync when they are gone."""
    ours = start_ours(tmp_path, *FAST)
    real = start_real_redis(tmp_path)
    client = redis.Redis(port=ours.port, socket_timeout=20)
    try:
        for server in (client, redis.Redis(port=real.port)):
            server.config_set("repl-backlog-size", 1)
            assert server.config_get("repl-backlog-size") == {"repl-backlog-size": "16384"}
        first = RawReplica(ours.port, "REPLCONF capa eof", "REPLCONF capa psync2", "PSYNC ? -1")
        replid, offset = first.line().split()[1:]
        first.rdb()
        first.sock.sendall(b"REPLCONF ACK %s\r\n" % offset)
        first.close()
        client.set("k", "v")
        expected = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        resumed = RawReplica(ours.port, "REPLCONF capa psync2", "PSYNC %s %d" % (replid.decode(), int(offset) + 1))
        assert resumed.line() == b"+CONTINUE " + replid
        assert resumed.stream_until(expected)
        resumed.close()
        client.set("filler", "x" * 40_000)  # the backlog (16 KB) no longer holds offset + 1
        late = RawReplica(ours.port, "REPLCONF capa psync2", "PSYNC %s %d" % (replid.decode(), int(offset) + 1))
        assert late.line().startswith(b"+FULLRESYNC ")
        late.close()
        stats = client.info("stats")
        assert (stats["sync_full"], stats["sync_partial_ok"], stats["sync_partial_err"]) == (2, 1, 1)
    finally:
        client.close()
        real.stop()
        ours.stop()


def test_one_diskless_snapshot_serves_the_replicas_that_wait_for_it(tmp_path):
    """repl-diskless-sync-delay holds the first replica back; repl-diskless-sync-max-replicas starts the transfer
    as soon as the second arrives, one child for both, at one offset."""
    ours = start_ours(tmp_path, *FAST)
    client = redis.Redis(port=ours.port, socket_timeout=20)
    try:
        client.config_set("repl-diskless-sync-delay", 60)
        client.config_set("repl-diskless-sync-max-replicas", 2)
        client.set("shared", "snapshot")
        first = RawReplica(ours.port, "REPLCONF capa eof", "PSYNC ? -1")
        assert wait_until(lambda: "Delay next BGSAVE for diskless SYNC" in ours.log())
        assert client.info("replication")["slave0"]["state"] == "wait_bgsave"
        second = RawReplica(ours.port, "REPLCONF capa eof", "PSYNC ? -1")
        lines = first.line(), second.line()
        assert lines[0] == lines[1] and lines[0].startswith(b"+FULLRESYNC ")
        assert first.rdb() == second.rdb()
        assert ours.log().count("Background RDB transfer started by pid") == 1
        first.close()
        second.close()
    finally:
        client.close()
        ours.stop()


def test_the_aof_and_the_stream_get_the_same_commands(tmp_path):
    """With the AOF on and a replica attached, every change is propagated once, in one form for both: the
    stream after the RDB (its PINGs aside) is byte for byte what the AOF gained meanwhile."""
    ours = start_ours(tmp_path, *FAST, "--appendonly", "yes", "--repl-ping-replica-period", "3600")
    client = redis.Redis(port=ours.port, socket_timeout=20)
    try:
        client.set("before", "attach")
        replica = RawReplica(ours.port, "REPLCONF capa eof", "PSYNC ? -1")
        assert replica.line().startswith(b"+FULLRESYNC ")
        replica.rdb()
        assert wait_until(lambda: "Streamed RDB transfer with replica" in ours.log())
        replica.sock.sendall(b"REPLCONF ACK 0\r\n")  # a diskless RDB: the stream starts on the next ACK
        aof_start = aof_file(tmp_path).stat().st_size
        pipe = client.pipeline(transaction=True)
        pipe.incr("n").expire("n", 100).spop("missing").sadd("s", "a", "b").select(4).set("db4", 1)
        pipe.execute()
        client.eval("redis.call('set', 'lua', 1); redis.call('select', 2); redis.call('lpush', 'l', 1)", 0)
        client.set("px", "x", px=20)
        assert wait_until(lambda: client.exists("px") == 0)  # expired: its DEL is logged by both
        client.spop("s")  # in database 4, where the transaction's SELECT left this connection
        aof = aof_file(tmp_path).read_bytes()[aof_start:]
        # The stream re-selects after a full sync (Redis's slaveseldb = -1); the AOF had chosen 0 already.
        assert replica.stream_until(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n" + aof)
        replica.close()
    finally:
        client.close()
        ours.stop()


SCRIPT_TARGETS = """
redis.call('set', 'both', 1)
redis.set_repl(redis.REPL_AOF) redis.call('set', 'aof-only', 1)
redis.set_repl(redis.REPL_REPLICA) redis.call('set', 'replicas-only', 1) redis.call('publish', 'ch', 'in-script')
redis.set_repl(redis.REPL_NONE) redis.call('set', 'nowhere', 1)
redis.set_repl(redis.REPL_ALL) redis.call('select', 3) redis.call('incr', 'n')
return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}
"""


def propagated(server, aof_path):
    """Run the same changes on a master with the AOF on and a hand-made replica: (the stream after its RDB
    without PINGs, the AOF's bytes, the script's reply)."""
    replica = RawReplica(server.port, "PSYNC ? -1")
    assert replica.line().startswith(b"+FULLRESYNC ")
    replica.rdb()
    client = redis.Redis(port=server.port, socket_timeout=20)
    pipe = client.pipeline(transaction=True)
    pipe.set("k", "v").expire("k", 100).incr("n").sadd("s", "a")
    pipe.execute()
    reply = client.eval(SCRIPT_TARGETS, 0)
    client.publish("ch", "alone")
    client.execute_command("SPUBLISH", "sch", "alone")
    client.set("last", "write")
    client.close()
    marker = b"$4\r\nlast\r\n$5\r\nwrite\r\n"
    while marker not in replica.buffer:
        replica._fill()
    replica.close()
    # With appendfsync everysec Redis may hold back its AOF write while an fsync is slow (a loaded
    # machine's disk), though the client has its reply: wait until the last write is in the file.
    deadline = time.monotonic() + 10
    while marker not in aof_path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)
    return replica.buffer.replace(b"*1\r\n$4\r\nPING\r\n", b""), aof_path.read_bytes(), reply


def test_what_reaches_the_aof_and_the_replicas_as_in_redis(tmp_path):
    """Transactions, relative expiries, redis.set_repl's targets and PUBLISH (replicas only): the stream and
    the AOF carry what Redis's carry, byte for byte."""
    options = ("--appendonly", "yes", "--repl-diskless-sync", "no", "--repl-ping-replica-period", "3600")
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    ours = start_ours(tmp_path / "ours", *FAST, *options)
    real = start_real_redis(tmp_path / "redis", *options)
    try:
        expected = propagated(real, aof_file(tmp_path / "redis"))
        got = propagated(ours, aof_file(tmp_path / "ours"))
        mask = lambda data: re.sub(rb"\$13\r\n\d{13}\r\n", b"$13\r\n<ms>\r\n", data)  # PEXPIREAT's deadline
        assert [mask(got[0]), mask(got[1]), got[2]] == [mask(expected[0]), mask(expected[1]), expected[2]]
    finally:
        real.stop()
        ours.stop()
