"""Redis 7.0's multi-part AOF: the folder, its manifest and files are what Redis writes and reads. Real Redis
and ours exchange folders both ways (DEBUG DIGEST equal), the manifests after the same steps are the same,
an old single-file AOF is upgraded as Redis upgrades it, and damaged folders fail with Redis's lines."""
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import redis

from conftest import ROOT, aof_file, free_port, start_ours, start_real_redis, wait_until

DIR = "appendonlydir"
MANIFEST = "appendonly.aof.manifest"


def connect(server):
    return redis.Redis(port=server.port, socket_timeout=10)



def rewrite(client):
    """BGREWRITEAOF, then wait until it is done (a scheduled one included)."""
    count = client.info("persistence")["aof_rewrites"]
    client.bgrewriteaof()
    assert wait_until(lambda: _rewritten(client, count + 1))


def _rewritten(client, count):
    info = client.info("persistence")
    return (not info["aof_rewrite_in_progress"] and not info["aof_rewrite_scheduled"] and info["aof_rewrites"] >= count
            and info["aof_enabled"] == 1 and "aof_current_size" in info)


def fill(client, round_number):
    """Writes of every type, in two databases, with deadlines."""
    tag = "r%d" % round_number
    client.set("%s:string" % tag, "hello")
    client.set("%s:ttl" % tag, "soon", ex=500)
    client.rpush("%s:list" % tag, *range(100))
    client.sadd("%s:set" % tag, *("m%d" % i for i in range(20)))
    client.hset("%s:hash" % tag, mapping={"f%d" % i: i for i in range(10)})
    client.zadd("%s:zset" % tag, {"a": 1.5, "b": -2, "c": 1e300})
    client.xadd("%s:stream" % tag, {"f": "v"}, id="1-1")
    client.incr("counter")
    client.execute_command("SELECT", 2)
    client.set("%s:db2" % tag, "two")
    client.execute_command("SELECT", 0)


def manifest_of(folder):
    return (folder / DIR / MANIFEST).read_text()


def listing(folder):
    return sorted(os.listdir(folder / DIR))


def start_both_fail(folder, *options):
    """Start ours and Redis on copies of folder where start-up must fail: their (exit code, log) pairs."""
    results = []
    for argv in ([sys.executable, os.path.join(ROOT, "server.py")], [shutil.which("redis-server")]):
        copy = folder.parent / ("%s-%d" % (folder.name, len(results)))
        shutil.copytree(folder, copy)
        done = subprocess.run([*argv, "--port", str(free_port()), "--bind", "127.0.0.1", "--save", "",
                               "--dir", str(copy), *options], cwd=str(copy), capture_output=True, timeout=30)
        results.append((done.returncode, (done.stdout + done.stderr).decode(errors="replace")))
    return results


# ------------------------------------------------------------------ exchanging folders with Redis


@pytest.mark.parametrize("preamble", ["yes", "no"])
def test_folders_go_from_redis_to_ours_and_back(tmp_path, preamble):
    options = ("--appendonly", "yes", "--aof-use-rdb-preamble", preamble, "--enable-debug-command", "yes")
    real = start_real_redis(tmp_path, *options)
    try:
        client = connect(real)
        fill(client, 1)
        rewrite(client)
        fill(client, 2)
        digest = client.execute_command("DEBUG", "DIGEST")
        manifest = manifest_of(tmp_path)
    finally:
        real.stop()
    assert manifest == ("file appendonly.aof.2.base.%s seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
                        % ("rdb" if preamble == "yes" else "aof"))
    ours = start_ours(tmp_path, *options)
    try:
        client = connect(ours)
        assert client.execute_command("DEBUG", "DIGEST") == digest
        assert "Opening AOF incr file appendonly.aof.2.incr.aof on server start" in ours.log()
        fill(client, 3)
        rewrite(client)
        fill(client, 4)
        assert client.execute_command("DEBUG", "LOADAOF") == b"OK"
        digest = client.execute_command("DEBUG", "DIGEST")
    finally:
        ours.stop()
    assert listing(tmp_path) == sorted([MANIFEST, "appendonly.aof.3.incr.aof",
                                        "appendonly.aof.3.base.%s" % ("rdb" if preamble == "yes" else "aof")])
    check = subprocess.run(["redis-check-aof", str(tmp_path / DIR / MANIFEST)], capture_output=True, text=True)
    assert check.returncode == 0 and "is valid" in check.stdout, check.stdout
    real = start_real_redis(tmp_path, *options)
    try:
        assert connect(real).execute_command("DEBUG", "DIGEST") == digest
    finally:
        real.stop()


