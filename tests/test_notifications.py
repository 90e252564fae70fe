"""Keyspace notifications against Redis 7.0.15: a subscriber to __key*__:* on each server, the same
commands run on both, and the messages pushed to it compared byte for byte, in order, family by family."""
import random
import time

import pytest

from conftest import ours_and_redis
from differential import Pair, WireClient, drop_slow_subscriber, mask_client_id

SENTINEL = "notifications:done"


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """Ours and Redis with every class on, "new" and key misses included, DEBUG allowed."""
    with ours_and_redis(tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("redis"),
                        "--notify-keyspace-events", "KEAn", "--enable-debug-command", "yes") as servers:
        yield servers


class Listener:
    """A connection subscribed to every keyspace and keyevent channel, and to the sentinel channel."""

    def __init__(self, port, protocol=2):
        self.client = WireClient(port)
        if protocol == 3:
            self.client.call("HELLO", "3")
        self.client.call("PSUBSCRIBE", "__key*__:*")
        self.client.call("SUBSCRIBE", SENTINEL)

    def drain(self, control):
        """Every message pushed since the last drain: a PUBLISH to the sentinel marks the end."""
        control.call("PUBLISH", SENTINEL, "end")
        messages = []
        while True:
            message = self.client.read_reply()
            assert isinstance(message, bytes), message
            if SENTINEL.encode() in message:
                return messages
            messages.append(message)

    def close(self):
        self.client.close()


class EventPair:
    """A Pair of command connections, and a Listener on each server: run() checks the replies, then the events."""

    def __init__(self, ours, redis, protocol=2):
        self.pair = Pair(ours.port, redis.port)
        self.ours = Listener(ours.port, protocol)
        self.redis = Listener(redis.port, protocol)
        self.pair.check("FLUSHALL")
        self.drain()

    def drain(self):
        return self.redis.drain(self.pair.redis), self.ours.drain(self.pair.ours)

    def run(self, *commands, normalise=None):
        """Run the commands on both, compare their replies, then the events they caused; return Redis's."""
        __tracebackhide__ = True
        for command in commands:
            self.pair.check(*command, normalise=normalise)
        expected, got = self.drain()
        assert got == expected, "events differ after %s" % (commands,)
        return expected

    def close(self):
        self.pair.close()
        self.ours.close()
        self.redis.close()


@pytest.fixture
def events(both):
    pair = EventPair(*both)
    yield pair
    pair.close()


def test_strings(events):
    seen = events.run(("SET", "s", "v"), ("SET", "s", "w"), ("SET", "s", "x", "EX", "100"), ("SET", "s", "y", "NX"),
                      ("SET", "s", "y", "XX", "KEEPTTL"), ("SET", "s", "z", "GET"), ("SETNX", "n", "1"),
                      ("SETNX", "n", "2"), ("SETEX", "e", "10", "v"), ("PSETEX", "p", "10000", "v"),
                      ("GETSET", "s", "g"), ("GETDEL", "s"), ("GETDEL", "s"), ("MSET", "a", "1", "b", "2"),
                      ("MSETNX", "c", "1", "d", "2"), ("MSETNX", "c", "1", "x", "2"), ("APPEND", "a", "x"),
                      ("APPEND", "new", "x"), ("INCR", "i"), ("DECR", "i"), ("INCRBY", "i", "5"),
                      ("DECRBY", "i", "2"), ("INCRBYFLOAT", "f", "1.5"), ("INCR", "a"), ("SETRANGE", "r", "2", "x"),
                      ("SETRANGE", "r", "0", ""), ("SETRANGE", "r", "0", "ab"), ("GETEX", "e", "EX", "100"),
                      ("GETEX", "e", "PERSIST"), ("GETEX", "e", "PERSIST"), ("GETEX", "e"),
                      ("GETEX", "e", "PXAT", "1"), ("GET", "nothing"), ("STRLEN", "a"))
    assert b"__keyevent@0__:new" in b"".join(seen)


