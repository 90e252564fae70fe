"""Modules in Python (issue 20): loading (loadmodule, --loadmodule, MODULE LOAD/LOADEX), MODULE LIST,
UNLOAD and their errors against Redis 7.0.15, atomic failures, and what a loaded module's commands and
types get from the server: COMMAND, ACL, MULTI, scripts, MONITOR, statistics, CONFIG, keyspace events,
RESP2/RESP3 replies, RDB (checked by redis-check-rdb), the AOF and its rewrite, DUMP/RESTORE, COPY.

tests/modules/counters.py is the example module: a 'counters1' type holding named counters.
"""
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, aof_file, free_port, ours_and_redis, start_ours
from differential import Pair, WireClient, unordered_pairs

COUNTERS = os.path.join(ROOT, "tests", "modules", "counters.py")
LOAD_FAILED = b"-ERR Error loading the extension. Please check the server logs.\r\n"


def start_with_counters(tmp_path, *options):
    return start_ours(tmp_path, "--loadmodule", COUNTERS, "x", "y", "--enable-module-command", "yes",
                      "--enable-debug-command", "yes", *options)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """One server of ours with the example module loaded from the command line (arguments x y)."""
    running = start_with_counters(tmp_path_factory.mktemp("modules"))
    yield running
    running.stop()


@pytest.fixture
def client(loaded):
    with WireClient(loaded.port) as wire:
        wire.call("FLUSHALL")
        yield wire


def bulk(text):
    return b"$%d\r\n%b\r\n" % (len(text), text)


# ------------------------------------------------------------------ MODULE against Redis


@pytest.mark.parametrize("setting", [None, "yes"])
def test_module_command_replies_and_errors_as_redis_does(setting, tmp_path):
    """enable-module-command gates LOAD, LOADEX and UNLOAD (not LIST or HELP); a file that is not there,
    LOADEX's syntax errors and unknown names answer as Redis does."""
    options = () if setting is None else ("--enable-module-command", setting)
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", *options) as (ours, redis):
        with Pair(ours.port, redis.port) as pair:
            pair.check_sequence([
                ("MODULE", "HELP"), ("MODULE", "LIST"), ("MODULE",), ("MODULE", "nosuch"), ("MODULE", "LIST", "x"),
                ("MODULE", "LOAD"), ("MODULE", "UNLOAD"), ("MODULE", "HELP", "x"),
                ("MODULE", "LOAD", "/nonexistent/module.so", "a"), ("MODULE", "UNLOAD", "nosuch"),
                ("MODULE", "LOADEX", "/nonexistent/module.so"), ("MODULE", "LOADEX", "/x", "CONFIG", "a"),
                ("MODULE", "LOADEX", "/x", "CONFIG", "a", "b", "ARGS", "c"), ("MODULE", "LOADEX", "/x", "bad"),
                ("CONFIG", "SET", "enable-module-command", "yes"), ("MULTI",), ("MODULE", "LIST"), ("EXEC",)])
            pair.check("CONFIG", "GET", "enable-module-command", normalise=unordered_pairs)


def test_module_list_shape_in_resp2_and_resp3(client):
    assert client.call("MODULE", "LIST") == (
        b"*1\r\n*8\r\n$4\r\nname\r\n$8\r\ncounters\r\n$3\r\nver\r\n:3\r\n$4\r\npath\r\n" + bulk(COUNTERS.encode())
        + b"$4\r\nargs\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n")
    client.call("HELLO", "3")
    assert client.call("MODULE", "LIST") == (
        b"*1\r\n%4\r\n$4\r\nname\r\n$8\r\ncounters\r\n$3\r\nver\r\n:3\r\n$4\r\npath\r\n" + bulk(COUNTERS.encode())
        + b"$4\r\nargs\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n")
    assert b"module:name=counters,ver=3,api=1,filters=0,usedby=[],using=[],options=[]" in client.call("INFO", "modules")


# ------------------------------------------------------------------ loading at start


def test_a_relative_path_is_also_looked_for_in_the_server_s_directory(tmp_path):
    running = start_ours(tmp_path, "--loadmodule", os.path.join("tests", "modules", "counters.py"))
    try:
        with WireClient(running.port) as wire:
            assert b"$4\r\npath\r\n$25\r\ntests/modules/counters.py\r\n" in wire.call("MODULE", "LIST")
    finally:
        running.stop()