def _steps(client, folder):
    """The same operations on either server, with the manifest and the folder's files after each."""
    seen = []

    def note():
        seen.append((manifest_of(folder), listing(folder)))
    note()
    client.set("a", "1")
    rewrite(client)
    note()
    client.set("b", "2")
    client.config_set("appendonly", "no")
    client.set("c", "3")
    note()
    client.config_set("appendonly", "yes")
    assert wait_until(lambda: _rewritten(client, 2))
    note()
    client.config_set("aof-disable-auto-gc", "yes")
    client.set("d", "4")
    rewrite(client)
    note()
    client.config_set("aof-use-rdb-preamble", "no")
    rewrite(client)
    note()
    client.config_set("aof-disable-auto-gc", "no")
    rewrite(client)
    note()
    return seen


def test_the_manifest_is_the_one_redis_writes(tmp_path):
    """After the same steps (a rewrite, AOF off and on at run time, history kept then removed, the BASE in
    both forms) the manifest's text and the folder's files are the same as Redis's."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    results = []
    for start, folder in ((start_ours, tmp_path / "ours"), (start_real_redis, tmp_path / "real")):
        server = start(folder, "--appendonly", "yes")
        try:
            results.append(_steps(connect(server), folder))
            assert connect(server).keys("*")
        finally:
            server.stop()
    assert results[0] == results[1]
    assert "type h" in results[0][4][0]  # aof-disable-auto-gc yes kept the history


def test_what_is_logged_around_a_rewrite_is_redis_bytes(tmp_path):
    """The INCR a rewrite opens starts with a SELECT (and the end of the rewrite issues no other): the same
    bytes as Redis's."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    files = []
    for start, folder in ((start_ours, tmp_path / "ours"), (start_real_redis, tmp_path / "real")):
        server = start(folder, "--appendonly", "yes")
        try:
            client = connect(server)
            client.execute_command("SELECT", 3)
            client.set("before", "1")
            client.bgrewriteaof()
            client.set("during", "2")
            assert wait_until(lambda: _rewritten(client, 1))
            client.set("after", "3")
            client.close()
        finally:
            server.stop()
        files.append(aof_file(folder).read_bytes())
    assert files[0] == files[1]
    assert files[0].startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$6\r\nduring")


def test_info_sizes_follow_the_files(tmp_path):
    server = start_ours(tmp_path, "--appendonly", "yes")
    try:
        client = connect(server)
        info = client.info("persistence")
        assert (info["aof_current_size"], info["aof_base_size"]) == (0, 0)  # as Redis after creating the files
        client.set("k", "v")
        assert client.info("persistence")["aof_current_size"] == os.path.getsize(aof_file(tmp_path))
        rewrite(client)
        base = os.path.getsize(aof_file(tmp_path, "b"))
        info = client.info("persistence")
        assert info["aof_base_size"] == info["aof_current_size"] == base
        client.set("k2", "v2")
        assert client.info("persistence")["aof_current_size"] == base + os.path.getsize(aof_file(tmp_path))
    finally:
        server.stop()
    server = start_ours(tmp_path, "--appendonly", "yes")
    try:
        info = connect(server).info("persistence")
        assert info["aof_base_size"] == base  # as Redis: the BASE's size after a restart
        assert info["aof_current_size"] == base + os.path.getsize(aof_file(tmp_path))
    finally:
        server.stop()


