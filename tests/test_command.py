"""COMMAND against Redis 7.0.15: INFO and DOCS of every served command byte for byte, COUNT, LIST and its
filters, GETKEYS and GETKEYSANDFLAGS, and the metadata's agreement with the rows that drive dispatch."""
import re
import time

import pytest

from commands.families import build_table
from commands.introspection import METADATA
from differential import Node, Pair, WireClient, mask_integer

TABLE = build_table()
CONTAINERS = [name.decode() for name, command in TABLE.items() if command.subcommands]
SIMPLE = [name.decode() for name, command in TABLE.items() if not command.subcommands]
SUBCOMMANDS = [sub.name for command in TABLE.values() for sub in command.subcommands.values()]
NOT_IN_REDIS_7_0 = {"delete", "flush", "client|setinfo"}
# Flags Redis 7.0 keeps out of COMMAND INFO: CMD_PROTECTED (DEBUG, MODULE) and CMD_MAY_REPLICATE (PUBLISH...),
# which CLIENT PAUSE WRITE and MONITOR read.
ROW_ONLY_FLAGS = {"protected", "may_replicate"}


def bulk(text):
    return b"$%d\r\n%b\r\n" % (len(text), text.encode())


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def both(request, pair):
    if request.param == 3:
        pair.check("HELLO", "3", normalise=lambda reply: b"")
    return pair


@pytest.mark.parametrize("name", [name for name in SIMPLE + SUBCOMMANDS if name not in NOT_IN_REDIS_7_0])
def test_command_info_and_docs_of_each_served_command_are_redis_s(name, both):
    both.check("COMMAND", "INFO", name)
    both.check("COMMAND", "DOCS", name)


def _split_rows(client, *args):
    """COMMAND INFO <container>: its own fields, and its subcommands' rows by name."""
    row = Node(client.call(*args)).children[0]
    subcommands = {sub.children[0].bytes(): sub.bytes() for sub in row.children[9].children}
    return b"".join(child.bytes() for child in row.children[:9]), subcommands


@pytest.mark.parametrize("name", CONTAINERS)
def test_a_container_s_info_and_docs_are_redis_s_for_the_subcommands_we_serve(name, both):
    """Redis lists subcommands in its dict's random order, and some we do not serve: compare each one."""
    ours, theirs = _split_rows(both.ours, "COMMAND", "INFO", name), _split_rows(both.redis, "COMMAND", "INFO", name)
    assert ours[0] == theirs[0]
    for sub, row in ours[1].items():
        if sub.split(b"\r\n")[1].decode() not in NOT_IN_REDIS_7_0:
            assert row == theirs[1][sub]
    ours_docs = Node(both.ours.call("COMMAND", "DOCS", name)).children[1].pairs()
    redis_docs = Node(both.redis.call("COMMAND", "DOCS", name)).children[1].pairs()
    subcommands = bulk("subcommands")
    assert [field for field in ours_docs if field != subcommands] == [field for field in redis_docs
                                                                      if field != subcommands]
    for field, value in ours_docs.items():
        if field != subcommands:
            assert value.bytes() == redis_docs[field].bytes()
    theirs_by_name = redis_docs[subcommands].pairs()
    for sub, value in ours_docs[subcommands].pairs().items():
        if sub.split(b"\r\n")[1].decode() not in NOT_IN_REDIS_7_0:
            assert value.bytes() == theirs_by_name[sub].bytes()


def test_several_names_unknown_ones_and_subcommand_paths(both):
    both.check("COMMAND", "INFO", "get", "nosuch", "SET", "config|GET", "get|x", "config|get|x", "config|nosuch")
    both.check("COMMAND", "DOCS", "get", "nosuch", "Mset", "object|freq", "get|x")
    both.check("COMMAND", "DOCS", "nosuch")


def test_count_is_our_table_s_size(server):
    with WireClient(server.port) as client:
        assert client.call("COMMAND", "COUNT") == b":%d\r\n" % len(TABLE)


