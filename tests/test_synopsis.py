"""The synopsis parser behind COMMAND DOCS `arguments`, on its own and against real Redis 7.0."""
import socket

import pytest

from commands.admin import _summary
from commands.families import build_table
from commands.synopsis import SynopsisError, arguments
from protocol import ReplyReader, ReplyWriter, encode_command

SET_SYNOPSIS = ("SET key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|"
                "PXAT unix-time-milliseconds|KEEPTTL]")

# Redis 7.0's own synopses (redis-cli's help.h) for commands whose docs we compare with Redis's.
REDIS_SYNOPSES = {
    "get": "GET key",
    "mget": "MGET key [key ...]",
    "mset": "MSET key value [key value ...]",
    "set": SET_SYNOPSIS,
    "echo": "ECHO message",
    "select": "SELECT index",
    "ping": "PING [message]",
}
# Names Redis gives its oneofs that no synopsis spells out.
REDIS_ONLY_NAMES = {"set": {b"condition", b"expiration"}}


def wire(value):
    """A reply as a client sees it after RESP3: written by our writer, read back by the reader."""
    writer = ReplyWriter(protocol=3)
    writer.write(value)
    reader = ReplyReader()
    reader.feed(writer.take())
    return next(reader.frames())


def parse(synopsis, command="x"):
    return wire(arguments(synopsis, command))


def arg(name, kind, token=None, flags=(), members=(), key_spec_index=None):
    """An expected argument map, with only the fields Redis would send."""
    expected = {b"name": name.encode(), b"type": kind.encode()}
    if key_spec_index is not None:
        expected[b"key_spec_index"] = key_spec_index
    if token:
        expected[b"token"] = token.encode()
    if flags:
        expected[b"flags"] = {flag.encode() for flag in flags}
    if members:
        expected[b"arguments"] = list(members)
    return expected


def hint(argument_maps):
    """The parameter line redis-cli 7.0 builds from COMMAND DOCS arguments (its cliAddArgument)."""
    return " ".join(_hint(argument) for argument in argument_maps)


def _hint(argument):
    kind, flags = argument[b"type"], argument.get(b"flags", set())
    token = argument.get(b"token", b"").decode()
    if kind == b"oneof":
        repeated = "|".join(_hint(member) for member in argument[b"arguments"])
    elif kind == b"block":
        repeated = hint(argument[b"arguments"])
    else:
        repeated = "" if kind == b"pure-token" else argument[b"name"].decode()
    if token and kind != b"pure-token":
        token += " "
    text = token + repeated
    if b"multiple" in flags:
        text += " [%s%s ...]" % (token if b"multiple_token" in flags else "", repeated)
    return "[%s]" % text if b"optional" in flags else text


# ------------------------------------------------------------------ the parser on its own


def test_plain_names_are_strings_and_key_is_a_key():
    assert parse("ECHO message") == [arg("message", "string")]
    assert parse("GET key") == [arg("key", "key", key_spec_index=0)]


def test_names_redis_types_as_numbers():
    assert parse("SELECT index") == [arg("index", "integer")]
    assert parse("X seconds milliseconds count protover client-id") == \
        [arg(name, "integer") for name in ("seconds", "milliseconds", "count", "protover", "client-id")]
    assert parse("X unix-time-seconds") == [arg("unix-time-seconds", "unix-time")]


def test_brackets_make_an_argument_optional():
    assert parse("PING [message]") == [arg("message", "string", flags=["optional"])]
    assert parse("AUTH [username] password") == [arg("username", "string", flags=["optional"]),
                                                 arg("password", "string")]


def test_a_lone_uppercase_word_is_a_pure_token():
    assert parse("X [GET]") == [arg("get", "pure-token", "GET", ["optional"])]


def test_alternatives_are_a_oneof_named_after_its_members():
    assert parse("FLUSHDB [ASYNC|SYNC]") == [
        arg("async_sync", "oneof", flags=["optional"],
            members=[arg("async", "pure-token", "ASYNC"), arg("sync", "pure-token", "SYNC")])]


def test_a_token_followed_by_a_name_is_that_name_with_a_token():
    assert parse("X [SETNAME clientname]") == [arg("clientname", "string", "SETNAME", ["optional"])]