def test_timestamp_annotations(tmp_path):
    """aof-timestamp-enabled: a #TS: line at the top of a BASE in command form (the one made at start-up
    counts as the last annotation) and before the first command of each new second, as Redis writes them;
    Redis loads ours, we load its."""
    options = ("--appendonly", "yes", "--aof-timestamp-enabled", "yes", "--aof-use-rdb-preamble", "no",
               "--enable-debug-command", "yes")
    stamped = re.compile(rb"#TS:(\d+)\r\n")
    digests = []
    for start, name in ((start_ours, "ours"), (start_real_redis, "real")):
        folder = tmp_path / name
        folder.mkdir()
        server = start(folder, *options)
        try:
            client = connect(server)
            stamp = stamped.fullmatch(aof_file(folder, "b").read_bytes())  # the empty BASE made at start
            assert stamp and abs(int(stamp.group(1)) - time.time()) < 60
            client.set("a", "1")
            rewrite(client)
            assert stamped.match(aof_file(folder, "b").read_bytes())
            time.sleep(1.05)  # a new second: the next command logged gets its annotation
            client.set("b", "2")
            assert re.fullmatch(rb"#TS:\d+\r\n\*2\r\n\$6\r\nSELECT\r\n\$1\r\n0\r\n\*3\r\n\$3\r\nSET\r\n\$1\r\nb\r\n"
                                rb"\$1\r\n2\r\n", aof_file(folder).read_bytes())
            digests.append(client.execute_command("DEBUG", "DIGEST"))
        finally:
            server.stop()
    assert digests[0] == digests[1]
    for start, name in ((start_real_redis, "ours"), (start_ours, "real")):
        server = start(tmp_path / name, *options)
        try:
            assert connect(server).execute_command("DEBUG", "DIGEST") == digests[0]
        finally:
            server.stop()


# ------------------------------------------------------------------ upgrading an old single file


def _old_style_files(tmp_path):
    """Two old single-file AOFs: commands only (what mini-redis wrote before), and Redis 6's, an RDB
    preamble (here Redis's own dump.rdb) followed by commands."""
    commands = (b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n4\r\n"
                b"*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n$1\r\ny\r\n")
    source = tmp_path / "source"
    source.mkdir()
    real = start_real_redis(source)
    try:
        client = connect(real)
        client.hset("h", mapping={"f": "v"})
        client.set("s", "in the preamble")
        client.save()
    finally:
        real.stop()
    return {"commands": commands, "preamble": (source / "dump.rdb").read_bytes() + commands}


@pytest.mark.parametrize("kind", ["commands", "preamble"])
def test_an_old_single_file_is_upgraded_as_redis_does(tmp_path, kind):
    data = _old_style_files(tmp_path)[kind]
    results = []
    for start in (start_ours, start_real_redis):
        folder = tmp_path / start.__name__
        folder.mkdir()
        (folder / "appendonly.aof").write_bytes(data)
        server = start(folder, "--appendonly", "yes", "--enable-debug-command", "yes")
        try:
            client = connect(server)
            client.set("after", "upgrade")
            digest = client.execute_command("DEBUG", "DIGEST")
            log = server.log()
        finally:
            server.stop()
        assert ("Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory "
                "(appendonlydir).") in log
        assert "Creating AOF incr file appendonly.aof.1.incr.aof on server start" in log
        if kind == "preamble":
            assert "Reading RDB preamble from AOF file..." in log and "Reading the remaining AOF tail..." in log
        assert not (folder / "appendonly.aof").exists()
        assert (folder / DIR / "appendonly.aof").read_bytes() == data
        results.append((digest, manifest_of(folder), listing(folder), aof_file(folder).read_bytes()))
    assert results[0] == results[1]
    assert results[0][1] == "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"


# ------------------------------------------------------------------ damaged folders


def _folder(tmp_path, *options):
    """A folder written by Redis: a BASE, then an INCR with ten SETs."""
    folder = tmp_path / "folder"
    folder.mkdir()
    real = start_real_redis(folder, "--appendonly", "yes", "--appendfsync", "always", *options)
    try:
        client = connect(real)
        for i in range(10):
            client.set("key%d" % i, "value%d" % i)
    finally:
        real.stop()
    os.unlink(folder / "server.log")
    return folder


def _log_lines(log, *texts):
    return [text for text in texts if text in log]


