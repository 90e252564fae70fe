"""MIGRATE, RESTORE-ASKING and the cluster commands of a server without cluster support, against Redis 7.0.15.

MIGRATE is run from ours and from Redis, each into its own real Redis target with a password: the replies
are compared byte for byte, and the targets' contents by DEBUG DIGEST."""
import pytest
import redis

from conftest import RunningServer, free_port, logged_by_both, ours_and_redis, start_ours, start_real_redis
from differential import Pair

PASSWORD = "secret"


@pytest.fixture(scope="module")
def sources_and_targets(tmp_path_factory):
    """(ours, Redis) as the sources, (a Redis target for ours, a Redis target for Redis), all with DEBUG."""
    folders = [tmp_path_factory.mktemp(name) for name in ("ours", "redis", "target1", "target2")]
    with ours_and_redis(folders[0], folders[1], "--enable-debug-command", "yes") as sources:
        targets = [start_real_redis(folder, "--requirepass", PASSWORD, "--enable-debug-command", "yes")
                   for folder in folders[2:]]
        try:
            yield sources, targets
        finally:
            for target in targets:
                target.stop()


@pytest.fixture
def migration(sources_and_targets):
    """A Pair over the two sources, emptied with their targets; (pair, target clients)."""
    (ours, real), targets = sources_and_targets
    clients = [redis.Redis(port=target.port, password=PASSWORD) for target in targets]
    for client in clients:
        client.flushall()
    with Pair(ours.port, real.port) as pair:
        pair.check("FLUSHALL")
        yield pair, [target.port for target in targets], clients
    for client in clients:
        client.close()


def _both(pair, ports, *arguments):
    """MIGRATE from each source to its own target (the target's port put in after the host)."""
    replies = []
    for client, port in ((pair.ours, ports[0]), (pair.redis, ports[1])):
        replies.append(client.call("MIGRATE", "127.0.0.1", str(port), *arguments))
    assert replies[0] == replies[1]
    return replies[0]


def _same_targets(clients):
    digests = [client.execute_command("DEBUG", "DIGEST") for client in clients]
    assert digests[0] == digests[1]
    return digests[0]


FILL = [
    ("SET", "s", "value"), ("SET", "ttl", "v", "EX", "1000"), ("RPUSH", "l", "a", "b", "c"),
    ("HSET", "h", "f", "1", "g", "2"), ("SADD", "set", "x", "y"), ("ZADD", "z", "1", "a", "2.5", "b"),
    ("XADD", "x", "1-1", "f", "v"), ("SET", "copied", "c"), ("SET", "busy", "here"),
]


def test_errors_before_any_connection(migration):
    pair, ports, _ = migration
    pair.check_sequence(FILL)
    for arguments in (("s", "0", "100", "foo"), ("s", "0", "100", "auth"), ("s", "0", "100", "auth2", "u"),
                      ("s", "0", "abc"), ("s", "x", "100"), ("s", "0", "100", "keys", "a"),
                      ("nosuchkey", "0", "100"), ("", "0", "100", "keys"), ("", "0", "100", "keys", "nokey")):
        _both(pair, ports, *arguments)
    pair.check("MIGRATE", "127.0.0.1", "1", "s")  # arity
    closed = str(free_port())
    pair.check("MIGRATE", "127.0.0.1", closed, "s", "0", "100")  # refused: Redis calls it a write error


def test_keys_move_with_their_ttl_and_replace_copy_auth(migration):
    pair, ports, clients = migration
    pair.check_sequence(FILL)
    _both(pair, ports, "s", "0", "1000")  # no password: the target's NOAUTH comes back
    _both(pair, ports, "s", "0", "1000", "AUTH", "wrong")
    assert _both(pair, ports, "s", "0", "1000", "AUTH", PASSWORD) == b"+OK\r\n"
    pair.check("EXISTS", "s")
    _both(pair, ports, "", "0", "1000", "AUTH2", "default", PASSWORD, "KEYS", "ttl", "l", "h", "set", "z", "x", "gone")
    pair.check("DBSIZE")
    for client in clients:
        assert 990_000 < client.pttl("ttl") <= 1_000_000
    _both(pair, ports, "copied", "0", "1000", "AUTH", PASSWORD, "COPY")
    pair.check("GET", "copied")
    for client in clients:
        client.set("busy", "there")
    _both(pair, ports, "busy", "0", "1000", "AUTH", PASSWORD)  # BUSYKEY: stays here
    pair.check("GET", "busy")
    _both(pair, ports, "busy", "0", "1000", "AUTH", PASSWORD, "REPLACE")
    pair.check("EXISTS", "busy")
    _both(pair, ports, "copied", "99", "1000", "AUTH", PASSWORD, "COPY")  # the target's SELECT fails
    _both(pair, ports, "copied", "3", "1000", "AUTH", PASSWORD, "COPY")
    _same_targets(clients)
    for client in clients:
        assert client.type("x") == b"stream" and client.zscore("z", "b") == 2.5 and client.get("busy") == b"here"
    changes = [redis.Redis(port=client.port).info("persistence")["rdb_changes_since_last_save"]
               for client in (pair.ours, pair.redis)]
    assert changes[0] == changes[1]


