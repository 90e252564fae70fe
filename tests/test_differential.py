"""Every command of the first milestone against real Redis 7.0.15: the same requests, the same bytes back.

The hand-written sequences come first, family by family, valid and invalid
arguments side by side; a hypothesis test at the end throws random
sequences of the same commands at both servers. The `pair` fixture
(conftest.py) gives fresh connections to both, emptied by FLUSHALL.
"""
import os

import pytest
from hypothesis import given, settings, strategies as st

from differential import (Pair, WireClient, mask_client_id, mask_digit_bulks, mask_integer, reply_end,
                          unordered_pairs)

ALL_BYTES = bytes(range(256))


# ------------------------------------------------------------------ the harness itself

RESP_REPLIES = [
    b"+OK\r\n", b"-ERR x\r\n", b":-12\r\n", b"$0\r\n\r\n", b"$4\r\na\r\nb\r\n", b"$-1\r\n", b"*-1\r\n",
    b"*0\r\n", b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n", b"_\r\n", b",1.5\r\n", b"#t\r\n", b"(123\r\n",
    b"=7\r\ntxt:a\r\n\r\n", b"!3\r\nERR\r\n", b"%1\r\n+k\r\n~2\r\n:1\r\n:2\r\n", b">2\r\n+a\r\n+b\r\n",
    b"|1\r\n+key\r\n+value\r\n:7\r\n",
]


@pytest.mark.parametrize("reply", RESP_REPLIES)
def test_reply_end_finds_where_each_reply_ends(reply):
    assert reply_end(reply + b"+NEXT\r\n") == len(reply)
    assert all(reply_end(reply[:cut]) is None for cut in range(len(reply)))


# ------------------------------------------------------------------ strings


def test_get_and_set(pair):
    pair.check_sequence([
        ("GET", "k"), ("SET", "k", "v"), ("GET", "k"), ("SET", "k", "other"), ("GET", "k"),
        ("SET", "", ""), ("GET", ""), ("SET", "n", "12"), ("GET", "n"),
        ("GET",), ("GET", "a", "b"), ("SET",), ("SET", "k"),
    ])


def test_set_options_redis_also_rejects(pair):
    """Malformed options are syntax errors (the options themselves belong to the strings tests)."""
    pair.check("SET", "k", "v")
    pair.check_sequence([
        ("SET", "k", "v", "foo"), ("SET", "k", "v", "EX"), ("SET", "k", "v", "PX"),
        ("SET", "k", "v", "NX", "XX"), ("SET", "k", "v", "1", "2", "3"), ("GET", "k"),
    ])


def test_mget_and_mset(pair):
    pair.check_sequence([
        ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "nokey", "a"), ("MGET", "nokey"),
        ("MSET", "a", "x", "a", "y"), ("GET", "a"),
        ("MGET",), ("MSET",), ("MSET", "a"), ("MSET", "a", "1", "b"), ("GET", "b"),
    ])


# ------------------------------------------------------------------ keys


def test_del_and_exists_count_keys_as_named(pair):
    """EXISTS counts a key each time it is named; DEL counts each key it removed once."""
    pair.check_sequence([
        ("MSET", "a", "1", "b", "2"),
        ("EXISTS", "a"), ("EXISTS", "a", "a", "nokey"), ("EXISTS", "nokey"),
        ("DEL", "a", "a", "nokey"), ("DEL", "a"), ("EXISTS", "a", "b", "b"),
        ("EXISTS",), ("DEL",),
    ])


def test_dbsize(pair):
    pair.check_sequence([
        ("DBSIZE",), ("MSET", "a", "1", "b", "2"), ("DBSIZE",), ("DEL", "a"), ("DBSIZE",),
        ("DBSIZE", "x"),
    ])


@pytest.mark.parametrize("mode", [(), ("ASYNC",), ("SYNC",), ("async",), ("sync",)])
def test_flushdb_empties_only_the_selected_database(pair, mode):
    pair.check_sequence([
        ("SET", "a", "0"), ("SELECT", "1"), ("SET", "a", "1"), ("FLUSHDB", *mode), ("DBSIZE",),
        ("SELECT", "0"), ("DBSIZE",), ("GET", "a"),
    ])