def test_a_torn_last_incr_as_redis(tmp_path):
    folder = _folder(tmp_path)
    incr = aof_file(folder)
    data = incr.read_bytes()
    incr.write_bytes(data[:data.rindex(b"*3\r\n") + 10])
    outcomes = []
    for start in (start_ours, start_real_redis):
        copy = tmp_path / start.__name__
        shutil.copytree(folder, copy)
        server = start(copy, "--appendonly", "yes")
        try:
            outcomes.append((connect(server).dbsize(), os.path.getsize(aof_file(copy)), _log_lines(
                server.log(), "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!",
                "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset %d !!!" % data.rindex(b"*3\r\n"),
                "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled",
                "DB loaded from incr file appendonly.aof.1.incr.aof")))
        finally:
            server.stop()
    assert outcomes[0] == outcomes[1] and outcomes[0][0] == 9 and len(outcomes[0][2]) == 4
    refused = start_both_fail(folder, "--appendonly", "yes", "--aof-load-truncated", "no")
    expected = ("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a "
                "backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively "
                "you can set the 'aof-load-truncated' configuration option to yes and restart the server.")
    assert [(code, expected in log) for code, log in refused] == [(1, True), (1, True)]


def test_a_torn_incr_that_is_not_the_last_is_fatal(tmp_path):
    folder = _folder(tmp_path)
    incr = aof_file(folder)
    incr.write_bytes(incr.read_bytes()[:-5])
    shutil.copy(incr, folder / DIR / "appendonly.aof.2.incr.aof")
    with open(folder / DIR / MANIFEST, "a") as manifest:
        manifest.write("file appendonly.aof.2.incr.aof seq 2 type i\n")
    for code, log in start_both_fail(folder, "--appendonly", "yes"):
        assert code == 1 and "Fatal error: the truncated file is not the last file" in log


def test_a_missing_file_is_fatal(tmp_path):
    folder = _folder(tmp_path)
    os.unlink(aof_file(folder))
    for code, log in start_both_fail(folder, "--appendonly", "yes"):
        assert code == 1
        assert "Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: No such file or directory" in log


BAD_MANIFESTS = [
    ("", ["Found an empty AOF manifest"]),
    ("garbage line\n", ["Reading the manifest file, at line 1", ">>> 'garbage line'",
                        "Invalid AOF manifest file format"]),
    ("# a comment\n\n", ["Reading the manifest file, at line 2", ">>> ''", "Invalid AOF manifest file format"]),
    ("file appendonly.aof.1.base.rdb seq 1 type b", ["The AOF manifest file contains too long line"]),
    ("file a seq 1 type b\nfile b seq 2 type b\n", ["at line 2", "Found duplicate base file information"]),
    ("file a seq 2 type i\nfile b seq 1 type i\n", ["at line 2", "Found a non-monotonic sequence number"]),
    ("file a seq 1 type x\n", ["Unknown AOF file type"]),
    ("file dir/a seq 1 type i\n", ["File can't be a path, just a filename"]),
    ("file a seq zero type i\n", ["Invalid AOF manifest file format"]),
    ("file \"a seq 1 type i\n", ["Invalid AOF manifest file format"]),
    ("file a seq 1 type i x\n", ["Invalid AOF manifest file format"]),
    ("file %s seq 1 type i\n" % ("x" * 1100), ["The AOF manifest file contains too long line"]),
]


@pytest.mark.parametrize("text, lines", BAD_MANIFESTS)
def test_a_bad_manifest_stops_start_up_with_redis_lines(tmp_path, text, lines):
    folder = tmp_path / "folder"
    (folder / DIR).mkdir(parents=True)
    (folder / DIR / MANIFEST).write_text(text)
    for code, log in start_both_fail(folder, "--appendonly", "no"):  # read whatever appendonly says
        assert code == 1 and "*** FATAL AOF MANIFEST FILE ERROR ***" in log, log
        assert all(line in log for line in lines), log


