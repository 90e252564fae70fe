"""The network server: start-up options, pipelining, limits, many clients, shutdown."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import ROOT, free_port, start_ours, wait_for_port


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    return sock


def read_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def read_until_closed(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


def test_logs_ready_line(server):
    assert "* Ready to accept connections\n" in server.log()  # 7.0.15's words (7.2 adds " tcp")


def test_pipelined_batch_gets_every_reply_in_order(server):
    with connect(server.port) as sock:
        batch = b"".join(b"*3\r\n$3\r\nSET\r\n$7\r\npipe:%02d\r\n$1\r\n%d\r\n" % (i, i % 10) for i in range(100))
        batch += b"".join(b"*2\r\n$3\r\nGET\r\n$7\r\npipe:%02d\r\n" % i for i in range(100))
        sock.sendall(batch)
        expected = b"+OK\r\n" * 100 + b"".join(b"$1\r\n%d\r\n" % (i % 10) for i in range(100))
        assert read_exactly(sock, len(expected)) == expected


def test_frame_split_at_every_byte(server):
    with connect(server.port) as sock:
        for byte in b"*2\r\n$4\r\nECHO\r\n$5\r\nsplit\r\n":
            sock.sendall(bytes([byte]))
            time.sleep(0.001)
        assert read_exactly(sock, 11) == b"$5\r\nsplit\r\n"


def test_inline_commands_from_a_raw_socket(server):
    with connect(server.port) as sock:
        sock.sendall(b'SET inline:greeting "hello world"\r\nGET inline:greeting\r\nPING\n')
        expected = b"+OK\r\n$11\r\nhello world\r\n+PONG\r\n"
        assert read_exactly(sock, len(expected)) == expected


def test_binary_keys_and_values(server):
    every_byte = bytes(range(256))
    with connect(server.port) as sock:
        sock.sendall(b"*3\r\n$3\r\nSET\r\n$256\r\n%b\r\n$256\r\n%b\r\n" % (every_byte, every_byte))
        sock.sendall(b"*2\r\n$3\r\nGET\r\n$256\r\n%b\r\n" % every_byte)
        expected = b"+OK\r\n$256\r\n" + every_byte + b"\r\n"
        assert read_exactly(sock, len(expected)) == expected


def test_protocol_error_closes_only_that_connection(server):
    with connect(server.port) as bystander, connect(server.port) as offender:
        offender.sendall(b"*1\r\n$-5\r\n")
        assert read_until_closed(offender) == b"-ERR Protocol error: invalid bulk length\r\n"
        bystander.sendall(b"PING\r\n")
        assert read_exactly(bystander, 7) == b"+PONG\r\n"


def test_quit_replies_then_closes(server):
    with connect(server.port) as sock:
        sock.sendall(b"QUIT\r\nPING\r\n")
        assert read_until_closed(sock) == b"+OK\r\n"


def test_500_concurrent_connections_each_get_their_own_replies(server):
    count = 500
    sockets = [connect(server.port) for _ in range(count)]
    try:
        for index, sock in enumerate(sockets):
            sock.sendall(b"*2\r\n$4\r\nECHO\r\n$9\r\nclient%03d\r\n" % index)
        for index, sock in enumerate(sockets):
            assert read_exactly(sock, 15) == b"$9\r\nclient%03d\r\n" % index
    finally:
        for sock in sockets:
            sock.close()


def test_threads_hammering_distinct_keys(server):
    errors = []

    def worker(number):
        try:
            with connect(server.port) as sock:
                for round_ in range(50):
                    value = b"%d-%d" % (number, round_)
                    sock.sendall(b"*3\r\n$3\r\nSET\r\n$8\r\nthread%02d\r\n$%d\r\n%b\r\n"
                                 % (number, len(value), value))
                    sock.sendall(b"*2\r\n$3\r\nGET\r\n$8\r\nthread%02d\r\n" % number)
                    expected = b"+OK\r\n$%d\r\n%b\r\n" % (len(value), value)
                    got = read_exactly(sock, len(expected))
                    if got != expected:
                        errors.append((number, got, expected))
        except OSError as error:
            errors.append((number, error))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def test_maxclients_rejects_with_redis_error_and_closes(tmp_path):
    running = start_ours(tmp_path, "--maxclients", "2")
    try:
        first, second = connect(running.port), connect(running.port)
        for sock in (first, second):
            sock.sendall(b"PING\r\n")
            assert read_exactly(sock, 7) == b"+PONG\r\n"
        with connect(running.port) as third:
            assert read_until_closed(third) == b"-ERR max number of clients reached\r\n"
        first.close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the close asynchronously
            with connect(running.port) as again:
                again.sendall(b"PING\r\n")
                reply = read_exactly(again, 7)
            if reply == b"+PONG\r\n" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply == b"+PONG\r\n"
        second.close()
    finally:
        running.stop()


def test_config_file_and_options(tmp_path):
    config_file = tmp_path / "mini-redis.conf"
    config_file.write_text('# a comment\nmaxclients 77\n\ndatabases "4"\nproto-max-bulk-len 1mb\n')
    port = free_port()
    process = subprocess.Popen([sys.executable, os.path.join(ROOT, "server.py"), str(config_file),
                                "--port", str(port), "--maxclients", "88"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        with connect(port) as sock:
            sock.sendall(b"CONFIG GET maxclients\r\nCONFIG GET databases\r\nCONFIG GET proto-max-bulk-len\r\n"
                         b"SELECT 4\r\nSELECT 3\r\n")
            expected = (b"*2\r\n$10\r\nmaxclients\r\n$2\r\n88\r\n*2\r\n$9\r\ndatabases\r\n$1\r\n4\r\n"
                        b"*2\r\n$18\r\nproto-max-bulk-len\r\n$7\r\n1048576\r\n"
                        b"-ERR DB index is out of range\r\n+OK\r\n")
            assert read_exactly(sock, len(expected)) == expected
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize("argv, message", [
    (["--no-such-option", "1"], "Bad directive or wrong number of arguments"),
    (["--port", "notaport"], "argument couldn't be parsed into an integer"),
    (["--maxclients"], "wrong number of arguments"),
])
def test_bad_options_fail_at_start(argv, message):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server.py"), *argv],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "FATAL CONFIG FILE ERROR" in result.stderr
    assert message in result.stderr


def test_a_missing_config_file_is_a_log_line_as_in_redis(tmp_path):
    result = subprocess.run([sys.executable, os.path.join(ROOT, "server.py"), "stray.conf"], cwd=str(tmp_path),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stdout.endswith(" # Fatal error, can't open config file '%s': No such file or directory\n"
                                  % (tmp_path / "stray.conf"))


def test_sigterm_shuts_down_gracefully(tmp_path):
    running = start_ours(tmp_path)
    with connect(running.port) as sock:
        sock.sendall(b"PING\r\n")
        assert read_exactly(sock, 7) == b"+PONG\r\n"
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(10) == 0
        assert read_until_closed(sock) == b""
    running.stop()
    log = running.log()
    assert "Received SIGTERM scheduling shutdown" in log
    assert "ready to exit" in log


def test_big_bulk_over_proto_max_bulk_len(tmp_path):
    running = start_ours(tmp_path, "--proto-max-bulk-len", "1mb")
    try:
        with connect(running.port) as sock:
            sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n" + b"x" * 1048576 + b"\r\n")
            assert read_exactly(sock, 5) == b"+OK\r\n"
            sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048577\r\n")
            assert read_until_closed(sock) == b"-ERR Protocol error: invalid bulk length\r\n"
    finally:
        running.stop()