def test_loadmodule_in_a_config_file_with_the_module_s_parameters(tmp_path):
    (tmp_path / "mini.conf").write_text('loadmodule %s one "two words"\ncounters.limit 42\ncounters.mode slow\n'
                                        % COUNTERS)
    port = free_port()
    from conftest import RunningServer
    running = RunningServer([sys.executable, os.path.join(ROOT, "server.py"), str(tmp_path / "mini.conf"),
                             "--port", str(port)], port, str(tmp_path))
    try:
        with WireClient(running.port) as wire:
            assert wire.call("MODULE", "LIST").endswith(b"$4\r\nargs\r\n*2\r\n$3\r\none\r\n$9\r\ntwo words\r\n")
            assert wire.call("CONFIG", "GET", "counters.limit") == b"*2\r\n$14\r\ncounters.limit\r\n$2\r\n42\r\n"
            assert wire.call("CTR.SETTING", "mode") == b"$4\r\nslow\r\n"
            assert wire.call("CTR.SETTING", "limit") == b":42\r\n"
            assert wire.call("MODULE", "UNLOAD", "counters").startswith(b"-ERR MODULE command not allowed")
        assert "Module 'counters' loaded from %s" % COUNTERS in running.log()
        assert "<counters> counters loaded with 2 arguments" in running.log()
    finally:
        running.stop()


@pytest.mark.parametrize("options, reason", [
    (("--loadmodule", "/nonexistent/m.py"), "Can't load module from /nonexistent/m.py: server aborting"),
    (("--loadmodule", COUNTERS, "fail"), "Module %s initialization failed. Module not loaded" % COUNTERS),
    (("--counters.limit", "5"), "Module Configuration detected without loadmodule directive or no ApplyConfig call"),
    (("--loadmodule", COUNTERS, "--counters.limit", "500"),
     "Issue during loading of configuration counters.limit : argument must be between 0 and 100 inclusive"),
])
def test_a_module_that_cannot_load_stops_the_start(options, reason, tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server.py"), "--port", str(free_port()), *options],
                            capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 1
    assert reason in result.stdout


# ------------------------------------------------------------------ failures leave nothing behind

def _on_load(*lines):
    """A module file whose on_load runs these lines."""
    return "def on_load(module, args):\n" + "".join("    %s\n" % line for line in lines)


FIRST = "module.command('first.cmd', lambda ctx: 1, 1)"  # registered before what fails: must not stay
BROKEN_MODULES = {
    "syntax.py": "def on_load(module, args:\n",
    "raises.py": _on_load("module.identify('raises', 1)", FIRST, "raise ValueError('no')"),
    "existing_command.py": _on_load("module.identify('clash', 1)", FIRST, "module.command('GET', lambda ctx: 1, 2)"),
    "redis_command.py": _on_load("module.identify('clash', 1)", FIRST, "module.command('migrate', lambda ctx: 1, 1)"),
    "existing_type.py": _on_load("module.identify('clash', 1)", FIRST, "module.data_type('counters1', 2)"),
    "existing_name.py": _on_load("module.identify('counters', 1)", FIRST),
    "config_twice.py": _on_load("module.identify('twice', 1)", FIRST, "module.config('limit', 1, 'numeric')",
                                "module.config('limit', 1, 'bool')"),
    "bad_flag.py": _on_load("module.identify('flags', 1)", FIRST,
                            "module.command('flags.bad', lambda ctx: 1, 1, 'write nosuch')"),
    "bad_type_name.py": _on_load("module.identify('types', 1)", FIRST, "module.data_type('short', 1)"),
    "no_identify.py": _on_load("pass"),
    "no_on_load.py": "X = 1\n",
    "exits.py": "import sys\nsys.exit(3)\n",
    "subscribes.py": _on_load("module.identify('subs', 1)", "module.subscribe('g', lambda ctx, event, key: None)",
                              "raise RuntimeError('late')"),
}


def _server_state(wire):
    return [wire.call("COMMAND", "COUNT"), wire.call("MODULE", "LIST"), wire.call("CONFIG", "GET", "*"),
            wire.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "*.*"), wire.call("INFO", "modules")]


