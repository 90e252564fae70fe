"""MULTI, EXEC, DISCARD, WATCH, UNWATCH: the same replies as Redis, and real races between two clients."""
import threading
import time

import pytest
import redis

from differential import Pair, mask_client_id


def test_queueing_and_exec(pair):
    pair.check_sequence([
        ("MULTI",), ("SET", "a", "1"), ("INCR", "a"), ("GET", "a"), ("MGET", "a", "b"), ("EXEC",),
        ("GET", "a"),
    ])


def test_runtime_error_stays_in_its_slot(pair):
    pair.check_sequence([
        ("SET", "s", "text"), ("MULTI",), ("INCR", "s"), ("SET", "t", "1"), ("INCRBYFLOAT", "s", "1"),
        ("GET", "t"), ("EXEC",),
    ])


def test_queueing_errors_abort_exec(pair):
    pair.check_sequence([
        ("MULTI",), ("SET", "a", "1"), ("GET",), ("NOSUCH", "x"), ("SET", "b", "2"), ("EXEC",),
        ("EXISTS", "a", "b"),
    ])


def test_control_errors(pair):
    pair.check_sequence([
        ("EXEC",), ("DISCARD",), ("MULTI",), ("MULTI",), ("WATCH", "a"), ("SET", "a", "1"), ("EXEC",),
        ("MULTI", "x"), ("EXEC", "x"), ("DISCARD", "x"), ("WATCH",), ("UNWATCH", "x"),
        ("MULTI",), ("EXEC",), ("MULTI",), ("DISCARD",), ("GET", "a"), ("UNWATCH",),
    ])


def test_resp3_exec(pair):
    pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_sequence([("MULTI",), ("SET", "a", "1"), ("GET", "a"), ("GET", "nokey"), ("EXEC",)])


def test_watch_own_write_aborts(pair):
    pair.check_sequence([
        ("SET", "w", "1"), ("WATCH", "w"), ("SET", "w", "2"), ("MULTI",), ("GET", "w"), ("EXEC",),
        ("WATCH", "w"), ("MULTI",), ("GET", "w"), ("EXEC",),
    ])


def test_watch_survives_writes_that_change_nothing(pair):
    """SET NX on an existing key and DEL of a missing key don't touch the watched key."""
    pair.check_sequence([
        ("SET", "w", "1"), ("WATCH", "w", "other"), ("SET", "w", "9", "NX"), ("DEL", "other"),
        ("MULTI",), ("GET", "w"), ("EXEC",),
    ])


@pytest.mark.parametrize("change", [
    ("FLUSHDB",), ("FLUSHALL",), ("SWAPDB", "0", "1"), ("RENAME", "w", "elsewhere"), ("DEL", "w"),
    ("EXPIRE", "w", "100"), ("APPEND", "w", "x"), ("INCR", "w"),
])
def test_watch_broken_by_another_client(server, real_redis, change):
    with Pair(server.port, real_redis.port) as watcher, Pair(server.port, real_redis.port) as other:
        watcher.check("FLUSHALL")
        watcher.check("SET", "w", "1")
        watcher.check("WATCH", "w")
        other.check(*change)
        watcher.check_sequence([("MULTI",), ("SET", "w", "mine"), ("EXEC",)])
        other.check("FLUSHALL")


def test_watch_of_a_key_that_expires(pair):
    pair.check_sequence([("SET", "w", "1", "PX", "30"), ("WATCH", "w")])
    time.sleep(0.1)
    pair.check_sequence([("MULTI",), ("SET", "x", "1"), ("EXEC",), ("EXISTS", "x")])


def test_flush_of_a_missing_watched_key_does_not_abort(pair):
    pair.check_sequence([("WATCH", "nothing"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",)])


def test_discard_unwatches(pair):
    pair.check_sequence([
        ("SET", "w", "1"), ("WATCH", "w"), ("MULTI",), ("DISCARD",), ("SET", "w", "2"), ("MULTI",),
        ("GET", "w"), ("EXEC",),
    ])


def test_optimistic_lock_race_with_redis_py(any_server):
    """Two clients increment one counter with WATCH/MULTI/EXEC retries: no update is lost."""
    client = redis.Redis(port=any_server.port)
    client.set("tx:counter", 0)
    rounds, workers = 100, 4
    retries = []

    def worker():
        local = redis.Redis(port=any_server.port)
        for _ in range(rounds):
            while True:
                with local.pipeline() as pipe:
                    try:
                        pipe.watch("tx:counter")
                        value = int(pipe.get("tx:counter"))
                        pipe.multi()
                        pipe.set("tx:counter", value + 1)
                        pipe.execute()
                        break
                    except redis.WatchError:
                        retries.append(1)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert int(client.get("tx:counter")) == rounds * workers


def test_redis_py_pipeline_is_a_transaction(any_server):
    client = redis.Redis(port=any_server.port)
    client.delete("tx:p")
    with client.pipeline() as pipe:
        results = pipe.set("tx:p", 1).incr("tx:p").get("tx:p").execute()
    assert results == [True, 2, b"2"]
    with client.pipeline() as pipe:
        pipe.set("tx:p", "x").incr("tx:p").get("tx:p")
        results = pipe.execute(raise_on_error=False)
    assert results[0] is True and isinstance(results[1], redis.ResponseError) and results[2] == b"x"


def test_exec_is_atomic_for_other_clients(server):
    """While one client's EXEC runs its 2,000 commands, another's reads see none or all of them."""
    writer = redis.Redis(port=server.port)
    reader = redis.Redis(port=server.port)
    writer.delete("tx:atomic")
    seen = []
    done = threading.Event()

    def read():
        while not done.is_set():
            seen.append(int(reader.get("tx:atomic") or 0))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(5):
            with writer.pipeline() as pipe:
                for _ in range(2000):
                    pipe.incr("tx:atomic")
                pipe.execute()
    finally:
        done.set()
        thread.join(30)
    assert seen and all(count % 2000 == 0 for count in seen)
