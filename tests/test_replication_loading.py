"""Loading without freezing: a replica's full sync and the start-up load hand the event loop to the clients
as they parse, as Redis's loaders do every loading-process-events-interval-bytes (set to 1024 here, its
least, so that a small dataset yields hundreds of times).

What a client meets meanwhile is compared with a real Redis in the same mode, byte for byte: -LOADING for
what is not flagged `loading`, or, in an async load (repl-diskless-load swapdb, a resync within the
history the replica holds), the old data, with only the `no_async_loading` commands refused. A client's
commands sent in one write are served in one turn by both servers, so a pipeline that INFO brackets and
finds loading on both ends saw the load throughout: no timing is assumed. After the load, DEBUG DIGEST
equals the master's.
"""
import re

import pytest
import redis

from conftest import start_ours, start_real_redis
from differential import WireClient, encode_command, parse_reply
from test_replication_replica import caught_up, digest, linked, wait_until

LOADING = b"-LOADING Redis is loading the dataset in memory\r\n"
MASTER_OPTIONS = ("--repl-diskless-sync-delay", "0", "--repl-backlog-size", "16384", "--enable-debug-command", "yes")
REPLICA_OPTIONS = ("--loading-process-events-interval-bytes", "1024", "--repl-timeout", "10",
                   "--enable-debug-command", "yes")
REDIS_KEY_DELAY = ("--key-load-delay", "50")  # Redis loads 20k keys in milliseconds: 50 us a key, 1 s
KEYS = 20000


def during_sync(mode):
    """What a client sends during a sync. Every command leaves the replica as it was if it runs before the
    load begins (the probe is sent until it finds the load): CONFIG SET of the values already set."""
    return (("GET", "marker"), ("PING",), ("DBSIZE",), ("MULTI",), ("GET", "x"), ("PING",), ("EXEC",), ("ROLE",),
            ("CONFIG", "SET", "appendonly", "no"), ("CONFIG", "SET", "repl-diskless-load", mode),
            ("CONFIG", "SET", "maxmemory", "0"), ("INFO", "replication"))


def during_async_load(master_port):
    """As during_sync(): REPLICAOF of the master it has (no_async_loading) changes nothing if it runs."""
    replicaof = ("REPLICAOF", "127.0.0.1", master_port)
    return (("GET", "marker"), ("DBSIZE",), ("PING",), replicaof, ("MULTI",), ("GET", "marker"), ("EXEC",),
            ("MULTI",), replicaof, ("EXEC",), ("ROLE",), ("CONFIG", "SET", "repl-diskless-load", "swapdb"))


def persistence_fields(reply):
    text = parse_reply(reply).decode()
    return [tuple(line.split(":", 1)) for line in text.split("\r\n") if ":" in line]


def during_load(clients, commands, flag):
    """To each server (clients: name -> WireClient), INFO persistence, the commands, INFO persistence in one
    write, again until both INFOs show flag:1 (the commands all ran while the server loaded), the servers
    probed in turn: {name: (the first INFO's fields, the commands' replies)}."""
    probe = b"".join(encode_command(command) for command in (("INFO", "persistence"), *commands,
                                                             ("INFO", "persistence")))
    seen = {}
    for _ in range(20000):
        for name, client in clients.items():
            if name in seen:
                continue
            client.send_raw(probe)
            replies = client.read_replies(len(commands) + 2)
            first, last = persistence_fields(replies[0]), persistence_fields(replies[-1])
            if dict(first)[flag] == "1" and dict(last)[flag] == "1":
                seen[name] = first, replies[1:-1]
        if len(seen) == len(clients):
            return seen
    raise AssertionError("never saw %s:1 on %s" % (flag, sorted(set(clients) - set(seen))))


def populated_master(tmp_path):
    (tmp_path / "master").mkdir()
    master = start_real_redis(tmp_path / "master", *MASTER_OPTIONS)
    source = redis.Redis(port=master.port)
    source.execute_command("DEBUG", "POPULATE", KEYS)
    source.hset("hash", mapping={"f%d" % i: "v" * 40 for i in range(200)})
    source.rpush("list", *range(500))
    source.set("marker", "from the master")
    return master


def start_replica(tmp_path, name, master, real, *options, old_data=True):
    (tmp_path / name).mkdir()
    start = start_real_redis if real else start_ours
    replica = start(tmp_path / name, *REPLICA_OPTIONS, *(REDIS_KEY_DELAY if real else ()), *options)
    if old_data:
        redis.Redis(port=replica.port).set("marker", "old data")
    with WireClient(replica.port) as client:
        client.call("REPLICAOF", "127.0.0.1", master.port)
    return replica