def test_count_and_arity_errors(pair):
    pair.check("COMMAND", "COUNT", normalise=mask_integer)
    pair.check_sequence([("COMMAND", "COUNT", "x"), ("COMMAND", "nosuch"), ("COMMAND", "HELP"),
                         ("COMMAND", "HELP", "x"), ("COMMAND", "GETKEYS"), ("COMMAND", "GETKEYS", "get")])


def _names(raw):
    return sorted(child.bytes() for child in Node(raw).children)


def test_list_has_every_command_and_subcommand(server):
    with WireClient(server.port) as client:
        names = _names(client.call("COMMAND", "LIST"))
    expected = sorted(bulk(command.name) for command in TABLE.values()) + [bulk(name) for name in SUBCOMMANDS]
    assert names == sorted(expected)


@pytest.mark.parametrize("filter_", [("PATTERN", "config*"), ("PATTERN", "*|HELP"), ("PATTERN", "g?t"),
                                     ("ACLCAT", "hash"), ("ACLCAT", "KEYSPACE"), ("ACLCAT", "@hash"),
                                     ("ACLCAT", "nosuch"), ("MODULE", "x")])
def test_list_filters_give_redis_s_names_among_those_we_serve(filter_, pair):
    served = {bulk(command.name) for command in TABLE.values()} | {bulk(name) for name in SUBCOMMANDS}
    ours = [name for name in _names(pair.ours.call("COMMAND", "LIST", "FILTERBY", *filter_))
            if name not in {bulk(name) for name in NOT_IN_REDIS_7_0}]
    theirs = [name for name in _names(pair.redis.call("COMMAND", "LIST", "FILTERBY", *filter_)) if name in served]
    assert ours == theirs
    if filter_ != ("ACLCAT", "@hash") and filter_[0] != "MODULE" and filter_[1] != "nosuch":
        assert ours


def test_list_syntax_errors(pair):
    pair.check_sequence([("COMMAND", "LIST", "x"), ("COMMAND", "LIST", "FILTERBY"),
                         ("COMMAND", "LIST", "FILTERBY", "x", "y"), ("COMMAND", "LIST", "FILTERBY", "PATTERN"),
                         ("COMMAND", "LIST", "FILTERBY", "PATTERN", "a", "b")])


GETKEYS_CASES = [
    ("get", "k"), ("set", "k", "v"), ("set", "k", "v", "EX", "10", "GET"), ("set", "k", "v", "get"),
    ("set", "k", "v", "NX"), ("mset", "a", "1", "b", "2"), ("mset", "a", "1", "b"), ("mget", "a", "b", "c"),
    ("del", "a", "b"), ("zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"), ("zunionstore", "d", "0", "a"),
    ("zunionstore", "d", "-1", "a"), ("zunionstore", "d", "x", "a"), ("zunionstore", "d", "3", "a", "b"),
    ("zinterstore", "d", "1", "a"), ("zdiffstore", "d", "2", "a", "b"), ("zunion", "2", "a", "b"),
    ("zunion", "3", "a", "b"), ("zintercard", "1", "a", "LIMIT", "1"), ("zdiff", "1", "a"),
    ("lmpop", "2", "a", "b", "LEFT"), ("lmpop", "5", "a", "LEFT"), ("lmpop", "0", "a", "LEFT"),
    ("blmpop", "0", "1", "a", "LEFT"), ("bzmpop", "0", "2", "a", "b", "MIN"), ("zmpop", "1", "z", "MAX"),
    ("blpop", "a", "b", "0"), ("brpop", "a", "0"), ("bzpopmin", "a", "b", "1"), ("blmove", "a", "b", "LEFT",
                                                                                   "RIGHT", "0"),
    ("lmove", "a", "b", "LEFT", "LEFT"), ("rpoplpush", "a", "b"), ("rename", "a", "b"), ("copy", "a", "b"),
    ("smove", "a", "b", "m"), ("sinterstore", "d", "a", "b"), ("sintercard", "2", "a", "b"),
    ("object", "encoding", "k"), ("object", "freq", "k"), ("object", "help"), ("watch", "a", "b"),
    ("lcs", "a", "b"), ("expire", "k", "10"), ("hset", "h", "f", "v"), ("getex", "k", "PERSIST"),
    ("exists", "a", "b", "c"), ("touch", "a"), ("unlink", "a", "b"), ("ping",), ("config", "get", "x"),
    ("config", "nosuch"), ("nosuch", "a"), ("get",), ("get", "a", "b"), ("GET", "k"), ("config|get", "x"),
    ("command", "info"), ("publish", "c", "m"),
]


