"""Replication, replica side: ours as a replica of a real Redis 7.0 master on loopback.

Full sync of every data type (equal DEBUG DIGEST), the live stream (MULTI/EXEC, scripts, expiry), a
dropped link and a restart continued with PSYNC (the master's sync_partial_ok counts them), READONLY
and MASTERDOWN, INFO replication and ROLE beside a real Redis replica of the same master, the handshake's
log with a master that wants a password, and a corrupt or truncated RDB from a hand-made master refused
and retried.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
import redis

from conftest import ROOT, RunningServer, aof_file, free_port, start_ours, start_real_redis
from differential import Pair, WireClient, mask_client_id, parse_reply

MASTER_OPTIONS = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1",
                  "--enable-debug-command", "yes")
REPLICA_OPTIONS = ("--repl-timeout", "5", "--enable-debug-command", "yes")


def wait_until(condition, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def info(port, section="replication", password=None):
    """INFO section as (field, value) pairs in the server's order."""
    with WireClient(port) as client:
        if password is not None:
            client.call("AUTH", password)
        text = parse_reply(client.call("INFO", section)).decode()
    return [tuple(line.split(":", 1)) for line in text.split("\r\n") if line and not line.startswith("#")]


def field(port, name, section="replication"):
    return dict(info(port, section)).get(name)


def linked(port):
    return field(port, "master_link_status") == "up"


def caught_up(master, *replicas):
    """Every replica has applied all the master has produced (a PING may come between: try again)."""
    def check():
        offset = field(master.port, "master_repl_offset")
        return all(field(replica.port, "slave_repl_offset") == offset for replica in replicas)
    wait_until(check, what="the replicas to catch up")


def digest(port):
    return redis.Redis(port=port).execute_command("DEBUG", "DIGEST")


def fill(client):
    """One of each type, in several databases, with TTLs and a function library."""
    client.set("string", "value")
    client.set("number", 12345)
    client.set("ttl", "x", ex=1000)
    client.rpush("list", *range(50))
    client.hset("hash", mapping={"a": 1, "b": "two"})
    client.hset("bighash", mapping={"f%d" % i: "v" * 80 for i in range(20)})
    client.sadd("intset", 1, 2, 3)
    client.sadd("set", "a", "b", "c")
    client.zadd("zset", {"a": 1.5, "b": 2, "c": -3})
    client.zadd("bigzset", {"m%d" % i: i for i in range(200)})
    client.xadd("stream", {"f": "v"}, id="1-1")
    client.xadd("stream", {"g": "w"}, id="2-1")
    client.xgroup_create("stream", "group", id="0")
    client.xreadgroup("group", "consumer", {"stream": ">"}, count=1)
    client.pfadd("hll", *("e%d" % i for i in range(100)))
    client.geoadd("geo", (13.361389, 38.115556, "Palermo"))
    client.pexpire("hash", 500_000)
    client.function_load("#!lua name=lib\nredis.register_function{function_name='f', "
                         "callback=function(keys, args) return 1 end, flags={'no-writes'}}")
    other = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=3)
    other.set("in-db-3", "yes")
    other.lpush("list-3", "a")


@pytest.fixture
def master(tmp_path):
    (tmp_path / "master").mkdir()
    server = start_real_redis(tmp_path / "master", *MASTER_OPTIONS)
    yield server
    server.stop()


def replica_of(tmp_path, master, name, *options, real=False):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    start = start_real_redis if real else start_ours
    return start(folder, "--replicaof", "127.0.0.1", str(master.port), *REPLICA_OPTIONS, *options)


