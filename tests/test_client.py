"""Client against real servers (ours and Redis), and against a loopback socket played by hand like nc.

Pipelines, transactions and pub/sub run against both servers too; the
password-protected server is a real Redis of this module's own.
"""
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import Client, CommandError, PoolTimeout, WatchError
from clientlib.commands import ROWS, safe_to_repeat
from conftest import start_real_redis

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GET_K = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


@pytest.fixture
def key(request):
    """A key name no other test uses, since the servers live for the whole session.

    Brackets would make it a glob pattern for SCAN MATCH and PSUBSCRIBE, so they become parentheses.
    """
    return "test_client:" + request.node.name.replace("[", "(").replace("]", ")")


@pytest.fixture
def client(any_server):
    with Client(port=any_server.port) as connected:
        yield connected


@pytest.fixture
def listener():
    """A listening loopback socket on which the test plays the server, as with `nc -l`."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(5)
        yield sock


@pytest.fixture
def background():
    """A thread for the client's call while the test answers it on the listener."""
    with ThreadPoolExecutor(1) as pool:
        yield pool


def client_for(listener):
    return Client("127.0.0.1", listener.getsockname()[1], socket_timeout=5)


def serve_one(listener, request, reply):
    """Accept a connection, check it sent exactly request, answer reply; return it still open."""
    conn, _ = listener.accept()
    conn.settimeout(5)
    received = b""
    while len(received) < len(request):
        chunk = conn.recv(len(request) - len(received))
        if not chunk:
            break
        received += chunk
    assert received == request
    conn.sendall(reply)
    return conn


# ---------------------------------------------------------------- commands, on both servers


def test_set_returns_true_and_get_returns_bytes(client, key):
    assert client.set(key, "Robbin Hood") is True
    assert client.get(key) == b"Robbin Hood"


def test_get_of_a_missing_key_is_none(client, key):
    assert client.get(key) is None


def test_numbers_are_stored_as_their_digits(client, key):
    client.set(key, 42)
    assert client.get(key) == b"42"
    client.set(key, 1.5)
    assert client.get(key) == b"1.5"


def test_keys_and_values_are_binary_safe(client, key):
    every_byte = bytes(range(256))
    binary_key = key.encode() + every_byte
    assert client.set(binary_key, every_byte) is True
    assert client.get(binary_key) == every_byte
    assert client.mset({binary_key: every_byte[::-1]}) is True
    assert client.mget(binary_key) == [every_byte[::-1]]


def test_delete_counts_the_keys_that_existed(client, key):
    client.mset(key + ":a", 1, key + ":b", 2)
    assert client.delete(key + ":a", key + ":b", key + ":missing") == 2
    assert client.get(key + ":a") is None


def test_mget_returns_a_list_with_none_for_missing_keys(client, key):
    client.set(key + ":a", "1")
    assert client.mget(key + ":a", key + ":missing") == [b"1", None]


def test_mset_takes_alternating_keys_and_values(client, key):
    assert client.mset(key + ":a", "1", key + ":b", 2) is True
    assert client.mget(key + ":a", key + ":b") == [b"1", b"2"]


def test_mset_takes_a_dict(client, key):
    assert client.mset({key + ":a": "1", key + ":b": 2}) is True
    assert client.mget(key + ":a", key + ":b") == [b"1", b"2"]


def test_execute_returns_the_raw_reply_of_any_command(client, key):
    assert client.execute("PING") == b"PONG"
    assert client.execute("SET", key, "v") == b"OK"
    assert client.execute("GET", key) == b"v"
    assert client.execute("DEL", key) == 1


def test_decode_responses_turns_strings_into_str(any_server, key):
    with Client(port=any_server.port, decode_responses=True) as client:
        assert client.set(key, "café") is True
        assert client.get(key) == "café"
        assert client.mget(key, key + ":missing") == ["café", None]
        assert client.execute("PING") == "PONG"
        assert client.mset({key: "x"}) is True
        assert client.delete(key) == 1


def test_wrong_arity_raises_command_error_with_the_server_text(client):
    with pytest.raises(CommandError) as raised:
        client.execute("GET")
    assert str(raised.value) == "ERR wrong number of arguments for 'get' command"


def test_unknown_command_raises_command_error_with_the_server_text(client):
    with pytest.raises(CommandError) as raised:
        client.execute("NOSUCHCOMMAND", "a")
    assert str(raised.value) == "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' "


