"""FUNCTION and FCALL against real Redis 7.0.15, and libraries crossing between the two servers in
dump.rdb both ways, in FUNCTION DUMP payloads, and through our AOF."""
import os
import time

import pytest

from conftest import aof_file, start_ours, start_real_redis
from differential import Node, Pair, WireClient, mask_client_id

LIBRARY = ("#!lua name=mylib\n"
           "redis.register_function('myfunc', function(keys, args) return {keys[1], args[1]} end)\n"
           "redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end,"
           " flags={'no-writes'}, description='reads'}")


def functions_in_order(reply):
    """FUNCTION LIST with each library's functions (and the libraries) in a fixed order: Redis lists
    them in its hash tables' order, which a random seed picks at start-up."""
    if not reply[:1] in (b"*", b"%"):
        return reply
    return _sorted_node(Node(reply))


def _sorted_node(node):
    children = [_sorted_node(child) for child in node.children]
    for index in range(1, len(children)):
        if node.children[index - 1].bytes() in (b"$9\r\nfunctions\r\n", b"+functions\r\n"):
            children[index] = children[index][:children[index].index(b"\r\n") + 2] + b"".join(
                sorted(_sorted_node(child) for child in node.children[index].children))
    if node.head.startswith(b"*") and children and all(child.startswith((b"*6", b"*8", b"%3", b"%4"))
                                                       for child in children):
        children = sorted(children)
    return node.head + b"".join(children)


@pytest.fixture
def functions_pair(pair):
    pair.check("FUNCTION", "FLUSH")
    yield pair
    pair.check("FUNCTION", "FLUSH")


def test_load_call_list_and_delete(functions_pair):
    functions_pair.check_sequence(normalise=functions_in_order, commands=[
        ("FUNCTION", "LOAD", LIBRARY), ("FUNCTION", "LOAD", LIBRARY), ("FUNCTION", "LOAD", "REPLACE", LIBRARY),
        ("SET", "k", "v"), ("FCALL", "myfunc", 1, "k", "a"), ("FCALL", "MYFUNC", 1, "k", "a"), ("FCALL", "ro", 1, "k"),
        ("FCALL_RO", "ro", 1, "k"), ("FCALL_RO", "myfunc", 1, "k", "a"), ("FCALL", "nosuch", 0),
        ("FCALL", "myfunc", -1), ("FCALL", "myfunc", 5), ("FCALL", "myfunc", "x"), ("FCALL", "nosuch", "x"),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "LIST", "LIBRARYNAME", "my*"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "MY*", "WITHCODE"), ("FUNCTION", "LIST", "LIBRARYNAME", "x*"),
        ("FUNCTION", "LIST", "LIBRARYNAME"), ("FUNCTION", "LIST", "FOO"), ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "x*"), ("FUNCTION", "STATS"),
        ("FUNCTION", "DELETE", "nosuch"), ("FUNCTION", "DELETE"), ("FUNCTION", "DELETE", "mylib"),
        ("FUNCTION", "LIST"), ("FCALL", "myfunc", 0), ("FUNCTION", "STATS"),
        ("FUNCTION", "LOAD", "a", "b"), ("FUNCTION", "LOAD", "replace"), ("FUNCTION", "RESTORE", "xx"),
        ("FUNCTION", "RESTORE", "xx", "FOO"), ("FUNCTION", "RESTORE", "a", "b", "c"), ("FUNCTION", "HELP"),
        ("FUNCTION", "KILL"), ("FUNCTION", "FOO"), ("FUNCTION", "FLUSH", "x"), ("FUNCTION", "FLUSH", "SYNC"),
        ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION",), ("FCALL",), ("FCALL", "f"),
    ])