def test_bitmaps_and_hyperloglog(events):
    events.run(("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "100", "0"),
               ("BITFIELD", "bf", "SET", "u8", "0", "255"), ("BITFIELD", "bf", "SET", "u8", "0", "255"),
               ("BITFIELD", "bf", "GET", "u8", "0"), ("BITFIELD", "bf", "INCRBY", "u8", "0", "1"),
               ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"),
               ("BITOP", "OR", "dest", "b", "bf"), ("BITOP", "AND", "dest", "none1", "none2"),
               ("BITOP", "AND", "dest", "none1", "none2"), ("PFADD", "h", "a", "b"), ("PFADD", "h", "a"),
               ("PFADD", "h2"), ("PFADD", "h2"), ("PFMERGE", "h3", "h", "h2"), ("PFCOUNT", "h"))


def test_lists(events):
    events.run(("LPUSH", "l", "a", "b"), ("RPUSH", "l", "c"), ("LPUSHX", "l", "x"), ("RPUSHX", "l", "y"),
               ("LPUSHX", "none", "x"), ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "0"), ("LPOP", "l", "2"),
               ("LSET", "l", "0", "z"), ("LINSERT", "l", "BEFORE", "z", "w"), ("LINSERT", "l", "AFTER", "q", "w"),
               ("LREM", "l", "0", "nothing"), ("LREM", "l", "1", "w"), ("RPUSH", "l", "1", "2", "3"),
               ("LTRIM", "l", "0", "-1"), ("LTRIM", "l", "1", "2"), ("LMOVE", "l", "m", "LEFT", "RIGHT"),
               ("RPOPLPUSH", "l", "m"), ("RPOPLPUSH", "m", "m"), ("LMPOP", "2", "none", "m", "LEFT", "COUNT", "5"),
               ("RPUSH", "l", "a"), ("LPOP", "l", "5"), ("RPUSH", "l", "a"), ("LTRIM", "l", "1", "0"),
               ("RPUSH", "l", "a"), ("LREM", "l", "0", "a"), ("RPUSH", "l", "a"), ("BLPOP", "l", "0"),
               ("RPUSH", "l", "a", "b"), ("BLMOVE", "l", "m", "RIGHT", "LEFT", "0"),
               ("BLMPOP", "0", "1", "l", "RIGHT"), ("BRPOP", "m", "0"), ("LRANGE", "m", "0", "-1"))


def test_blocked_pops_served_by_a_push(both):
    """The served client's pop comes after the push that fed it, then the "del" of the emptied list."""
    observed = []
    for server in both:
        listener, control = Listener(server.port), WireClient(server.port)
        control.call("FLUSHALL")
        listener.drain(control)
        waiters = [WireClient(server.port) for _ in range(3)]
        blocked = [("BLPOP", "q", "0"), ("BLMOVE", "q", "dst", "LEFT", "RIGHT", "0"), ("BZPOPMIN", "z", "0")]
        for waiter, command in zip(waiters, blocked):
            waiter.send_raw(b"*%d\r\n" % len(command) + b"".join(
                b"$%d\r\n%s\r\n" % (len(word), word.encode()) for word in command))
            _wait_blocked(control, waiters.index(waiter) + 1)
        control.call("RPUSH", "q", "a", "b", "c")
        control.call("ZADD", "z", "1", "m")
        replies = [waiter.read_reply() for waiter in waiters]
        observed.append((replies, listener.drain(control)))
        for client in (listener, control, *waiters):
            client.close()
    ours, redis = observed
    assert ours == redis


def _wait_blocked(control, count):
    deadline = time.monotonic() + 5
    while b"blocked_clients:%d\r\n" % count not in control.call("INFO", "clients"):
        assert time.monotonic() < deadline, "the client did not block"
        time.sleep(0.01)