@pytest.mark.parametrize("name", ["my file.aof", "caf\u00e9.aof"])
def test_quoted_names_in_the_manifest(tmp_path, name):
    """A file name with a space or a byte past ASCII is quoted as Redis's sdscatrepr quotes it, and read back
    by Redis and by us."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    manifests = []
    for start, folder in ((start_ours, tmp_path / "ours"), (start_real_redis, tmp_path / "real")):
        server = start(folder, "--appendonly", "yes", "--appendfilename", name)
        try:
            connect(server).set("k", "v")
        finally:
            server.stop()
        manifests.append((folder / DIR / (name + ".manifest")).read_bytes())
    quoted = name.encode().replace(b"\xc3\xa9", b"\\xc3\\xa9")
    assert manifests[0] == manifests[1] == (b'file "%s.1.base.rdb" seq 1 type b\nfile "%s.1.incr.aof" seq 1 type i\n'
                                            % (quoted, quoted))
    for start in (start_ours, start_real_redis):
        server = start(tmp_path / "real", "--appendonly", "yes", "--appendfilename", name)
        try:
            assert connect(server).get("k") == b"v"
        finally:
            server.stop()


def test_no_shutdown_while_the_first_rewrite_runs(tmp_path, caplog):
    """prepareForShutdown: with AOF just switched on, what was logged since is in a temporary INCR until the
    first rewrite names it, so a shutdown is refused (FORCE goes ahead) rather than lose it. A real server in
    this process, with a real fork: its cron is not running, so the child is not reaped in between."""
    import server as server_module
    from serving.config import Config
    config = Config()
    config.set("dir", str(tmp_path))
    running = server_module.Server(config)
    running.keyspace[0].set(b"k", b"v")
    assert running.aof.start()
    assert running.aof.state == "wait_rewrite" and running.aof.child_pid is not None
    assert sorted(os.listdir(tmp_path / DIR)) == ["temp-appendonly.aof.incr"]
    assert not running.shutdown.prepare(())
    assert running.aof.child_pid is not None and not running.stopping.is_set()
    assert "Writing initial AOF, can't exit." in caplog.text
    assert "Errors trying to shut down the server. Check the logs for more information." in caplog.text
    assert running.shutdown.prepare(("force",))
    assert "Writing initial AOF. Exit anyway." in caplog.text
    assert "There is a child rewriting the AOF. Killing it!" in caplog.text
    assert running.aof.child_pid is None and running.stopping.is_set()
    assert not [name for name in os.listdir(tmp_path) if name.startswith("temp-rewriteaof")]


def test_failed_rewrites_are_limited_as_redis_limits_them(tmp_path, caplog):
    """aofRewriteLimited: from the third failure in a row, scheduled and automatic rewrites wait 1 minute,
    then 2, 4... (at most 60); a success, or BGREWRITEAOF asking, lifts the limit."""
    import server as server_module
    from serving.config import Config
    config = Config()
    config.set("dir", str(tmp_path))
    running = server_module.Server(config)
    aof = running.aof
    aof.consecutive_failures = 2
    assert not aof._rewrite_limited()
    aof.consecutive_failures = 3
    assert aof._rewrite_limited() and aof._rewrite_limited()  # held back until the minute is over
    assert "will retry in 1 minutes" in caplog.text
    aof.limit_until = time.time() - 1  # the minute is over: one try, then twice as long
    assert not aof._rewrite_limited()
    assert aof._rewrite_limited() and aof.limit_minutes == 2
    aof.rewrite_scheduled = True
    aof.cron()
    assert aof.child_pid is None  # the scheduled rewrite waits
    aof.consecutive_failures = 0
    assert not aof._rewrite_limited() and aof.limit_minutes == 0


def test_appendonly_switched_on_inside_a_transaction_is_scheduled(tmp_path):
    """startAppendOnly inside EXEC forks nothing: the rewrite is scheduled, and the cron starts it."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    seen = []
    for start, folder in ((start_ours, tmp_path / "ours"), (start_real_redis, tmp_path / "real")):
        server = start(folder)
        try:
            client = connect(server)
            pipe = client.pipeline(transaction=True)
            pipe.set("before", "1").config_set("appendonly", "yes").set("inside", "2").info("persistence")
            info = pipe.execute()[-1]
            assert info["aof_rewrite_in_progress"] == 0 and info["aof_rewrite_scheduled"] == 1
            assert wait_until(lambda: _rewritten(client, 1))
            client.set("after", "3")
            assert "AOF was enabled during a transaction. An AOF background was scheduled to start when possible." \
                in server.log()
        finally:
            server.stop()
        server = start(folder, "--appendonly", "yes")
        try:
            seen.append((manifest_of(folder), sorted(connect(server).keys("*"))))
        finally:
            server.stop()
    assert seen[0] == seen[1] and seen[0][1] == [b"after", b"before", b"inside"]