def test_function_list_and_stats_in_resp3(functions_pair):
    functions_pair.check("HELLO", "3", normalise=mask_client_id)
    functions_pair.check_sequence(normalise=functions_in_order, commands=[
        ("FUNCTION", "LOAD", "#!lua name=one\nredis.register_function{function_name='f', callback=function() "
                             "return 1 end, flags={'no-writes', 'allow-oom', 'no-writes'}, description='d'}"),
        ("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "STATS"), ("FCALL", "f", 0),
        ("FUNCTION", "LOAD", "#!lua name=two\nredis.register_function('g', function() redis.setresp(3) "
                             "return redis.call('hgetall', 'nokey') end)"), ("FCALL", "g", 0),
    ])


LOAD_ERRORS = [
    "return 1", "#!lua\nreturn 1", "#!lua name=x\nreturn 1", "#!lua name=x\nredis.call('ping')",
    "#!lua name=x\nredis.register_function('f')", "#!lua name=x\nredis.register_function('f', 1)",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, bad=1}",
    "#!lua name=x\nredis.register_function{function_name='f'}",
    "#!lua name=x\nredis.register_function{callback=function() end}",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, flags='no-writes'}",
    "#!lua name=x\nredis.register_function('f', function() end) redis.register_function('f', function() end)",
    "#!lua name=x\nredis.register_function('a-b', function() end)",
    "#!lua name=x\nredis.register_function('', function() end)",
    "#!lua name=x\nredis.register_function()", "#!lua name=x\nredis.register_function({}, 1, 2)",
    "#!lua name=x\nredis.register_function(true, function() end)", "#!lua name=x\nlocal a = x",
    "#!lua name=x\nerror('boom')", "#!lua name=x\nsyntax error", "#!lua name=x\nreturn 1 +",
    "#!lua name=x foo=bar\nreturn 1", "#!lua name=x flags=no-writes\nreturn 1", "#!lua name=\nreturn 1",
    "#!lua name=a-b\nreturn 1", "#!js name=x\nreturn 1", "#!LUA name=x\nredis.register_function('f', function() end)",
    "#!lua NAME=x\nredis.register_function('f', function() end)", "#!lua name=x", "#!lua \"name=x\nreturn 1",
    "#!lua name=x\ny = 1 redis.register_function('h', function(k, a) return 1 end)",
    "#!lua name=x\nlocal v = redis.setresp", "#!lua name=x\nlocal v = string", "#!lua name=x\nlocal v = redis.REPL_ALL",
    "#!lua name=x\nredis.log(redis.LOG_WARNING, 'loading') redis.register_function('f', function() return 1 end)",
    "#!lua name=x\nredis.register_function(1, function() return 1 end)",
    "#!lua name=x\nredis.register_function{function_name='f', callback=function() end, description=1}",
    "#!lua name=x\nwhile true do end",
]


@pytest.mark.parametrize("code", LOAD_ERRORS)
def test_load_errors_and_what_library_code_may_touch(functions_pair, code):
    functions_pair.check_sequence([("FUNCTION", "LOAD", code), ("FUNCTION", "DELETE", "x")])


RUNTIME = [
    "return redis.call('lpush', 's', 'x')", "error('boom')", "return x", "z = 1",
    "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t", "return {#keys, #args, keys[1]}",
    "return KEYS", "return type(redis.register_function)", "redis.setresp(3) return {double=1.5}",
    "return redis.call('eval', 'return 1', 0)", "return redis.call('fcall', 'f', 0)",
]


@pytest.mark.parametrize("body", RUNTIME)
def test_functions_run_as_redis_runs_them(functions_pair, body):
    code = "#!lua name=x\nredis.register_function('f', function(keys, args) %s end)" % body
    functions_pair.check_sequence([("SET", "s", "x"), ("FUNCTION", "LOAD", code), ("FCALL", "f", 1, "a", "b", "c")])


def test_info_counts_scripts_functions_and_libraries(functions_pair):
    pair = functions_pair
    pair.check_sequence([("SCRIPT", "FLUSH"), ("SCRIPT", "LOAD", "return 'info'"), ("FUNCTION", "LOAD", LIBRARY)])
    counted = ("number_of_cached_scripts", "number_of_functions", "number_of_libraries")
    for client in (pair.ours, pair.redis):
        lines = dict(line.split(":", 1) for line in client.call("INFO", "memory").decode().split("\r\n")
                     if ":" in line)
        assert [lines[name] for name in counted] == ["1", "2", "1"]


def test_state_kept_between_calls_and_function_name_clashes(functions_pair):
    functions_pair.check_sequence(normalise=functions_in_order, commands=[
        ("FUNCTION", "LOAD", "#!lua name=a\nlocal n = 0 redis.register_function('g', function() n = n + 1 return n end)"),
        ("FCALL", "g", 0), ("FCALL", "g", 0),
        ("FUNCTION", "LOAD", "#!lua name=b\nredis.register_function('g', function() return 2 end)"),
        ("FUNCTION", "LOAD", "REPLACE", "#!lua name=a\nredis.register_function('h', function() return 3 end)"),
        ("FCALL", "g", 0), ("FCALL", "h", 0),
        ("FUNCTION", "LOAD", "#!lua name=b\nredis.register_function('g', function() return 2 end)"), ("FCALL", "g", 0),
        ("FUNCTION", "LOAD", "REPLACE", "#!lua name=a\nredis.register_function('g', function() return 4 end)"),
        ("FCALL", "h", 0),
    ])


def _libraries(port):
    with WireClient(port) as client:
        return client.call("FUNCTION", "LIST", "WITHCODE")


