"""Client against real servers (ours and Redis), and against a loopback socket played by hand like nc."""
import os
import socket
import struct
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import pytest

from client import Client, CommandError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GET_K = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


@pytest.fixture
def key(request):
    """A key name no other test uses, since the servers live for the whole session."""
    return "test_client:" + request.node.name


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
