"""Key-space commands (commands/keys.py) and SCAN's cursors (storage/cursors.py), mostly side by side with Redis 7.0.15.

Redis lists keys in hash-table order and we in insertion order, so replies
holding several keys are compared as sets; every other reply must be the
same bytes. Deadlines are set with PEXPIREAT at a fixed far-future time, so
that PEXPIRETIME can be compared exactly on both servers.
"""
import random
import threading
import time
from collections import deque
from types import SimpleNamespace

import pytest
import redis

from commands import keys as key_commands
from differential import WireClient
from storage.cursors import CursorTable, parse_cursor
from storage.keyspace import Keyspace

FAR_FUTURE_MS = 4102444800123  # 2100-01-01T00:00:00.123Z


def connect(port, db=0):
    return redis.Redis(port=port, db=db, socket_timeout=30)


@pytest.fixture(params=["ours", "redis"])
def client(request):
    """A redis-py client to an emptied server: each test taking it runs on ours and on real Redis."""
    server = request.getfixturevalue("server" if request.param == "ours" else "real_redis")
    connection = connect(server.port)
    connection.flushall()
    yield connection
    connection.close()


def scan_all(connection, **options):
    """Every key a full SCAN iteration returns, with the number of calls it took."""
    seen, cursor, calls = [], 0, 0
    while True:
        cursor, names = connection.scan(cursor, **options)
        seen.extend(names)
        calls += 1
        if cursor == 0:
            return seen, calls


# ------------------------------------------------------------------ DEL, UNLINK, EXISTS, TOUCH, TYPE, DBSIZE


def test_del_unlink_delete_count_each_removed_key_once(pair):
    pair.check_sequence([
        ("MSET", "a", "1", "b", "2", "c", "3"),
        ("DEL", "a", "a", "nokey"), ("UNLINK", "b", "b", "nokey"), ("UNLINK", "b"), ("DBSIZE",),
        ("UNLINK",), ("DEL",), ("EXISTS", "c"),
    ])


def test_exists_and_touch_count_a_key_each_time_it_is_named(pair):
    pair.check_sequence([
        ("MSET", "a", "1", "b", "2"),
        ("EXISTS", "a", "a", "b", "nokey", "a"), ("TOUCH", "a", "a", "b", "nokey"), ("TOUCH", "nokey"),
        ("TOUCH",), ("EXISTS",),
    ])


def test_type_and_dbsize(pair):
    pair.check_sequence([
        ("TYPE", "nokey"), ("SET", "s", "v"), ("TYPE", "s"), ("TYPE", "S"), ("DBSIZE",),
        ("TYPE",), ("TYPE", "a", "b"), ("DBSIZE", "x"),
    ])


def test_randomkey(pair):
    pair.check_sequence([("RANDOMKEY",), ("SET", "only", "1"), ("RANDOMKEY",), ("RANDOMKEY", "x")])


def test_randomkey_returns_live_keys(server):
    connection = connect(server.port)
    connection.flushall()
    connection.mset({"k%d" % i: i for i in range(50)})
    picks = {connection.randomkey() for _ in range(300)}
    assert picks <= {b"k%d" % i for i in range(50)}
    assert len(picks) > 10


# ------------------------------------------------------------------ KEYS


KEY_SET = [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h\\llo", b"h*llo", b"h?llo",
           b"key:1", b"key:12", b"key:123", b"KEY:1", b"", b"a" * 50 + b"b", b"\x00\xff", b"-x-", b"[x]"]
PATTERNS = [b"*", b"h?llo", b"h*llo", b"h[ae]llo", b"h[^e]llo", b"h[a-b]llo", b"h[b-a]llo", b"h\\*llo",
            b"h\\?llo", b"h\\\\llo", b"key:*", b"key:?", b"key:[0-9][0-9]", b"*1*", b"", b"?",
            b"a*a*a*a*a*a*a*b", b"*\xff", b"\\[x]", b"[[]x]", b"[-]x[-]", b"nomatch*", b"h[", b"[", b"\\"]


def test_keys_matches_redis_for_every_pattern(pair):
    pair.check("MSET", *[part for name in KEY_SET for part in (name, b"v")])
    for pattern in PATTERNS:
        ours = sorted(parse_array(pair.ours.call("KEYS", pattern)))
        theirs = sorted(parse_array(pair.redis.call("KEYS", pattern)))
        assert ours == theirs, pattern
    pair.check_sequence([("KEYS",), ("KEYS", "*", "x")])