@pytest.mark.parametrize("mode", [(), ("ASYNC",), ("SYNC",), ("Async",)])
def test_flushall_empties_every_database(pair, mode):
    pair.check_sequence([
        ("SET", "a", "0"), ("SELECT", "15"), ("SET", "a", "15"), ("FLUSHALL", *mode), ("DBSIZE",),
        ("SELECT", "0"), ("DBSIZE",),
    ])


@pytest.mark.parametrize("command", ["FLUSHDB", "FLUSHALL"])
def test_flush_rejects_bad_modes(pair, command):
    pair.check("SET", "a", "1")
    pair.check_sequence([
        (command, "bad"), (command, ""), (command, "async", "sync"), (command, "sync", "sync"),
        (command, "ASYNC", "x"), ("DBSIZE",),
    ])


def test_select(pair):
    pair.check_sequence([
        ("SET", "k", "db0"), ("SELECT", "15"), ("GET", "k"), ("SET", "k", "db15"),
        ("SELECT", "0"), ("GET", "k"), ("SELECT", "15"), ("GET", "k"),
        ("SELECT", "16"), ("SELECT", "-1"), ("SELECT", "a"), ("SELECT", "01"), ("SELECT", "+1"),
        ("SELECT", " 1"), ("SELECT", "1.0"), ("SELECT", ""), ("SELECT", "0x1"),
        ("SELECT", "99999999999999999999"), ("GET", "k"),
        ("SELECT",), ("SELECT", "1", "2"),
    ])


@pytest.mark.parametrize("index", ["2147483647", "-2147483648", "2147483648", "-2147483649",
                                   "4294967296", "9223372036854775807"])
def test_select_beyond_32_bits(pair, index):
    """Redis reads the index as a C int: past that range it names the range."""
    pair.check("SELECT", index)


# ------------------------------------------------------------------ connection


def test_ping_and_echo(pair):
    pair.check_sequence([
        ("PING",), ("PING", "hello"), ("PING", ""), ("PING", b"\x00\r\n\xff"), ("PING", "a", "b"),
        ("ECHO", "hello"), ("ECHO", ""), ("ECHO", b"\x00\r\n\xff"), ("ECHO",), ("ECHO", "a", "b"),
        ("ping",), ("Echo", "x"),
    ])


def test_unknown_commands_quote_their_arguments(pair):
    """The error quotes the name and up to 128 bytes of arguments; CR and LF become spaces, NUL ends one."""
    pair.check_sequence([
        ("NOSUCH",), ("nosuch", "a", "b"), ("NOSUCH", b"a\r\nb", b"\x00x", b"\xff\xfe"),
        ("x" * 300,), ("NOSUCH", "y" * 200), ("NOSUCH", "a" * 100, "b" * 100, "c"),
        ("NOSUCH", *["abc"] * 40), ("NOSUCH", "a" * 126), ("NOSUCH", "a" * 125, "b"),
        ("NOSUCH", "a" * 122, "bcdefgh"), (b"A\r\nB",), (b"\x00GET", "k"), (b"",), (b"", b""),
        ("GET\r\n", "k"), (b"\xc3\xa9", b"\xe2\x82\xac"), ("NOSUCH", b"a%sb%d"),
        ("NOSUCH", "'quoted'"), ("NOSUCH", b"\x00"), ("NOSUCH", b"", b"x"),
    ])


def test_seed_commands_exist_only_here(server, real_redis):
    """FLUSH and DELETE come from the seed design: ours answers them, Redis does not know them."""
    redis_client, ours = WireClient(real_redis.port), WireClient(server.port)
    try:
        assert redis_client.call("DELETE", "k") == b"-ERR unknown command 'DELETE', with args beginning with: 'k' \r\n"
        assert redis_client.call("FLUSH") == b"-ERR unknown command 'FLUSH', with args beginning with: \r\n"
        ours.call("SELECT", "7")
        ours.call("MSET", "seed:a", "1", "seed:b", "2", "seed:c", "3")
        assert ours.call("DELETE", "seed:a", "seed:nothing") == b":1\r\n"
        assert ours.call("FLUSH") == b":2\r\n"
        assert ours.call("DBSIZE") == b":0\r\n"
        assert ours.call("FLUSH", "x") == b"-ERR wrong number of arguments for 'flush' command\r\n"
        assert ours.call("DELETE") == b"-ERR wrong number of arguments for 'delete' command\r\n"
    finally:
        redis_client.close()
        ours.close()


