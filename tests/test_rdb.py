"""RDB snapshots: the file format both ways against Redis 7.0.15, SAVE/BGSAVE/SHUTDOWN/DEBUG RELOAD, save points."""
import os
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest
import redis

from conftest import ROOT, start_ours, start_real_redis
from persistence import rdb
from persistence.codecs import crc64, intset_members, lzf_compress, lzf_decompress, ziplist_entries
from serving.config import Config
from storage.keyspace import Keyspace

DATABASES = 16
FAR_DEADLINE = 4102444800000  # 2100-01-01 in Unix ms


def connect(running):
    return redis.Redis(port=running.port, socket_timeout=20)


def fill(client):
    """Every type in its small and big encodings, TTLs, and a key in each of the 16 databases."""
    pipe = client.pipeline(transaction=False)
    pipe.select(0)
    pipe.set("str:int", 12345).set("str:neg", -7).set("str:int64", 2**62).set("str:embstr", "hello")
    pipe.set("str:raw", "abc" * 40).set("str:binary", bytes(range(256))).set("str:empty", "")
    pipe.set("str:appended", "abc").append("str:appended", "def")
    pipe.set("str:float", 1).incrbyfloat("str:float", 0.5)
    pipe.set("str:random", os.urandom(300))
    pipe.rpush("list:small", "a", "b", 1, 2, -3, 100000, 2**40)
    pipe.rpush("list:big", *[("element-%d-" % i) * (i % 7 + 1) if i % 3 else i for i in range(2000)])
    pipe.hset("hash:small", mapping={"f1": "v1", "n": 5, "neg": -300000, "empty": ""})
    pipe.hset("hash:longvalue", mapping={"f": "x" * 100, "g": "y"})
    pipe.hset("hash:many", mapping={"field:%d" % i: i for i in range(600)})
    pipe.sadd("set:intset", *range(-5, 20), 2**62)
    pipe.sadd("set:strings", "a", "b", "c", 1)
    pipe.sadd("set:many", *range(1000))
    pipe.zadd("zset:small", {"a": 1, "b": 2.5, "c": float("-inf"), "d": float("inf"), "e": 1e300, "f": 0.1})
    pipe.zadd("zset:many", {"member:%d" % i: i / 3 for i in range(300)})
    pipe.zadd("zset:longmember", {"m" * 100: 1, "n": -2})
    pipe.set("ttl:string", "v", pxat=FAR_DEADLINE)
    pipe.rpush("ttl:list", "x")
    pipe.pexpireat("ttl:list", FAR_DEADLINE + 1)
    pipe.hset("ttl:hash", "f", "v")
    pipe.pexpireat("ttl:hash", FAR_DEADLINE + 2)
    for index in range(1, DATABASES):
        pipe.select(index)
        pipe.set("db:%d" % index, index)
        if index % 3 == 0:
            pipe.sadd("set:%d" % index, index, "x")
            pipe.set("ttl:%d" % index, "v", pxat=FAR_DEADLINE + index)
    pipe.select(0)
    pipe.execute()


def snapshot(client):
    """Everything a client can read about every key: type, encoding, absolute deadline, value."""
    state = {}
    for index in range(DATABASES):
        client.execute_command("SELECT", index)
        for key in sorted(client.keys("*")):
            kind = client.type(key).decode()
            encoding = client.object("encoding", key)
            if kind == "string":
                value = client.get(key)
            elif kind == "list":
                value = client.lrange(key, 0, -1)
            elif kind == "hash":
                pairs = list(client.hgetall(key).items())
                value = pairs if encoding == b"listpack" else sorted(pairs)
            elif kind == "set":
                members = client.execute_command("SMEMBERS", key)
                value = list(members) if encoding == b"intset" else sorted(members)
            else:
                value = client.zrange(key, 0, -1, withscores=True)
            state[(index, key)] = (kind, encoding, client.pexpiretime(key), value)
    client.execute_command("SELECT", 0)
    return state


def as_loaded(state):
    """A snapshot as it reads after a load: a short string grown by APPEND (raw) loads as embstr, as in Redis."""
    state = dict(state)
    kind, _, deadline, value = state[(0, b"str:appended")]
    state[(0, b"str:appended")] = (kind, b"embstr", deadline, value)
    return state


@pytest.fixture(scope="module")
def saved_by_us(tmp_path_factory):
    """Our server filled and SAVEd: (its snapshot, the dump's path)."""
    directory = tmp_path_factory.mktemp("ours-saved")
    running = start_ours(directory)
    try:
        client = connect(running)
        fill(client)
        assert client.save() is True
        state = snapshot(client)
    finally:
        running.stop()
    return state, directory / "dump.rdb"