def test_keys_with_a_backtracking_pattern_over_many_keys(server):
    """A naive glob matcher takes exponential time on a*a*a*...b; the reply is what counts here."""
    connection = connect(server.port)
    connection.flushall()
    for batch in range(10):
        connection.mset({b"a" * 40 + b"%d" % index: b"v" for index in range(batch * 10_000, (batch + 1) * 10_000)})
    connection.mset({b"aaaaaaab": b"v", b"a" * 40 + b"b": b"v"})
    assert sorted(connection.keys("a*a*a*a*a*a*a*b")) == [b"a" * 40 + b"b", b"aaaaaaab"]
    assert len(connection.keys("a*a*a*a*a*a*a*a*7")) == 10_000
    connection.flushall()


def test_keys_and_scan_skip_expired_keys(client):
    client.set("live", "1")
    client.set("gone", "1")
    client.pexpire("gone", 1)
    time.sleep(0.05)
    assert client.keys("*") == [b"live"]
    assert scan_all(client)[0] == [b"live"]


# ------------------------------------------------------------------ SCAN


def test_scan_errors_and_argument_order(pair):
    pair.check("SET", "a", "1")
    pair.check_sequence([
        ("SCAN",), ("SCAN", "abc"), ("SCAN", " 1"), ("SCAN", "1 "), ("SCAN", "0x1"), ("SCAN", "+"),
        ("SCAN", "-"), ("SCAN", "18446744073709551616"), ("SCAN", "-18446744073709551616"),
        ("SCAN", "1.5"), ("SCAN", "abc", "foo"),
        ("SCAN", "0", "COUNT", "0"), ("SCAN", "0", "COUNT", "-1"), ("SCAN", "0", "COUNT", "abc"),
        ("SCAN", "0", "COUNT", "99999999999999999999"), ("SCAN", "0", "COUNT"), ("SCAN", "0", "MATCH"),
        ("SCAN", "0", "TYPE"), ("SCAN", "0", "foo"), ("SCAN", "0", "foo", "bar"),
        ("SCAN", "0", "COUNT", "0", "foo", "bar"), ("SCAN", "0", "COUNT", "abc", "COUNT", "0"),
        ("SCAN", "0", "MATCH", "*", "COUNT", "1", "FOO"),
    ])


def test_scan_of_a_small_database_ends_in_one_call(pair):
    """With no more keys than COUNT, both answer every key at once with cursor 0."""
    pair.check_sequence([
        ("SCAN", "0"), ("SET", "a", "1"), ("SCAN", "0"), ("SCAN", "0", "MATCH", "a"),
        ("SCAN", "0", "MATCH", "b*"), ("SCAN", "0", "TYPE", "string"), ("SCAN", "0", "TYPE", "STRING"),
        ("SCAN", "0", "type", "list"), ("SCAN", "0", "TYPE", "nosuchtype"), ("SCAN", "0", "TYPE", "string\0x"),
        ("SCAN", "", "MATCH", "*"), ("SCAN", "0", "MATCH", "*", "MATCH", "z"), ("SCAN", "0", "COUNT", "10"),
    ])


def test_scan_cursors_redis_would_accept_end_the_iteration_cleanly(server):
    """Made-up cursors are not errors: Redis walks from any bucket, we answer 0 and no keys."""
    connection = connect(server.port)
    connection.flushall()
    connection.mset({"k%d" % i: i for i in range(100)})
    for cursor in ("1", "+7", "-1", "18446744073709551615", "123456789012"):
        assert connection.execute_command("SCAN", cursor) == (0, [])


def test_full_scan_returns_every_key_once_when_nothing_changes(client):
    names = {b"key:%d" % i for i in range(2500)}
    client.mset(dict.fromkeys(names, b"v"))
    seen, calls = scan_all(client, count=100)
    assert set(seen) == names
    assert 20 <= calls <= 60
    matched, _ = scan_all(client, match="key:1*", count=500)
    assert set(matched) == {name for name in names if name.startswith(b"key:1")}
    assert scan_all(client, _type="string", count=1000)[0].__len__() == 2500
    assert scan_all(client, _type="hash", count=1000)[0] == []