def test_wrong_arity_whatever_the_arguments(pair):
    pair.check_sequence([
        ("GET", "a" * 300, "b"), ("GET", b"\r\n", b"\x00"), ("ECHO", b"\xff" * 1000, ""),
        ("SET", b"\r\n"), ("DBSIZE", "x" * 70000), ("MSET", b"\x00", b"\x00", b"\x00"),
        ("SELECT", "0", b"\r\n"), ("TIME", b"\x00"),
    ])


def test_hello_protocol_versions(pair):
    pair.check_sequence([
        ("HELLO",), ("HELLO", "2"), ("HELLO", "4"), ("HELLO", "1"), ("HELLO", "0"), ("HELLO", "-1"),
        ("HELLO", "foo"), ("HELLO", "02"), ("HELLO", ""), ("HELLO", "99999999999999999999"),
        ("HELLO", "2147483650"), ("HELLO", "3"), ("HELLO",), ("HELLO", "2"), ("HELLO",),
    ], normalise=mask_client_id)


def test_hello_options(pair):
    pair.check_sequence([
        ("HELLO", "2", "foo"), ("HELLO", "2", "AUTH"), ("HELLO", "2", "AUTH", "default"),
        ("HELLO", "2", "AUTH", "default", "pw"), ("HELLO", "2", "auth", "default", ""),
        ("HELLO", "2", "AUTH", "bob", "pw"), ("HELLO", "AUTH", "default", "pw"),
        ("HELLO", "2", "SETNAME"), ("HELLO", "2", "SETNAME", "a b"), ("HELLO", "2", "SETNAME", "\xe9"),
        ("HELLO", "3", "SETNAME", "x", "extra"), ("HELLO", "4", "SETNAME", "bad name"),
        ("HELLO", "2", "AUTH", "bob", "pw", "SETNAME", "bad name"),
        ("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "named"), ("CLIENT", "GETNAME"),
        ("HELLO", "2", "SETNAME", ""), ("CLIENT", "GETNAME"),
        ("HELLO", "2", "setname", "a", "setname", "b"), ("CLIENT", "GETNAME"),
    ], normalise=mask_client_id)


@pytest.mark.parametrize("options", [
    ("SETNAME", "bad name", "AUTH", "bob", "pw"),
    ("SETNAME", "bad name", "foo"),
    ("SETNAME", "bad name", "SETNAME", "ok"),
    ("AUTH", "bob", "pw", "foo"),
    ("AUTH", "bob", "pw", "AUTH", "default", "pw"),
])
def test_hello_checks_each_option_as_it_reads_it(pair, options):
    """Redis authenticates at AUTH and validates the name at SETNAME, before reading further."""
    pair.check("HELLO", "2", *options, normalise=mask_client_id)
    pair.check("CLIENT", "GETNAME")


@pytest.mark.parametrize("command", [
    ("HELLO", "2", b"a\x00b"), ("HELLO", "2", b"a\r\nb"), ("HELLO", "2", b"\xff"), ("HELLO", "2", "x" * 300),
    ("CONFIG", "SET", b"no\x00such", "1"), ("CONFIG", "SET", b"no\r\nsuch", "1"), ("CONFIG", "SET", "x" * 300, "1"),
])
def test_errors_quote_arguments_as_c_strings(pair, command):
    """Redis prints an argument with %s: it ends at a NUL, and CR or LF become spaces to keep one line."""
    pair.check(*command)
    pair.check("PING")


def test_client_setname_and_getname(pair):
    pair.check_sequence([
        ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "a"), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "a b"), ("CLIENT", "SETNAME", "a\nb"), ("CLIENT", "SETNAME", b"\x00"),
        ("CLIENT", "SETNAME", b"\x7f"), ("CLIENT", "SETNAME", b"\xc3\xa9"), ("CLIENT", "GETNAME"),
        ("client", "SetName", "~!@#$%^&*()_+{}|:<>?"), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", "x" * 300), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME", ""), ("CLIENT", "GETNAME"),
        ("CLIENT", "SETNAME"), ("CLIENT", "SETNAME", "x", "y"), ("CLIENT", "GETNAME", "x"),
    ])