def test_every_failure_answers_redis_s_error_and_leaves_the_server_unchanged(client, loaded, tmp_path):
    before = _server_state(client)
    for name, source in sorted(BROKEN_MODULES.items()):
        (tmp_path / name).write_text(source)
        assert client.call("MODULE", "LOAD", str(tmp_path / name)) == LOAD_FAILED, name
        assert _server_state(client) == before, name
    assert client.call("MODULE", "LOADEX", COUNTERS, "CONFIG", "counters.nosuch", "1") == LOAD_FAILED
    assert client.call("MODULE", "LOADEX", str(tmp_path / "raises.py"), "CONFIG", "raises.x", "1") == LOAD_FAILED
    assert _server_state(client) == before
    assert client.call("FIRST.CMD").startswith(b"-ERR unknown command 'FIRST.CMD'")
    assert client.call("GET", "k") == b"$-1\r\n"  # GET is still the built-in
    log = loaded.log()
    for line in ("Module %s failed to load: SyntaxError" % (tmp_path / "syntax.py"),
                 "command 'get' already exists. Module not loaded",
                 "data type 'counters1' already exists. Module not loaded",
                 "unknown flag 'nosuch' for command flags.bad", "Module %s failed to load: SystemExit: 3"
                 % (tmp_path / "exits.py")):
        assert line in log


def test_loadex_sets_parameters_and_passes_its_args(loaded, tmp_path):
    source = open(COUNTERS).read().replace('identify("counters", 3)', 'identify("counters9", 9)').replace(
        '"counters1"', '"counters9"').replace('"ctr.', '"ct9.')
    (tmp_path / "counters9.py").write_text(source)
    with WireClient(loaded.port) as wire:
        assert wire.call("MODULE", "LOADEX", str(tmp_path / "counters9.py"), "CONFIG", "counters9.limit", "7",
                         "config", "COUNTERS9.MODE", "slow", "ARGS", "a", "b", "c") == b"+OK\r\n"
        assert wire.call("CONFIG", "GET", "counters9.*") == (
            b"*10\r\n$15\r\ncounters9.limit\r\n$1\r\n7\r\n$14\r\ncounters9.mode\r\n$4\r\nslow\r\n"
            b"$15\r\ncounters9.label\r\n$4\r\nnone\r\n$12\r\ncounters9.on\r\n$3\r\nyes\r\n"
            b"$15\r\ncounters9.fixed\r\n$11\r\nset at load\r\n")
        assert wire.call("MODULE", "LIST").count(b"$4\r\nname\r\n$9\r\ncounters9\r\n") == 1
        assert b"$4\r\nargs\r\n*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n" in wire.call("MODULE", "LIST")
        assert wire.call("MODULE", "LOADEX", str(tmp_path / "counters9.py")) == LOAD_FAILED  # its name is taken
        assert wire.call("CT9.INCRBY", "k9", "a", "1") == b":1\r\n"
        assert wire.call("MODULE", "UNLOAD", "counters9") == (
            b"-ERR Error unloading module: the module exports one or more module-side data types, can't unload\r\n")
        assert wire.call("DEL", "k9") == b":1\r\n"
        assert wire.call("MODULE", "UNLOAD", "counters9") == b"+OK\r\n"
        assert wire.call("CT9.INCRBY", "k9", "a", "1").startswith(b"-ERR unknown command 'CT9.INCRBY'")
        assert wire.call("CONFIG", "GET", "counters9.*") == b"*0\r\n"
        assert wire.call("MODULE", "UNLOAD", "counters9") == (
            b"-ERR Error unloading module: no such module with that name\r\n")
        assert wire.call("MODULE", "LOAD", str(tmp_path / "counters9.py")) == b"+OK\r\n"  # loads again
        assert wire.call("CT9.GET", "k9", "a") == b"$-1\r\n"
        assert wire.call("MODULE", "UNLOAD", "counters9") == b"+OK\r\n"


# ------------------------------------------------------------------ commands, types, replies