def test_full_sync_then_the_stream_beside_a_real_replica(tmp_path, master):
    source = redis.Redis(port=master.port)
    fill(source)
    ours = replica_of(tmp_path, master, "ours", "--appendonly", "yes")
    real = replica_of(tmp_path, master, "real", real=True)
    try:
        wait_until(lambda: linked(ours.port) and linked(real.port), what="both links up")
        caught_up(master, ours, real)
        assert digest(ours.port) == digest(master.port)
        mine = redis.Redis(port=ours.port)
        assert mine.lrange("list", 0, -1) == [b"%d" % i for i in range(50)]
        assert mine.xinfo_groups("stream")[0]["pending"] == 1
        assert mine.fcall("f", 0) == 1
        assert redis.Redis(port=ours.port, db=3).get("in-db-3") == b"yes"

        # the live stream: a transaction, a script, expiry, several databases
        received = lambda: (int(field(ours.port, "total_net_repl_input_bytes", "stats")),  # noqa: E731
                            int(field(ours.port, "slave_read_repl_offset")))
        bytes_before, offset_before = received()
        with source.pipeline(transaction=True) as pipe:
            pipe.incr("counter").lpush("list", "head").hset("hash", "c", 3).execute()
        source.eval("redis.call('set', KEYS[1], ARGV[1]); redis.call('expire', KEYS[1], 100)", 1, "scripted", "v")
        source.set("short", "x", px=100_000)
        redis.Redis(port=master.port, db=5).set("live-key", "in db 5")
        assert source.wait(2, 10_000) == 2  # both replicas acknowledged (REPLCONF GETACK, or their ACK)
        caught_up(master, ours, real)
        assert digest(ours.port) == digest(master.port) == digest(real.port)
        assert 0 < mine.pttl("short") <= 100_000
        bytes_after, offset_after = received()
        assert bytes_after - bytes_before == offset_after - offset_before > 0

        compare_info_and_role(ours.port, real.port)
        clients = parse_reply(WireClient(ours.port).call("CLIENT", "LIST", "TYPE", "master")).decode()
        assert " flags=M " in clients and " user=(superuser) " in clients
        assert clients.count("\n") == 1

        wait_until(lambda: b"live-key" in aof_file(tmp_path / "ours").read_bytes(),
                   what="the stream in the replica's AOF")
    finally:
        ours.stop()
        real.stop()


def compare_info_and_role(ours_port, real_port):
    """INFO replication field by field and ROLE, against a real replica of the same master that has applied
    the same stream; the backlog's start and the seconds since the last I/O are each replica's own."""
    own = {"repl_backlog_first_byte_offset", "repl_backlog_histlen", "master_last_io_seconds_ago"}
    ours, real = info(ours_port), info(real_port)
    assert [name for name, _ in ours] == [name for name, _ in real]
    assert [pair for pair in ours if pair[0] not in own] == [pair for pair in real if pair[0] not in own]
    assert int(dict(ours)["master_last_io_seconds_ago"]) <= 2
    with Pair(ours_port, real_port) as pair:
        pair.check("ROLE")


def test_expiry_is_left_to_the_master(tmp_path):
    """Also: a master that wants AUTH (masteruser, masterauth) and sends its RDB from disk ($<length>), and
    the address a replica announces."""
    (tmp_path / "master").mkdir()
    master = start_real_redis(tmp_path / "master", *MASTER_OPTIONS, "--requirepass", "secret",
                              "--repl-diskless-sync", "no")
    source = redis.Redis(port=master.port, password="secret")
    source.acl_setuser("replicator", enabled=True, passwords=["+pw"], commands=["+@all"], keys=["*"])
    source.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    ours = replica_of(tmp_path, master, "ours", "--masteruser", "replicator", "--masterauth", "pw",
                      "--replica-announce-ip", "127.0.0.9", "--replica-announce-port", "1234")
    real = replica_of(tmp_path, master, "real", "--masterauth", "secret", real=True)
    try:
        wait_until(lambda: linked(ours.port) and linked(real.port), what="both links up")
        replicas = lambda: " ".join(value for name, value in info(master.port, password="secret")  # noqa: E731
                                    if name.startswith("slave"))
        wait_until(lambda: "ip=127.0.0.9,port=1234,state=online" in replicas(), what="ours online, as announced")
        wait_until(lambda: "ip=127.0.0.1,port=%d,state=online" % real.port in replicas(), what="Redis online")
        source.config_set("requirepass", "")  # the links are up: the rest needs no password
        assert re.search(r"receiving \d+ bytes from master to disk", ours.log())  # not the EOF-marked form
        source.set("soon", "gone", px=100)
        source.set("kept", "here")
        caught_up(master, ours, real)
        time.sleep(0.2)
        with Pair(ours.port, real.port) as pair:
            # a replica hides the expired key from reads but keeps it until the master's DEL
            pair.check_sequence([("GET", "soon"), ("EXISTS", "soon"), ("TTL", "soon"), ("DBSIZE",),
                                 ("KEYS", "*"), ("SCAN", "0")])
            source.get("soon")  # the master expires it now, and sends DEL
            wait_until(lambda: redis.Redis(port=ours.port).dbsize() == 1, what="the DEL on ours")
            wait_until(lambda: redis.Redis(port=real.port).dbsize() == 1, what="the DEL on Redis")
            pair.check_sequence([("DBSIZE",), ("GET", "soon"), ("GET", "kept")])
            # a writable replica expires the keys its own clients gave a TTL, and only those
            source.set("masters", "x", px=100)
            caught_up(master, ours, real)
            pair.check_sequence([("CONFIG", "SET", "replica-read-only", "no"), ("SET", "own", "v", "PX", "100"),
                                 ("SET", "own-forever", "v"), ("EXPIRE", "own-forever", "1000"),
                                 ("PERSIST", "own-forever")])
            time.sleep(0.2)
            for port in (ours.port, real.port):
                wait_until(lambda: field(port, "slave_expires_tracked_keys", "stats") == "0", what="own keys expired")
            pair.check_sequence([("DBSIZE",), ("EXISTS", "own"), ("EXISTS", "masters"), ("EXISTS", "own-forever")])
    finally:
        ours.stop()
        real.stop()
        master.stop()