def test_client_id_and_unknown_subcommands(pair):
    pair.check("CLIENT", "ID", normalise=mask_integer)
    pair.check_sequence([
        ("CLIENT", "ID", "x"), ("CLIENT", "id", "x", "y"), ("CLIENT",),
        ("CLIENT", "nosuch"), ("CLIENT", "nosuch", "a", "b"), ("CLIENT", b"no\r\nsuch"),
        ("CLIENT", "x" * 300), ("CLIENT", b"a\x00b"), ("CLIENT", ""), ("CLIENT", "HELP", "x"),
    ])


def test_auth_without_a_password_configured(pair):
    pair.check_sequence([
        ("AUTH", "pw"), ("AUTH", ""), ("AUTH", "default", "pw"),
        ("AUTH", "default", ""), ("AUTH", "bob", "pw"), ("AUTH", "a", "b", "c"), ("AUTH",),
    ])


@pytest.mark.parametrize("command", [("AUTH", "DEFAULT", "pw"), ("HELLO", "2", "AUTH", "Default", "pw")])
def test_user_names_are_case_sensitive(pair, command):
    pair.check(*command, normalise=mask_client_id)


def test_quit_replies_then_closes(pair):
    pair.check("SET", "k", "v")
    pair.check("QUIT")
    pair.check_closed()


def test_quit_ignores_arguments_and_what_follows(pair):
    pair.check_pipeline([("PING",), ("QUIT", "x", "y"), ("SET", "k", "v")])
    pair.check_closed()
    pair.reconnect()
    pair.check("GET", "k")


def test_reset_returns_to_a_fresh_connection(pair):
    pair.check_sequence([
        ("SELECT", "3"), ("SET", "k", "db3"), ("CLIENT", "SETNAME", "named"),
        ("HELLO", "3"), ("RESET",), ("CLIENT", "GETNAME"), ("GET", "k"), ("DBSIZE",),
        ("RESET", "x"), ("reset",),
    ], normalise=mask_client_id)


# ------------------------------------------------------------------ server


def test_config_get(pair):
    pair.check_sequence([
        ("CONFIG", "GET", "save"), ("CONFIG", "GET", "appendonly"), ("CONFIG", "GET", "nosuch"),
        ("CONFIG", "GET", "databases"), ("CONFIG", "GET", "proto-max-bulk-len"),
        ("CONFIG", "GET", "sav?"), ("CONFIG", "GET", "appendonl*"), ("CONFIG", "GET", "sAvE*"),
        ("CONFIG", "GET", "*max-bulk*"), ("CONFIG", "GET", ""),
        ("CONFIG", "GET", "appendonly", "appendonly"),
        ("CONFIG",), ("CONFIG", "GET"), ("CONFIG", "nosuch"), ("CONFIG", "nosuch", "a"),
    ])


def test_config_get_of_several_parameters(pair):
    """Redis's order comes from a randomly seeded dict, so only the pairs are compared."""
    for protocol in ("2", "3"):
        pair.check("HELLO", protocol, normalise=mask_client_id)
        pair.check_sequence([
            ("CONFIG", "GET", "save", "appendonly"), ("CONFIG", "GET", "appendonly", "nosuch", "save"),
            ("CONFIG", "GET", "databases", "save", "appendonly", "databases"),
        ], normalise=unordered_pairs)


def test_config_get_answers_with_the_name_as_asked(pair):
    pair.check_sequence([("CONFIG", "GET", "SAVE"), ("CONFIG", "GET", "Appendonly")])


def test_config_set_errors(pair):
    pair.check_sequence([
        ("CONFIG", "SET"), ("CONFIG", "SET", "x"), ("CONFIG", "SET", "nosuch", "1"),
        ("CONFIG", "SET", "nosuch", "1", "other", "2"), ("CONFIG", "SET", "databases", "4"),
        ("CONFIG", "SET", "DATABASES", "16"), ("CONFIG", "SET", "databases", "abc"),
        ("CONFIG", "SET", "proto-max-bulk-len", "abc"), ("CONFIG", "SET", "proto-max-bulk-len", "-1"),
        ("CONFIG", "SET", "proto-max-bulk-len", "1x"), ("CONFIG", "SET", "proto-max-bulk-len", "1.5mb"),
        ("CONFIG", "SET", "maxclients", "abc"), ("CONFIG", "SET", "maxclients", ""),
        ("CONFIG", "SET", "maxclients", "1.5"), ("CONFIG", "SET", "maxclients", "+5"),
        ("CONFIG", "GET", "maxclients"), ("CONFIG", "GET", "proto-max-bulk-len"),
    ])


