"""Client-side caching against Redis 7.0.15: CLIENT TRACKING's errors and info, invalidations on RESP3 and
through a RESP2 REDIRECT, BCAST with prefixes, OPTIN/OPTOUT, NOLOOP, flushes, the table's limit, and
redis-py 8's client-side cache."""
import re
import time

import pytest
import redis
from redis.cache import CacheConfig
from redis.connection import CacheProxyConnection

from conftest import ours_and_redis
from differential import WireClient, mask_client_id

TIMEOUT = 0.3  # how long a read waits for a message that may not come


def _masked(reply, ids):
    """A reply with the scenario's client ids (which differ between servers) named by their role where a
    client id is shown: CLIENT GETREDIR, TRACKINGINFO's redirect, tracking-redir-broken, CLIENT LIST."""
    if not isinstance(reply, bytes):
        return reply
    for name, number in ids.items():
        reply = re.sub(rb"(redirect\r\n:|redir-broken\r\n:|getredir:|\bid=|redir=)%d\b" % number,
                       rb"\g<1>" + name.encode(), reply)
    return mask_client_id(reply)


class Scenario:
    """Named connections to one server, and the replies (and pushed messages) they saw, in order."""

    def __init__(self, port):
        self.port = port
        self.clients = {}
        self.ids = {}
        self.seen = []

    def client(self, name, protocol=2):
        client = self.clients.get(name)
        if client is None:
            client = self.clients[name] = WireClient(self.port)
            client.sock.settimeout(2)
            self.ids[name] = int(client.call("CLIENT", "ID")[1:-2])
            if protocol == 3:
                client.call("HELLO", "3")
        return client

    def call(self, name, *command):
        reply = self.client(name).call(*command)
        if command == ("CLIENT", "GETREDIR"):
            reply = _masked(b"getredir" + reply, self.ids)
        reply = _masked(reply, self.ids)
        roles = {str(number): role for role, number in self.ids.items()}
        command = tuple(roles.get(word, word) if before == "REDIRECT" else word
                        for before, word in zip(("",) + command, command))
        self.seen.append((name, command, reply))

    def info(self, name):
        """INFO's tracking fields (the rest depends on buffer sizes and counts that are ours)."""
        text = self.client(name).call("INFO", "everything")
        self.seen.append((name, "INFO", re.findall(rb"tracking_\w+:\d+", text)))

    def read(self, name, count=1):
        """count messages pushed to the client, then a check that nothing more came."""
        client = self.client(name)
        self.seen.append((name, "pushed", [_masked(client.read_reply(), self.ids) for _ in range(count)]))
        client.sock.settimeout(TIMEOUT)
        self.seen.append((name, "then", _masked(client.read_reply(), self.ids)))
        client.sock.settimeout(2)

    def close(self, name):
        self.clients.pop(name).close()

    def finish(self):
        for client in self.clients.values():
            client.close()
        return self.seen


def same_scenario(fresh, scenario):
    """Run scenario(Scenario) on Redis and on ours (fresh servers); compare what every connection saw."""
    ours_port, redis_port = fresh
    expected = _run(scenario, redis_port)
    got = _run(scenario, ours_port)
    for index, (want, have) in enumerate(zip(expected, got)):
        assert have == want, "step %d differs; before it: %s" % (index, expected[max(0, index - 4):index])
    assert len(got) == len(expected)
    return expected


def _run(scenario, port):
    run = Scenario(port)
    try:
        scenario(run)
    finally:
        run.finish()
    return run.seen