def test_dump_and_restore_between_ours_and_redis(functions_pair):
    pair = functions_pair
    pair.check("FUNCTION", "LOAD", LIBRARY)
    pair.check("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('o', function() return 'o' end)")
    for source, target in ((pair.redis, pair.ours), (pair.ours, pair.redis)):
        payload = source.call("FUNCTION", "DUMP")
        payload = payload[payload.index(b"\r\n") + 2:-2]
        assert target.call("FUNCTION", "RESTORE", payload).startswith(b"-ERR Library ")
        assert target.call("FUNCTION", "FLUSH") == b"+OK\r\n"
        assert target.call("FUNCTION", "RESTORE", payload) == b"+OK\r\n"
        assert target.call("FCALL", "o", 0) == b"$1\r\no\r\n"
        assert target.call("FUNCTION", "RESTORE", payload, "REPLACE") == b"+OK\r\n"
        assert target.call("FUNCTION", "RESTORE", payload, "FLUSH") == b"+OK\r\n"
    assert functions_in_order(_libraries(pair.ours.port)) == functions_in_order(_libraries(pair.redis.port))
    broken = payload[:-1] + bytes([payload[-1] ^ 1])
    pair.check("FUNCTION", "RESTORE", broken)
    pair.check("FUNCTION", "RESTORE", b"\x00" + payload[1:-10] + payload[-10:])


def _wait_for_file(path):
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.05)


def test_libraries_cross_between_ours_and_redis_in_dump_rdb(tmp_path):
    """Real Redis loads the libraries in our dump.rdb and lists them as we do; we load its."""
    library = "#!lua name=rdblib\nredis.register_function('rf', function(keys, args) return 'from rdb' end)"
    for writer, reader in ((start_ours, start_real_redis), (start_real_redis, start_ours)):
        folder = tmp_path / writer.__name__
        folder.mkdir()
        running = writer(folder)
        try:
            with WireClient(running.port) as client:
                assert client.call("FUNCTION", "LOAD", library) == b"$6\r\nrdblib\r\n"
                assert client.call("FUNCTION", "LOAD", LIBRARY) == b"$5\r\nmylib\r\n"
                assert client.call("SET", "key", "value") == b"+OK\r\n"
                listed = functions_in_order(client.call("FUNCTION", "LIST", "WITHCODE"))
                assert client.call("SAVE") == b"+OK\r\n"
        finally:
            running.stop()
        _wait_for_file(folder / "dump.rdb")
        loaded = reader(folder)
        try:
            with WireClient(loaded.port) as client:
                assert functions_in_order(client.call("FUNCTION", "LIST", "WITHCODE")) == listed
                assert client.call("FCALL", "rf", 0) == b"$8\r\nfrom rdb\r\n"
                assert client.call("GET", "key") == b"$5\r\nvalue\r\n"
        finally:
            loaded.stop()


def test_libraries_survive_the_aof_and_its_rewrite(tmp_path):
    library = "#!lua name=aoflib\nredis.register_function('af', function() return 7 end)"
    running = start_ours(tmp_path, "--appendonly", "yes")
    try:
        with WireClient(running.port) as client:
            assert client.call("FUNCTION", "LOAD", library) == b"$6\r\naoflib\r\n"
    finally:
        running.stop()
    assert b"FUNCTION" in aof_file(tmp_path).read_bytes()
    running = start_ours(tmp_path, "--appendonly", "yes")
    try:
        with WireClient(running.port) as client:
            assert client.call("FCALL", "af", 0) == b":7\r\n"
            assert client.call("BGREWRITEAOF").startswith(b"+")
            deadline = time.monotonic() + 10
            while b"aof_rewrite_in_progress:1" in client.call("INFO", "persistence") and time.monotonic() < deadline:
                time.sleep(0.05)
    finally:
        running.stop()
    running = start_ours(tmp_path, "--appendonly", "yes")
    try:
        with WireClient(running.port) as client:
            assert client.call("FCALL", "af", 0) == b":7\r\n"
    finally:
        running.stop()


def test_a_real_redis_pair_agrees_on_a_fresh_server(fresh):
    with Pair(*fresh) as pair:
        pair.check_sequence([("FUNCTION", "STATS"), ("FUNCTION", "LIST"), ("FUNCTION", "DUMP")])


def test_debug_reload_keeps_the_libraries(servers):
    ours, redis = servers
    with Pair(ours.port, redis.port) as pair:
        pair.check_sequence(normalise=functions_in_order, commands=[
            ("FUNCTION", "FLUSH"), ("FUNCTION", "LOAD", LIBRARY), ("DEBUG", "RELOAD"), ("FUNCTION", "LIST"),
            ("FCALL", "myfunc", 1, "k", "a"), ("FUNCTION", "FLUSH"), ("DEBUG", "RELOAD"), ("FUNCTION", "LIST"),
        ])