def test_config_set_to_the_current_value(pair):
    """Only values both servers already hold: the servers are shared by the whole session."""
    pair.check_sequence([
        ("CONFIG", "SET", "proto-max-bulk-len", "512mb"), ("CONFIG", "SET", "PROTO-MAX-BULK-LEN", "512MB"),
        ("CONFIG", "SET", "proto-max-bulk-len", "536870912"), ("CONFIG", "GET", "proto-max-bulk-len"),
    ])


@pytest.mark.parametrize("value", ["0", "-1", "99999999999"])
def test_config_set_maxclients_out_of_range(pair, value):
    pair.check("CONFIG", "SET", "maxclients", value)


@pytest.fixture
def restore_proto_max_bulk_len(server, real_redis):
    """Put proto-max-bulk-len back to 512mb on both after a test that may have changed it.

    Inline, because a tiny limit would refuse the bulk strings of a RESP request.
    """
    yield
    for port in (server.port, real_redis.port):
        client = WireClient(port)
        client.send_raw(b"CONFIG SET proto-max-bulk-len 536870912\r\n")
        assert client.read_reply() == b"+OK\r\n"
        client.close()


@pytest.mark.usefixtures("restore_proto_max_bulk_len")
@pytest.mark.parametrize("value", ["1", "1k", "", "99999999999999999999999"])
def test_config_set_proto_max_bulk_len_out_of_range(pair, value):
    """Redis takes 1mb up to LLONG_MAX."""
    pair.check("CONFIG", "SET", "proto-max-bulk-len", value)


@pytest.mark.parametrize("arguments", [
    ("maxclients", "10000", "x"),
    ("maxclients", "0", "nosuch", "1"),
    ("proto-max-bulk-len", "512mb", "proto-max-bulk-len", "512mb"),
    ("appendonly", "maybe"),
    ("appendonly", ""),
    ("save", "abc"),
])
def test_config_set_argument_checks(pair, arguments):
    """Every name is checked before any value; an odd count is a syntax error; save and appendonly are mutable."""
    pair.check("CONFIG", "SET", *arguments)


@pytest.mark.parametrize("subcommand", ["HELP", "RESETSTAT", "REWRITE"])
def test_config_other_subcommands_take_no_arguments(pair, subcommand):
    pair.check("CONFIG", subcommand, "x")


def test_time(pair):
    pair.check("TIME", normalise=mask_digit_bulks)
    seconds = [int(client.call("TIME").split(b"\r\n")[2]) for client in (pair.ours, pair.redis)]
    assert abs(seconds[0] - seconds[1]) <= 2
    pair.check_sequence([("TIME", "x"), ("TIME", "x", "y")])


def test_command_count_is_an_integer(pair):
    """Counts differ until every command exists; the reply's type and the arity check do not."""
    pair.check("COMMAND", "COUNT", normalise=mask_integer)
    pair.check_sequence([("COMMAND", "COUNT", "x"), ("COMMAND", "nosuch")])


# ------------------------------------------------------------------ binary safety, RESP3, pipelining


def test_every_byte_value_as_key_and_value(pair):
    single_bytes = [bytes([byte]) for byte in range(256)]
    pair.check_pipeline([("SET", byte, byte * 3) for byte in single_bytes])
    pair.check_pipeline([("GET", byte) for byte in single_bytes])
    pair.check_sequence([
        ("MGET", *single_bytes), ("DBSIZE",), ("EXISTS", *single_bytes),
        ("SET", ALL_BYTES, ALL_BYTES * 4), ("GET", ALL_BYTES), ("MGET", ALL_BYTES, ALL_BYTES[::-1]),
        ("ECHO", ALL_BYTES), ("PING", ALL_BYTES), ("DEL", *single_bytes), ("DBSIZE",),
    ])


def test_large_values(pair):
    big = ALL_BYTES * 4096  # 1 MiB
    pair.check_sequence([("SET", "big", big), ("GET", "big"), ("ECHO", big[:100000]), ("MGET", "big", "big")])