def test_a_partial_failure_moves_what_the_target_took(migration):
    pair, ports, clients = migration
    pair.check_sequence([("SET", "a", "1"), ("SET", "b", "2"), ("SET", "c", "3")])
    for client in clients:
        client.set("b", "taken")
    _both(pair, ports, "", "0", "1000", "AUTH", PASSWORD, "KEYS", "a", "b", "c")
    pair.check_sequence([("EXISTS", "a"), ("GET", "b"), ("EXISTS", "c")])
    _same_targets(clients)


def test_the_cached_connection_survives_a_restarted_target(tmp_path):
    """The first write after the target went away fails on the cached socket; MIGRATE connects again."""
    source = start_ours(tmp_path)
    port = free_port()
    try:
        client = redis.Redis(port=source.port)
        for round_ in range(2):
            (tmp_path / str(round_)).mkdir()
            target = RunningServer(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                    "--dir", str(tmp_path / str(round_))], port, str(tmp_path / str(round_)))
            try:
                client.set("k", round_)
                assert client.migrate("127.0.0.1", port, "k", 0, 1000) == b"OK"
                assert redis.Redis(port=port).get("k") == str(round_).encode()
            finally:
                target.stop()
    finally:
        source.stop()


def test_ours_as_the_target(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", "--enable-debug-command", "yes") as (ours, real):
        source = redis.Redis(port=real.port)
        for command in FILL:
            source.execute_command(*command)
        digest = source.execute_command("DEBUG", "DIGEST")
        assert source.execute_command("MIGRATE", "127.0.0.1", ours.port, "", 0, 1000, "KEYS",
                                      *[command[1] for command in FILL]) == b"OK"
        assert source.dbsize() == 0
        assert redis.Redis(port=ours.port).execute_command("DEBUG", "DIGEST") == digest


def test_logged_as_del_and_redacted(tmp_path, migration):
    pair, ports, _ = migration
    pair.check_sequence([("CONFIG", "SET", "slowlog-log-slower-than", "0"), ("SLOWLOG", "RESET"),
                         ("SET", "a", "1"), ("SET", "b", "2")])
    _both(pair, ports, "", "0", "1000", "AUTH2", "default", PASSWORD, "KEYS", "a", "b")
    for client in (pair.ours, pair.redis):
        entries = redis.Redis(port=client.port).slowlog_get(10)
        migrate = next(entry for entry in entries if entry["command"].startswith(b"MIGRATE"))
        assert migrate["command"].split(b" ")[6:] == [b"AUTH2", b"(redacted)", b"(redacted)", b"KEYS", b"a", b"b"]
    pair.check("CONFIG", "SET", "slowlog-log-slower-than", "10000")


def test_the_aof_logs_del(tmp_path):
    target_folder = tmp_path / "target"
    target_folder.mkdir()
    target = start_real_redis(target_folder)
    try:
        def run(client):
            client.mset({"a": 1, "b": 2, "c": 3})
            client.migrate("127.0.0.1", target.port, ["a", "b"], 0, 1000, replace=True)
            client.migrate("127.0.0.1", target.port, "c", 0, 1000, copy=True, replace=True)
            client.migrate("127.0.0.1", target.port, "none", 0, 1000)

        ours, real = logged_by_both(tmp_path, run, "--appendfsync", "always")
        assert ours == real
    finally:
        target.stop()


@pytest.mark.parametrize("command", [
    ("CLUSTER", "INFO"), ("CLUSTER",), ("CLUSTER", "FOO"), ("CLUSTER", "HELP"), ("CLUSTER", "MYID", "x"),
    ("CLUSTER", "KEYSLOT", "k"), ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS"),
    ("CLUSTER", "SETSLOT", "1", "STABLE"), ("ASKING",), ("READONLY",), ("READWRITE",), ("READONLY", "x"),
    ("RESTORE-ASKING",), ("RESTORE-ASKING", "k", "0", "bad"),
])
def test_without_cluster_support(both, command):
    both.check(*command)


def test_restore_asking_restores(both):
    both.check("SET", "k", "v")
    payload = both.redis.call("DUMP", "k")
    data = payload.split(b"\r\n", 1)[1][:-2]
    both.check("RESTORE-ASKING", "copy", "0", data)
    both.check("GET", "copy")


@pytest.mark.parametrize("arguments", [("k", "0", "100"), ("", "0", "100", "KEYS", "a", "b"),
                                       ("", "0", "100", "COPY", "AUTH", "pw", "KEYS", "a")])
def test_its_keys(both, arguments):
    both.check("COMMAND", "GETKEYS", "MIGRATE", "127.0.0.1", "6379", *arguments)


def test_its_keys_with_flags(both):
    both.check("COMMAND", "GETKEYSANDFLAGS", "MIGRATE", "127.0.0.1", "6379", "", "0", "100", "AUTH2", "keys", "x",
               "KEYS", "a", "b")