@pytest.fixture(scope="module")
def saved_by_redis(tmp_path_factory):
    """Real Redis filled the same way (plus a quicklist plain node), SAVEd: (its snapshot, the dump's path)."""
    directory = tmp_path_factory.mktemp("redis-saved")
    running = start_real_redis(directory, "--enable-debug-command", "yes")
    try:
        client = connect(running)
        fill(client)
        client.execute_command("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100")
        client.rpush("list:plain", "small", "p" * 200, 7)
        assert client.save() is True
        state = snapshot(client)
    finally:
        running.stop()
    return state, directory / "dump.rdb"


# ------------------------------------------------------------------ the format, both ways


def test_every_type_survives_save_and_restart(saved_by_us, tmp_path):
    state, dump = saved_by_us
    shutil.copy(dump, tmp_path / "dump.rdb")
    running = start_ours(tmp_path)
    try:
        assert snapshot(connect(running)) == as_loaded(state)
        assert "DB loaded from disk: " in running.log()
    finally:
        running.stop()


def test_redis_check_rdb_accepts_our_dump(saved_by_us):
    result = subprocess.run(["redis-check-rdb", str(saved_by_us[1])], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RDB looks OK" in result.stdout
    assert "Checksum OK" in result.stdout


def test_real_redis_reads_our_dump_as_we_wrote_it(saved_by_us, tmp_path):
    state, dump = saved_by_us
    shutil.copy(dump, tmp_path / "dump.rdb")
    running = start_real_redis(tmp_path, "--dir", str(tmp_path), "--dbfilename", "dump.rdb")
    try:
        assert snapshot(connect(running)) == as_loaded(state)
    finally:
        running.stop()


def test_we_read_what_real_redis_wrote(saved_by_redis, tmp_path):
    state, dump = saved_by_redis
    shutil.copy(dump, tmp_path / "mine.rdb")
    running = start_ours(tmp_path, "--dbfilename", "mine.rdb")
    try:
        assert snapshot(connect(running)) == as_loaded(state)
    finally:
        running.stop()


def test_our_compressed_and_uncompressed_dumps_load_alike(tmp_path):
    running = start_ours(tmp_path, "--rdbcompression", "no", "--rdbchecksum", "no")
    try:
        client = connect(running)
        fill(client)
        state = snapshot(client)
        client.save()
    finally:
        running.stop()
    data = (tmp_path / "dump.rdb").read_bytes()
    assert data.endswith(b"\xff" + b"\0" * 8)  # no checksum: zeros, which Redis skips
    result = subprocess.run(["redis-check-rdb", str(tmp_path / "dump.rdb")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    running = start_real_redis(tmp_path)
    try:
        assert snapshot(connect(running)) == as_loaded(state)
    finally:
        running.stop()


def test_expired_keys_in_the_file_are_not_loaded():
    source = Keyspace(2, clock=lambda: 1000)
    source[1].set(b"gone", b"v")
    source[1].set_deadline(b"gone", 999)
    source[1].set(b"kept", b"v")
    source[1].set_deadline(b"kept", 1001)
    source[1].set(b"plain", b"v")
    path_data = _dumped(source)
    target = Keyspace(2, clock=lambda: 1000)
    result = rdb.loads(path_data, target, rdb.Limits(Config()))
    assert (result.loaded, result.expired) == (2, 1)
    assert sorted(target[1].data) == [b"kept", b"plain"]
    assert target[1].expires.get(b"kept") == 1001


def _dumped(keyspace):
    import io
    buffer = io.BytesIO()
    rdb.dump(keyspace, buffer, rdb.Limits(Config()))
    return buffer.getvalue()


def test_codecs():
    assert crc64(0, b"123456789") == 0xE9C6D914C4B8D9CA
    text = b"hello hello hello hello, " * 20 + bytes(range(256))
    packed = lzf_compress(text, len(text) - 4)
    assert len(packed) < len(text) and lzf_decompress(packed, len(text)) == text
    assert intset_members(struct.pack("<II", 2, 3) + struct.pack("<3h", -2, 5, 300)) == [b"-2", b"5", b"300"]
    # A Redis 6 ziplist of "ab", 7 (4-bit immediate), 1000 (int16), -70000 (int24).
    entries = b"\x00\x02ab" + b"\x04\xf8" + b"\x02\xc0\xe8\x03" + b"\x04\xf0\x90\xee\xfe"
    blob = struct.pack("<IIH", 11 + len(entries), 20, 4) + entries + b"\xff"
    assert ziplist_entries(blob) == [b"ab", b"7", b"1000", b"-70000"]


# ------------------------------------------------------------------ commands


def test_bgsave_keeps_serving_and_snapshots_the_fork_point(tmp_path):
    running = start_ours(tmp_path)
    try:
        client = connect(running)
        pipe = client.pipeline(transaction=False)
        for start in range(0, 40000, 1000):
            pipe.mset({"key:%d" % i: "before" for i in range(start, start + 1000)})
        pipe.execute()
        started, after = client.pipeline(transaction=False).bgsave().set("key:0", "after").execute()
        assert started is True and after is True
        with pytest.raises(redis.ResponseError, match="^Background save already in progress$"):
            client.bgsave()
        writes = 0
        while client.info("persistence")["rdb_bgsave_in_progress"]:
            client.set("written:%d" % writes, writes)
            writes += 1
        assert writes > 0  # the server answered while the child was saving
        info = client.info("persistence")
        assert info["rdb_last_bgsave_status"] == "ok"
        assert info["rdb_changes_since_last_save"] == writes + 1
        assert client.lastsave().timestamp() >= time.time() - 10
    finally:
        running.stop()
    keyspace = Keyspace(DATABASES)
    result = rdb.load(str(tmp_path / "dump.rdb"), keyspace, rdb.Limits(Config()))
    assert result.loaded == 40000
    assert keyspace[0].data[b"key:0"] == b"before" and b"written:0" not in keyspace[0].data
    assert "Background saving terminated with success" in running.log()


def test_bgsave_arguments_and_scheduling(tmp_path):
    running = start_ours(tmp_path)
    try:
        client = connect(running)
        client.set_response_callback("BGSAVE", lambda reply, **options: reply)
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            client.execute_command("BGSAVE", "SCHEDULE", "x")
        with pytest.raises(redis.ResponseError, match="^syntax error$"):
            client.execute_command("BGSAVE", "NOW")
        before = client.lastsave()
        client.set("k", "v")
        pipe = client.pipeline(transaction=True)
        pipe.execute_command("BGSAVE")
        assert pipe.execute() == [b"Background saving scheduled"]
        _wait_for(lambda: client.info("persistence")["rdb_changes_since_last_save"] == 0)
        assert client.lastsave() >= before
        assert os.path.exists(tmp_path / "dump.rdb")
        assert client.execute_command("BGSAVE", "SCHEDULE") == b"Background saving started"
        _wait_for(lambda: not client.info("persistence")["rdb_bgsave_in_progress"])
    finally:
        running.stop()


def test_save_points_trigger_a_background_save(tmp_path):
    running = start_ours(tmp_path, "--save", "1 3")
    try:
        client = connect(running)
        assert client.config_get("save") == {"save": "1 3"}
        client.set("a", 1)
        client.set("b", 2)
        time.sleep(1.3)
        assert not os.path.exists(tmp_path / "dump.rdb")  # 2 changes: below the save point
        client.set("c", 3)
        _wait_for(lambda: client.info("persistence")["rdb_changes_since_last_save"] == 0)
        _wait_for(lambda: os.path.exists(tmp_path / "dump.rdb"))
        assert "3 changes in 1 seconds. Saving..." in running.log()
        client.config_set("save", "")
        assert client.config_get("save") == {"save": ""}
    finally:
        running.stop()


def test_persistence_config_like_redis(pair):
    for args in (("CONFIG", "SET", "dir", "/tmp"), ("CONFIG", "SET", "dbfilename", "x.rdb"),
                 ("CONFIG", "SET", "rdbchecksum", "no"), ("CONFIG", "SET", "rdbcompression", "maybe"),
                 ("CONFIG", "SET", "save", "10"), ("CONFIG", "SET", "save", "10 x"),
                 ("CONFIG", "SET", "save", "0 1"), ("CONFIG", "SET", "save", "10 -1"),
                 ("CONFIG", "SET", "save", "  100  2 "), ("CONFIG", "GET", "dbfilename"),
                 ("CONFIG", "GET", "rdbchecksum"), ("CONFIG", "SET", "rdbcompression", "no"),
                 ("CONFIG", "GET", "rdbcompression"), ("CONFIG", "SET", "rdbcompression", "yes"),
                 ("BGSAVE", "x"), ("LASTSAVE", "x"), ("SHUTDOWN", "SAVE", "NOSAVE"), ("SHUTDOWN", "bogus"),
                 ("SAVE", "x"), ("DEBUG",)):
        pair.check(*args)


def test_info_persistence_has_redis_fields(server, real_redis):
    ours = connect(server).info("persistence")
    theirs = connect(real_redis).info("persistence")
    assert list(ours) == list(theirs)


def test_shutdown_save_and_nosave(tmp_path):
    running = start_ours(tmp_path)
    client = connect(running)
    client.set("k", "v")
    assert shutdown(running, b"NOSAVE") == b""  # no reply: the connection just closes
    assert running.process.wait(10) == 0
    running.stop()
    assert not os.path.exists(tmp_path / "dump.rdb")

    running = start_ours(tmp_path)
    client = connect(running)
    client.set("k", "v")
    assert shutdown(running, b"SAVE") == b""
    assert running.process.wait(10) == 0
    running.stop()
    assert "Saving the final RDB snapshot before exiting." in running.log()

    running = start_ours(tmp_path, "--save", "3600 1")
    try:
        client = connect(running)
        assert client.get("k") == b"v"
        client.set("k", "changed")
    finally:
        running.stop()  # SIGTERM: save points are set, so it saves first
    running = start_ours(tmp_path)
    try:
        assert connect(running).get("k") == b"changed"
    finally:
        running.stop()


def test_debug_reload_changes_nothing(tmp_path):
    running = start_ours(tmp_path, "--enable-debug-command", "yes")
    try:
        client = connect(running)
        fill(client)
        before = as_loaded(snapshot(client))
        assert client.execute_command("DEBUG", "RELOAD") == b"OK"
        assert snapshot(client) == before
        client.set("extra", 1)
        assert client.execute_command("DEBUG", "RELOAD", "NOSAVE") == b"OK"
        assert client.exists("extra") == 0
        with pytest.raises(redis.ResponseError, match="only supports the MERGE, NOFLUSH and NOSAVE options"):
            client.execute_command("DEBUG", "RELOAD", "x")
        with pytest.raises(redis.ResponseError, match=r"^unknown subcommand or wrong number of arguments "
                                                      r"for 'foo'. Try DEBUG HELP.$"):
            client.execute_command("DEBUG", "foo")
    finally:
        running.stop()


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:len(data) // 2], "Short read"),
    (lambda data: data[:-20] + bytes([data[-20] ^ 0x55]) + data[-19:], "Wrong RDB checksum"),
    (lambda data: b"NOTREDIS" + data[8:], "Wrong signature"),
])
def test_damaged_dump_stops_start_up(saved_by_us, tmp_path, damage, message):
    (tmp_path / "dump.rdb").write_bytes(damage(saved_by_us[1].read_bytes()))
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server.py"), "--port", "0"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert message in result.stdout  # the log goes to stdout, as Redis's does
    assert "Fatal error loading the DB" in result.stdout
    assert "Ready to accept" not in result.stdout


def shutdown(running, *flags):
    """SHUTDOWN over a raw socket (redis-py retries the closed connection): everything received until it closed."""
    with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
        sock.sendall(b" ".join((b"SHUTDOWN",) + flags) + b"\r\n")
        received = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return received
            received += chunk


def _wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_writes_wait_for_the_disk_after_a_failed_background_save_as_in_redis(tmp_path):
    """stop-writes-on-bgsave-error: once a BGSAVE failed (its directory is gone), writes and PING answer
    MISCONF, reads go on, a transaction with a write is refused, and turning the option off lets writes
    through again: the same bytes from both servers."""
    from differential import WireClient
    observed = []
    for start, name in ((start_real_redis, "redis"), (start_ours, "ours")):
        home = tmp_path / name
        data = home / "data"
        data.mkdir(parents=True)
        server = start(home, "--save", "3600 1", "--dir", str(data))
        try:
            with WireClient(server.port) as client:
                replies = [client.call("SET", "k", "v")]
                data.rmdir()
                client.call("BGSAVE")
                deadline = time.monotonic() + 10
                while b"rdb_last_bgsave_status:err" not in client.call("INFO", "persistence"):
                    assert time.monotonic() < deadline, "the background save did not fail"
                    time.sleep(0.05)
                for command in (("SET", "k", "w"), ("PING",), ("GET", "k"), ("INCR", "n"), ("DEL", "k"),
                                ("MULTI",), ("SET", "k", "x"), ("EXEC",), ("MULTI",), ("GET", "k"), ("EXEC",),
                                ("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"), ("SET", "k", "y"),
                                ("PING",), ("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"),
                                ("CONFIG", "SET", "save", ""), ("SET", "k", "z")):
                    replies.append(client.call(*command))
                observed.append(replies)
        finally:
            server.stop()
    assert observed[1] == observed[0]
    assert observed[0][1].startswith(b"-MISCONF Redis is configured to save RDB snapshots")