def test_replies_in_resp3(pair):
    pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_sequence([
        ("GET", "nokey"), ("SET", "k", ALL_BYTES), ("GET", "k"), ("MGET", "k", "nokey"),
        ("MSET", "a", "", "b", "2"), ("MGET", "a", "b"), ("EXISTS", "a", "a"), ("DEL", "a"),
        ("DBSIZE",), ("CLIENT", "GETNAME"), ("CLIENT", "SETNAME", "three"), ("CLIENT", "GETNAME"),
        ("CONFIG", "GET", "save"), ("CONFIG", "GET", "nosuch"), ("PING",), ("PING", "x"),
        ("ECHO", ""), ("SELECT", "16"), ("NOSUCH", "x"), ("GET",), ("FLUSHDB",), ("FLUSHALL", "bad"),
        ("AUTH", "pw"), ("AUTH", "bob", "pw"), ("COMMAND", "COUNT", "x"),
    ])
    pair.check("TIME", normalise=mask_digit_bulks)
    pair.check("HELLO", normalise=mask_client_id)
    pair.check("HELLO", "2", normalise=mask_client_id)
    pair.check("GET", "nokey")


def test_pipelined_batch(pair):
    """One send of many commands, errors among them: every reply, in order."""
    batch = []
    for index in range(100):
        key = "key:%d" % (index % 7)
        batch += [("SET", key, str(index)), ("GET", key), ("EXISTS", key, key), ("NOSUCH", key),
                  ("MGET", key, "nokey"), ("GET",), ("DEL", key), ("SELECT", str(index % 17))]
    pair.check_pipeline(batch + [("DBSIZE",)])
    pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_pipeline(batch[:200] + [("CLIENT", "GETNAME")])


def test_one_batch_changes_what_the_next_commands_may_do(pair):
    """State that decides how a command runs (MULTI, WATCH, subscriptions, the protocol) changes
    mid-batch here: each command after the change must see it, as it would in its own send."""
    pair.check_pipeline([
        ("SET", "a", "1"), ("set", "b", "2"), ("SeT", "c", "3"), ("GET", "a"), ("get", "b"), ("gEt", "c"),
        ("SET", "a"), ("GET", "a", "b"), ("get",), ("LPUSH", "l", "x"), ("GET", "l"), ("INCR", "l"),
        ("MULTI",), ("SET", "a", "10"), ("get", "a"), ("GET",), ("EXEC",), ("GET", "a"),
        ("MULTI",), ("SET", "a", "11"), ("DISCARD",), ("GET", "a"),
        ("WATCH", "a"), ("SET", "a", "20"), ("MULTI",), ("GET", "a"), ("EXEC",),
        ("WATCH", "b"), ("UNWATCH",), ("SET", "b", "21"), ("MULTI",), ("GET", "b"), ("EXEC",),
        ("SUBSCRIBE", "news"), ("GET", "a"), ("SET", "a", "30"), ("UNSUBSCRIBE", "news"), ("GET", "a"),
        ("HELLO", "3"), ("HGETALL", "nohash"), ("SET", "h", "v"), ("GET", "h"), ("HELLO", "2"), ("GET", "h"),
        ("SELECT", "1"), ("GET", "a"), ("SET", "a", "db1"), ("SELECT", "0"), ("GET", "a"),
        ("RESET",), ("GET", "a"), ("DBSIZE",),
    ], normalise=mask_client_id)


def test_pipelined_inline_commands(pair):
    pair.check_raw(b'PING\r\nSET k "a b"\r\nGET k\r\nECHO \'x\'\r\nMGET k nokey\nDBSIZE\r\n', replies=6)
    pair.check_raw(b"\r\n\r\nPING\r\n*0\r\nPING\r\n", replies=2)


# ------------------------------------------------------------------ random sequences

EXAMPLES = int(os.environ.get("MINI_REDIS_DIFF_EXAMPLES", "200"))

KEYS = st.sampled_from([b"a", b"b", b"", b"\x00", b"k\r\n", b"\xff"]) | st.binary(max_size=3)
VALUES = st.binary(max_size=8) | st.sampled_from([b"0", b"1", b"2", b"3", b"15", b"16", b"-1", b"01", b"a b"])
WORDS = st.sampled_from([b"NX", b"XX", b"EX", b"GET", b"ASYNC", b"sync", b"AUTH", b"SETNAME", b"default",
                         b"bob", b"2", b"3", b"x"])