def test_dropped_link_and_restart_continue_with_psync(tmp_path, master):
    source = redis.Redis(port=master.port)
    fill(source)
    ours = replica_of(tmp_path, master, "ours", "--repl-diskless-load", "swapdb")
    try:
        wait_until(lambda: linked(ours.port), what="the link up")
        stats = lambda name: int(field(master.port, name, "stats"))  # noqa: E731
        full, partial = stats("sync_full"), stats("sync_partial_ok")

        redis.Redis(port=ours.port).client_kill_filter(_type="master")
        source.set("while-down", "1")
        wait_until(lambda: stats("sync_partial_ok") == partial + 1, what="a partial resync")
        wait_until(lambda: linked(ours.port), what="the link up again")

        source.client_kill_filter(_type="replica")  # from the master's side this time
        redis.Redis(port=master.port, db=2).set("while-down-2", "2")
        wait_until(lambda: stats("sync_partial_ok") == partial + 2, what="a second partial resync")
        caught_up(master, ours)
        assert digest(ours.port) == digest(master.port)

        redis.Redis(port=ours.port).shutdown(save=True)
        ours.stop()
        dump = tmp_path / "ours" / "dump.rdb"
        checked = subprocess.run(["redis-check-rdb", str(dump)], capture_output=True, text=True)
        assert checked.returncode == 0 and "repl-offset" in checked.stdout
        restarted_as_masters(tmp_path, dump.read_bytes())
        source.set("while-stopped", "3")
        ours = replica_of(tmp_path, master, "ours")  # from its dump.rdb, with the repl-* aux fields
        wait_until(lambda: stats("sync_partial_ok") == partial + 3, what="a partial resync after the restart")
        caught_up(master, ours)
        assert digest(ours.port) == digest(master.port)
        assert stats("sync_full") == full
    finally:
        ours.stop()


def restarted_as_masters(tmp_path, dump):
    """A master started from a replica's dump.rdb keeps its history as replid2, offset rebased, as Redis 7.0."""
    for name in ("ours-master", "real-master"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "dump.rdb").write_bytes(dump)
    ours, real = start_ours(tmp_path / "ours-master"), start_real_redis(tmp_path / "real-master")
    try:
        fields = [[pair for pair in info(server.port) if pair[0] != "master_replid"] for server in (ours, real)]
        assert fields[0] == fields[1]
        assert dict(fields[0])["second_repl_offset"] != "-1"
    finally:
        ours.stop()
        real.stop()


def test_promotion_keeps_the_old_history_as_replid2(tmp_path, master):
    redis.Redis(port=master.port).set("a", "1")
    ours = replica_of(tmp_path, master, "ours")
    try:
        wait_until(lambda: linked(ours.port), what="the link up")
        caught_up(master, ours)
        before = dict(info(ours.port))
        mine = redis.Redis(port=ours.port)
        assert mine.execute_command("REPLICAOF", "NO", "ONE") == b"OK"
        after = dict(info(ours.port))
        assert after["role"] == "master" and "master_host" not in after
        assert after["master_replid2"] == before["master_replid"] != after["master_replid"]
        assert int(after["second_repl_offset"]) == int(before["master_repl_offset"]) + 1
        assert mine.set("a", "2") and mine.get("a") == b"2"
        assert mine.execute_command("ROLE")[0] == b"master"
        assert mine.execute_command("HELLO", "2")[mine.execute_command("HELLO", "2").index(b"role") + 1] == b"master"
    finally:
        ours.stop()


