"""The append-only file: durability under kill -9, torn and corrupt files, Redis's tools read our file,
replay gives the same state, BGREWRITEAOF and the automatic rewrite lose nothing."""
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from conftest import ROOT, RunningServer, aof_file, free_port, start_ours, start_real_redis, wait_until

INCR = "appendonly.aof.1.incr.aof"  # the INCR file a fresh start creates


def connect(server):
    return redis.Redis(port=server.port, socket_timeout=10)


def kill_hard(server):
    """SIGKILL: no shutdown, no final fsync, what a crash leaves."""
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(10)
    server.stop()


def start_aof(tmp_path, *options):
    return start_ours(tmp_path, "--appendonly", "yes", *options)


def start_failing(tmp_path, *options):
    """Run our server where start-up must fail: (exit code, its log)."""
    argv = [sys.executable, os.path.join(ROOT, "server.py"), "--port", str(free_port()), *options]
    done = subprocess.run(argv, cwd=str(tmp_path), capture_output=True, timeout=30)
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")



def rewrite_done(client, count):
    info = client.info("persistence")
    return info["aof_rewrite_in_progress"] == 0 and info["aof_rewrites"] >= count


def snapshot(client, databases=(0,)):
    """Every key of the databases: (type, value, absolute deadline in ms) by (db, key), read in pipelines."""
    readers = {"string": lambda pipe, key: pipe.get(key), "list": lambda pipe, key: pipe.lrange(key, 0, -1),
               "set": lambda pipe, key: pipe.smembers(key), "hash": lambda pipe, key: pipe.hgetall(key),
               "zset": lambda pipe, key: pipe.zrange(key, 0, -1, withscores=True)}
    state = {}
    port = client.connection_pool.connection_kwargs["port"]
    for index in databases:
        client = redis.Redis(port=port, db=index, socket_timeout=10)
        keys = client.keys("*")
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.pexpiretime(key)
        described = pipe.execute()
        kinds = [kind.decode() for kind in described[::2]]
        for key, kind in zip(keys, kinds):
            readers[kind](pipe, key)
        values = pipe.execute()
        for key, kind, deadline, value in zip(keys, kinds, described[1::2], values):
            if kind == "set":
                value = sorted(value)
            elif kind == "hash":
                value = sorted(value.items())
            state[(index, key)] = (kind, value, deadline)
        client.close()
    return state


# ------------------------------------------------------------------ durability


class Writer(threading.Thread):
    """A client that writes until the server dies, recording every write that was acknowledged."""

    def __init__(self, port, name, pause=0.0):
        super().__init__(daemon=True)
        self.pause = pause
        self.stopped = threading.Event()
        self.client = redis.Redis(port=port, socket_timeout=5, retry=Retry(NoBackoff(), 0))
        self.name = name
        self.acked_sets = []
        self.acked_incrs = 0
        self.acked_pushes = []
        self.acked_fields = []
        self.sent_incrs = 0

    def run(self):
        client, name = self.client, self.name
        try:
            for i in range(100_000):
                if self.stopped.is_set():
                    return
                if self.pause:
                    time.sleep(self.pause)
                step = i % 4
                if step == 0:
                    client.set("%s:k%d" % (name, i), "v%d" % i)
                    self.acked_sets.append(i)
                elif step == 1:
                    self.sent_incrs += 1
                    client.incr("%s:counter" % name)
                    self.acked_incrs += 1
                elif step == 2:
                    client.rpush("%s:list" % name, i)
                    self.acked_pushes.append(b"%d" % i)
                else:
                    client.hset("%s:hash" % name, "f%d" % i, i)
                    self.acked_fields.append(i)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return  # the server was killed

    def check(self, client):
        name = self.name
        values = client.mget(["%s:k%d" % (name, i) for i in self.acked_sets]) if self.acked_sets else []
        assert values == [b"v%d" % i for i in self.acked_sets]
        counter = int(client.get("%s:counter" % name) or 0)
        assert self.acked_incrs <= counter <= self.sent_incrs  # an unacknowledged last one may have made it
        pushed = client.lrange("%s:list" % name, 0, -1)
        assert pushed[:len(self.acked_pushes)] == self.acked_pushes
        fields = client.hgetall("%s:hash" % name)
        assert all(fields.get(b"f%d" % i) == b"%d" % i for i in self.acked_fields)