def test_a_module_type_behaves_as_any_value(client):
    assert client.call("CTR.INCRBY", "k", "a", "5") == b":5\r\n"
    assert client.call("CTR.INCRBY", "k", "a", "-2") == b":3\r\n"
    assert client.call("TYPE", "k") == b"+counters1\r\n"
    assert client.call("OBJECT", "ENCODING", "k") == b"$3\r\nraw\r\n"
    assert client.call("SCAN", "0", "TYPE", "counters1") == b"*2\r\n$1\r\n0\r\n*1\r\n$1\r\nk\r\n"
    assert client.call("GET", "k") == b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    client.call("SET", "s", "v")
    assert client.call("CTR.GET", "s", "a") == b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    assert client.call("CTR.GET", "k") == b"-ERR wrong number of arguments for 'ctr.get' command\r\n"
    assert client.call("MEMORY", "USAGE", "k").startswith(b":")
    assert int(client.call("MEMORY", "USAGE", "k")[1:-2]) > 112  # the type's 64 + 48 per counter, and the key
    assert client.call("COPY", "k", "k2") == b":1\r\n"
    assert client.call("CTR.INCRBY", "k2", "a", "1") == b":4\r\n"
    assert client.call("CTR.GET", "k", "a") == b":3\r\n"  # the copy is its own
    assert client.call("RENAME", "k2", "k3") == b"+OK\r\n"
    assert client.call("EXPIRE", "k3", "100") == b":1\r\n"
    assert client.call("CTR.INCRBY", "k3", "a", "1") == b":5\r\n"
    assert client.call("TTL", "k3") == b":100\r\n"  # a write in place keeps the TTL
    assert client.call("MOVE", "k3", "1") == b":1\r\n"
    assert client.call("DEL", "k", "s") == b":2\r\n"
    assert client.call("DBSIZE") == b":0\r\n"
    assert client.call("FLUSHALL") == b"+OK\r\n"


def test_copy_without_a_copy_callback_is_refused_before_anything_changes(loaded, tmp_path):
    source = open(COUNTERS).read().replace('identify("counters", 3)', 'identify("nocopy", 1)').replace(
        '"counters1"', '"nocopy-01"').replace('"ctr.', '"nc.').replace("copy=copy", "copy=None")
    (tmp_path / "nocopy.py").write_text(source)
    with WireClient(loaded.port) as wire:
        assert wire.call("MODULE", "LOAD", str(tmp_path / "nocopy.py")) == b"+OK\r\n"
        wire.call("NC.INCRBY", "nc", "a", "1")
        wire.call("SET", "there", "v")
        assert wire.call("COPY", "nc", "there", "REPLACE") == b"-ERR not supported for this module key\r\n"
        assert wire.call("GET", "there") == b"$1\r\nv\r\n"
        wire.call("DEL", "nc", "there")
        assert wire.call("MODULE", "UNLOAD", "nocopy") == b"+OK\r\n"


def test_replies_in_resp2_and_resp3(client):
    assert client.call("CTR.SHAPES") == (
        b"*11\r\n:1\r\n$4\r\nbulk\r\n$4\r\ntext\r\n+FINE\r\n$-1\r\n$3\r\n1.5\r\n:1\r\n*1\r\n*-1\r\n"
        b"*2\r\n$1\r\nk\r\n*2\r\n:1\r\n:2\r\n*1\r\n$6\r\nmember\r\n:2\r\n")
    client.call("HELLO", "3")
    assert client.call("CTR.SHAPES") == (
        b"*11\r\n:1\r\n$4\r\nbulk\r\n$4\r\ntext\r\n+FINE\r\n_\r\n,1.5\r\n#t\r\n*1\r\n_\r\n"
        b"%1\r\n$1\r\nk\r\n*2\r\n:1\r\n:2\r\n~1\r\n$6\r\nmember\r\n:3\r\n")
    assert client.call("CTR.ALL", "nokey") == b"_\r\n"
    client.call("CTR.INCRBY", "k", "a", "1")
    assert client.call("CTR.ALL", "k") == b"%1\r\n$1\r\na\r\n:1\r\n"