def handshake_log(server, last):
    """The replica's log lines (their level and text) from its first 'Connecting to MASTER' to the first
    containing last; None while that has not been logged yet."""
    lines = [line.split(" ", 5)[5] for line in server.log().splitlines() if line.count(" ") >= 5]
    start = next((n for n, line in enumerate(lines) if "Connecting to MASTER" in line), None)
    end = next((n for n, line in enumerate(lines) if last in line), None)
    return None if start is None or end is None else lines[start:end + 1]


def test_handshake_with_a_master_that_wants_a_password_logs_as_redis(tmp_path):
    """A master with requirepass and a user without +psync: a replica that gives no password (REPLCONF and
    PSYNC refused with NOAUTH), a wrong one, and that user's (PSYNC refused with NOPERM) logs its
    handshake as Redis does, the master's errors quoted whole."""
    (tmp_path / "master").mkdir()
    master = start_real_redis(tmp_path / "master", "--requirepass", "pw")
    cases = {"none": ((), "Unexpected reply to PSYNC"),
             "wrong": (("--masterauth", "wrong"), "Unable to AUTH"),
             "noperm": (("--masteruser", "norepl", "--masterauth", "np"), "Unexpected reply to PSYNC")}
    replicas = []
    try:
        with redis.Redis(port=master.port, password="pw") as client:
            client.acl_setuser("norepl", enabled=True, passwords=["+np"], commands=["+ping", "+replconf"])
        for name, (options, last) in cases.items():
            pair = [replica_of(tmp_path, master, "%s-%s" % (name, kind), *options, real=kind == "redis")
                    for kind in ("ours", "redis")]
            replicas += pair
            ours_log, redis_log = [wait_until(lambda: handshake_log(server, last), what="the handshake logged")
                                   for server in pair]
            assert ours_log == redis_log
    finally:
        for server in replicas + [master]:
            server.stop()


def test_replies_of_a_replica_without_its_master(tmp_path):
    """REPLICAOF's replies and errors, READONLY, MASTERDOWN, the subscribed context, beside Redis."""
    down = free_port()  # nobody listens there: the link stays down
    options = ("--replica-serve-stale-data", "no")
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours = start_ours(tmp_path / "ours", *options)
    real = start_real_redis(tmp_path / "real", *options)
    try:
        with Pair(ours.port, real.port) as pair, Pair(ours.port, real.port) as blocked:
            blocked.ours.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nlist\r\n$1\r\n0\r\n")
            blocked.redis.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$4\r\nlist\r\n$1\r\n0\r\n")
            wait_until(lambda: all(field(port, "blocked_clients", "clients") == "1" for port in (ours.port, real.port)),
                       what="BLPOP blocked on both")
            pair.check_sequence([
                ("REPLICAOF",), ("REPLICAOF", "a"), ("REPLICAOF", "h", "abc"), ("REPLICAOF", "h", "70000"),
                ("REPLICAOF", "h", "-1"), ("SLAVEOF", "no", "one"), ("ROLE",),
                ("REPLICAOF", "127.0.0.1", str(down)), ("REPLICAOF", "127.0.0.1", str(down)),
            ])
            blocked.check_closed()  # the error, then the hang-up: as a replica, its list would never be pushed to
            pair.check_sequence([
                ("GET", "k"), ("SET", "k", "v"), ("PING",), ("INFO", "nosuchsection"), ("ECHO", "x"),
                ("MULTI",), ("GET", "k"), ("SET", "k", "v"), ("EXEC",),
                ("MULTI",), ("PING",), ("EXEC",),
            ])
            pair.check("HELLO", "3", "SETNAME", "x", normalise=mask_client_id)
            pair.reconnect()
            pair.check_sequence([("SUBSCRIBE", "c"), ("GET", "k"), ("PING",)])
            pair.reconnect()
            pair.check_sequence([  # scripts: their declared flags count, a script without them runs nothing
                ("EVAL", "return redis.call('get','k')", "0"), ("EVAL", "#!lua\nreturn 1", "0"),
                ("EVAL", "#!lua flags=allow-stale\nreturn redis.call('set','k','v')", "0"),
                ("EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.call('get','k')", "0"),
                ("EVAL", "#!lua flags=allow-stale,no-writes\nreturn redis.call('echo','k')", "0"),
                ("MULTI",), ("EVAL", "#!lua\nreturn 1", "0"), ("EXEC",)])
            pair.check("CONFIG", "SET", "replica-serve-stale-data", "yes")
            pair.check_sequence([("GET", "k"), ("SET", "k", "v"), ("EVAL", "return redis.call('set','k','v')", "0"),
                                 ("EVAL", "#!lua\nreturn 1", "0"), ("EVAL", "return redis.call('get','k')", "0")])
            pair.check("CONFIG", "SET", "replica-read-only", "no")
            pair.check_sequence([("SET", "k", "v"), ("GET", "k"), ("CONFIG", "GET", "replicaof")])
            ours_fields, real_fields = info(ours.port), info(real.port)
            assert [name for name, _ in ours_fields] == [name for name, _ in real_fields]
            assert dict(ours_fields)["master_link_status"] == "down"
            assert dict(ours_fields)["master_link_down_since_seconds"] == "-1"
            pair.check_sequence([("REPLICAOF", "NO", "ONE"), ("ROLE",), ("CONFIG", "GET", "replicaof"),
                                 ("SET", "k", "w")])
    finally:
        ours.stop()
        real.stop()