def test_acknowledged_writes_survive_kill_9(tmp_path):
    """appendfsync always: whatever was acknowledged before a SIGKILL at a random moment is there after restart."""
    rng = random.Random(7)
    writers = []
    for round_number in range(5):
        server = start_aof(tmp_path, "--appendfsync", "always")
        client = connect(server)
        for writer in writers:  # every earlier round's acknowledged writes are still there
            writer.check(client)
        current = [Writer(server.port, "r%dw%d" % (round_number, n)) for n in range(3)]
        for writer in current:
            writer.start()
        time.sleep(rng.uniform(0.3, 1.2))
        kill_hard(server)
        for writer in current:
            writer.join(10)
        assert sum(len(writer.acked_sets) for writer in current) > 0
        writers.extend(current)
    server = start_aof(tmp_path)
    try:
        client = connect(server)
        for writer in writers:
            writer.check(client)
    finally:
        server.stop()


# ------------------------------------------------------------------ damaged files


def _filled_aof(tmp_path, count=20):
    server = start_aof(tmp_path)
    client = connect(server)
    for i in range(count):
        client.set("key%d" % i, "value%d" % i)
    server.stop()
    return aof_file(tmp_path).read_bytes()


def test_torn_tail_is_truncated_with_a_warning(tmp_path):
    data = _filled_aof(tmp_path)
    last = data.rindex(b"*3\r\n")
    torn = data[:last + 20]  # a crash in the middle of writing the last SET
    aof_file(tmp_path).write_bytes(torn)
    server = start_aof(tmp_path)
    try:
        client = connect(server)
        assert client.dbsize() == 19
        assert client.get("key18") == b"value18"
        log = server.log()
        assert "!!! Warning: short read while loading the AOF file %s!!!" % INCR in log
        assert "!!! Truncating the AOF %s at offset %d !!!" % (INCR, last) in log
        assert "AOF %s loaded anyway because aof-load-truncated is enabled" % INCR in log
        client.set("after", "1")  # appended after the cut: the file is whole again
    finally:
        server.stop()
    manifest = tmp_path / "appendonlydir" / "appendonly.aof.manifest"
    assert subprocess.run(["redis-check-aof", str(manifest)], capture_output=True).returncode == 0


def test_torn_tail_refused_without_aof_load_truncated(tmp_path):
    data = _filled_aof(tmp_path)
    aof_file(tmp_path).write_bytes(data[:-3])
    code, log = start_failing(tmp_path, "--appendonly", "yes", "--aof-load-truncated", "no")
    assert code == 1
    assert "Unexpected end of file reading the append only file %s" % INCR in log


def test_unfinished_transaction_at_the_end_is_dropped(tmp_path):
    data = _filled_aof(tmp_path, 3)
    tail = b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n"
    aof_file(tmp_path).write_bytes(data + tail)
    server = start_aof(tmp_path)
    try:
        client = connect(server)
        assert client.dbsize() == 3 and client.get("a") is None
        assert "Revert incomplete MULTI/EXEC transaction in AOF file %s" % INCR in server.log()
    finally:
        server.stop()
    assert os.path.getsize(aof_file(tmp_path)) == len(data)


def test_corruption_in_the_middle_stops_start_up(tmp_path):
    data = bytearray(_filled_aof(tmp_path))
    data[data.index(b"$6\r\nvalue5\r\n")] = ord("!")
    aof_file(tmp_path).write_bytes(bytes(data))
    code, log = start_failing(tmp_path, "--appendonly", "yes")
    assert code == 1
    assert ("Bad file format reading the append only file %s: make a backup of your AOF file, then use "
            "./redis-check-aof --fix <filename.manifest>" % INCR) in log


def test_unknown_command_stops_start_up(tmp_path):
    _filled_aof(tmp_path, 1)
    aof_file(tmp_path).write_bytes(b"*1\r\n$7\r\nNOSUCH!\r\n")
    code, log = start_failing(tmp_path, "--appendonly", "yes")
    assert code == 1 and "Unknown command 'NOSUCH!' reading the append only file %s" % INCR in log


# ------------------------------------------------------------------ Redis reads our file