def test_alternatives_bind_looser_than_token_value_pairs():
    assert parse("X [EX seconds|KEEPTTL]") == [
        arg("seconds_keepttl", "oneof", flags=["optional"],
            members=[arg("seconds", "integer", "EX"), arg("keepttl", "pure-token", "KEEPTTL")])]


def test_a_token_before_a_chain_of_words_takes_the_chain_as_its_value():
    assert parse("X [TYPE NORMAL|MASTER]") == [
        arg("normal_master", "oneof", "TYPE", ["optional"],
            [arg("normal", "pure-token", "NORMAL"), arg("master", "pure-token", "MASTER")])]
    assert parse("X [SKIPME yes|no]") == [
        arg("yes_no", "oneof", "SKIPME", ["optional"], [arg("yes", "string"), arg("no", "string")])]


def test_angle_brackets_group_without_making_optional():
    assert parse("X <LIB-NAME libname | LIB-VER libver>") == [
        arg("libname_libver", "oneof", members=[arg("libname", "string", "LIB-NAME"),
                                                arg("libver", "string", "LIB-VER")])]


def test_an_ellipsis_repeats_the_argument_before_it():
    assert parse("INFO [section ...]") == [arg("section", "string", flags=["optional", "multiple"])]
    assert parse("X [ID client-id ...]") == [arg("client-id", "integer", "ID", ["optional", "multiple"])]


def test_a_name_then_its_optional_repetition_is_one_repeated_argument():
    assert parse("MGET key [key ...]") == [arg("key", "key", flags=["multiple"], key_spec_index=0)]


def test_a_token_and_its_value_then_the_repeated_value_is_one_argument_with_the_token_once():
    assert parse("X [ID client-id [client-id ...]]") == parse("X [ID client-id ...]")


def test_a_repeated_token_and_value_is_multiple_token():
    assert parse("SORT [GET pattern [GET pattern ...]]") == [
        arg("pattern", "pattern", "GET", ["optional", "multiple", "multiple_token"])]


def test_an_ellipsis_closing_a_group_repeats_the_whole_group():
    assert parse("X [field value ...]") == [
        arg("field_value", "block", flags=["optional", "multiple"],
            members=[arg("field", "string"), arg("value", "string")])]
    assert parse("MSET key value [key value ...]") == [
        arg("key_value", "block", flags=["multiple"],
            members=[arg("key", "key", key_spec_index=0), arg("value", "string")])]


def test_nested_brackets_nest_blocks_and_a_leading_token_goes_on_the_block():
    assert parse("HELLO [protover [AUTH username password] [SETNAME clientname]]") == [
        arg("protover_username_password_clientname", "block", flags=["optional"], members=[
            arg("protover", "integer"),
            arg("username_password", "block", "AUTH", ["optional"],
                [arg("username", "string"), arg("password", "string")]),
            arg("clientname", "string", "SETNAME", ["optional"])])]


def test_a_command_with_no_arguments_has_none():
    assert parse("DBSIZE", "dbsize") == []
    assert parse("CLIENT", "client") == []
    assert parse("CLIENT|KILL", "client|kill") == []


def test_the_command_words_are_skipped_whatever_their_spelling():
    assert parse("CLIENT SETNAME connection-name", "client|setname") == [arg("connection-name", "string")]
    assert parse("DEL key [key ...]", "delete") == parse("DELETE key [key ...]", "delete")


def test_a_restated_command_name_after_a_bar_is_dropped():
    assert parse("CLIENT KILL ip:port | CLIENT KILL [ID client-id]", "client|kill") == \
        parse("CLIENT KILL ip:port|[ID client-id]", "client|kill") == [
            arg("ip:port_client-id", "oneof", members=[
                arg("ip:port", "string"), arg("client-id", "integer", "ID", ["optional"])])]


def test_commentary_after_the_synopsis_is_ignored():
    assert parse("FLUSH -- the seed's command: empty the database", "flush") == []
    assert parse("X [GET]  (as Redis 7.2)") == [arg("get", "pure-token", "GET", ["optional"])]


def test_keys_are_numbered_in_order():
    assert parse("X key [value] key") == [arg("key", "key", key_spec_index=0),
                                          arg("value", "string", flags=["optional"]),
                                          arg("key", "key", key_spec_index=1)]


@pytest.mark.parametrize("synopsis", [
    "X [key", "X key]", "X <key]", "X [a|]", "X |a", "X ... key", "X []", "X [a] ]",
])
def test_malformed_synopses_are_refused(synopsis):
    with pytest.raises(SynopsisError):
        arguments(synopsis, "x")