def test_scan_count_bounds_each_reply(server):
    connection = connect(server.port)
    connection.flushall()
    connection.mset({"k%d" % i: i for i in range(1000)})
    cursor, names = connection.scan(0, count=7)
    assert cursor != 0 and len(names) == 7
    cursor, names = connection.scan(cursor, count=30)
    assert len(names) == 30
    assert 0 < cursor < 2**64
    seen, calls = scan_all(connection, count=100)
    assert sorted(seen) == sorted(b"k%d" % i for i in range(1000))  # each key exactly once
    assert calls == 10


def test_scan_cursor_works_from_another_connection(client):
    client.mset({"k%d" % i: i for i in range(500)})
    other = redis.Redis(port=client.connection_pool.connection_kwargs["port"])
    seen, cursor, turn = set(), 0, 0
    while True:
        cursor, names = (client, other)[turn % 2].scan(cursor, count=37)
        seen.update(names)
        turn += 1
        if cursor == 0:
            break
    other.close()
    assert seen == {b"k%d" % i for i in range(500)}


def test_scan_guarantee_while_another_client_adds_and_deletes_keys(client):
    """Every key present for the whole iteration comes back, however the rest of the keys churn."""
    stable = {b"stable:%d" % i for i in range(3000)}
    churn = [b"churn:%d" % i for i in range(3000)]
    client.mset(dict.fromkeys(stable, b"v"))
    client.mset(dict.fromkeys(churn, b"v"))
    port = client.connection_pool.connection_kwargs["port"]
    stop = threading.Event()
    errors = []

    def writer():
        other, rng, step = redis.Redis(port=port), random.Random(7), 0
        try:
            while not stop.is_set():
                with other.pipeline(transaction=False) as pipe:
                    for name in rng.sample(churn, 50):
                        pipe.delete(name)
                    for _ in range(50):
                        pipe.set(b"new:%d" % step, b"v")
                        step += 1
                    for name in rng.sample(churn, 50):
                        pipe.set(name, b"again")
                    pipe.execute()
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        seen, cursor = set(), 0
        while True:
            cursor, names = client.scan(cursor, count=25)
            seen.update(names)
            time.sleep(0.0005)
            if cursor == 0:
                break
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert stable <= seen


def test_scan_keeps_its_place_across_flushes_and_deletions(server):
    connection = connect(server.port)
    connection.flushall()
    connection.mset({"k%d" % i: i for i in range(100)})
    cursor, first = connection.scan(0, count=10)
    connection.delete(*["k%d" % i for i in range(50, 100)])
    seen = set(first)
    while cursor:
        cursor, names = connection.scan(cursor, count=10)
        seen.update(names)
    assert {b"k%d" % i for i in range(50)} <= seen
    assert not seen & {b"k%d" % i for i in range(50, 100)} - set(first)
    cursor, _ = connection.scan(0, count=10)
    connection.flushdb()
    assert connection.scan(cursor, count=1000) == (0, [])


# ------------------------------------------------------------------ RENAME and RENAMENX


def test_rename_and_renamenx(pair):
    pair.check_sequence([
        ("RENAME", "nokey", "b"), ("RENAME", "nokey", "nokey"), ("RENAMENX", "nokey", "b"),
        ("SET", "a", "1"), ("RENAME", "a", "a"), ("RENAMENX", "a", "a"), ("GET", "a"),
        ("SET", "b", "2"), ("RENAME", "a", "b"), ("EXISTS", "a"), ("GET", "b"),
        ("RENAMENX", "b", "c"), ("GET", "c"), ("SET", "d", "4"), ("RENAMENX", "c", "d"), ("GET", "c"),
        ("RENAME",), ("RENAME", "c"), ("RENAME", "c", "d", "e"), ("RENAMENX", "c"),
    ])


def test_rename_carries_the_deadline_and_drops_the_destinations(pair):
    pair.check_sequence([
        ("SET", "a", "1"), ("PEXPIREAT", "a", FAR_FUTURE_MS), ("SET", "b", "2"),
        ("PEXPIREAT", "b", FAR_FUTURE_MS + 5000),
        ("RENAME", "a", "b"), ("PEXPIRETIME", "b"), ("PEXPIRETIME", "a"),
        ("SET", "c", "3"), ("PEXPIREAT", "c", FAR_FUTURE_MS), ("RENAME", "b", "c"), ("PEXPIRETIME", "c"),
        ("SET", "p", "persistent"), ("RENAME", "p", "c"), ("PEXPIRETIME", "c"), ("TTL", "c"),
        ("SET", "x", "1"), ("PEXPIREAT", "x", FAR_FUTURE_MS), ("RENAMENX", "x", "y"), ("PEXPIRETIME", "y"),
    ])