def test_the_connection_stays_usable_after_an_error_reply(client, key):
    with pytest.raises(CommandError):
        client.mset(key)
    assert client.set(key, "still here") is True
    assert client.get(key) == b"still here"


def test_a_closed_client_reconnects_on_its_next_command(client, key):
    client.set(key, "v")
    client.close()
    assert client.get(key) == b"v"


# ---------------------------------------------------------------- FLUSH exists only in ours


def test_flush_empties_the_database_and_counts_the_keys(server, key):
    with Client(port=server.port) as client:
        client.flush()
        client.mset(key + ":a", 1, key + ":b", 2, key + ":c", 3)
        assert client.flush() == 3
        assert client.mget(key + ":a", key + ":b", key + ":c") == [None, None, None]


def test_the_seed_example_runs_as_written(server):
    cl = Client("127.0.0.1", server.port)
    assert cl.set("name", "Robbin Hood") is True
    assert cl.get("name") == b"Robbin Hood"
    assert cl.flush() >= 1
    cl.close()


# ---------------------------------------------------------------- the connection, played by hand


def test_nc_shows_the_request_as_resp_and_a_typed_reply_answers_it(listener, background):
    """The debugging tip: point the client at `nc -l`, read its request there, type +OK back."""
    client = client_for(listener)
    reply = background.submit(client.set, "name", "Robbin Hood")
    serve_one(listener, b"*3\r\n$3\r\nSET\r\n$4\r\nname\r\n$11\r\nRobbin Hood\r\n", b"+OK\r\n")
    assert reply.result(5) is True


def close_with_reset(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


@pytest.mark.parametrize("close", [socket.socket.close, close_with_reset], ids=["fin", "reset"])
def test_reconnects_and_retries_once_when_the_server_dropped_an_idle_connection(
        listener, background, close):
    client = client_for(listener)
    first = background.submit(client.get, "k")
    idle = serve_one(listener, GET_K, b"$5\r\nfirst\r\n")
    assert first.result(5) == b"first"
    close(idle)
    retried = background.submit(client.get, "k")
    serve_one(listener, GET_K, b"$6\r\nsecond\r\n")
    assert retried.result(5) == b"second"


def assert_no_more_connections(listener):
    """A client that gave up must not have tried again: nothing waits in the backlog."""
    listener.settimeout(0)
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_gives_up_when_the_new_connection_drops_too(listener, background):
    client = client_for(listener)
    first = background.submit(client.get, "k")
    idle = serve_one(listener, GET_K, b"$5\r\nfirst\r\n")
    assert first.result(5) == b"first"
    idle.close()
    doomed = background.submit(client.get, "k")
    listener.accept()[0].close()
    with pytest.raises(ConnectionError):
        doomed.result(5)
    assert_no_more_connections(listener)


def test_a_connection_dropped_before_its_first_reply_is_not_retried(listener, background):
    """Only a reused socket can be stale; a new one failing means the server refuses us."""
    doomed = background.submit(client_for(listener).get, "k")
    listener.accept()[0].close()
    with pytest.raises(ConnectionError):
        doomed.result(5)
    assert_no_more_connections(listener)


def test_an_unreachable_server_raises_connection_refused():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ConnectionRefusedError):
        Client(port=port).get("k")


def test_a_late_reply_never_answers_the_next_command(listener, background):
    """After a timeout the old reply may still arrive; the next command must use a new connection."""
    client = Client(port=listener.getsockname()[1], socket_timeout=0.2)
    with pytest.raises(TimeoutError):
        client.get("k")
    serve_one(listener, GET_K, b"$5\r\nstale\r\n")
    client.socket_timeout = 5
    fresh = background.submit(client.get, "k")
    serve_one(listener, GET_K, b"$5\r\nfresh\r\n")
    assert fresh.result(5) == b"fresh"


def test_leaving_a_with_block_closes_the_connection(listener, background):
    with client_for(listener) as client:
        pong = background.submit(client.execute, "PING")
        conn = serve_one(listener, b"*1\r\n$4\r\nPING\r\n", b"+PONG\r\n")
        assert pong.result(5) == b"PONG"
    assert conn.recv(1) == b""


def test_waits_cooperatively_under_gevent_monkey_patching():
    """In one patched process, a gevent server can answer the client only if the client's recv yields."""
    program = textwrap.dedent("""
        from gevent import monkey
        monkey.patch_all()
        from gevent.server import StreamServer
        from client import Client

        def answer(conn, address):
            conn.recv(1024)
            conn.sendall(b"+OK\\r\\n")

        server = StreamServer(("127.0.0.1", 0), answer)
        server.start()
        print(Client(port=server.server_port, socket_timeout=5).set("k", "v"))
    """)
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True,
                            text=True, timeout=30)
    assert result.stdout == "True\n", result.stderr