def test_a_failing_handler_is_an_error_reply_and_a_log_line(client, loaded):
    assert client.call("CTR.FAIL", "x") == b"-ERR internal error while running 'ctr.fail'\r\n"
    assert client.call("CTR.BADREPLY") == b"-ERR internal error while running 'ctr.badreply'\r\n"
    assert client.call("PING") == b"+PONG\r\n"
    assert "<counters> command 'ctr.fail' failed: ZeroDivisionError: the module's bug" in loaded.log()
    assert "<counters> command 'ctr.badreply' failed: TypeError: a module reply cannot be a object" in loaded.log()
    assert b"errorstat_ERR:count=" in client.call("INFO", "errorstats")


# ------------------------------------------------------------------ the server's machinery around them


def test_command_info_docs_list_and_getkeys(client):
    assert client.call("COMMAND", "INFO", "ctr.incrby") == (
        b"*1\r\n*10\r\n$10\r\nctr.incrby\r\n:4\r\n*3\r\n+write\r\n+denyoom\r\n+module\r\n:1\r\n:1\r\n:1\r\n*0\r\n*0\r\n"
        b"*1\r\n*6\r\n$5\r\nflags\r\n*4\r\n+RW\r\n+access\r\n+update\r\n+variable_flags\r\n"
        b"$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
        b"$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
        b"*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n")
    assert client.call("COMMAND", "INFO", "ctr.get").startswith(
        b"*1\r\n*10\r\n$7\r\nctr.get\r\n:3\r\n*3\r\n+readonly\r\n+module\r\n+fast\r\n")
    assert client.call("COMMAND", "DOCS", "ctr.get") == (
        b"*2\r\n$7\r\nctr.get\r\n*4\r\n$5\r\ngroup\r\n$6\r\nmodule\r\n$6\r\nmodule\r\n$8\r\ncounters\r\n")
    assert client.call("COMMAND", "GETKEYS", "ctr.incrby", "key", "a", "1") == b"*1\r\n$3\r\nkey\r\n"
    listed = client.call("COMMAND", "LIST", "FILTERBY", "MODULE", "counters")
    assert listed.startswith(b"*9\r\n") and b"ctr.incrby" in listed and b"ctr.shapes" in listed
    assert client.call("COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch") == b"*0\r\n"
    count = int(client.call("COMMAND", "COUNT")[1:-2])
    assert count == len(client.call("COMMAND", "LIST").split(b"\r\n")) // 2 - 1 - (
        client.call("COMMAND", "LIST").count(b"|"))


def test_acl_allows_module_commands_by_all_commands_or_by_name(client):
    """Redis 7.0 puts module commands in no ACL category: +@all (and what it keeps for commands to come)
    or the command's own name allows them."""
    client.call("ACL", "SETUSER", "everything", "on", "nopass", "+@all", "-ctr.get", "~*")
    client.call("ACL", "SETUSER", "readers", "on", "nopass", "+@read", "~*")
    client.call("ACL", "SETUSER", "named", "on", "nopass", "+ctr.get", "+ctr.incrby", "~ok*")
    try:
        client.call("CTR.INCRBY", "ok1", "a", "1")
        client.call("AUTH", "everything", "x")
        assert client.call("CTR.INCRBY", "ok1", "a", "1") == b":2\r\n"
        assert client.call("CTR.GET", "ok1", "a") == (
            b"-NOPERM this user has no permissions to run the 'ctr.get' command\r\n")
        client.call("AUTH", "readers", "x")
        assert client.call("CTR.GET", "ok1", "a") == (
            b"-NOPERM this user has no permissions to run the 'ctr.get' command\r\n")
        client.call("AUTH", "named", "x")
        assert client.call("CTR.GET", "ok1", "a") == b":2\r\n"
        assert client.call("CTR.GET", "other", "a") == (
            b"-NOPERM this user has no permissions to access one of the keys used as arguments\r\n")
        assert client.call("CTR.SHAPES") == b"-NOPERM this user has no permissions to run the 'ctr.shapes' command\r\n"
        client.call("AUTH", "default", "x")
        assert b"-@all +ctr.incrby +ctr.get" in client.call("ACL", "GETUSER", "named")
        assert b"-ctr.get" in client.call("ACL", "LIST")
    finally:
        client.call("AUTH", "default", "x")
        client.call("ACL", "DELUSER", "everything", "readers", "named")