def test_rename_of_an_expired_key_is_no_such_key(client):
    client.set("a", "1")
    client.pexpire("a", 1)
    time.sleep(0.02)
    with pytest.raises(redis.ResponseError, match="no such key"):
        client.rename("a", "b")
    assert client.exists("b") == 0


# ------------------------------------------------------------------ COPY


def test_copy_arguments_in_redis_order(pair):
    pair.check_sequence([
        ("SET", "d", "1"),
        ("COPY",), ("COPY", "a"), ("COPY", "d", "d"), ("COPY", "d", "d", "DB", "0"),
        ("COPY", "d", "e", "DB"), ("COPY", "d", "e", "DB", "abc"), ("COPY", "d", "e", "DB", "16"),
        ("COPY", "d", "e", "DB", "-1"), ("COPY", "d", "e", "DB", "99999999999"),
        ("COPY", "d", "e", "DB", "99999999999999999999999"), ("COPY", "d", "e", "foo"),
        ("COPY", "nokey", "nokey"), ("COPY", "nokey", "nokey", "DB", "abc", "foo"),
        ("COPY", "d", "d", "foo"), ("COPY", "d", "e", "foo", "DB", "abc"), ("COPY", "d", "e", "DB", "16", "foo"),
        ("COPY", "nokey", "e"), ("EXISTS", "e"),
    ])


def test_copy_replace_db_and_deadline(pair):
    pair.check_sequence([
        ("SET", "s", "source"), ("PEXPIREAT", "s", FAR_FUTURE_MS), ("SET", "t", "target"),
        ("COPY", "s", "t"), ("GET", "t"), ("COPY", "s", "t", "REPLACE"), ("GET", "t"), ("PEXPIRETIME", "t"),
        ("COPY", "s", "u", "replace", "REPLACE"), ("PEXPIRETIME", "u"),
        ("PERSIST", "s"), ("COPY", "s", "t", "REPLACE"), ("PEXPIRETIME", "t"),
        ("PEXPIREAT", "s", FAR_FUTURE_MS), ("COPY", "s", "s", "DB", "1"), ("COPY", "s", "s", "db", "1"),
        ("COPY", "s", "other", "DB", "1", "REPLACE"),
        ("SELECT", "1"), ("GET", "s"), ("PEXPIRETIME", "s"), ("PEXPIRETIME", "other"), ("DBSIZE",),
        ("SELECT", "0"), ("GET", "s"), ("DBSIZE",),
    ])


def test_copy_makes_an_independent_value():
    """A mutable string (bytearray, as after APPEND) and any container are copied, never shared."""
    keyspace = Keyspace(4)
    session = SimpleNamespace(server=SimpleNamespace(keyspace=keyspace), db=keyspace[0])
    db = keyspace[0]
    db.set(b"raw", bytearray(b"abc"))
    db.set(b"set", {b"x", b"y"})
    db.set(b"hash", {b"f": b"v"})
    db.set(b"list", deque([b"a", b"b"]))
    db.set(b"plain", b"immutable")
    for key in (b"raw", b"set", b"hash", b"list", b"plain"):
        assert key_commands.copy_(session, key, key + b":copy") == 1
        assert key_commands.copy_(session, key, key, b"DB", b"2") == 1
    db.lookup(b"raw").extend(b"def")
    db.lookup(b"set").add(b"z")
    db.lookup(b"hash")[b"g"] = b"w"
    db.lookup(b"list").append(b"c")
    assert db.lookup(b"raw:copy") == bytearray(b"abc") == keyspace[2].lookup(b"raw")
    assert db.lookup(b"set:copy") == {b"x", b"y"} == keyspace[2].lookup(b"set")
    assert db.lookup(b"hash:copy") == {b"f": b"v"} == keyspace[2].lookup(b"hash")
    assert db.lookup(b"list:copy") == deque([b"a", b"b"]) == keyspace[2].lookup(b"list")
    assert db.lookup(b"plain:copy") is db.lookup(b"plain")  # immutable: sharing is copying


# ------------------------------------------------------------------ MOVE


