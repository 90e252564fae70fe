"""Real Redis clients against our server: redis-py (RESP2 and RESP3), redis-cli, redis-benchmark."""
import csv
import os
import re
import shutil
import subprocess

import pytest
import redis


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(server, request):
    client = redis.Redis(port=server.port, protocol=request.param, socket_timeout=10)
    yield client
    client.close()


def cli(server, *args, stdin=None):
    binary = shutil.which("redis-cli")
    if binary is None:
        pytest.fail("redis-cli is not installed: apt-get install redis-tools")
    result = subprocess.run([binary, "-p", str(server.port), *args], input=stdin,
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def test_strings_and_keys(r):
    assert r.set("rc:name", "Robbin Hood") is True
    assert r.get("rc:name") == b"Robbin Hood"
    assert r.get("rc:missing") is None
    assert r.mset({"rc:a": 1, "rc:b": "two"}) is True
    assert r.mget("rc:a", "rc:b", "rc:missing") == [b"1", b"two", None]
    assert r.exists("rc:a", "rc:a", "rc:missing") == 2
    assert r.delete("rc:a", "rc:missing") == 1
    assert r.execute_command("DELETE", "rc:b") == 1


def test_select_flush_and_dbsize(r):
    r.select(9)
    r.flushdb()
    r.mset({"rc:x": 1, "rc:y": 2})
    assert r.dbsize() == 2
    assert r.execute_command("FLUSH") == 2
    assert r.dbsize() == 0
    r.set("rc:x", 1)
    assert r.flushdb(asynchronous=True) is True
    assert r.dbsize() == 0
    with pytest.raises(redis.ResponseError, match="DB index is out of range"):
        r.select(16)


def test_flushall_empties_every_database(server):
    client = redis.Redis(port=server.port)
    client.select(5)
    client.set("rc:five", 5)
    client.execute_command("SELECT", 0)
    assert client.flushall() is True
    client.execute_command("SELECT", 5)
    assert client.dbsize() == 0


def test_connection_commands(r):
    assert r.ping() is True
    assert r.echo("hello") == b"hello"
    assert r.client_setname("rc-client") is True
    assert r.client_getname() in (b"rc-client", "rc-client")  # redis-py decodes it in RESP2 only
    client_id = r.client_id()
    assert isinstance(client_id, int) and client_id > 0
    info = r.client_info()
    assert info["name"] == "rc-client" and int(info["id"]) == client_id
    assert "lib-name" not in info  # redis-py's CLIENT SETINFO is accepted; Redis 7.0's line has no such field
    mine = [c for c in r.client_list() if int(c["id"]) == client_id]
    assert len(mine) == 1 and mine[0]["name"] == "rc-client"
    seconds, micros = r.time()
    assert seconds > 1_600_000_000 and 0 <= micros < 1_000_000


def test_hello_switches_protocol(server):
    # redis-py's own parser can't follow a switch it did not ask for, so ask in RESP3 from the start.
    client = redis.Redis(port=server.port, protocol=3)
    reply = client.execute_command("HELLO", "3")
    assert reply[b"proto"] == 3 and reply[b"version"] == b"7.0.15" and reply[b"server"] == b"redis"
    with pytest.raises(redis.ResponseError, match="NOPROTO"):
        client.execute_command("HELLO", "4")
    flat = redis.Redis(port=server.port, protocol=2).execute_command("HELLO", "2")
    assert isinstance(flat, list) and dict(zip(flat[::2], flat[1::2]))[b"proto"] == 2  # RESP2: no maps


def test_info_reports_redis_version_and_sections(r):
    info = r.info()
    assert info["redis_version"] == "7.0.15"
    assert "mini_redis_version" in info
    # The server the suite runs against parses requests with the parser this pass of tests/run.sh names.
    assert info["request_parser"] == (os.environ.get("MINI_REDIS_PARSER") or "hiredis")
    assert info["connected_clients"] >= 1
    assert "used_memory" in info and "total_commands_processed" in info
    r.set("rc:info", 1)
    assert r.info("keyspace")["db0"]["keys"] >= 1


def test_config_get_and_set(r):
    assert r.config_get("save") == {"save": ""}
    assert r.config_get("appendonly") == {"appendonly": "no"}
    assert r.config_set("maxclients", 5000) is True
    assert r.config_get("maxclients") == {"maxclients": "5000"}
    r.config_set("maxclients", 10000)
    with pytest.raises(redis.ResponseError, match="Unknown option"):
        r.config_set("no-such-thing", 1)


def test_command_introspection(r):
    count = r.command_count()
    assert count >= 20
    names = r.command_list()
    assert b"get" in names or "get" in names
    info = r.command()["get"]
    assert info["arity"] == 2 and set(info["flags"]) == {"readonly", "fast"}
    assert (info["first_key_pos"], info["last_key_pos"], info["step_count"]) == (1, 1, 1)


def test_redis_cli_one_shot_commands(server):
    assert cli(server, "SET", "cli:key", "hello world") == "OK\n"
    assert cli(server, "GET", "cli:key") == "hello world\n"
    assert cli(server, "MGET", "cli:key", "cli:missing") == "hello world\n\n"
    assert cli(server, "PING") == "PONG\n"
    assert cli(server, "nosuchcommand") == "ERR unknown command 'nosuchcommand', with args beginning with: \n\n"  # as redis-cli prints it for real Redis


def test_redis_cli_pipe_mode(server):
    commands = "".join("SET cli:pipe:%d %d\r\n" % (i, i) for i in range(1000))
    output = cli(server, "--pipe", stdin=commands.encode())
    assert "errors: 0, replies: 1000" in output
    assert cli(server, "GET", "cli:pipe:999") == "999\n"


@pytest.mark.parametrize("mode", ["--raw", "--no-raw"])
def test_redis_cli_session_prints_what_real_redis_prints(server, real_redis, mode):
    script = (b"SET cli:i 1\nGET cli:i\nMGET cli:i cli:nothing\nEXISTS cli:i cli:i\nSELECT 99\n"
              b"CLIENT SETNAME cli\nCLIENT GETNAME\nHELLO 3\nGET cli:i\nMGET cli:i\nnosuch x\n")
    transcripts = [re.sub(r"\bid\"?( => |[\n ])(\(integer\) )?\d+", "id <n>", cli(running, mode, stdin=script))
                   for running in (server, real_redis)]
    assert "(integer) 2" in transcripts[1] or mode == "--raw"
    assert transcripts[0] == transcripts[1]


@pytest.mark.parametrize("pipeline", ["1", "16"])
def test_redis_benchmark_runs_without_errors(server, pipeline):
    binary = shutil.which("redis-benchmark")
    if binary is None:
        pytest.fail("redis-benchmark is not installed: apt-get install redis-tools")
    result = subprocess.run([binary, "-p", str(server.port), "-t", "set,get,mset,ping", "-n", "2000",
                             "-c", "20", "-P", pipeline, "--csv"], capture_output=True, timeout=120)
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 0, output
    assert "error" not in output.lower(), output
    rows = list(csv.reader(result.stdout.decode().splitlines()))
    assert [row[0] for row in rows] == ["test", "PING_INLINE", "PING_MBULK", "SET", "GET", "MSET (10 keys)"]
    assert all(float(row[1]) > 0 for row in rows[1:]), output