# ---------------------------------------------------------------- named methods, from one table


def test_every_table_row_is_a_method_whose_docstring_is_the_wire_form():
    for row in ROWS:
        method = getattr(Client, row.method)
        assert method.__doc__ == row.wire
        assert row.method in dir(Client)
    assert Client.zadd.__doc__.startswith("ZADD key [NX|XX]")


def test_keyword_options_become_words_and_dicts_become_pairs(client, key):
    assert client.set(key, "v", ex=100, nx=True) is True
    assert client.set(key, "w", nx=True) is None
    assert 0 < client.ttl(key) <= 100
    assert client.hset(key + ":h", {"f": 1, "g": "2"}) == 2
    assert client.hgetall(key + ":h") == {b"f": b"1", b"g": b"2"}
    assert client.zadd(key + ":z", {"a": 1.5, "b": 2}) == 2
    assert client.zscore(key + ":z", "a") == 1.5
    assert client.zrange(key + ":z", 0, -1, withscores=True) == [b"a", b"1.5", b"b", b"2"]


def test_set_with_get_returns_the_old_value_even_when_it_is_the_text_ok(client, key):
    """+OK means done; a bulk "OK" is a value: the reader keeps them apart."""
    client.set(key, "OK")
    assert client.set(key, "new", get=True) == b"OK"
    assert client.get(key) == b"new"


def test_reply_transforms_give_python_types(client, key):
    client.sadd(key + ":s", "a", "b")
    assert client.smembers(key + ":s") == {b"a", b"b"}
    assert client.sismember(key + ":s", "a") is True
    assert client.expire(key + ":s", 100) is True
    assert client.incrbyfloat(key + ":f", "1.5") == 1.5
    assert client.scan(0, match=key + ":s", count=1000) == (0, [(key + ":s").encode()])
    assert isinstance(client.info("server")["redis_version"], str)


# ---------------------------------------------------------------- RESP3


@pytest.fixture
def client3(any_server):
    with Client(port=any_server.port, protocol=3) as connected:
        yield connected


def test_resp3_replies_come_back_as_maps_sets_and_doubles(client3, key):
    client3.hset(key + ":h", "f", "v")
    client3.sadd(key + ":s", "m")
    client3.zadd(key + ":z", {"m": 2.5})
    assert client3.execute("HGETALL", key + ":h") == {b"f": b"v"}
    assert client3.execute("SMEMBERS", key + ":s") == {b"m"}
    assert client3.execute("ZSCORE", key + ":z", "m") == 2.5
    assert client3.execute("SISMEMBER", key + ":s", "m") == 1


def test_named_methods_answer_alike_in_resp2_and_resp3(client, client3, key):
    client.hset(key + ":h", {"f": "v"})
    client.zadd(key + ":z", {"m": 2.5})
    for each in (client, client3):
        assert each.hgetall(key + ":h") == {b"f": b"v"}
        assert each.zscore(key + ":z", "m") == 2.5
        assert each.set(key, "v") is True


def test_resp3_sends_hello_3_before_the_first_command(listener, background):
    client = Client(port=listener.getsockname()[1], protocol=3, db=2, socket_timeout=5)
    reply = background.submit(client.get, "k")
    hello = b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n"
    conn = serve_one(listener, hello, b"%1\r\n+proto\r\n:3\r\n")
    select = b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
    received = b""
    while len(received) < len(select):
        received += conn.recv(1024)
    assert received == select
    conn.sendall(b"+OK\r\n")
    assert conn.recv(1024) == GET_K
    conn.sendall(b"_\r\n")
    assert reply.result(5) is None


# ---------------------------------------------------------------- retrying only what is safe to repeat


@pytest.mark.parametrize("argv, safe", [
    (("GET", "k"), True), (("mget", "a", "b"), True), (("SET", "k", "v"), True),
    (("SET", "k", "v", "EX", 10), True), (("SET", "k", "v", "NX"), False),
    (("set", "k", "v", "get"), False), (("MSET", "a", 1), True), (("INCR", "k"), False),
    (("LPUSH", "l", "x"), False), (("DEL", "k"), False), (("SETNX", "k", "v"), False),
    (("EXPIREAT", "k", 1), True), (("EXPIRE", "k", 10), False), (("NOSUCH",), False)])