def test_move(pair):
    pair.check_sequence([
        ("SET", "k", "v"), ("PEXPIREAT", "k", FAR_FUTURE_MS),
        ("MOVE",), ("MOVE", "k"), ("MOVE", "k", "abc"), ("MOVE", "k", "16"), ("MOVE", "k", "-1"),
        ("MOVE", "k", "0"), ("MOVE", "nokey", "0"), ("MOVE", "nokey", "1"), ("MOVE", "nokey", "99999999999"),
        ("MOVE", "k", "1"), ("EXISTS", "k"), ("MOVE", "k", "1"),
        ("SELECT", "1"), ("GET", "k"), ("PEXPIRETIME", "k"),
        ("SELECT", "0"), ("SET", "k", "again"), ("MOVE", "k", "1"), ("GET", "k"),
        ("SELECT", "1"), ("GET", "k"), ("MOVE", "k", "2"), ("SELECT", "2"), ("PEXPIRETIME", "k"),
    ])


# ------------------------------------------------------------------ SWAPDB


def test_swapdb_arguments(pair):
    pair.check_sequence([
        ("SWAPDB",), ("SWAPDB", "0"), ("SWAPDB", "a", "b"), ("SWAPDB", "0", "b"), ("SWAPDB", "0", "16"),
        ("SWAPDB", "16", "0"), ("SWAPDB", "-1", "0"), ("SWAPDB", "99999999999", "0"),
        ("SWAPDB", "0", "99999999999"), ("SWAPDB", "1", "1"), ("SWAPDB", "0", "1", "2"),
    ])


def test_swapdb_swaps_keys_and_deadlines(pair):
    pair.check_sequence([
        ("SET", "zero", "0"), ("PEXPIREAT", "zero", FAR_FUTURE_MS), ("SELECT", "1"), ("SET", "one", "1"),
        ("SWAPDB", "0", "1"), ("GET", "zero"), ("PEXPIRETIME", "zero"), ("GET", "one"), ("DBSIZE",),
        ("SELECT", "0"), ("GET", "one"), ("GET", "zero"), ("SWAPDB", "1", "0"), ("GET", "zero"),
    ])


def test_swapdb_is_seen_by_a_client_already_selected_into_the_database(any_server):
    selected = connect(any_server.port, db=1)
    other = connect(any_server.port, db=0)
    other.flushall()
    other.set("where", "db0")
    selected.set("where", "db1")
    assert selected.get("where") == b"db1"
    assert other.swapdb(0, 1)
    assert selected.get("where") == b"db0"
    assert other.get("where") == b"db1"
    other.flushall()
    selected.close()
    other.close()


# ------------------------------------------------------------------ OBJECT


def test_object_subcommands(pair):
    pair.check_sequence([
        ("OBJECT",), ("OBJECT", "foo"), ("OBJECT", "HELP"), ("OBJECT", "help", "x"), ("OBJECT", "ENCODING"),
        ("OBJECT", "ENCODING", "a", "b"), ("OBJECT", "REFCOUNT"), ("OBJECT", "IDLETIME"), ("OBJECT", "FREQ"),
        ("OBJECT", "ENCODING", "nokey"), ("OBJECT", "REFCOUNT", "nokey"), ("OBJECT", "IDLETIME", "nokey"),
        ("OBJECT", "FREQ", "nokey"), ("SET", "k", "v"), ("OBJECT", "FREQ", "k"),
    ])


@pytest.mark.parametrize("value", [
    "0", "1", "9999", "10000", "-1", "01", "+1", " 1", "1.5", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "-9223372036854775809", "", "x", "x" * 44, "x" * 45, "1" * 44, "1" * 45,
])
def test_object_encoding_and_refcount_of_strings(pair, value):
    pair.check_sequence([
        ("SET", "k", value), ("OBJECT", "ENCODING", "k"), ("OBJECT", "REFCOUNT", "k"), ("OBJECT", "encoding", "k"),
    ])


def test_object_refcount_after_copy_rename_and_move(pair):
    """COPY duplicates a shared integer into an object of its own; RENAME and MOVE keep the shared one."""
    pair.check_sequence([
        ("SET", "a", "5"), ("COPY", "a", "b"), ("OBJECT", "REFCOUNT", "b"), ("OBJECT", "ENCODING", "b"),
        ("TYPE", "b"), ("INCR", "b"), ("OBJECT", "REFCOUNT", "b"), ("COPY", "b", "b2"), ("APPEND", "b2", "1"),
        ("OBJECT", "ENCODING", "b2"), ("GET", "b2"), ("RENAME", "a", "c"), ("OBJECT", "REFCOUNT", "c"),
        ("MOVE", "c", "1"), ("SELECT", "1"), ("OBJECT", "REFCOUNT", "c"), ("COPY", "c", "d", "DB", "0"),
        ("SELECT", "0"), ("OBJECT", "REFCOUNT", "d"), ("SET", "long", "x" * 50), ("COPY", "long", "long2"),
        ("OBJECT", "ENCODING", "long2"), ("SET", "e", "embedded"), ("COPY", "e", "e2"), ("OBJECT", "ENCODING", "e2"),
    ])