# -- a hand-made master that sends bad RDBs: a real Redis never does


class BadMaster:
    """Answers the handshake, then sends each payload in turn as one full sync, one per connection."""

    def __init__(self, payloads, hold_last=False):
        self.payloads = list(payloads)
        self.hold_last = hold_last
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.attempts = 0
        self.release = threading.Event()  # set by the test to let the last payload (held back) go, or a stall end
        self.acked = threading.Event()
        self.stalled = threading.Event()  # a payload that ends with <stall> is half sent
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for index, payload in enumerate(self.payloads):
            if self.hold_last and index == len(self.payloads) - 1:
                self.release.wait()
            connection, _ = self.listener.accept()
            self.attempts += 1
            with connection:
                self._answer(connection, payload)

    def _answer(self, connection, payload):
        reader = connection.makefile("rb")
        while True:
            argv = _read_command(reader)
            if argv is None:  # the replica refused what it got, and hung up
                return
            name = argv[0].upper()
            if name == b"PSYNC":
                connection.sendall(b"+FULLRESYNC " + b"a" * 40 + b" 100\r\n" + payload)
                if payload.endswith(b"<hang up>"):
                    return
                if payload.endswith(b"<stall>"):
                    self.stalled.set()
                    self.release.wait()
                    return
            elif name == b"REPLCONF" and argv[1].upper() == b"ACK":
                self.acked.set()
                time.sleep(0.5)
                return
            else:
                connection.sendall(b"+PONG\r\n" if name == b"PING" else b"+OK\r\n")

    def close(self):
        self.listener.close()


def _read_command(reader):
    line = reader.readline()
    if not line:
        return None
    count = int(line[1:])
    argv = []
    for _ in range(count):
        length = int(reader.readline()[1:])
        argv.append(reader.read(length + 2)[:-2])
    return argv