@pytest.mark.parametrize("args", GETKEYS_CASES, ids=" ".join)
def test_getkeys_and_getkeysandflags_are_redis_s(args, both):
    both.check("COMMAND", "GETKEYS", *args)
    both.check("COMMAND", "GETKEYSANDFLAGS", *args)


def test_a_renamed_command_is_found_by_its_new_name_and_shown_by_its_own(tmp_path):
    from conftest import start_ours, start_real_redis
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    ours = start_ours(tmp_path / "ours", "--rename-command", "GET", "FETCH")
    redis = start_real_redis(tmp_path / "redis", "--rename-command", "GET", "FETCH")
    try:
        with Pair(ours.port, redis.port) as pair:
            pair.check_sequence([("COMMAND", "GETKEYS", "fetch", "k"), ("COMMAND", "GETKEYS", "get", "k"),
                                 ("COMMAND", "INFO", "fetch", "get"), ("COMMAND", "DOCS", "fetch", "get"),
                                 ("COMMAND", "LIST", "FILTERBY", "PATTERN", "get"),
                                 ("COMMAND", "LIST", "FILTERBY", "PATTERN", "fetch")])
    finally:
        ours.stop()
        redis.stop()


# ------------------------------------------------------------------ the metadata and the rows


def _rows():
    for command in TABLE.values():
        yield command
        yield from command.subcommands.values()


@pytest.mark.parametrize("command", list(_rows()), ids=lambda command: command.name)
def test_every_served_command_has_metadata_that_agrees_with_its_row(command):
    """Run tools/command_metadata.py when this fails for a new command."""
    assert command.name in METADATA, "no metadata for %s: run tools/command_metadata.py" % command.name
    info = METADATA[command.name]["info"]
    assert info["arity"] == command.arity
    if not command.subcommands:
        assert set(command.flags) - ROW_ONLY_FLAGS == set(info["flags"]), command.name
        assert (command.first_key, command.last_key, command.step) == \
            (info["first_key"], info["last_key"], info["step"])


def _check_argument(argument):
    """redis-cli 7.0 asserts on these, and dereferences `type` and a group's `arguments` unchecked."""
    assert isinstance(argument["name"], str) and argument["name"]
    assert argument["type"] in ("key", "string", "integer", "unix-time", "pattern", "pure-token", "oneof",
                                "block", "double")
    assert set(argument.get("flags", [])) <= {"optional", "multiple", "multiple_token"}
    assert bool(argument.get("arguments")) == (argument["type"] in ("oneof", "block"))
    assert ("token" in argument) >= (argument["type"] == "pure-token")
    for member in argument.get("arguments", []):
        _check_argument(member)


def test_every_command_s_docs_are_what_redis_cli_can_read():
    """Its hints and help come from COMMAND DOCS: the entries Redis 7.0 lacks are ours, check them all."""
    for name, entry in METADATA.items():
        assert entry["docs"]["summary"], name
        for argument in entry["docs"].get("arguments", []):
            _check_argument(argument)


# ------------------------------------------------------------------ redis-cli, which reads COMMAND DOCS