def test_errors_and_trackinginfo(fresh):
    def scenario(s):
        s.client("other")
        for command in (
                ("CLIENT", "TRACKING", "ON", "REDIRECT", "99999"), ("CLIENT", "TRACKING", "ON", "REDIRECT", "x"),
                ("CLIENT", "TRACKING", "ON", "PREFIX", "a"), ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a",
                                                              "PREFIX", "ab"),
                ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "a", "PREFIX", "x"),
                ("CLIENT", "TRACKINGINFO"), ("CLIENT", "GETREDIR"), ("CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"),
                ("CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"), ("CLIENT", "CACHING", "YES"),
                ("CLIENT", "TRACKING", "MAYBE"), ("CLIENT", "TRACKING", "ON", "BOGUS"),
                ("CLIENT", "TRACKING", "ON", "REDIRECT", "99998", "REDIRECT", "99999"),
                ("CLIENT", "TRACKING", "ON", "REDIRECT", str(s.ids["other"]), "REDIRECT", "99999"),
                ("CLIENT", "TRACKING", "ON", "REDIRECT", "0"), ("CLIENT", "TRACKING"),
                ("CLIENT", "CACHING"), ("CLIENT", "TRACKINGINFO", "x"), ("CLIENT", "GETREDIR", "x"),
                ("CLIENT", "TRACKING", "ON"), ("CLIENT", "CACHING", "YES"), ("CLIENT", "CACHING", "NO"),
                ("CLIENT", "CACHING", "MAYBE"), ("CLIENT", "TRACKING", "ON", "BCAST"),
                ("CLIENT", "TRACKING", "ON", "OPTIN"), ("CLIENT", "TRACKINGINFO"), ("CLIENT", "CACHING", "YES"),
                ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "ON", "OPTOUT"), ("CLIENT", "TRACKING", "OFF"),
                ("CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP"), ("CLIENT", "CACHING", "NO"),
                ("CLIENT", "TRACKINGINFO"), ("CLIENT", "TRACKING", "OFF", "PREFIX", "x"),
                ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "a"), ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX",
                                                                        "ab"),
                ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "b", "PREFIX", "c"), ("CLIENT", "TRACKINGINFO"),
                ("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "d", "PREFIX", "e", "PREFIX", "ef")):
            s.call("me", *command)
        s.read("me")  # the OK that follows Redis's error for a clash after the first new prefix
        s.call("me", "CLIENT", "TRACKINGINFO")
        s.call("me", "CLIENT", "TRACKING", "OFF")
        s.call("me", "CLIENT", "TRACKING", "ON", "REDIRECT", str(s.ids["other"]), "NOLOOP")
        s.call("me", "CLIENT", "GETREDIR")
        s.call("me", "CLIENT", "TRACKINGINFO")
        s.call("me", "HELLO", "3")
        s.call("me", "CLIENT", "TRACKINGINFO")
        s.info("other")
    same_scenario(fresh, scenario)


def test_resp3_invalidations(fresh):
    def scenario(s):
        s.client("tracker", protocol=3)
        s.call("tracker", "CLIENT", "TRACKING", "ON")
        s.call("tracker", "GET", "k")
        s.call("tracker", "SET", "k", "v")  # its own write: the invalidation comes after the reply
        s.read("tracker")
        s.call("tracker", "GET", "k")
        s.call("writer", "SET", "k", "w")
        s.read("tracker")
        s.call("writer", "SET", "k", "x")  # no longer tracked: read it again to hear of it
        s.call("tracker", "MGET", "k", "k2")
        s.call("tracker", "HGET", "h", "f")
        s.call("writer", "MSET", "k", "1", "k2", "2")
        s.read("tracker", 2)
        s.call("writer", "HSET", "h", "f", "v")
        s.read("tracker")
        s.call("tracker", "GET", "k")
        s.call("tracker", "MULTI")
        s.call("tracker", "GET", "k2")
        s.call("tracker", "SET", "k", "1")
        s.call("tracker", "SET", "k2", "1")
        s.call("tracker", "EXEC")
        s.read("tracker", 2)
        s.call("tracker", "GET", "k")
        s.call("writer", "FLUSHALL")
        s.read("tracker")
        s.call("tracker", "GET", "k")
        s.call("tracker", "FLUSHDB")
        s.read("tracker")
        s.call("tracker", "GET", "k")
        s.call("writer", "SET", "k", "v", "PX", "1")
        s.read("tracker")
        s.call("tracker", "GET", "k")
        time.sleep(0.05)
        s.call("writer", "GET", "k")  # expired on the way: an invalidation too
        s.read("tracker")
        s.info("writer")
        s.call("tracker", "GET", "a")
        s.call("tracker", "RESET")
        s.info("writer")
        s.call("writer", "SET", "a", "1")
        s.info("writer")
    same_scenario(fresh, scenario)


def test_resp2_redirect_and_broken_redirect(fresh):
    def scenario(s):
        s.call("listener", "SUBSCRIBE", "__redis__:invalidate")
        s.call("tracker", "CLIENT", "TRACKING", "ON", "REDIRECT", str(s.ids["listener"]))
        s.call("tracker", "GET", "a")
        s.call("tracker", "MGET", "b", "c")
        s.call("writer", "MSET", "a", "1", "b", "2", "c", "3")
        s.read("listener", 3)
        s.call("tracker", "GET", "a")
        s.call("writer", "FLUSHALL")
        s.read("listener")
        s.call("tracker", "CLIENT", "GETREDIR")
        s.call("writer", "CLIENT", "LIST")
        s.close("listener")
        time.sleep(0.1)
        s.call("tracker", "GET", "a")
        s.call("writer", "SET", "a", "x")
        s.call("tracker", "CLIENT", "TRACKINGINFO")
        s.call("tracker", "HELLO", "3")
        s.call("tracker", "GET", "a")
        s.call("writer", "SET", "a", "y")
        s.read("tracker")
        s.info("writer")
        s.call("tracker", "GET", "b")
        s.close("tracker")  # a hang-up stops tracking; the key it read stays in the table until it changes
        time.sleep(0.1)
        s.info("writer")
        s.call("writer", "SET", "b", "1")
        s.info("writer")


def _without_client_list_sizes(scenario):
    """CLIENT LIST's byte counts are our buffers' (see the README): compare the rest of each line."""
    def masked(s):
        scenario(s)
        for index, (name, command, reply) in enumerate(s.seen):
            if command == ("CLIENT", "LIST"):
                reply = re.sub(rb" (addr|laddr|fd|qbuf|qbuf-free|argv-mem|rbs|rbp|tot-mem|age|idle)=\S*", b"", reply)
                s.seen[index] = (name, command, re.sub(rb"^\$\d+", b"$", reply))
    return masked


def test_redirect_to_a_resp3_client(fresh):
    def scenario(s):
        s.client("listener", protocol=3)
        s.call("tracker", "CLIENT", "TRACKING", "ON", "REDIRECT", str(s.ids["listener"]))
        s.call("tracker", "GET", "a")
        s.call("listener", "SET", "a", "1")  # the listener's own write: the push comes before its reply
        s.read("listener")
        s.call("tracker", "GET", "a")
        s.call("writer", "DEL", "a")
        s.read("listener")
        s.call("writer", "FLUSHDB")
        s.read("listener")
    same_scenario(fresh, scenario)


def test_bcast_prefixes_and_noloop(fresh):
    def scenario(s):
        s.client("tracker", protocol=3)
        s.call("tracker", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:", "PREFIX", "obj", "NOLOOP")
        s.call("writer", "MSET", "user:2", "1", "user:1", "2", "other", "3", "obj:9", "x")
        s.read("tracker", 2)
        s.call("tracker", "SET", "user:3", "v")
        s.call("tracker", "MSET", "user:4", "v", "user:5", "v")
        s.call("writer", "SET", "user:4", "w")
        s.read("tracker")
        s.call("tracker", "CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "z")
        s.call("tracker", "CLIENT", "TRACKINGINFO")
        s.call("tracker", "SET", "z1", "v")
        s.read("tracker")
        s.info("writer")
        s.call("tracker", "CLIENT", "TRACKING", "OFF")
        s.call("all", "HELLO", "3")
        s.call("all", "CLIENT", "TRACKING", "ON", "BCAST")
        s.call("writer", "DEL", "user:1", "zz", "obj:9")
        s.read("all")
        s.call("writer", "FLUSHALL")
        s.read("all")
        s.call("writer", "CLIENT", "LIST")
    same_scenario(fresh, _without_client_list_sizes(scenario))


def test_optin_optout(fresh):
    def scenario(s):
        s.client("tracker", protocol=3)
        s.call("tracker", "CLIENT", "TRACKING", "ON", "OPTIN")
        s.call("tracker", "GET", "a")
        s.call("tracker", "CLIENT", "CACHING", "YES")
        s.call("tracker", "CLIENT", "TRACKINGINFO")
        s.call("tracker", "GET", "b")
        s.call("tracker", "CLIENT", "TRACKINGINFO")
        s.call("writer", "MSET", "a", "1", "b", "2")
        s.read("tracker")
        s.call("tracker", "CLIENT", "CACHING", "YES")
        s.call("tracker", "MULTI")
        s.call("tracker", "GET", "a")
        s.call("tracker", "GET", "b")
        s.call("tracker", "EXEC")
        s.call("writer", "MSET", "a", "1", "b", "2")
        s.read("tracker", 2)
        s.call("tracker", "CLIENT", "TRACKING", "OFF")
        s.call("tracker", "CLIENT", "TRACKING", "ON", "OPTOUT", "NOLOOP")
        s.call("tracker", "GET", "a")
        s.call("tracker", "CLIENT", "CACHING", "NO")
        s.call("tracker", "GET", "b")
        s.call("writer", "MSET", "a", "1", "b", "2")
        s.read("tracker")
        s.call("tracker", "GET", "a")
        s.call("tracker", "SET", "a", "own")
        s.call("tracker", "PING")
        s.info("writer")
    same_scenario(fresh, scenario)


def test_table_limit_invalidates_dropped_keys(tmp_path):
    """tracking-table-max-keys: the keys dropped to fit are invalidated (which ones is random: counted)."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis") as servers:
        counts = []
        for server in servers:
            tracker, asker = WireClient(server.port), WireClient(server.port)
            tracker.call("HELLO", "3")
            tracker.call("CLIENT", "TRACKING", "ON")
            tracker.call("CONFIG", "SET", "tracking-table-max-keys", "10")
            for index in range(30):
                tracker.send_raw(b"*2\r\n$3\r\nGET\r\n$%d\r\nkey:%d\r\n" % (len(b"key:%d" % index), index))
            tracker.sock.settimeout(TIMEOUT)
            received = []
            while True:
                message = tracker.read_reply()
                if not isinstance(message, bytes):
                    break
                received.append(message)
            pushed = [message for message in received if message.startswith(b">")]
            keys = int(asker.call("INFO", "stats").split(b"tracking_total_keys:")[1].split(b"\r\n")[0])
            counts.append((keys, len(received) - len(pushed), len(pushed),
                           all(message.startswith(b">2\r\n$10\r\ninvalidate\r\n*1\r\n") for message in pushed)))
            tracker.close()
            asker.close()
        assert counts[0] == counts[1] == (10, 30, 20, True)


@pytest.mark.parametrize("target", ["ours", "redis"])
def test_redis_py_client_side_cache(request, monkeypatch, target):
    """redis-py 8's cache: a second read is served from the cache, another client's write invalidates it.

    redis-py refuses a server whose HELLO says a version below 7.4 (its gate is the version, not a
    feature: Redis 7.0 tracks keys as 7.4 does), so the gate is lowered to 7.0 for ours and Redis alike."""
    monkeypatch.setattr(CacheProxyConnection, "MIN_ALLOWED_VERSION", "7.0.0")
    server = request.getfixturevalue("server" if target == "ours" else "real_redis")
    cached = redis.Redis(port=server.port, protocol=3, cache_config=CacheConfig())
    writer = redis.Redis(port=server.port)
    try:
        writer.set("cached:key", "one")
        assert cached.get("cached:key") == b"one"
        assert cached.get_cache().size == 1
        writer.set("cached:key", "two")
        deadline = time.monotonic() + 5
        while cached.get("cached:key") != b"two":
            assert time.monotonic() < deadline, "the cached value was never invalidated"
            time.sleep(0.01)
        cached.set("cached:own", "a")
        assert cached.get("cached:own") == b"a"
        cached.set("cached:own", "b")
        assert cached.get("cached:own") == b"b"
    finally:
        writer.delete("cached:key", "cached:own")
        cached.close()
        writer.close()


def test_which_reads_remember_keys(fresh):
    """Every read-only command remembers the keys it names (errors, repeats, movable keys and other
    databases included: the table knows key names, not databases)."""
    def scenario(s):
        s.client("tracker", protocol=3)
        s.call("writer", "LPUSH", "list", "1")
        s.call("tracker", "CLIENT", "TRACKING", "ON")
        for command in (("GET", "list"), ("MGET", "m", "m"), ("EXISTS", "e"), ("TYPE", "t"), ("TTL", "ttl"),
                        ("SORT_RO", "list"), ("LCS", "x", "y"), ("ZUNION", "2", "z1", "z2"),
                        ("OBJECT", "ENCODING", "list"), ("STRLEN", "s"), ("SELECT", "1"), ("GET", "db1")):
            s.call("tracker", *command)
        s.info("writer")
        s.call("writer", "MSET", "m", "1", "e", "1", "t", "1", "ttl", "1", "x", "1", "z2", "1", "s", "1", "db1", "1")
        s.read("tracker", 8)
        s.call("writer", "DEL", "list")
        s.read("tracker")
        s.info("writer")
        s.call("tracker", "CLIENT", "TRACKING", "ON", "NOLOOP")
        s.call("tracker", "GET", "own")
        s.call("tracker", "MULTI")
        s.call("tracker", "SET", "own", "1")
        s.call("tracker", "GET", "own")
        s.call("tracker", "EXEC")
        s.call("writer", "SET", "own", "2")
        s.read("tracker")
    same_scenario(fresh, scenario)


def test_keys_a_script_reads_are_tracked_for_its_caller(fresh):
    """A script's reads remember, for the client that ran it, the script's declared keys, as Redis 7.0's
    call() does (not the keys it read: k2 below is never tracked); its writes invalidate others' keys, and
    NOLOOP spares the caller its own."""
    def scenario(s):
        s.client("tracker", protocol=3)
        s.call("tracker", "CLIENT", "TRACKING", "ON", "NOLOOP")
        s.call("tracker", "EVAL", "return redis.call('get', KEYS[1])", "1", "k")
        s.call("writer", "SET", "k", "v")
        s.read("tracker")
        s.call("tracker", "EVAL_RO", "return redis.call('get', 'k2')", "1", "declared")
        s.call("writer", "MSET", "k2", "1", "declared", "2")
        s.read("tracker")
        s.call("writer", "GET", "k")
        s.call("tracker", "GET", "k")
        s.call("tracker", "EVAL", "return redis.call('set', KEYS[1], 'mine')", "1", "k")  # NOLOOP: no push
        s.call("tracker", "GET", "k")
        s.call("writer", "EVAL", "return redis.call('set', KEYS[1], 'theirs')", "1", "k")
        s.read("tracker")
        s.call("writer", "FUNCTION", "LOAD", "#!lua name=tr\n"
               "redis.register_function('rd', function(keys) return redis.call('get', keys[1]) end)")
        s.call("tracker", "FCALL", "rd", "1", "f")
        s.call("writer", "SET", "f", "1")
        s.read("tracker")
        s.call("writer", "FUNCTION", "FLUSH")
    same_scenario(fresh, scenario)


def test_stream_writes_invalidate_readers(fresh):
    """XRANGE remembers the stream; XADD, XDEL and XTRIM invalidate it, XSETID and the consumer group's
    commands do not (Redis announces their events without signalModifiedKey): each of those runs on a
    stream of its own that the tracker read, and the only pushes at the end are the data writes'."""
    meta = [("XGROUP", "CREATE", "{}", "g2", "0"), ("XGROUP", "CREATECONSUMER", "{}", "g", "c"),
            ("XREADGROUP", "GROUP", "g", "d", "STREAMS", "{}", ">"), ("XCLAIM", "{}", "g", "e", "0", "1-1"),
            ("XACK", "{}", "g", "1-1"), ("XGROUP", "SETID", "{}", "g", "0"), ("XGROUP", "DELCONSUMER", "{}", "g", "d"),
            ("XGROUP", "DESTROY", "{}", "g"), ("XSETID", "{}", "5-1")]

    def scenario(s):
        s.client("tracker", protocol=3)
        s.call("tracker", "CLIENT", "TRACKING", "ON")
        for index, command in enumerate(meta):
            key = "m%d" % index
            s.call("writer", "XADD", key, "1-1", "f", "v")
            s.call("writer", "XGROUP", "CREATE", key, "g", "0")
            s.call("writer", "XREADGROUP", "GROUP", "g", "d", "STREAMS", key, ">")
            s.call("tracker", "XRANGE", key, "-", "+")
            s.call("writer", *[key if word == "{}" else word for word in command])
        for write in (("XADD", "st", "1-1", "f", "v"), ("XDEL", "st", "1-1"), ("XTRIM", "st", "MAXLEN", "0")):
            s.call("tracker", "XRANGE", "st", "-", "+")
            s.call("writer", *write)
            s.read("tracker")
    same_scenario(fresh, scenario)