def test_only_reads_and_writes_that_repeat_identically_are_retried(argv, safe):
    assert safe_to_repeat(argv) is safe


def test_an_incr_on_a_dropped_connection_is_not_resent(listener, background):
    """The server may have run it before the connection died: a second INCR could count twice."""
    incr = b"*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"
    client = client_for(listener)
    first = background.submit(client.incr, "k")
    serve_one(listener, incr, b":1\r\n").close()
    assert first.result(5) == 1
    doomed = background.submit(client.incr, "k")
    with pytest.raises(ConnectionError):
        doomed.result(5)
    assert_no_more_connections(listener)


# ---------------------------------------------------------------- pipelines


def test_a_pipeline_returns_the_replies_in_order(client, key):
    with client.pipeline(transaction=False) as pipe:
        pipe.set(key, 1).incr(key).get(key).execute_command("PING")
        assert len(pipe) == 4
        assert pipe.execute() == [True, 2, b"2", b"PONG"]


def test_a_pipeline_sends_its_commands_in_one_write(listener, background):
    client = client_for(listener)
    pipe = client.pipeline(transaction=False).get("k").get("k").get("k")
    results = background.submit(pipe.execute)
    conn, _ = listener.accept()
    conn.settimeout(5)
    time.sleep(0.2)  # everything there is in the socket by now, if it went in one write
    assert conn.recv(65536) == GET_K * 3
    conn.sendall(b"$1\r\na\r\n$1\r\nb\r\n$-1\r\n")
    assert results.result(5) == [b"a", b"b", None]


def test_a_transaction_wraps_the_pipeline_in_multi_exec(client, key):
    with client.pipeline() as pipe:
        assert pipe.set(key, 1).incr(key).incrby(key, 10).execute() == [True, 2, 12]
    assert client.get(key) == b"12"


@pytest.mark.parametrize("transaction", [False, True])
def test_errors_take_their_slot_and_the_first_is_raised(client, key, transaction):
    client.delete(key)
    pipe = client.pipeline(transaction).set(key, "text").incr(key).lpush(key, "x").get(key)
    with pytest.raises(CommandError, match="ERR value is not an integer"):
        pipe.execute()
    assert client.get(key) == b"text"
    pipe = client.pipeline(transaction).set(key, "text").incr(key).lpush(key, "x").get(key)
    results = pipe.execute(raise_on_error=False)
    assert results[0] is True and results[3] == b"text"
    assert str(results[1]) == "ERR value is not an integer or out of range"
    assert str(results[2]).startswith("WRONGTYPE")


def test_a_command_refused_at_queueing_aborts_the_whole_transaction(client, key):
    client.delete(key)
    results = client.pipeline().set(key, 1).execute_command("GET").execute(raise_on_error=False)
    assert str(results[0]).startswith("EXECABORT")
    assert str(results[1]) == "ERR wrong number of arguments for 'get' command"
    assert client.get(key) is None


def test_leaving_the_with_block_resets_the_pipeline(client, key):
    with client.pipeline() as pipe:
        pipe.set(key, 1)
        pipe.watch(key)
    assert len(pipe) == 0 and pipe._connection is None
    assert pipe.execute() == []  # MULTI + EXEC of nothing


def test_watch_runs_commands_at_once_until_multi(client, key):
    client.set(key, 5)
    with client.pipeline() as pipe:
        pipe.watch(key)
        assert pipe.get(key) == b"5"
        pipe.multi()
        assert pipe.incr(key) is pipe
        assert pipe.execute() == [6]


def test_a_watched_key_changed_by_another_client_raises_watch_error(any_server, client, key):
    client.set(key, 1)
    with Client(port=any_server.port) as rival, client.pipeline() as pipe:
        pipe.watch(key)
        value = int(pipe.get(key))
        rival.set(key, 100)
        pipe.multi()
        pipe.set(key, value + 1)
        with pytest.raises(WatchError):
            pipe.execute()
    assert client.get(key) == b"100"


def test_the_transaction_helper_retries_until_no_rival_interferes(any_server, client, key):
    client.set(key, 1)
    attempts = []
    with Client(port=any_server.port) as rival:
        def double(pipe):
            value = int(pipe.get(key))
            if not attempts:
                rival.incr(key)  # lands between our read and our EXEC, once
            attempts.append(value)
            pipe.multi()
            pipe.set(key, value * 2)
            return value

        assert client.transaction(double, key) == [True]
        assert attempts == [1, 2]
        assert client.get(key) == b"4"
        attempts.clear()
        assert client.transaction(double, key, value_from_callable=True) == 5