def test_multi_scripts_monitor_and_statistics(client, loaded):
    with WireClient(loaded.port) as monitor:
        assert monitor.call("MONITOR") == b"+OK\r\n"
        assert client.call("MULTI") == b"+OK\r\n"
        assert client.call("CTR.INCRBY", "m", "a", "2") == b"+QUEUED\r\n"
        assert client.call("CTR.GET", "m", "a") == b"+QUEUED\r\n"
        assert client.call("EXEC") == b"*2\r\n:2\r\n:2\r\n"
        assert client.call("EVAL", "return redis.call('ctr.incrby', KEYS[1], 'a', ARGV[1])", "1", "m", "3") == b":5\r\n"
        assert client.call("EVAL", "return redis.call('ctr.setting', 'limit')", "0").startswith(
            b"-ERR This Redis command is not allowed from script")  # deny-script
        lines = [monitor.read_reply() for _ in range(6)]
        assert b'"CTR.INCRBY" "m" "a" "2"' in lines[1] and b'"CTR.GET" "m" "a"' in lines[2]
        assert any(b'[0 lua] "ctr.incrby" "m" "a" "3"' in line for line in lines[4:])
    stats = client.call("INFO", "commandstats")
    assert b"cmdstat_ctr.incrby:calls=" in stats and b"cmdstat_ctr.get:calls=" in stats
    client.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        client.call("CTR.GET", "m", "a")
        assert b"CTR.GET" in client.call("SLOWLOG", "GET", "1")
    finally:
        client.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        client.call("SLOWLOG", "RESET")


def test_deny_oom_refuses_writes_over_maxmemory(client):
    client.call("CONFIG", "SET", "maxmemory", "1")
    try:
        assert client.call("CTR.INCRBY", "o", "a", "1") == (
            b"-OOM command not allowed when used memory > 'maxmemory'.\r\n")
        assert client.call("CTR.GET", "o", "a") == b"$-1\r\n"
    finally:
        client.call("CONFIG", "SET", "maxmemory", "0")


def test_module_parameters_in_config_get_and_set(client):
    assert client.call("CONFIG", "GET", "counters.*") == (
        b"*10\r\n$14\r\ncounters.limit\r\n$2\r\n10\r\n$13\r\ncounters.mode\r\n$4\r\nfast\r\n"
        b"$14\r\ncounters.label\r\n$4\r\nnone\r\n$11\r\ncounters.on\r\n$3\r\nyes\r\n"
        b"$14\r\ncounters.fixed\r\n$11\r\nset at load\r\n")
    assert client.call("CONFIG", "SET", "counters.fixed", "y") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'counters.fixed') - can't set immutable config\r\n")
    assert client.call("CONFIG", "SET", "counters.limit", "101") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'counters.limit') - argument must be between 0 and "
        b"100 inclusive\r\n")
    assert client.call("CONFIG", "SET", "counters.mode", "medium") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'counters.mode') - argument(s) must be one of the "
        b"following: fast, slow\r\n")
    assert client.call("CONFIG", "SET", "counters.label", "bad", "counters.limit", "20") == (
        b"-ERR CONFIG SET failed (possibly related to argument 'counters.label') - label may not be bad\r\n")
    assert client.call("CTR.SETTING", "limit") == b":10\r\n"  # all or nothing
    assert client.call("CONFIG", "GET", "counters.limit") == b"*2\r\n$14\r\ncounters.limit\r\n$2\r\n10\r\n"
    assert client.call("CONFIG", "SET", "COUNTERS.LIMIT", "20", "counters.on", "no", "counters.label", "hi") == (
        b"+OK\r\n")
    assert [client.call("CTR.SETTING", name) for name in ("limit", "on", "label")] == [
        b":20\r\n", b":0\r\n", b"$2\r\nhi\r\n"]
    client.call("CONFIG", "SET", "counters.limit", "10", "counters.on", "yes", "counters.label", "none")