def loaded(port):
    with WireClient(port) as client:
        return dict(persistence_fields(client.call("INFO", "persistence")))["loading"] == "0"


def loading_field_names(fields):
    return [name for name, _ in fields if name.startswith("loading") or name == "async_loading"]


def replication_fields(reply):
    """INFO replication's fields up to the link's, without the ones that tell seconds."""
    fields = persistence_fields(reply)
    return [(name, value) for name, value in fields[:fields.index(("slave_priority", "100"))]
            if not name.endswith("_seconds_ago")]


@pytest.mark.parametrize("mode, old_data", [("disabled", True), ("on-empty-db", True), ("on-empty-db", False),
                                            ("swapdb", True)])
def test_a_full_sync_answers_clients_as_redis_does(tmp_path, mode, old_data):
    """A first sync (in swapdb mode too: Redis loads asynchronously only within the history it holds; and
    on-empty-db receives on disk unless the replica is empty): -LOADING for what is not flagged loading,
    an EXEC of it aborted, CONFIG SET of appendonly and repl-diskless-load refused; INFO shows loading:1
    and Redis's loading_* fields, and INFO replication what Redis's shows."""
    master = populated_master(tmp_path)
    seen = {}
    try:
        for name, real in (("ours", False), ("real", True)):
            replica = start_replica(tmp_path, name, master, real, "--repl-diskless-load", mode, old_data=old_data)
            try:
                with WireClient(replica.port) as client:
                    seen.update(during_load({name: client}, during_sync(mode), "loading"))
                wait_until(lambda: linked(replica.port), timeout=60, what="the sync to end")
                assert digest(replica.port) == digest(master.port)
                assert redis.Redis(port=replica.port).get("marker") == b"from the master"
            finally:
                replica.stop()
    finally:
        master.stop()
    (ours_info, ours), (real_info, theirs) = seen["ours"], seen["real"]
    assert ours[:-1] == theirs[:-1]
    assert replication_fields(ours[-1]) == replication_fields(theirs[-1])
    assert ours[0] == LOADING and ours[6].startswith(b"-EXECABORT")
    assert loading_field_names(ours_info) == loading_field_names(real_info) == [
        "loading", "async_loading", "loading_start_time", "loading_total_bytes", "loading_rdb_used_mem",
        "loading_loaded_bytes", "loading_loaded_perc", "loading_eta_seconds"]
    assert dict(ours_info)["async_loading"] == "0"
    assert [name for name, _ in ours_info][-6:] == [name for name, _ in real_info][-6:]  # the loading_* go last
    if mode == "disabled":  # the file's size, as Redis's; diskless from a $EOF master, unknown: 0
        assert int(dict(ours_info)["loading_total_bytes"]) > 0
        assert dict(ours_info)["loading_rdb_used_mem"] != "0"


def test_an_async_load_keeps_serving_the_old_data_as_redis_does(tmp_path):
    """swapdb, and a full resync within the same history (the master's backlog overrun while the link was
    down): the replica serves its old data while it loads, async_loading:1, and refuses only the
    no_async_loading commands (an EXEC of one too); then the new data is there at once."""
    master = populated_master(tmp_path)
    replicas = {}
    try:
        for name, real in (("ours", False), ("real", True)):
            replicas[name] = start_replica(tmp_path, name, master, real, "--repl-diskless-load", "swapdb")
        for replica in replicas.values():
            wait_until(lambda: linked(replica.port), timeout=60, what="the first sync")
        caught_up(master, *replicas.values())
        # Both replicas drop their link, and the master writes more than its backlog holds before they are back.
        with WireClient(master.port) as client:
            client.send_raw(encode_command(("CLIENT", "KILL", "TYPE", "replica"))
                            + encode_command(("SET", "marker", "after the resync"))
                            + encode_command(("SET", "filler", "x" * 100_000)))
            assert client.read_replies(3) == [b":2\r\n", b"+OK\r\n", b"+OK\r\n"]
        clients = {name: WireClient(replica.port) for name, replica in replicas.items()}
        try:
            seen = during_load(clients, during_async_load(master.port), "async_loading")
        finally:
            for client in clients.values():
                client.close()
        for replica in replicas.values():
            wait_until(lambda: linked(replica.port), timeout=60, what="the resync to end")
        caught_up(master, *replicas.values())
        for replica in replicas.values():
            assert redis.Redis(port=replica.port).get("marker") == b"after the resync"
            assert digest(replica.port) == digest(master.port)
        ours_log = replicas["ours"].log()
    finally:
        for replica in replicas.values():
            replica.stop()
        master.stop()
    (ours_info, ours), (real_info, theirs) = seen["ours"], seen["real"]
    assert ours == theirs
    assert ours[:3] == [b"$15\r\nfrom the master\r\n", b":%d\r\n" % (KEYS + 3), b"+PONG\r\n"]
    assert ours[3] == LOADING and ours[6] == b"*1\r\n$15\r\nfrom the master\r\n"
    assert ours[8] == LOADING and ours[9].startswith(b"-EXECABORT") and ours[11] == LOADING
    assert dict(ours_info)["loading"] == "0" and dict(ours_info)["async_loading"] == "1"
    assert loading_field_names(ours_info) == loading_field_names(real_info)
    assert re.search(r"Full resync from master: \w+:\d+", ours_log)