def test_the_transaction_helper_gives_up_after_its_retries(any_server, client, key):
    client.set(key, 1)
    calls = []
    with Client(port=any_server.port) as rival:
        def always_raced(pipe):
            calls.append(pipe.get(key))
            rival.incr(key)
            pipe.multi()
            pipe.set(key, 0)

        with pytest.raises(WatchError):
            client.transaction(always_raced, key, retries=2)
    assert len(calls) == 3


# ---------------------------------------------------------------- pub/sub


def wait_for_messages(pubsub, count, timeout=5):
    messages = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message is not None:
            messages.append(message)
    return messages


@pytest.mark.parametrize("protocol", [2, 3])
def test_several_subscribers_get_every_publisher_s_messages(any_server, key, protocol):
    clients = [Client(port=any_server.port, protocol=protocol) for _ in range(3)]
    subscribers = [each.pubsub() for each in clients]
    channel = key + ":news"
    for pubsub in subscribers:
        pubsub.subscribe(channel)
        assert wait_for_messages(pubsub, 1) == [
            {"type": "subscribe", "pattern": None, "channel": channel.encode(), "data": 1}]
    for number, publisher in enumerate(clients):
        assert publisher.publish(channel, "hello %d" % number) == 3
    for pubsub in subscribers:
        assert [message["data"] for message in wait_for_messages(pubsub, 3)] == [
            b"hello 0", b"hello 1", b"hello 2"]
        assert pubsub.get_message(timeout=0.05) is None
        pubsub.close()
    for each in clients:
        each.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_pattern_subscriptions_carry_the_pattern(any_server, key, protocol):
    with Client(port=any_server.port, protocol=protocol, decode_responses=True) as client, \
            client.pubsub(ignore_subscribe_messages=True) as pubsub:
        pubsub.psubscribe(key + ":*")
        pubsub.subscribe(key + ":a")
        assert wait_for_messages(pubsub, 1, timeout=0.5) == []
        client.publish(key + ":a", "both")
        client.publish(key + ":b", "pattern only")
        messages = wait_for_messages(pubsub, 3)
    assert sorted((m["type"], m["pattern"], m["channel"], m["data"]) for m in messages) == [
        ("message", None, key + ":a", "both"),
        ("pmessage", key + ":*", key + ":a", "both"),
        ("pmessage", key + ":*", key + ":b", "pattern only")]


def test_unsubscribing_from_everything_ends_listen(any_server, key):
    with Client(port=any_server.port) as client, client.pubsub() as pubsub:
        pubsub.subscribe(key + ":a", key + ":b")
        seen = []
        for message in pubsub.listen():
            seen.append((message["type"], message["data"]))
            if message["type"] == "subscribe" and message["data"] == 2:
                client.publish(key + ":a", "x")
            elif message["type"] == "message":
                pubsub.unsubscribe()
    assert seen == [("subscribe", 1), ("subscribe", 2), ("message", b"x"),
                    ("unsubscribe", 1), ("unsubscribe", 0)]