def _fill_every_type(client):
    client.set("string", "hello")
    client.set("number", 12345)
    client.set("ttl", "soon", ex=500)
    client.set("gone", "x", px=1)
    client.rpush("list", *range(150))  # more than one RPUSH batch when rewritten
    client.sadd("set", *("m%d" % i for i in range(100)))
    client.sadd("intset", 1, 2, 3)
    client.hset("hash", mapping={"f%d" % i: i for i in range(100)})
    client.zadd("zset", {"a": 1.5, "b": float("inf"), "c": -2, "d": 0.1, "e": 1e300})
    client.expire("hash", 1000)
    client.incrbyfloat("float", "3.0e3")
    client.select(3)
    client.set("in-db-3", "three")
    client.lpush("list3", "x", "y")
    client.select(0)
    pipe = client.pipeline(transaction=True)
    pipe.set("tx1", 1).incr("tx1").rpush("list", "end")
    pipe.execute()
    time.sleep(0.01)
    assert client.get("gone") is None


def _same_data(ours, theirs):
    mine, real = snapshot(ours, (0, 3)), snapshot(theirs, (0, 3))
    assert set(mine) == set(real)
    for slot, (kind, value, deadline) in mine.items():
        real_kind, real_value, real_deadline = real[slot]
        assert (kind, value) == (real_kind, real_value), slot
        assert abs(deadline - real_deadline) < 2000 if deadline > 0 else deadline == real_deadline, slot


def _loaded_by_redis(tmp_path, folder, ours):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    shutil.copytree(folder, real_dir / "appendonlydir")
    real = start_real_redis(real_dir, "--appendonly", "yes")
    try:
        _same_data(ours, connect(real))
    finally:
        real.stop()
    shutil.rmtree(real_dir)


def test_redis_check_aof_and_redis_server_read_our_file(tmp_path):
    ours_dir = tmp_path / "ours"
    ours_dir.mkdir()
    server = start_aof(ours_dir)
    try:
        client = connect(server)
        _fill_every_type(client)
        manifest = str(ours_dir / "appendonlydir" / "appendonly.aof.manifest")
        check = subprocess.run(["redis-check-aof", manifest], capture_output=True, text=True)
        assert check.returncode == 0 and "is valid" in check.stdout, check.stdout
        _loaded_by_redis(tmp_path, ours_dir / "appendonlydir", client)
        client.bgrewriteaof()
        assert wait_until(lambda: rewrite_done(client, 1))
        check = subprocess.run(["redis-check-aof", manifest], capture_output=True, text=True)
        assert check.returncode == 0 and "is valid" in check.stdout, check.stdout
        _loaded_by_redis(tmp_path, ours_dir / "appendonlydir", client)
    finally:
        server.stop()


# ------------------------------------------------------------------ replay gives the same state


def test_time_and_chance_replay_to_the_same_state(tmp_path):
    server = start_aof(tmp_path, "--appendfsync", "always")
    client = connect(server)
    client.set("ex", "v", ex=100)
    client.execute_command("SETEX", "setex", 200, "v")
    client.psetex("psetex", 300000, "v")
    client.set("expire", "v")
    client.expire("expire", 400)
    client.set("pexpire", "v")
    client.pexpire("pexpire", 500000)
    client.set("getex", "v")
    client.getex("getex", ex=600)
    client.set("past", "v")
    client.expire("past", -1)
    client.set("lazy", "v", px=20)
    client.sadd("spop", *range(20))
    client.spop("spop")
    client.spop("spop", 5)
    client.set("float", "10.5")
    client.incrbyfloat("float", "0.1")
    client.hincrbyfloat("hash", "field", "1.1")
    client.zadd("zset", {"a": 1, "b": 2})
    client.bzpopmin("zset", 1)
    # A pop served later: the client blocks, another pushes.
    blocked = connect(server)
    results = []
    waiter = threading.Thread(target=lambda: results.append(blocked.blpop("queue", 5)))
    waiter.start()
    assert wait_until(lambda: client.info("clients")["blocked_clients"] == 1)
    client.rpush("queue", "first", "second")
    waiter.join(5)
    assert results == [(b"queue", b"first")]
    mover = threading.Thread(target=lambda: results.append(blocked.blmove("source", "destination", 5)))
    mover.start()
    assert wait_until(lambda: client.info("clients")["blocked_clients"] == 1)
    client.rpush("source", "moved")
    mover.join(5)
    time.sleep(0.05)
    assert client.get("lazy") is None  # expired: logged as a DEL
    before = snapshot(client)
    assert before[(0, "destination".encode())][1] == [b"moved"]
    kill_hard(server)
    server = start_aof(tmp_path)
    try:
        assert snapshot(connect(server)) == before  # deadlines to the millisecond
    finally:
        server.stop()