def test_start_up_loading_answers_clients_as_redis_does(tmp_path):
    """dump.rdb loads after the server listens: a client that comes meanwhile gets -LOADING (PING too,
    which Redis 7.0 does not flag loading), INFO shows the load, the data is all there after."""
    master = populated_master(tmp_path)
    try:
        redis.Redis(port=master.port).save()
        dump = (tmp_path / "master" / "dump.rdb").read_bytes()
        expected = digest(master.port)
    finally:
        master.stop()
    seen = {}
    for name, start, options in (("ours", start_ours, ()), ("real", start_real_redis, REDIS_KEY_DELAY)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "dump.rdb").write_bytes(dump)
        server = start(tmp_path / name, *REPLICA_OPTIONS, *options, loaded=False)
        try:
            with WireClient(server.port) as client:
                seen.update(during_load({name: client}, (("GET", "marker"), ("PING",), ("SELECT", "1"), ("DBSIZE",)),
                                        "loading"))
            wait_until(lambda: loaded(server.port), timeout=60, what="the load to end")
            assert digest(server.port) == expected
        finally:
            server.stop()
    assert seen["ours"][1] == seen["real"][1] == [LOADING, LOADING, b"+OK\r\n", LOADING]
    assert loading_field_names(seen["ours"][0]) == loading_field_names(seen["real"][0])
    assert dict(seen["ours"][0])["loading_total_bytes"] == str(len(dump))


def test_start_up_aof_replay_answers_loading(tmp_path):
    """The AOF replays at start-up with the clients served every 1024 commands, as Redis's loader does:
    -LOADING meanwhile, and the replayed data after."""
    (tmp_path / "ours").mkdir()
    writer = start_ours(tmp_path / "ours", "--appendonly", "yes", "--enable-debug-command", "yes")
    try:
        client = redis.Redis(port=writer.port)
        pipeline = client.pipeline(transaction=False)
        for index in range(30000):
            pipeline.set("key:%d" % index, index)
        pipeline.execute()
        expected = digest(writer.port)
    finally:
        writer.stop()
    server = start_ours(tmp_path / "ours", "--appendonly", "yes", *REPLICA_OPTIONS, loaded=False)
    try:
        with WireClient(server.port) as client:
            fields, replies = during_load({"ours": client}, (("GET", "key:1"), ("PING",),
                                                             ("CONFIG", "GET", "appendonly")), "loading")["ours"]
        assert replies == [LOADING, LOADING, b"*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n"]
        assert int(dict(fields)["loading_total_bytes"]) > 0
        wait_until(lambda: loaded(server.port), timeout=60, what="the replay to end")
        assert digest(server.port) == expected
    finally:
        server.stop()


def test_shutdown_during_the_start_up_load_exits_without_saving(tmp_path):
    """As Redis turns a SHUTDOWN during a load into SHUTDOWN NOSAVE: the half-loaded data is not saved over
    dump.rdb, even with save points set, and the server exits at once."""
    master = populated_master(tmp_path)
    try:
        redis.Redis(port=master.port).save()
        dump = (tmp_path / "master" / "dump.rdb").read_bytes()
    finally:
        master.stop()
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "dump.rdb").write_bytes(dump)
    server = start_ours(tmp_path / "ours", "--save", "3600 1", *REPLICA_OPTIONS, loaded=False)
    try:
        with WireClient(server.port) as client:
            during_load({"ours": client}, (("PING",),), "loading")
            assert client.call("SHUTDOWN") == "<connection closed; unparsed: b''>"
        assert server.process.wait(30) == 0
    finally:
        server.stop()
    assert (tmp_path / "ours" / "dump.rdb").read_bytes() == dump
    assert "Ready to accept connections" not in server.log()
