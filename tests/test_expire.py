"""TTL commands (commands/expire.py) and expiry, lazy and active, side by side with Redis 7.0.15.

Absolute deadlines (PEXPIREAT, EXPIREAT) far in the future make the replies
of PEXPIRETIME and EXPIRETIME exact on both servers; relative ones are
compared where the second-rounding of TTL leaves no room for a race.
"""
import time

import pytest
import redis

FAR_FUTURE_MS = 4102444800123  # 2100-01-01T00:00:00.123Z
FAR_FUTURE_S = FAR_FUTURE_MS // 1000


def connect(port):
    return redis.Redis(port=port, socket_timeout=30)


# ------------------------------------------------------------------ argument errors, in Redis's order


@pytest.mark.parametrize("command", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "expire", "pExpireAt"])
def test_option_errors_come_before_the_number_and_the_key(pair, command):
    pair.check("SET", "k", "v")
    pair.check_sequence([
        (command, "k", "100", "NX", "XX"), (command, "k", "100", "nx", "gt"), (command, "k", "100", "LT", "nx"),
        (command, "k", "100", "GT", "LT"), (command, "k", "100", "gt", "xx", "lt"),
        (command, "k", "100", "NX", "GT", "LT"), (command, "k", "abc", "NX", "XX"),
        (command, "k", "100", "foo"), (command, "k", "100", "NX", "XX", "foo"), (command, "k", "abc", "foo"),
        (command, "nokey", "100", "foo"), (command, "k", "100", "f\r\noo"), (command, "k", "100", "f\0oo"),
        (command, "k", "100", b"\xff\xfe"), (command, "k", "100", ""),
        (command, "k", "abc"), (command, "k", ""), (command, "k", "1.5"), (command, "k", " 1"),
        (command, "nokey", "abc"), (command, "k"), (command,),
        ("PEXPIRETIME", "k"),
    ])


def test_option_names_are_read_as_c_strings(pair):
    """Redis compares options with strcasecmp, so 'nx\\0junk' is NX."""
    pair.check("SET", "k", "v")
    pair.check_sequence([
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "nx\0junk"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "nx\0junk", "xx"),
    ])


@pytest.mark.parametrize("command, amount", [
    ("EXPIRE", "9223372036854775807"), ("EXPIRE", "9223372036854775"), ("EXPIRE", "9223372036854774"),
    ("EXPIRE", "-9223372036854775808"), ("EXPIRE", "-9223372036854776"),
    ("PEXPIRE", "9223372036854775807"), ("PEXPIRE", "9223372036854775000"),
    ("EXPIREAT", "9223372036854775807"), ("EXPIREAT", "9223372036854776"), ("EXPIREAT", "-9223372036854776"),
    ("EXPIREAT", "9223372036854775"), ("PEXPIREAT", "9223372036854775807"),
    ("EXPIRE", "9223372036854775808"), ("PEXPIREAT", "-9223372036854775809"),
])
def test_overflowing_times_are_refused_for_any_key(pair, command, amount):
    pair.check_sequence([
        (command, "nokey", amount), ("SET", "k", "v"), (command, "k", amount), (command, "k", amount, "XX"),
        ("EXISTS", "k"), ("PEXPIRETIME", "k"),
    ])


def test_arity(pair):
    pair.check_sequence([
        ("TTL",), ("TTL", "a", "b"), ("PTTL",), ("EXPIRETIME",), ("PEXPIRETIME", "a", "b"),
        ("PERSIST",), ("PERSIST", "a", "b"), ("EXPIRE", "a"), ("PEXPIREAT",),
    ])


# ------------------------------------------------------------------ setting, reading and dropping deadlines


def test_missing_keys(pair):
    pair.check_sequence([
        ("EXPIRE", "nokey", "100"), ("PEXPIRE", "nokey", "100"), ("EXPIREAT", "nokey", FAR_FUTURE_S),
        ("PEXPIREAT", "nokey", FAR_FUTURE_MS), ("EXPIRE", "nokey", "-1"),
        ("TTL", "nokey"), ("PTTL", "nokey"), ("EXPIRETIME", "nokey"), ("PEXPIRETIME", "nokey"),
        ("PERSIST", "nokey"), ("EXISTS", "nokey"),
    ])


def test_keys_without_a_deadline(pair):
    pair.check_sequence([
        ("SET", "k", "v"), ("TTL", "k"), ("PTTL", "k"), ("EXPIRETIME", "k"), ("PEXPIRETIME", "k"),
        ("PERSIST", "k"),
    ])


def test_absolute_deadlines_read_back_exactly(pair):
    pair.check_sequence([
        ("SET", "k", "v"), ("PEXPIREAT", "k", FAR_FUTURE_MS), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"),
        ("EXPIREAT", "k", FAR_FUTURE_S), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"),
        ("PEXPIREAT", "k", "4102444800499"), ("EXPIRETIME", "k"),
        ("PEXPIREAT", "k", "4102444800500"), ("EXPIRETIME", "k"),
        ("PEXPIREAT", "k", "9223372036854775807"), ("PEXPIRETIME", "k"), ("EXPIRETIME", "k"),
        ("PERSIST", "k"), ("PERSIST", "k"), ("PEXPIRETIME", "k"), ("GET", "k"),
    ])