# ------------------------------------------------------------------ rewriting


def test_bgrewriteaof_while_clients_write_loses_nothing_and_shrinks(tmp_path):
    server = start_aof(tmp_path, "--appendfsync", "everysec", "--auto-aof-rewrite-percentage", "0")
    client = connect(server)
    pipe = client.pipeline(transaction=False)
    for i in range(30_000):
        pipe.set("key%d" % (i % 3000), i)  # ten times the history of what stays
    pipe.execute()
    size_before = client.info("persistence")["aof_current_size"]
    writer = Writer(server.port, "during", pause=0.001)
    writer.start()
    time.sleep(0.05)
    # One batch, so the cron cannot reap a fast child between the three commands.
    started, info, again = client.pipeline(transaction=False).bgrewriteaof().info("persistence") \
        .bgrewriteaof().execute(raise_on_error=False)
    assert started in (True, b"Background append only file rewriting started")
    assert info["aof_rewrite_in_progress"] == 1
    assert isinstance(again, redis.ResponseError) and "already in progress" in str(again)
    assert wait_until(lambda: rewrite_done(client, 1))
    time.sleep(0.1)
    writer.stopped.set()
    writer.join(10)
    assert len(writer.acked_sets) > 10
    info = client.info("persistence")
    assert info["aof_last_bgrewrite_status"] == "ok"
    assert info["aof_base_size"] < size_before / 3
    assert info["aof_base_size"] <= info["aof_current_size"]
    before = snapshot(client)
    kill_hard(server)
    server = start_aof(tmp_path)
    try:
        restarted = connect(server)
        writer.check(restarted)
        assert snapshot(restarted) == before
    finally:
        server.stop()


def test_rewrite_starts_by_itself_when_the_file_grows(tmp_path):
    server = start_aof(tmp_path, "--auto-aof-rewrite-min-size", "64kb", "--auto-aof-rewrite-percentage", "100")
    try:
        client = connect(server)
        pipe = client.pipeline(transaction=False)
        for _ in range(5000):
            pipe.execute_command("INCR", "counter")  # redis-py's incr() sends INCRBY counter 1: 36 bytes
        pipe.execute()
        assert wait_until(lambda: rewrite_done(client, 1))
        assert "Starting automatic rewriting of AOF on" in server.log()
        # 27 bytes per INCR logged: 64 kB is 2,428 of them, so the first rewrite starts once at least
        # that many are in; from then on the file holds one SET plus at most the 2,572 INCRs that came
        # after, whether or not a second rewrite follows. Without a rewrite it would hold all 5,000.
        assert wait_until(lambda: client.info("persistence")["aof_current_size"] < 2600 * 27)
        assert client.get("counter") == b"5000"
    finally:
        server.stop()


# ------------------------------------------------------------------ configuration


def test_config_set_appendonly_at_run_time(tmp_path):
    server = start_ours(tmp_path)
    try:
        client = connect(server)
        client.set("before", "1")
        client.rpush("list", "a", "b")
        assert client.config_get("appendonly") == {"appendonly": "no"}
        assert client.info("persistence")["aof_enabled"] == 0
        assert client.config_set("appendonly", "yes")
        assert client.info("persistence")["aof_enabled"] == 1
        assert wait_until(lambda: rewrite_done(client, 1))
        client.set("after", "2")
        assert client.config_set("appendonly", "no")
        client.set("not-logged", "3")
    finally:
        server.stop()
    server = start_aof(tmp_path)
    try:
        client = connect(server)
        assert sorted(client.keys("*")) == [b"after", b"before", b"list"]
        assert client.lrange("list", 0, -1) == [b"a", b"b"]
    finally:
        server.stop()