def test_event_subscriptions_and_keyspace_notifications(client, loaded):
    client.call("CTR.EVENTS")
    with WireClient(loaded.port) as subscriber:
        client.call("CONFIG", "SET", "notify-keyspace-events", "Kd")
        try:
            subscriber.call("SUBSCRIBE", "__keyspace@0__:e")
            client.call("CTR.INCRBY", "e", "a", "1")
            assert subscriber.read_reply() == (
                b"*3\r\n$7\r\nmessage\r\n$16\r\n__keyspace@0__:e\r\n$10\r\nctr.incrby\r\n")
        finally:
            client.call("CONFIG", "SET", "notify-keyspace-events", "")
    client.call("SET", "s", "v")
    client.call("EXPIRE", "s", "100")
    client.call("LPUSH", "list", "x")  # class l: not subscribed to
    events = client.call("CTR.EVENTS")
    assert events.endswith(b"*2\r\n$10\r\nctr.incrby\r\n$1\r\ne\r\n*2\r\n$3\r\nset\r\n$1\r\ns\r\n"
                           b"*2\r\n$6\r\nexpire\r\n$1\r\ns\r\n")


def test_tracking_clients_are_told_of_module_writes(client, loaded):
    client.call("CTR.INCRBY", "t", "a", "1")
    with WireClient(loaded.port) as tracker:
        tracker.call("HELLO", "3")
        assert tracker.call("CLIENT", "TRACKING", "ON") == b"+OK\r\n"
        assert tracker.call("CTR.GET", "t", "a") == b":1\r\n"
        client.call("CTR.INCRBY", "t", "a", "1")
        assert tracker.read_reply() == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nt\r\n"


def test_watch_sees_a_module_write(client, loaded):
    client.call("CTR.INCRBY", "w", "a", "1")
    client.call("WATCH", "w")
    with WireClient(loaded.port) as other:
        other.call("CTR.INCRBY", "w", "a", "1")
    client.call("MULTI")
    client.call("CTR.GET", "w", "a")
    assert client.call("EXEC") == b"*-1\r\n"


# ------------------------------------------------------------------ persistence


def test_rdb_keeps_module_values_across_a_restart_and_redis_check_rdb_accepts_it(tmp_path):
    running = start_with_counters(tmp_path)
    long_name = b"n" * 40  # an LZF-compressed string in the module's items
    try:
        with WireClient(running.port) as wire:
            wire.call("CTR.INCRBY", "k", "a", "5")
            wire.call("CTR.INCRBY", "k", long_name, "-9000000000")
            wire.call("PEXPIREAT", "k", "4102444800000")
            wire.call("SELECT", "3")
            wire.call("CTR.INCRBY", "other", "b", "1")
            digest = wire.call("DEBUG", "DIGEST")
            assert wire.call("SAVE") == b"+OK\r\n"
    finally:
        running.stop()
    checked = subprocess.run([shutil.which("redis-check-rdb"), str(tmp_path / "dump.rdb")], capture_output=True,
                             text=True, timeout=30)
    assert "RDB looks OK" in checked.stdout, checked.stdout
    running = start_with_counters(tmp_path)
    try:
        with WireClient(running.port) as wire:
            assert wire.call("DEBUG", "DIGEST") == digest
            assert wire.call("CTR.GET", "k", long_name) == b":-9000000000\r\n"
            assert wire.call("PEXPIRETIME", "k") == b":4102444800000\r\n"
            assert wire.call("DEBUG", "RELOAD") == b"+OK\r\n"
            assert wire.call("DEBUG", "DIGEST") == digest
    finally:
        running.stop()
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server.py"), "--port", str(free_port()),
                             "--dir", str(tmp_path)], capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert result.returncode == 1
    assert "The RDB file contains module data I can't load: no matching module type 'counters1'" in result.stdout


def _restoring_counters(tmp_path):
    """The example module with its rewrite callback replaced by api.restore_command (RESTORE of the payload)."""
    source = open(COUNTERS).read().replace("from modules.api import", "from modules.api import restore_command,")
    source = source.replace("rewrite=rewrite,", "rewrite=lambda key, value: restore_command(key, COUNTERS, value),")
    (tmp_path / "restoring.py").write_text(source)
    return str(tmp_path / "restoring.py")