@pytest.mark.parametrize("command, synopsis", [
    ("get", "GET key"), ("mget", "MGET key [key ...]"), ("mset", "MSET key value [key value ...]"),
    ("set", SET_SYNOPSIS), ("ping", "PING [message]"), ("flushall", "FLUSHALL [ASYNC|SYNC]"),
    ("hello", "HELLO [protover [AUTH username password] [SETNAME clientname]]"),
    ("client|list", "CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]"),
    ("config|set", "CONFIG SET parameter value [parameter value ...]"),
    ("auth", "AUTH [username] password"), ("sort", "SORT key [GET pattern [GET pattern ...]]"),
])
def test_redis_cli_shows_the_synopsis_back_as_the_hint(command, synopsis):
    parameters = synopsis.split(None, command.count("|") + 1)[-1]
    assert hint(parse(synopsis, command)) == parameters


def _every_command():
    for command in build_table().values():
        yield command
        yield from command.subcommands.values()


@pytest.mark.parametrize("command", list(_every_command()), ids=lambda command: command.name)
def test_every_command_docstring_gives_arguments_redis_cli_can_read(command):
    """redis-cli 7.0 asserts on these, and dereferences `type` and a group's `arguments` unchecked."""
    def check(argument):
        assert isinstance(argument[b"name"], bytes) and argument[b"name"]
        assert argument[b"type"] in (b"key", b"string", b"integer", b"unix-time", b"pattern",
                                     b"pure-token", b"oneof", b"block", b"double")
        assert argument.get(b"flags", set()) <= {b"optional", b"multiple", b"multiple_token"}
        assert bool(argument.get(b"arguments")) == (argument[b"type"] in (b"oneof", b"block"))
        assert (b"token" in argument) >= (argument[b"type"] == b"pure-token")
        for member in argument.get(b"arguments", []):
            check(member)
    for argument in parse(_summary(command).decode(), command.name):
        check(argument)


# ------------------------------------------------------------------ against real Redis 7.0


def exchange(sock, *argv):
    """Send one command and return its reply, raw and parsed."""
    sock.sendall(encode_command(argv))
    reader, raw = ReplyReader(), b""
    while True:
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        raw += chunk
        reader.feed(chunk)
        for reply in reader.frames():
            return raw, reply


@pytest.fixture(scope="module")
def redis_docs(real_redis):
    with socket.create_connection(("127.0.0.1", real_redis.port), timeout=5) as sock:
        exchange(sock, "HELLO", "3")
        return exchange(sock, "COMMAND", "DOCS", *REDIS_SYNOPSES)[1]


def assert_same_shape(ours, theirs, renamed):
    """Same types, tokens, flags, key indexes and nesting; names too unless Redis renamed them."""
    assert len(ours) == len(theirs)
    for mine, real in zip(ours, theirs):
        if real[b"name"] not in renamed:
            assert mine[b"name"] == real[b"name"]
        for field in (b"type", b"token", b"key_spec_index", b"flags"):
            assert mine.get(field) == real.get(field), (field, mine, real)
        assert_same_shape(mine.get(b"arguments", []), real.get(b"arguments", []), renamed)


@pytest.mark.parametrize("command", REDIS_SYNOPSES)
def test_parsed_synopsis_matches_redis_command_docs(command, redis_docs):
    ours = parse(REDIS_SYNOPSES[command], command)
    theirs = redis_docs[command.encode()][b"arguments"]
    assert_same_shape(ours, theirs, REDIS_ONLY_NAMES.get(command, set()))
    assert hint(ours) == hint(theirs)


@pytest.mark.parametrize("protocol", ["2", "3"])
@pytest.mark.parametrize("command", ["get", "mget"])
def test_our_command_docs_sends_the_arguments_redis_sends_byte_for_byte(command, protocol, server, real_redis):
    """The arguments field closes the reply for these commands on both servers, so compare the tails."""
    tails = []
    for port in (server.port, real_redis.port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            exchange(sock, "HELLO", protocol)
            raw = exchange(sock, "COMMAND", "DOCS", command)[0]
        tails.append(raw[raw.index(b"$9\r\narguments\r\n"):])
    assert tails[0] == tails[1]