def test_object_encoding_after_string_commands(pair):
    pair.check_sequence([
        ("APPEND", "a", "12"), ("OBJECT", "ENCODING", "a"), ("APPEND", "a", "3"), ("OBJECT", "ENCODING", "a"),
        ("COPY", "a", "a2"), ("OBJECT", "ENCODING", "a2"), ("SETRANGE", "c", "0", "12"), ("OBJECT", "ENCODING", "c"),
        ("SET", "d", "5"), ("INCRBYFLOAT", "d", "1"), ("OBJECT", "ENCODING", "d"), ("OBJECT", "REFCOUNT", "d"),
        ("INCRBY", "i", "20000"), ("OBJECT", "ENCODING", "i"), ("OBJECT", "REFCOUNT", "i"),
    ])


def test_object_encoding_of_mutable_strings_and_other_types():
    class Listpack(list):
        def encoding(self):
            return "listpack"

    assert key_commands.encoding(bytearray(b"1")) == "raw"
    assert key_commands.encoding(bytearray(b"short")) == "raw"
    assert key_commands.encoding(Listpack()) == "listpack"

    class FloatResult(bytes):
        def encoding(self):
            return "embstr"

    assert key_commands.encoding(FloatResult(b"3")) == "embstr"


def test_object_idletime_is_zero_after_an_access(server):
    """SET and OBJECT in one transaction: no cron tick can fall between them, so the answer is exactly 0."""
    connection = connect(server.port)
    pipeline = connection.pipeline(transaction=True)
    pipeline.set("idle", "v")
    pipeline.object("idletime", "idle")
    assert pipeline.execute() == [True, 0]


# ------------------------------------------------------------------ FLUSHDB, FLUSHALL, FLUSH


def test_flush_modes(pair):
    pair.check_sequence([
        ("SET", "a", "1"), ("FLUSHDB", "ASYNC", "SYNC"), ("FLUSHDB", "foo"), ("FLUSHALL", "foo"),
        ("FLUSHALL", "SYNC", "ASYNC"), ("DBSIZE",), ("FLUSHDB", "sync"), ("DBSIZE",),
    ])


def test_option_words_are_compared_as_c_strings(pair):
    """Redis compares option words with strcasecmp: whatever follows a NUL is ignored."""
    pair.check_sequence([
        ("SET", "a", "1"), ("SET", "b", "2"), ("SCAN", "0", "count\0x", "5", "match\0", "a"),
        ("COPY", "a", "b", "replace\0x"), ("GET", "b"), ("COPY", "a", "c", "db\0", "1"),
        ("FLUSHDB", "sync\0x"), ("FLUSHALL", "ASYNC\0x"), ("DBSIZE",),
    ])


def test_the_seeds_delete_and_flush(server):
    wire = WireClient(server.port)
    try:
        assert wire.call("FLUSHALL") == b"+OK\r\n"
        assert wire.call("MSET", "a", "1", "b", "2", "c", "3") == b"+OK\r\n"
        assert wire.call("DELETE", "a", "a", "nokey") == b":1\r\n"
        assert wire.call("FLUSH") == b":2\r\n"
        assert wire.call("DBSIZE") == b":0\r\n"
    finally:
        wire.close()


# ------------------------------------------------------------------ the cursor table on its own


def test_parse_cursor_reads_like_strtoul():
    assert parse_cursor(b"0") == 0
    assert parse_cursor(b"") == 0
    assert parse_cursor(b"\0junk") == 0
    assert parse_cursor(b"42\0junk") == 42
    assert parse_cursor(b"+42") == 42
    assert parse_cursor(b"-1") == 2**64 - 1
    assert parse_cursor(b"-18446744073709551615") == 1
    assert parse_cursor(b"18446744073709551615") == 2**64 - 1
    for invalid in (b"18446744073709551616", b"-18446744073709551616", b" 1", b"1 ", b"0x1", b"+", b"-",
                    b"+-1", b"1.0", b"abc", b"\xff"):
        assert parse_cursor(invalid) is None, invalid