def test_config_parameters_as_redis_checks_them(pair):
    for name, value in [("appendonly", "maybe"), ("appendfsync", "sometimes"), ("appendfilename", "x.aof"),
                        ("auto-aof-rewrite-percentage", "-1"), ("auto-aof-rewrite-percentage", "ten"),
                        ("auto-aof-rewrite-min-size", "1x"), ("aof-load-truncated", "")]:
        pair.check("CONFIG", "SET", name, value)
    for name in ("appendonly", "appendfsync", "appendfilename", "auto-aof-rewrite-percentage",
                 "auto-aof-rewrite-min-size", "aof-load-truncated"):
        pair.check("CONFIG", "GET", name)


def test_config_file_and_filename(tmp_path):
    (tmp_path / "mini.conf").write_text("appendonly yes\nappendfilename mine.aof\nappendfsync no\n")
    port = free_port()
    argv = [sys.executable, os.path.join(ROOT, "server.py"), str(tmp_path / "mini.conf"), "--port", str(port)]
    server = RunningServer(argv, port, str(tmp_path))
    try:
        client = connect(server)
        client.set("k", "v")
        assert client.config_get("appendfsync") == {"appendfsync": "no"}
        assert wait_until(lambda: os.path.getsize(tmp_path / "appendonlydir" / "mine.aof.1.incr.aof") > 0)
    finally:
        server.stop()
    code, log = start_failing(tmp_path, "--appendfilename", "dir/x.aof")
    assert code == 1 and "appendfilename can't be a path, just a filename" in log


def test_the_file_is_what_redis_writes(tmp_path):
    """The same commands give the same bytes as Redis 7.0's AOF: SELECTs, rewritten pops, MULTI/EXEC."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    ours, real = start_aof(tmp_path / "ours"), start_real_redis(tmp_path / "real", "--appendonly", "yes")
    try:
        for server in (ours, real):
            client = connect(server)
            client.set("a", "1")
            client.rpush("list", "x", "y", "z")
            client.blpop("list", 1)
            client.blmpop(1, 1, "list", direction="RIGHT", count=5)
            client.set("float", "1.5")
            client.incrbyfloat("float", "1")
            client.hincrbyfloat("hash", "field", "2.5")
            client.sadd("set", "only")
            client.spop("set")
            client.zadd("zset", {"a": 1, "b": 2, "c": 3})
            client.bzpopmin("zset", 1)
            client.bzmpop(1, 1, ["zset"], max=True, count=5)
            client.set("ex", "v")
            client.expire("ex", -1)
            client.select(2)
            client.set("b", "2")
            client.select(0)
            pipe = client.pipeline(transaction=True)
            pipe.set("c", "3").incr("c")
            pipe.execute()
            client.execute_command("GETEX", "a", "PERSIST")
            client.close()
    finally:
        ours.stop()  # a clean stop writes out what everysec may still hold back under load
        real.stop()
    written = aof_file(tmp_path / "ours").read_bytes()
    expected = aof_file(tmp_path / "real").read_bytes()
    assert written == expected


def test_writes_and_ping_answer_misconf_after_a_failed_aof_write(tmp_path):
    """Redis's writeCommandsDeniedByDiskError, AOF side: while the last write to the AOF failed, write
    commands and PING answer MISCONF with the error, reads go on (the failure made in-process, since a
    full disk cannot be had on loopback)."""
    import server as server_module
    from commands import execute
    from persistence.aof import ON
    from serving.config import Config
    from serving.session import Session
    config = Config()
    config.set_many([("dir", str(tmp_path))], True)
    running = server_module.Server(config)
    session = Session(running, 1, "127.0.0.1:1", "127.0.0.1:2", -1)
    session.authenticated = True
    running.aof.state, running.aof.last_write_ok, running.aof.last_write_error = ON, False, "No space left on device"
    misconf = "MISCONF Errors writing to the AOF file: No space left on device"
    assert execute(running.commands, session, [b"SET", b"k", b"v"]).message == misconf
    assert execute(running.commands, session, [b"PING"]).message == misconf
    assert execute(running.commands, session, [b"GET", b"k"]) is None
    running.aof.last_write_ok = True
    assert execute(running.commands, session, [b"SET", b"k", b"v"]) == "OK"