ARGUMENTS = KEYS | VALUES | WORDS


def _arguments(strategy, max_size=4, first=None):
    """Lists of 0..max_size arguments, after a `first` one (a subcommand) when given."""
    rest = st.lists(strategy, max_size=max_size)
    if first is None:
        return rest
    return st.tuples(first, rest).map(lambda parts: [parts[0], *parts[1]])


COMMANDS = st.one_of(
    st.tuples(st.just(b"GET"), _arguments(KEYS, 2)),
    st.tuples(st.just(b"SET"), _arguments(ARGUMENTS, 4)),
    st.tuples(st.just(b"MGET"), _arguments(KEYS, 4)),
    st.tuples(st.just(b"MSET"), _arguments(ARGUMENTS, 5)),
    st.tuples(st.sampled_from([b"DEL", b"EXISTS"]), _arguments(KEYS, 4)),
    st.tuples(st.just(b"DBSIZE"), _arguments(ARGUMENTS, 1)),
    st.tuples(st.sampled_from([b"FLUSHDB", b"FLUSHALL"]),
              _arguments(st.sampled_from([b"ASYNC", b"sync", b"bad", b""]), 2)),
    st.tuples(st.just(b"SELECT"), _arguments(st.sampled_from([b"0", b"1", b"15", b"16", b"-1", b"a", b"01"]), 2)),
    st.tuples(st.sampled_from([b"PING", b"ECHO"]), _arguments(VALUES, 2)),
    st.tuples(st.just(b"HELLO"), _arguments(WORDS | VALUES, 4, first=st.sampled_from([b"2", b"3", b"4", b"foo"]))
              | st.just([])),
    st.tuples(st.just(b"CLIENT"),
              _arguments(ARGUMENTS, 2, first=st.sampled_from([b"SETNAME", b"getname", b"ID", b"nosuch"]))
              | st.just([])),
    st.tuples(st.just(b"CONFIG"), _arguments(
        st.sampled_from([b"save", b"appendonly", b"nosuch", b"databases", b"SAVE", b"sav?", b"*max-bulk*"]),
        3, first=st.just(b"GET")) | st.just([])),
    # Never a mutable parameter: a CONFIG SET that worked would change the servers every test shares.
    st.tuples(st.just(b"CONFIG"), _arguments(
        st.sampled_from([b"nosuch", b"databases", b"DATABASES", b"", b"0", b"16", b"a b"]), 4,
        first=st.just(b"SET"))),
    st.tuples(st.sampled_from([b"TIME", b"RESET", b"QUIT"]), _arguments(ARGUMENTS, 1)),
    st.tuples(st.just(b"COMMAND"), _arguments(ARGUMENTS, 1, first=st.just(b"COUNT"))),
    st.tuples(st.just(b"AUTH"), _arguments(st.sampled_from([b"default", b"bob", b"pw", b""]), 3)),
    st.tuples(st.sampled_from([b"NOSUCH", b"get\r\n", b""]), _arguments(ARGUMENTS, 2)),
)


def _normaliser(name, arguments):
    """Masks only what is random by nature: client ids, clocks, Redis's dict order, its command count."""
    subcommand = arguments[0].lower() if arguments else b""
    if name == b"HELLO":
        return mask_client_id
    if name == b"TIME":
        return mask_digit_bulks
    if (name, subcommand) in ((b"CLIENT", b"id"), (b"COMMAND", b"count")):
        return mask_integer
    if (name, subcommand) == (b"CONFIG", b"get"):
        return unordered_pairs
    return None


@settings(max_examples=EXAMPLES, deadline=None)
@given(commands=st.lists(COMMANDS, min_size=1, max_size=20))
def test_random_sequences_match_redis(server, real_redis, commands):
    """Fresh connections and FLUSHALL for each example (so no function-scoped fixture), then every reply."""
    with Pair(server.port, real_redis.port) as pair:
        pair.check("FLUSHALL")
        for name, arguments in commands:
            pair.check(name, *arguments, normalise=_normaliser(name, arguments))
            if name == b"QUIT":
                pair.check_closed()
                pair.reconnect()