def redis_cli_transcript(port, lines, width=200):
    """What an interactive redis-cli prints (help, hints as it is typed) for lines typed into a terminal."""
    import os
    import pty
    import select
    import shutil
    import signal
    pid, terminal = pty.fork()
    if pid == 0:
        os.execv(shutil.which("redis-cli"), ["redis-cli", "-p", str(port)])
    output, queries = b"", 0

    def read_until_quiet(deadline=5.0):
        nonlocal output, queries
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            ready, _, _ = select.select([terminal], [], [], 0.3)
            if not ready:
                return
            chunk = os.read(terminal, 65536)
            for _ in range(chunk.count(b"\x1b[6n")):  # linenoise asks where the cursor is to learn the width
                queries += 1
                os.write(terminal, b"\x1b[1;%dR" % (1 if queries % 2 else width))
            output += chunk

    try:
        read_until_quiet()
        for line in lines:
            os.write(terminal, line.encode() + b"\r")
            read_until_quiet()
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(terminal)
    return re.sub(rb"\x1b\[\d+C", b"<cursor>", output.replace(str(port).encode(), b"<port>"))  # the port's width


def test_redis_cli_help_and_hints_are_the_ones_it_shows_for_redis(server, real_redis):
    lines = ["help set", "help lmpop", "help client kill", "help command getkeys", "help memory usage",
             "zunionstore d 2 a b WEIGHTS 1 2", "set k v EX 10", "object freq k", "lolwut version"]
    for port in (server.port, real_redis.port):
        with WireClient(port) as client:
            client.call("FLUSHALL")
    ours, theirs = (redis_cli_transcript(port, lines) for port in (server.port, real_redis.port))
    assert b"key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds" in theirs  # help
    assert b"\x1b[0;90;49m [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM|MIN|MAX]\x1b[0m" in theirs  # a hint
    assert ours == theirs


def _as_json(value):
    """A RESP3 reply read by protocol.ReplyReader, as metadata.json holds it."""
    if isinstance(value, dict):
        return {_as_json(name): _as_json(member) for name, member in value.items()}
    if isinstance(value, (list, set, tuple)):
        return [_as_json(member) for member in value]
    return value.decode() if isinstance(value, bytes) else value


@pytest.mark.parametrize("argv", [
    ("xread", "STREAMS", "a", "b", "0", "0"), ("xread", "COUNT", "2", "STREAMS", "a", "0"),
    ("xread", "STREAMS", "a", "b", "c", "1", "2", "3"), ("xreadgroup", "GROUP", "g", "c", "STREAMS", "s", ">"),
    ("xread", "COUNT", "1", "BLOCK", "0", "streams", "x", "y", "0", "0"), ("xread", "STREAMS"),
    ("xread", "COUNT", "1", "STREAMS", "a"),
])
def test_keyword_key_specs_find_the_keys_redis_finds(argv, real_redis):
    """No served command begins its keys at a keyword yet: check the search on Redis's XREAD specs."""
    import socket
    from commands.introspection import InvalidSpec, _spec_keys
    from protocol import ReplyReader, encode_command
    with socket.create_connection(("127.0.0.1", real_redis.port), timeout=5) as sock:
        reader, replies = ReplyReader(), []
        sock.sendall(encode_command(["HELLO", "3"]) + encode_command(["COMMAND", "INFO", argv[0]]) +
                     encode_command(["COMMAND", "GETKEYS", *argv]))
        while len(replies) < 3:
            reader.feed(sock.recv(65536))
            replies.extend(reader.frames())
    specs = _as_json(replies[1][0][8])
    found = []
    try:
        for spec in specs:
            found.extend(argv[position].encode() for position, _ in _spec_keys(spec, list(map(str.encode, argv))))
    except InvalidSpec:
        found = []
    expected = replies[2] if isinstance(replies[2], list) else []
    assert found == expected