def test_handlers_take_their_channel_s_messages(any_server, key):
    received = []
    with Client(port=any_server.port) as client, client.pubsub() as pubsub:
        pubsub.subscribe(key + ":plain", **{key + ":handled": received.append})
        wait_for_messages(pubsub, 2)
        client.publish(key + ":handled", "to the handler")
        client.publish(key + ":plain", "to get_message")
        messages = wait_for_messages(pubsub, 1)
    assert [m["data"] for m in received] == [b"to the handler"]
    assert [m["data"] for m in messages] == [b"to get_message"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_run_in_thread_feeds_the_handlers_until_stopped(any_server, key, protocol):
    received = []
    arrived = threading.Event()

    def handler(message):
        received.append(message["data"])
        if len(received) == 2:
            arrived.set()

    with Client(port=any_server.port, protocol=protocol) as client:
        pubsub = client.pubsub()
        pubsub.subscribe(**{key: handler})
        pubsub.psubscribe(**{key + ":*": handler})
        worker = pubsub.run_in_thread(sleep_time=0.05)
        deadline = time.monotonic() + 5
        while client.execute("PUBSUB", "NUMPAT") == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        client.publish(key, "direct")
        client.publish(key + ":x", "by pattern")
        assert arrived.wait(5)
        worker.stop()
        assert not worker.is_alive()
        assert not pubsub.connection.is_open
    assert received == [b"direct", b"by pattern"]


def test_run_in_thread_needs_a_handler_for_every_subscription(any_server, key):
    with Client(port=any_server.port) as client, client.pubsub() as pubsub:
        pubsub.subscribe(key)
        with pytest.raises(ValueError, match="no handler"):
            pubsub.run_in_thread()


# ---------------------------------------------------------------- the pool


def test_the_pool_is_shared_by_20_threads(any_server, key):
    with Client(port=any_server.port, max_connections=5) as client:
        def work(number):
            for _ in range(20):
                client.incr(key)
                client.set("%s:%d" % (key, number), number)
                assert client.get("%s:%d" % (key, number)) == str(number).encode()
            return number

        with ThreadPoolExecutor(20) as pool:
            assert sorted(pool.map(work, range(20))) == list(range(20))
        assert client.get(key) == b"400"
        assert client.pool._count <= 5


def test_a_bounded_pool_waits_then_times_out(any_server):
    client = Client(port=any_server.port, max_connections=1, pool_timeout=0.2)
    held = client.pool.get()
    with pytest.raises(PoolTimeout):
        client.execute("PING")
    threading.Timer(0.1, client.pool.release, [held]).start()
    client.pool.timeout = 5
    assert client.execute("PING") == b"PONG"
    client.close()


def test_the_pool_is_shared_by_50_greenlets_under_monkey_patching(any_server):
    program = textwrap.dedent("""
        from gevent import monkey
        monkey.patch_all()
        import sys
        import gevent
        from client import Client

        client = Client(port=int(sys.argv[1]), max_connections=10, socket_timeout=10)
        key = "test_client:greenlets"
        client.delete(key)
        busy = []

        def work(number):
            pipe = client.pipeline(transaction=False)
            for _ in range(10):
                pipe.incr(key)
            pipe.execute()
            client.blpop(key + ":empty", 0.05)  # holds its connection 50 ms: the others need theirs
            busy.append(client.pool._count)
            return client.echo(str(number))

        jobs = [gevent.spawn(work, number) for number in range(50)]
        gevent.joinall(jobs, timeout=20, raise_error=True)
        assert [job.value for job in jobs] == [str(n).encode() for n in range(50)]
        print(client.get(key).decode(), max(busy))
    """)
    result = subprocess.run([sys.executable, "-c", program, str(any_server.port)], cwd=ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.stdout == "500 10\n", result.stderr


# ---------------------------------------------------------------- URLs, passwords, databases


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory):
    """A real Redis with a password, and an ACL user alice."""
    running = start_real_redis(tmp_path_factory.mktemp("locked"), "--requirepass", "s3cret")
    with Client(port=running.port, password="s3cret") as admin:
        admin.execute("ACL", "SETUSER", "alice", "on", ">wonder land", "~*", "&*", "+@all")
    yield running
    running.stop()


def test_from_url_selects_the_database(any_server, key):
    with Client.from_url("redis://127.0.0.1:%d/3" % any_server.port) as db3, \
            Client(port=any_server.port) as db0:
        db3.set(key, "in 3")
        assert db0.get(key) is None
        assert db3.get(key) == b"in 3"
        assert db0.execute("SELECT", 3) == b"OK"  # on one pooled connection; the pool keeps it
        db3.delete(key)


@pytest.mark.parametrize("url", ["redis://:s3cret@127.0.0.1:{port}/2",
                                 "redis://alice:wonder%20land@127.0.0.1:{port}/2",
                                 "redis://default:s3cret@127.0.0.1:{port}/2"])
@pytest.mark.parametrize("protocol", [2, 3])
def test_from_url_authenticates(locked_redis, url, protocol):
    with Client.from_url(url.format(port=locked_redis.port), protocol=protocol) as client:
        assert client.set("k", "v") is True
        assert client.execute("CLIENT", "INFO").decode().count(" db=2 ") == 1
        pubsub = client.pubsub()
        pubsub.subscribe("c")
        assert wait_for_messages(pubsub, 1)[0]["type"] == "subscribe"
        pubsub.close()


def test_a_wrong_password_raises_command_error(locked_redis):
    with pytest.raises(CommandError, match="WRONGPASS"):
        Client.from_url("redis://:wrong@127.0.0.1:%d" % locked_redis.port).get("k")
    with pytest.raises(CommandError, match="NOAUTH"):
        Client(port=locked_redis.port).get("k")


def test_from_url_rejects_other_schemes():
    with pytest.raises(ValueError):
        Client.from_url("http://127.0.0.1:4000")