def iterate(table, owner, collection, count, alive=None):
    seen, cursor, calls = [], 0, 0
    while True:
        cursor, members = table.scan(cursor, owner, collection, count, alive)
        seen.extend(members)
        calls += 1
        if cursor == 0:
            return seen, calls


def test_cursor_table_small_collections_take_no_snapshot():
    table = CursorTable()
    assert table.scan(0, "owner", {b"a": 1, b"b": 2}, 10) == (0, [b"a", b"b"])
    assert len(table) == 0


def test_cursor_table_guarantee_under_random_churn():
    rng = random.Random(1)
    table, owner = CursorTable(), object()
    collection = {b"k%d" % i: None for i in range(5000)}
    stable = {key for key in collection if rng.random() < 0.5}
    volatile = [key for key in collection if key not in stable]
    seen, cursor, added = set(), 0, 0
    while True:
        cursor, members = table.scan(cursor, owner, collection, rng.randint(1, 60), collection.__contains__)
        seen.update(members)
        for _ in range(20):
            victim = rng.choice(volatile)
            collection.pop(victim, None)
            collection[b"new%d" % added] = None
            added += 1
        if cursor == 0:
            break
    assert stable <= seen
    assert all(member in collection or member in volatile for member in seen)
    assert len(table) == 0  # a finished iteration lets go of its snapshot


def test_cursor_table_skips_deleted_members_within_a_bounded_budget():
    table, owner = CursorTable(), object()
    collection = dict.fromkeys(range(1000))
    cursor, members = table.scan(0, owner, collection, 10, collection.__contains__)
    for key in range(10, 990):
        del collection[key]
    cursor, members = table.scan(cursor, owner, collection, 10, collection.__contains__)
    assert members == []  # 100 dead members examined, none alive
    seen, _ = [], None
    while cursor:
        cursor, members = table.scan(cursor, owner, collection, 10, collection.__contains__)
        seen.extend(members)
    assert seen == list(range(990, 1000))


def test_cursor_table_refuses_cursors_of_another_owner_or_evicted():
    table = CursorTable(max_snapshots=2)
    first, second = object(), object()
    collection = dict.fromkeys(range(100))
    cursor, _ = table.scan(0, first, collection, 10)
    assert table.scan(cursor, second, collection, 10) == (0, [])
    assert table.scan(cursor, first, collection, 10)[1] == list(range(10, 20))
    table.scan(0, second, collection, 10)
    table.scan(0, second, collection, 10)  # the third live iteration evicts the least recently used
    assert table.scan(cursor, first, collection, 10) == (0, [])


def test_cursor_table_bounds_the_members_it_holds():
    table = CursorTable(max_members=250)
    owner = object()
    collection = dict.fromkeys(range(100))
    cursors = [table.scan(0, owner, collection, 10)[0] for _ in range(5)]
    assert len(table) == 2
    assert table.scan(cursors[0], owner, collection, 10) == (0, [])
    assert table.scan(cursors[-1], owner, collection, 10)[1] == list(range(10, 20))


def test_cursors_are_unsigned_64_bit_and_repeatable():
    table, owner = CursorTable(), object()
    collection = dict.fromkeys(range(100))
    cursor, first = table.scan(0, owner, collection, 10)
    assert 0 < cursor < 2**64
    again = table.scan(cursor, owner, collection, 10)
    assert table.scan(cursor, owner, collection, 10) == again  # a retried call answers the same


def test_iteration_over_every_owner_kind_sees_everything_once():
    table = CursorTable()
    for collection in ({b"a%d" % i for i in range(300)}, dict.fromkeys(range(300)), list(range(300))):
        seen, calls = iterate(table, collection, collection, 7)
        assert sorted(seen, key=repr) == sorted(collection, key=repr)
        assert calls == 43


# ------------------------------------------------------------------ helpers


def parse_array(raw):
    """The bulk strings of a flat RESP2 array reply."""
    assert raw[:1] == b"*", raw
    items, offset = [], raw.index(b"\r\n") + 2
    for _ in range(int(raw[1:offset - 2])):
        header_end = raw.index(b"\r\n", offset)
        length = int(raw[offset + 1:header_end])
        items.append(raw[header_end + 2:header_end + 2 + length])
        offset = header_end + 2 + length + 2
    return items