@pytest.mark.parametrize("restoring", [False, True])
def test_aof_and_its_rewrite_keep_module_values(restoring, tmp_path):
    module = _restoring_counters(tmp_path) if restoring else COUNTERS
    rewritten = (b"*4\r\n$7\r\nRESTORE\r\n$1\r\nk\r\n$1\r\n0\r\n" if restoring
                 else b"*4\r\n$10\r\nCTR.INCRBY\r\n$1\r\nk\r\n$1\r\na\r\n$1\r\n5\r\n")
    options = ("--loadmodule", module, "--enable-debug-command", "yes", "--appendonly", "yes", "--aof-use-rdb-preamble", "no")
    running = start_ours(tmp_path, *options)
    try:
        with WireClient(running.port) as wire:
            wire.call("CTR.INCRBY", "k", "a", "5")
            assert wire.call("CTR.PLAINSET", "s", "v") == b"+OK\r\n"
            aof = aof_file(tmp_path).read_bytes()
            assert b"*3\r\n$3\r\nSET\r\n$1\r\ns\r\n$1\r\nv\r\n" in aof and b"CTR.PLAINSET" not in aof  # ctx.propagate
            assert wire.call("BGREWRITEAOF").startswith(b"+Background append only file rewriting")
            deadline = time.monotonic() + 10
            while b"aof_rewrite_in_progress:1" in wire.call("INFO", "persistence") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert rewritten in aof_file(tmp_path, "b").read_bytes()
            wire.call("CTR.INCRBY", "k", "b", "2")
            digest = wire.call("DEBUG", "DIGEST")
    finally:
        running.stop()
    running = start_ours(tmp_path, *options)
    try:
        with WireClient(running.port) as wire:
            assert wire.call("DEBUG", "DIGEST") == digest
            assert wire.call("CTR.ALL", "k") == b"*4\r\n$1\r\na\r\n:5\r\n$1\r\nb\r\n:2\r\n"
    finally:
        running.stop()


def test_dump_and_restore_of_module_values(client):
    client.call("CTR.INCRBY", "d", "a", "7")
    payload = client.call("DUMP", "d")
    assert payload[payload.index(b"\r\n") + 2:][:1] == b"\x07"  # RDB_TYPE_MODULE_2
    raw = payload[payload.index(b"\r\n") + 2:-2]
    assert client.call("RESTORE", "d2", "0", raw) == b"+OK\r\n"
    assert client.call("CTR.ALL", "d2") == b"*2\r\n$1\r\na\r\n:7\r\n"
    assert client.call("RESTORE", "d2", "0", raw) == b"-BUSYKEY Target key name already exists.\r\n"
    corrupt = bytearray(raw)
    corrupt[12] ^= 1
    assert client.call("RESTORE", "d3", "0", bytes(corrupt)) == (
        b"-ERR DUMP payload version or checksum are wrong\r\n")


def test_config_rewrite_writes_the_loaded_modules_and_their_parameters(tmp_path):
    source = open(COUNTERS).read().replace('identify("counters", 3)', 'identify("second", 1)').replace(
        '"counters1"', '"second-01"').replace('"ctr.', '"sc.')
    (tmp_path / "second.py").write_text(source)
    (tmp_path / "mini.conf").write_text("# modules\nloadmodule %s 'a b' c\nenable-module-command yes\n" % COUNTERS)
    port = free_port()
    from conftest import RunningServer
    running = RunningServer([sys.executable, os.path.join(ROOT, "server.py"), str(tmp_path / "mini.conf"),
                             "--port", str(port)], port, str(tmp_path))
    try:
        with WireClient(running.port) as wire:
            assert wire.call("MODULE", "LOAD", str(tmp_path / "second.py")) == b"+OK\r\n"
            assert wire.call("CONFIG", "SET", "counters.limit", "33") == b"+OK\r\n"
            assert wire.call("CONFIG", "REWRITE") == b"+OK\r\n"
    finally:
        running.stop()
    text = (tmp_path / "mini.conf").read_text()
    assert text.startswith('# modules\nloadmodule %s "a b" c\nenable-module-command yes\n' % COUNTERS)
    assert "# Generated by CONFIG REWRITE\nloadmodule %s\n" % (tmp_path / "second.py") in text
    assert "\ncounters.limit 33\n" in text