def test_hashes(events):
    events.run(("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HMSET", "h", "c", "3"),
               ("HSETNX", "h", "a", "x"), ("HSETNX", "h", "d", "4"), ("HDEL", "h", "nope"), ("HDEL", "h", "a", "b"),
               ("HINCRBY", "h", "n", "2"), ("HINCRBYFLOAT", "h", "f", "0.5"), ("HINCRBY", "h", "c", "x"),
               ("HDEL", "h", "c", "d", "n", "f"), ("HGET", "h", "a"), ("HGETALL", "nothing"))


def test_sets(events):
    events.run(("SADD", "s", "a", "b", "c"), ("SADD", "s", "a"), ("SREM", "s", "z"), ("SREM", "s", "a"),
               ("SMOVE", "s", "t", "b"), ("SMOVE", "s", "t", "zz"), ("SADD", "s", "b"), ("SMOVE", "s", "t", "b"),
               ("SMOVE", "t", "t", "b"), ("SADD", "p", "1", "2", "3", "4"), ("SPOP", "p", "0"),
               ("SPOP", "p", "10"), ("SADD", "u", "1"), ("SPOP", "u"),
               ("SINTERSTORE", "d", "t", "s"), ("SUNIONSTORE", "d", "t", "s"), ("SDIFFSTORE", "d", "t", "s"),
               ("SINTERSTORE", "d", "t", "nothing"), ("SINTERSTORE", "d", "t", "nothing"),
               ("SDIFFSTORE", "d", "nothing"), ("SMEMBERS", "t"))


