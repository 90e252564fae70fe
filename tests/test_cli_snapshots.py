"""redis-cli --rdb and --functions-rdb against us: the snapshot a replica would get (REPLCONF rdb-only),
whole or with only the function libraries (REPLCONF rdb-filter-only), as files a real Redis loads."""
import subprocess

import pytest
import redis

from conftest import ours_and_redis, start_ours, start_real_redis

LIBRARY = "#!lua name=tools\nredis.register_function('answer', function() return 42 end)"


@pytest.mark.parametrize("value", ["functions", "FUNCTIONS", "", "functions functions", "foo", "functions foo",
                                   '"functions', "'x' functions"])
def test_rdb_filter_only_values(both, value):
    both.check("REPLCONF", "rdb-filter-only", value)


def test_rdb_filter_only_needs_its_value(both):
    both.check("REPLCONF", "rdb-filter-only")
    both.check("REPLCONF", "rdb-only", "1", "rdb-filter-only")


def _fill(port):
    client = redis.Redis(port=port)
    client.function_load(LIBRARY)
    client.mset({"k%d" % index: index for index in range(50)})
    client.rpush("list", *range(10))
    client.close()


def _cli_snapshot(port, option, path):
    done = subprocess.run(["redis-cli", "-p", str(port), option, str(path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Transfer finished with success" in done.stderr
    return path.read_bytes()


def _loaded_by_redis(folder, name):
    """What a real redis-server started on the file finds in it: (DBSIZE, FUNCTION LIST)."""
    real = start_real_redis(folder, "--dbfilename", name)
    try:
        client = redis.Redis(port=real.port)
        return client.dbsize(), client.function_list(withcode=True)
    finally:
        real.stop()


@pytest.mark.parametrize("diskless", ["yes", "no"])
def test_functions_rdb_holds_the_libraries_and_no_keys(tmp_path, diskless):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    options = ("--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0")
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", *options) as servers:
        loaded = []
        for server, name in zip(servers, ("ours", "redis")):
            _fill(server.port)
            _cli_snapshot(server.port, "--functions-rdb", tmp_path / ("%s-functions.rdb" % name))
            _cli_snapshot(server.port, "--rdb", tmp_path / ("%s-all.rdb" % name))
            loaded.append([_loaded_by_redis(tmp_path, "%s-%s.rdb" % (name, part)) for part in ("functions", "all")])
            assert redis.Redis(port=server.port).dbsize() == 51  # the master keeps its data
        assert loaded[0] == loaded[1]
        assert loaded[0][0][0] == 0 and loaded[0][1][0] == 51
        assert LIBRARY.encode() in loaded[0][0][1][0]  # FUNCTION LIST WITHCODE: [..., "library_code", code]
    # A filtered snapshot never goes over the master's own dump.rdb (Redis sends it to the socket); the
    # whole one goes through it when the sync is disk-based.
    made = [(tmp_path / name / "dump.rdb").exists() for name in ("ours", "redis")]
    assert made == [diskless == "no"] * 2
    if diskless == "no":
        assert _loaded_by_redis(tmp_path / "ours", "dump.rdb")[0] == 51


def test_we_load_redis_functions_rdb(tmp_path):
    real = start_real_redis(tmp_path)
    try:
        _fill(real.port)
        _cli_snapshot(real.port, "--functions-rdb", tmp_path / "functions.rdb")
    finally:
        real.stop()
    ours = start_ours(tmp_path, "--dbfilename", "functions.rdb")
    try:
        client = redis.Redis(port=ours.port)
        assert client.dbsize() == 0
        assert client.fcall("answer", 0) == 42
    finally:
        ours.stop()