@pytest.mark.parametrize("load", ["disabled", "swapdb"])
def test_corrupt_or_truncated_rdb_is_refused_and_retried(tmp_path, load):
    (tmp_path / "source").mkdir()
    source = start_real_redis(tmp_path / "source")
    try:
        client = redis.Redis(port=source.port)
        client.set("from-master", "yes")
        client.rpush("list", *range(100))
        client.save()
        good = (tmp_path / "source" / "dump.rdb").read_bytes()
    finally:
        source.stop()
    corrupt = good.replace(b"yes", b"yez")  # still well formed: only the checksum tells
    mark = b"m" * 40
    payloads = [
        b"$%d\r\n%b" % (len(good), bytes(corrupt)),  # bad CRC
        b"$EOF:%b\r\n%b%b" % (mark, good[:len(good) // 2], mark),  # cut short, and marked as complete
        b"$%d\r\n%b<hang up>" % (len(good) + 10, good),  # the link drops mid-transfer
        b"$EOF:%b\r\n%b%b" % (mark, good, mark),
    ]
    master = BadMaster(payloads, hold_last=True)
    (tmp_path / "ours").mkdir()
    ours = start_ours(tmp_path / "ours", "--repl-diskless-load", load)
    try:
        mine = redis.Redis(port=ours.port)
        mine.set("mine", "kept until a sound RDB comes")
        mine.execute_command("REPLICAOF", "127.0.0.1", master.port)

        def still_ours():
            assert mine.get("mine") == b"kept until a sound RDB comes"  # never half a dataset
            assert mine.dbsize() == 1
            return "connection lost" in ours.log()

        wait_until(still_ours, what="three failed syncs")
        master.release.set()
        assert master.acked.wait(10)
        assert mine.get("from-master") == b"yes" and mine.llen("list") == 100 and mine.get("mine") is None
        log = ours.log()
        assert "Wrong RDB checksum" in log and "the file is truncated" in log and "connection lost" in log
        assert log.count("Full resync from master") == 4
        assert not list((tmp_path / "ours").glob("temp-*.rdb"))
    finally:
        ours.stop()
        master.close()


def test_info_during_a_transfer_beside_redis(tmp_path):
    """INFO replication's master_sync_* fields while the RDB is half received, ours beside a real Redis, each
    the replica of a master that stops halfway."""
    payload = b"$1000\r\n" + b"x" * 400 + b"<stall>"
    masters = [BadMaster([payload]), BadMaster([payload])]
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours = start_ours(tmp_path / "ours", "--replicaof", "127.0.0.1", str(masters[0].port))
    real = start_real_redis(tmp_path / "real", "--replicaof", "127.0.0.1", str(masters[1].port))
    try:
        for master in masters:
            assert master.stalled.wait(10)
        reading = lambda port: field(port, "master_sync_read_bytes") == "407"  # noqa: E731 (the "<stall>" too)
        wait_until(lambda: reading(ours.port) and reading(real.port), what="both replicas reading")
        different = {"master_host", "master_port", "master_replid", "master_sync_last_io_seconds_ago"}
        fields = [[pair for pair in info(port) if pair[0] not in different] for port in (ours.port, real.port)]
        assert fields[0] == fields[1]
        assert dict(fields[0])["master_sync_in_progress"] == "1"
        with Pair(ours.port, real.port) as pair:
            pair.check("ROLE", normalise=lambda reply: reply.replace(b"%d" % masters[0].port, b"PORT")
                       .replace(b"%d" % masters[1].port, b"PORT"))
    finally:
        for master in masters:
            master.release.set()
            master.close()
        ours.stop()
        real.stop()


# -- FAILOVER, both sides, between ours and Redis


def test_failover_replies_beside_redis(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours, real = start_ours(tmp_path / "ours"), start_real_redis(tmp_path / "real")
    try:
        with Pair(ours.port, real.port) as pair:
            pair.check_sequence([
                ("FAILOVER", "ABORT"), ("FAILOVER", "TIMEOUT", "0"), ("FAILOVER", "TIMEOUT", "x"),
                ("FAILOVER", "TIMEOUT", "-5"), ("FAILOVER", "TO", "h"), ("FAILOVER", "TO", "h", "x"),
                ("FAILOVER", "FORCE", "FORCE"), ("FAILOVER", "BOGUS"), ("FAILOVER", "ABORT", "ABORT"),
                ("FAILOVER", "TIMEOUT", "10", "TIMEOUT", "10"), ("FAILOVER",), ("FAILOVER", "FORCE"),
                ("FAILOVER", "TO", "127.0.0.1", "1", "FORCE"), ("INFO", "nosuch"),
            ])
    finally:
        ours.stop()
        real.stop()


@pytest.mark.parametrize("ours_is_master", [True, False], ids=["ours-to-redis", "redis-to-ours"])
def test_failover_between_ours_and_redis(tmp_path, ours_is_master):
    """FAILOVER TO the replica: no write acknowledged before it is lost, the roles swap, the old master
    continues as a replica with a partial resync (+CONTINUE under the target's new ID)."""
    (tmp_path / "master").mkdir()
    options = ("--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1", "--enable-debug-command", "yes")
    master = (start_ours if ours_is_master else start_real_redis)(tmp_path / "master", *options)
    target = replica_of(tmp_path, master, "target", *options, real=ours_is_master)
    try:
        source = redis.Redis(port=master.port)
        fill(source)
        wait_until(lambda: linked(target.port), what="the link up")
        wait_until(lambda: "state=online" in field(master.port, "slave0"), what="the replica online")
        old_id = field(master.port, "master_replid")
        for index in range(50):
            source.set("acknowledged-%d" % index, index)
        assert source.execute_command("FAILOVER", "TO", "127.0.0.1", target.port, "TIMEOUT", "5000") == b"OK"
        wait_until(lambda: field(master.port, "role") == "slave" and linked(master.port), what="the swap")
        promoted = dict(info(target.port))
        assert promoted["role"] == "master" and promoted["master_replid2"] == old_id
        assert field(master.port, "master_failover_state") == "no-failover"
        assert field(master.port, "master_replid") == promoted["master_replid"]
        assert redis.Redis(port=target.port).get("acknowledged-49") == b"49"
        redis.Redis(port=target.port).set("after", "failover")
        caught_up(target, master)
        assert digest(master.port) == digest(target.port)
        with pytest.raises(redis.ReadOnlyError):
            source.set("old", "master")
        role = redis.Redis(port=master.port).execute_command("ROLE")
        assert role[:4] == [b"slave", b"127.0.0.1", target.port, b"connected"]
    finally:
        master.stop()
        target.stop()


def test_chained_replica_gets_the_stream_and_follows_a_promotion(tmp_path, master):
    """Real master -> ours -> a real Redis replica of ours: the sub-replica gets what ours applies, verbatim;
    when ours is promoted, the sub-replica continues with PSYNC under our new ID."""
    source = redis.Redis(port=master.port)
    fill(source)
    ours = replica_of(tmp_path, master, "ours", "--repl-diskless-sync-delay", "0")
    (tmp_path / "sub").mkdir()
    sub = start_real_redis(tmp_path / "sub", "--replicaof", "127.0.0.1", str(ours.port), *REPLICA_OPTIONS)
    try:
        wait_until(lambda: linked(ours.port) and linked(sub.port), what="both links up")
        with source.pipeline(transaction=True) as pipe:
            pipe.set("chained", "1").incr("counter").execute()
        redis.Redis(port=master.port, db=4).rpush("db4", "x")
        caught_up(master, ours)
        caught_up(ours, sub)
        assert digest(master.port) == digest(ours.port) == digest(sub.port)
        full = int(field(ours.port, "sync_full", "stats"))

        redis.Redis(port=ours.port).execute_command("REPLICAOF", "NO", "ONE")
        wait_until(lambda: linked(sub.port) and field(sub.port, "master_replid") == field(ours.port, "master_replid"),
                   what="the sub-replica following our new ID")
        assert field(sub.port, "master_replid2") == field(master.port, "master_replid")
        assert int(field(ours.port, "sync_partial_ok", "stats")) >= 1
        assert int(field(ours.port, "sync_full", "stats")) == full
        redis.Redis(port=ours.port).set("after-promotion", "yes")
        caught_up(ours, sub)
        assert digest(ours.port) == digest(sub.port)
    finally:
        sub.stop()
        ours.stop()


def test_config_rewrite_keeps_the_role_beside_redis(tmp_path):
    """CONFIG REWRITE writes replicaof host port for a replica (a legacy slaveof line becomes it) and no such
    line for a master, as Redis's rewriteConfigReplicaOfOption; the file starts a server again."""
    down = free_port()
    files = {}
    for name, binary in (("ours", [sys.executable, os.path.join(ROOT, "server.py")]),
                         ("real", [shutil.which("redis-server")])):
        (tmp_path / name).mkdir()
        conf = files[name] = tmp_path / name / "node.conf"
        conf.write_text("slaveof 127.0.0.1 %d\nsave \"\"\n" % down)
        port = free_port()
        server = RunningServer(binary + [str(conf), "--port", str(port), "--dir", str(tmp_path / name)], port,
                               str(tmp_path / name))
        try:
            client = redis.Redis(port=port)
            client.config_rewrite()
            replica_lines = [line for line in conf.read_text().splitlines() if "replicaof" in line or "slaveof" in line]
            assert replica_lines == ["replicaof 127.0.0.1 %d" % down], name
            client.execute_command("REPLICAOF", "NO", "ONE")
            client.config_rewrite()
            assert "replicaof" not in conf.read_text() and "slaveof" not in conf.read_text(), name
        finally:
            server.stop()
    port = free_port()
    again = RunningServer([sys.executable, os.path.join(ROOT, "server.py"), str(files["ours"]), "--port", str(port)],
                          port, str(tmp_path / "ours"))
    again.stop()


def failover_gives_up(tmp_path, name, start):
    """A master whose only replica is stopped (SIGSTOP): FAILOVER TIMEOUT runs out, FAILOVER ABORT gives up,
    and the write that waited meanwhile goes through. The replies, in order."""
    (tmp_path / name).mkdir()
    master = start(tmp_path / name, "--repl-diskless-sync-delay", "0")
    follower = replica_of(tmp_path, master, name + "-replica", real=True)
    replies = []
    try:
        wait_until(lambda: "state=online" in (field(master.port, "slave0") or ""), what="the replica online")
        follower.process.send_signal(signal.SIGSTOP)
        with WireClient(master.port) as client, WireClient(master.port) as writer:
            replies.append(client.call("SET", "k", "v"))  # the stopped replica never acknowledges it
            replies.append(client.call("FAILOVER", "TIMEOUT", "300"))
            replies.append(field(master.port, "master_failover_state"))
            wait_until(lambda: field(master.port, "master_failover_state") == "no-failover", what="the timeout")
            replies.append(client.call("FAILOVER", "TO", "127.0.0.1", str(follower.port)))
            replies.append(client.call("FAILOVER", "TO", "127.0.0.1", str(follower.port)))
            writer.send_raw(b"*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n")  # waits: writes are paused
            wait_until(lambda: field(master.port, "blocked_clients", "clients") == "1", what="the write paused")
            replies.append(client.call("REPLICAOF", "127.0.0.1", "1"))
            replies.append(client.call("FAILOVER", "ABORT"))
            replies.append(writer.read_reply())
            replies.append(client.call("FAILOVER", "ABORT"))
            replies.append(client.call("GET", "k2"))
    finally:
        follower.process.send_signal(signal.SIGCONT)
        follower.stop()
        master.stop()
    return replies


def test_failover_timeout_and_abort_beside_redis(tmp_path):
    assert failover_gives_up(tmp_path, "ours", start_ours) == failover_gives_up(tmp_path, "real", start_real_redis)


def test_a_diskless_sync_delay_longer_than_repl_timeout(tmp_path):
    """While a diskless master waits out repl-diskless-sync-delay before +FULLRESYNC, its newlines keep the
    link alive, and the master client starts with a fresh last I/O (replicationCreateMasterClient), as Redis."""
    (tmp_path / "master").mkdir()
    master = start_real_redis(tmp_path / "master", "--repl-diskless-sync-delay", "4", "--repl-ping-replica-period", "1")
    ours = replica_of(tmp_path, master, "ours", "--repl-timeout", "2")
    try:
        wait_until(lambda: linked(ours.port), what="the link up after the delay")
        assert int(field(ours.port, "master_last_io_seconds_ago")) <= 1
        assert "Timeout connecting to the MASTER" not in ours.log()
    finally:
        ours.stop()
        master.stop()


def test_a_replica_ignores_maxmemory_as_redis_does(tmp_path, master):
    """replica-ignore-maxmemory (yes by default): a replica over its maxmemory evicts nothing and refuses
    none of its master's writes, or it would drift from the master; a real replica beside it agrees."""
    options = ("--maxmemory", "1mb", "--maxmemory-policy", "allkeys-random")
    ours = replica_of(tmp_path, master, "ours", *options)
    real = replica_of(tmp_path, master, "real", *options, real=True)
    try:
        wait_until(lambda: linked(ours.port) and linked(real.port), what="both links up")
        source = redis.Redis(port=master.port)
        with source.pipeline(transaction=False) as pipe:
            for number in range(300):
                pipe.set("key:%d" % number, b"v" * 10_000)
            pipe.execute()
        caught_up(master, ours, real)
        for replica in (ours, real):
            assert redis.Redis(port=replica.port).dbsize() == 300
            assert field(replica.port, "evicted_keys", "stats") == "0"
        assert digest(ours.port) == digest(master.port) == digest(real.port)
    finally:
        ours.stop()
        real.stop()


def test_a_replica_behind_its_master_keeps_answering_its_clients(tmp_path, master):
    """A replica with megabytes of its master's stream waiting reads them 64 kB at a time, and answers its
    own clients in between (gevent's recv() returns waiting data without a turn of the event loop, so the
    link would otherwise apply the whole backlog first). Stopped while its master takes 20 MB of writes, then
    continued: INFOs asked one after the other answer while the replica is still behind."""
    ours = replica_of(tmp_path, master, "ours")
    try:
        wait_until(lambda: linked(ours.port), what="the link")
        probe = WireClient(ours.port)
        probe.call("PING")
        os.kill(ours.process.pid, signal.SIGSTOP)
        try:
            subprocess.run(["redis-benchmark", "-p", str(master.port), "-n", "200000", "-P", "100", "-t", "set",
                           "-r", "100000", "-d", "100", "-q"], capture_output=True, check=True, timeout=120)
            produced = int(field(master.port, "master_repl_offset"))
        finally:
            os.kill(ours.process.pid, signal.SIGCONT)
        applied = [int(re.search(rb"slave_repl_offset:(\d+)", parse_reply(probe.call("INFO", "replication")))
                       .group(1)) for _ in range(3)]  # the first may come before the link's first read: three
        probe.close()
        assert applied[-1] < produced - 1_000_000  # answered with most of the stream still to apply
        caught_up(master, ours)
        assert digest(ours.port) == digest(master.port)
    finally:
        ours.stop()