def test_sorted_sets(events):
    events.run(("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "5", "a"),
               ("ZADD", "z", "XX", "1", "new"), ("ZADD", "z", "NX", "9", "a"), ("ZADD", "z", "GT", "0", "a"),
               ("ZADD", "z", "INCR", "1", "a"), ("ZINCRBY", "z", "2", "b"), ("ZREM", "z", "nope"),
               ("ZREM", "z", "a"), ("ZADD", "z", "4", "d", "5", "e", "6", "f"), ("ZREMRANGEBYRANK", "z", "0", "0"),
               ("ZREMRANGEBYSCORE", "z", "100", "200"), ("ZREMRANGEBYSCORE", "z", "4", "4"),
               ("ZREMRANGEBYLEX", "z", "[e", "[e"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "0"), ("ZPOPMAX", "z", "1"),
               ("ZADD", "y", "1", "a", "2", "b"), ("ZUNIONSTORE", "d", "1", "y"), ("ZINTERSTORE", "d", "2", "y", "z"),
               ("ZDIFFSTORE", "d", "1", "y"), ("ZRANGESTORE", "r", "y", "0", "0"), ("ZRANGESTORE", "r", "y", "5", "9"),
               ("ZUNIONSTORE", "d", "1", "nothing"), ("ZMPOP", "1", "y", "MIN", "COUNT", "5"),
               ("ZADD", "y", "1", "a"), ("BZPOPMAX", "y", "0"), ("ZADD", "y", "1", "a"),
               ("BZMPOP", "0", "1", "y", "MAX"),
               ("ZRANGE", "d", "0", "-1"))


def test_keys_expiry_and_dump(events):
    events.run(("SET", "a", "1"), ("DEL", "a", "b"), ("MSET", "a", "1", "b", "2"), ("UNLINK", "a", "b", "c"),
               ("SET", "a", "1"), ("RENAME", "a", "b"), ("SET", "a", "2"), ("RENAME", "a", "b"), ("RENAME", "b", "b"),
               ("RENAMENX", "b", "c"), ("SET", "d", "x"), ("RENAMENX", "c", "d"), ("COPY", "c", "e"),
               ("COPY", "c", "e"), ("COPY", "c", "e", "REPLACE"), ("COPY", "c", "e", "DB", "1"), ("MOVE", "e", "2"),
               ("MOVE", "c", "1"), ("EXPIRE", "d", "100"), ("EXPIRE", "d", "100", "NX"), ("PEXPIRE", "d", "100000"),
               ("EXPIREAT", "d", "99999999999"), ("PERSIST", "d"), ("PERSIST", "d"), ("PEXPIREAT", "d", "1"),
               ("SET", "t", "v"), ("EXPIRE", "t", "-1"), ("RPUSH", "l", "3", "1", "2"), ("SORT", "l", "STORE", "o"),
               ("SORT", "nothing", "STORE", "o"), ("SORT", "nothing", "STORE", "o"), ("SORT", "l"),
               ("SWAPDB", "0", "1"), ("SWAPDB", "0", "1"), ("SELECT", "1"), ("DEL", "e", "c"), ("SELECT", "0"),
               ("FLUSHDB",), ("EXISTS", "a"))


def test_restore(events):
    events.run(("SET", "a", "1"), ("DUMP", "nothing"))
    payload = events.pair.redis.call("DUMP", "a")
    value = payload.split(b"\r\n")[1]
    events.run(("RESTORE", "r", "0", value), ("RESTORE", "r", "0", value), ("RESTORE", "r", "0", value, "REPLACE"),
               ("RESTORE", "r", "1", value, "REPLACE", "ABSTTL"), ("RESTORE", "q", "100000", value))


def test_geo(events):
    """GEOADD is ZADD's events; the stores are georadiusstore and geosearchstore, an empty one a del."""
    events.run(("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
               ("GEOADD", "g", "13.361389", "38.115556", "Palermo"), ("GEOADD", "g", "XX", "1", "1", "nobody"),
               ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "r"),
               ("GEORADIUSBYMEMBER", "g", "Palermo", "1", "km", "STOREDIST", "r2"),
               ("GEOSEARCHSTORE", "s", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
               ("GEOSEARCHSTORE", "s", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
               ("GEOSEARCHSTORE", "s", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
               ("GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "9", "km"), ("GEODIST", "g", "Palermo", "x"))


def test_streams(events):
    """XADD and its trim, XTRIM, XDEL, XSETID, the XGROUP subcommands, and consumers made by XREADGROUP,
    XCLAIM and XAUTOCLAIM, as t_stream.c announces them."""
    events.run(("XADD", "s", "1-1", "f", "v"), ("XADD", "s", "MAXLEN", "1", "2-1", "f", "v"),
               ("XADD", "s", "MAXLEN", "5", "3-1", "f", "v"), ("XADD", "none", "NOMKSTREAM", "*", "f", "v"),
               ("XTRIM", "s", "MAXLEN", "5"), ("XTRIM", "s", "MAXLEN", "1"), ("XDEL", "s", "9-9"), ("XDEL", "s", "3-1"),
               ("XSETID", "s", "10-1"), ("XADD", "s", "11-1", "f", "v"), ("XADD", "s", "12-1", "f", "v"),
               ("XGROUP", "CREATE", "s", "g", "0"), ("XGROUP", "CREATE", "s", "g", "0"),
               ("XGROUP", "CREATE", "m", "g", "$", "MKSTREAM"), ("XGROUP", "SETID", "s", "g", "0"),
               ("XGROUP", "CREATECONSUMER", "s", "g", "c1"), ("XGROUP", "CREATECONSUMER", "s", "g", "c1"),
               ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "1", "STREAMS", "s", ">"),
               ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "s", ">"),
               ("XCLAIM", "s", "g", "c3", "0", "11-1"), ("XCLAIM", "s", "g", "c4", "0", "99-1"),
               ("XAUTOCLAIM", "s", "g", "c5", "0", "0"), ("XAUTOCLAIM", "m", "g", "c6", "0", "0"),
               ("XACK", "s", "g", "11-1"), ("XGROUP", "DELCONSUMER", "s", "g", "c1"),
               ("XGROUP", "DELCONSUMER", "s", "g", "nobody"), ("XGROUP", "DESTROY", "s", "g"),
               ("XGROUP", "DESTROY", "s", "g"), ("DEL", "s", "m"))


def test_scripts_emit_their_commands_events(events):
    """A script's writes publish as its commands run them; a function's too."""
    events.run(("EVAL", "redis.call('set', KEYS[1], 'v'); redis.call('lpush', KEYS[2], 'x'); "
                        "return redis.call('del', KEYS[1], KEYS[2])", "2", "a", "l"),
               ("EVAL", "return redis.pcall('incr', KEYS[1])", "1", "l"),
               ("FUNCTION", "LOAD", "REPLACE", "#!lua name=evlib\n"
                "redis.register_function('touchit', function(keys) return redis.call('hset', keys[1], 'f', 1) end)"),
               ("FCALL", "touchit", "1", "h"), ("FUNCTION", "DELETE", "evlib"))


def test_transactions_emit_as_they_run(events):
    events.run(("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("LPUSH", "l", "x"), ("DEL", "a", "l"), ("EXEC",))


def test_lazy_and_active_expiry(events):
    events.run(("DEBUG", "SET-ACTIVE-EXPIRE", "0"), ("SET", "lazy", "v", "PX", "1"), ("SET", "over", "v", "PX", "1"),
               ("RPUSH", "list", "a"), ("PEXPIRE", "list", "1"))
    time.sleep(0.01)
    events.run(("GET", "lazy"), ("SET", "over", "new"), ("LPUSH", "list", "b"), ("DEBUG", "SET-ACTIVE-EXPIRE", "1"))
    events.run(("SET", "active", "v", "PX", "1"))
    for control in (events.pair.redis, events.pair.ours):
        deadline = time.monotonic() + 5
        while control.call("DBSIZE") != b":2\r\n":  # DBSIZE expires nothing: the cycle must
            assert time.monotonic() < deadline
            time.sleep(0.01)
    expected, got = events.drain()
    assert got == expected
    assert b"__keyevent@0__:expired" in b"".join(got)


def test_resp3_subscriber_gets_pushes(both):
    pair = EventPair(*both, protocol=3)
    try:
        seen = pair.run(("SET", "k", "v"), ("DEL", "k"))
        assert seen and all(message.startswith(b">4\r\n") for message in seen)
    finally:
        pair.close()


def test_key_misses_and_class_selection(both):
    """m gives key misses; a class alone, K alone or E alone publish what Redis publishes."""
    pair = EventPair(*both)
    try:
        for flags in ("Km", "E$", "Kl", "gE", "Ex", "KEA", "A", "", "KEA"):
            pair.run(("CONFIG", "SET", "notify-keyspace-events", flags), ("CONFIG", "GET", "notify-keyspace-events"),
                     ("SET", "k", "v"), ("GET", "missing"), ("LPUSH", "l", "x"), ("DEL", "k", "l"),
                     ("SET", "x", "v", "PX", "1"))
            time.sleep(0.005)
            pair.run(("GET", "x"))
        pair.run(("CONFIG", "SET", "notify-keyspace-events", "KEAn"))
    finally:
        pair.close()


def test_config_errors_and_normalisation(both):
    with Pair(both[0].port, both[1].port) as pair:
        for flags in ("KEA", "AKE", "Kq", "gK", "Ex", "KEAmn", "KEg$lshzxetdn", "n", "dKE", "A1", "KEAn"):
            pair.check("CONFIG", "SET", "notify-keyspace-events", flags)
            pair.check("CONFIG", "GET", "notify-keyspace-events")
        pair.check("HELLO", "3", normalise=mask_client_id)


def test_evicted_events(tmp_path):
    """maxmemory's evictions each publish "evicted" (the keys chosen are random, so counts are compared)."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", "--notify-keyspace-events", "Ee") as servers:
        for server in servers:
            listener, control = Listener(server.port), WireClient(server.port)
            for index in range(200):
                control.call("SET", "key:%d" % index, "x" * 1000)
            control.call("CONFIG", "SET", "maxmemory-policy", "allkeys-random")
            used = int(control.call("INFO", "memory").split(b"used_memory:")[1].split(b"\r\n")[0])
            control.call("CONFIG", "SET", "maxmemory", str(used - 50_000))
            control.call("SET", "last", "v")
            evicted = int(control.call("INFO", "stats").split(b"evicted_keys:")[1].split(b"\r\n")[0])
            messages = listener.drain(control)
            assert evicted > 0
            assert len(messages) == evicted
            assert all(message.startswith(b"*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$22\r\n__keyevent@0__:evicted")
                       for message in messages)
            listener.close()
            control.close()


def test_debug_reload_announces_no_loaded_key(events):
    events.run(("SET", "a", "1"), ("RPUSH", "l", "x"), ("DEBUG", "RELOAD"), ("GET", "a"), ("DEL", "a"))


def test_resp3_subscriber_that_writes_gets_its_events_before_its_reply(both):
    """Redis adds the messages to the writer's own output as they are published: before the reply, after
    the replies of the commands before it in the same pipeline."""
    with Pair(both[0].port, both[1].port) as pair:
        pair.check("HELLO", "3", normalise=mask_client_id)
        pair.check("PSUBSCRIBE", "__keyevent@*")
        pair.check_pipeline([("GET", "k"), ("SET", "k", "v"), ("PING",)])
        pair.check_raw(b"", replies=2)
        pair.check_pipeline([("DEL", "k"), ("PING",)])
        pair.check_raw(b"", replies=1)
        pair.check("PUNSUBSCRIBE")


def test_slow_keyspace_subscriber_is_disconnected(server):
    """A subscriber to keyspace events that never reads is in the pubsub output class: the hard limit drops
    it, and the writers never wait for it."""
    def publish(control):
        for index in range(200):
            control.call("SET", "slow:key:%d:%s" % (index, "k" * 200), "x" * 100)

    with WireClient(server.port) as control:
        control.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        try:
            drop_slow_subscriber(server.port, ("PSUBSCRIBE", "__key*__:*"), ("PUBSUB", "NUMPAT"), publish)
        finally:
            control.call("CONFIG", "SET", "notify-keyspace-events", "")
            control.call("FLUSHALL")


def _random_command(rng):
    """One write (or read) of every family on a few keys, so that types clash, aggregates empty and keys move."""
    key, other = rng.choice("abcd"), rng.choice("abcd")
    member, number = str(rng.randint(1, 5)), str(rng.randint(-3, 9))
    return rng.choice([
        ("SET", key, number), ("GET", key), ("APPEND", key, member), ("INCR", key), ("DEL", key, other),
        ("EXPIRE", key, "100"), ("PERSIST", key), ("GETDEL", key), ("GETEX", key, "EX", "50"),
        ("SETRANGE", key, "1", member), ("MSET", key, member, other, number), ("SETBIT", key, number[-1], "1"),
        ("LPUSH", key, member, number), ("RPOP", key), ("LREM", key, "0", member), ("LTRIM", key, "0", "1"),
        ("LSET", key, "0", member), ("LINSERT", key, "BEFORE", member, number),
        ("LMOVE", key, other, "LEFT", "RIGHT"), ("HSET", key, member, number), ("HDEL", key, member, number),
        ("HINCRBY", key, member, number), ("HSETNX", key, member, number), ("SADD", key, member, number),
        ("SREM", key, member), ("SMOVE", key, other, member), ("SINTERSTORE", key, other, key),
        ("ZADD", key, number, member), ("ZREM", key, member), ("ZINCRBY", key, number, member),
        ("ZPOPMIN", key), ("ZUNIONSTORE", key, "2", other, key), ("RENAME", key, other),
        ("COPY", key, other, "REPLACE"), ("PFADD", key, member), ("TYPE", key)])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_commands(events, seed):
    """Seeded random writes across the families: replies and events in the same order as Redis's."""
    rng = random.Random(seed)
    for _ in range(6):
        events.run(*(_random_command(rng) for _ in range(50)))