def test_relative_deadlines(pair):
    pair.check_sequence([
        ("SET", "k", "v"), ("EXPIRE", "k", "100"), ("TTL", "k"), ("PEXPIRE", "k", "100000"), ("TTL", "k"),
        ("PEXPIRE", "k", "100300"), ("TTL", "k"), ("PEXPIRE", "k", "99700"), ("TTL", "k"),
    ])
    with connect(pair.ours.port) as ours:
        ours.pexpire("k", 100000)
        assert 99000 < ours.pttl("k") <= 100000
        assert abs(ours.pexpiretime("k") - (time.time() * 1000 + 100000)) < 1000
        assert abs(ours.expiretime("k") - (time.time() + 100)) <= 1


def test_set_and_overwrites_drop_the_deadline(pair):
    pair.check_sequence([
        ("SET", "k", "v"), ("PEXPIREAT", "k", FAR_FUTURE_MS), ("SET", "k", "w"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS), ("MSET", "k", "x"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS), ("DEL", "k"), ("SET", "k", "y"), ("PEXPIRETIME", "k"),
    ])


@pytest.mark.parametrize("command, amount", [
    ("EXPIRE", "0"), ("EXPIRE", "-1"), ("PEXPIRE", "0"), ("PEXPIRE", "-100"), ("EXPIREAT", "0"),
    ("EXPIREAT", "1000"), ("PEXPIREAT", "1"), ("PEXPIREAT", "-9223372036854775808"),
    ("EXPIRE", "-9223372036854775"), ("EXPIREAT", "-9223372036854775"),
])
def test_a_deadline_in_the_past_deletes_the_key(pair, command, amount):
    pair.check_sequence([
        ("SET", "k", "v"), (command, "k", amount), ("EXISTS", "k"), ("DBSIZE",), ("TTL", "k"),
        (command, "k", amount),
    ])


# ------------------------------------------------------------------ NX XX GT LT


def test_nx_and_xx(pair):
    pair.check_sequence([
        ("SET", "k", "v"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "XX"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "NX"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS + 1, "NX"), ("PEXPIREAT", "k", FAR_FUTURE_MS + 2, "nx", "NX"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS + 3, "xx"), ("PEXPIRETIME", "k"),
        ("PERSIST", "k"), ("EXPIRE", "k", "0", "XX"), ("EXISTS", "k"), ("EXPIRE", "k", "0", "NX"), ("EXISTS", "k"),
    ])


def test_gt_and_lt_treat_no_deadline_as_infinite(pair):
    pair.check_sequence([
        ("SET", "k", "v"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "GT"), ("PEXPIRETIME", "k"),
        ("EXPIRE", "k", "-1", "GT"), ("EXISTS", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "LT"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "LT"), ("PEXPIREAT", "k", FAR_FUTURE_MS, "GT"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS + 1000, "LT"), ("PEXPIREAT", "k", FAR_FUTURE_MS + 1000, "GT"),
        ("PEXPIRETIME", "k"), ("PEXPIREAT", "k", FAR_FUTURE_MS, "gt"), ("PEXPIREAT", "k", FAR_FUTURE_MS, "lt"),
        ("PEXPIRETIME", "k"), ("PEXPIREAT", "k", FAR_FUTURE_MS - 1, "XX", "LT"), ("PEXPIRETIME", "k"),
        ("PEXPIREAT", "k", FAR_FUTURE_MS, "GT", "XX"), ("PEXPIRETIME", "k"),
        ("EXPIRE", "k", "0", "GT"), ("EXISTS", "k"), ("EXPIRE", "k", "0", "LT"), ("EXISTS", "k"),
        ("SET", "k", "v"), ("EXPIRE", "k", "0", "LT"), ("EXISTS", "k"),
    ])


# ------------------------------------------------------------------ expiry


@pytest.fixture(params=["ours", "redis"])
def client(request):
    server = request.getfixturevalue("server" if request.param == "ours" else "real_redis")
    connection = connect(server.port)
    connection.flushall()
    yield connection
    connection.flushall()
    connection.close()


def test_lazy_expiry_on_access(client):
    client.set("k", "v")
    assert client.pexpire("k", 50)
    assert client.get("k") == b"v"
    time.sleep(0.12)
    assert client.get("k") is None
    assert client.exists("k") == 0
    assert client.ttl("k") == -2
    assert client.persist("k") == 0
    assert client.expire("k", 100) == 0


def test_an_expired_key_can_be_set_again_without_its_old_deadline(client):
    client.set("k", "v")
    client.pexpire("k", 30)
    time.sleep(0.08)
    client.set("k", "again")
    assert client.ttl("k") == -1
    assert client.get("k") == b"again"


def test_active_expiry_reclaims_keys_nobody_reads(client):
    """20,000 keys that expire in 200 ms leave DBSIZE within a few seconds without being touched."""
    client.set("keeper", "v")
    with client.pipeline(transaction=False) as pipe:
        for index in range(20_000):
            pipe.set(b"volatile:%d" % index, b"v")
            pipe.pexpire(b"volatile:%d" % index, 200)
        assert all(pipe.execute())
    for _ in range(100):
        if client.dbsize() == 1:
            break
        time.sleep(0.1)
    assert client.dbsize() == 1
    assert client.get("keeper") == b"v"


def test_persist_saves_a_key_from_expiring(client):
    client.set("k", "v")
    client.pexpire("k", 100)
    assert client.persist("k") == 1
    time.sleep(0.2)
    assert client.get("k") == b"v"
    assert client.ttl("k") == -1


def test_move_and_copy_keep_the_deadline_running(client):
    client.set("k", "v")
    client.pexpire("k", 150)
    assert client.copy("k", "copy")
    assert client.move("k", 1)
    time.sleep(0.3)
    assert client.exists("copy") == 0
    other = redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=1)
    assert other.exists("k") == 0
    other.flushdb()
    other.close()
