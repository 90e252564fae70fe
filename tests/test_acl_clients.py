"""ACL around the clients and files: the aclfile (SAVE, LOAD, exchanged with Redis), `user` lines in a
config file, clients dropped when their user goes or loses a channel, CLIENT LIST/KILL USER, the slow
log's redaction, and a restricted user's pipelines (the plain lane must not skip the checks)."""
import os
import shutil
import socket
import sys

import hiredis
import pytest

from conftest import ROOT, RunningServer, free_port, start_ours, start_real_redis
from differential import Pair, WireClient, same_on_both
from test_acl import sorted_rules


def parse(raw):
    """A reply as Python values; an error as ('error', its text), which compares by value."""
    reader = hiredis.Reader()
    reader.feed(raw)
    reply = reader.gets()
    return ("error", str(reply)) if isinstance(reply, hiredis.ReplyError) else reply


def call(port, *args):
    client = WireClient(port)
    try:
        return parse(client.call(*args))
    finally:
        client.close()


USERS = [("alice", "on", ">pw", "~app:*", "&news", "+@read", "+@write", "-del"),
         ("bob", "off", "#" + "ab" * 32, "%R~r:*", "%W~w:*", "+get", "+select|0", "(~x* +set)"),
         ("carol", "on", "nopass", "allkeys", "allchannels", "+@all", "-@dangerous")]


def _list_without_unserved(port):
    """ACL LIST; the rules naming commands only Redis serves are not compared (see README)."""
    return [sorted_rules(b"\r\n" + line + b"\r\n") for line in call(port, "ACL", "LIST")]


@pytest.mark.parametrize("writer", ["ours", "redis"])
def test_aclfile_round_trip_between_servers(tmp_path, writer):
    """An aclfile ACL SAVE writes on one server loads on the other (ACL LOAD) with the same ACL LIST."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("")
    ours = start_ours(tmp_path / "ours", "--aclfile", str(aclfile))
    redis = start_real_redis(tmp_path / "redis", "--aclfile", str(aclfile))
    try:
        source, target = (ours, redis) if writer == "ours" else (redis, ours)
        for user in USERS[:2]:
            assert call(source.port, "ACL", "SETUSER", *user) == b"OK"
        assert call(source.port, "ACL", "SAVE") == b"OK"
        assert aclfile.read_bytes().count(b"\n") == 3
        assert call(target.port, "ACL", "LOAD") == b"OK"
        assert _list_without_unserved(target.port) == _list_without_unserved(source.port)
    finally:
        ours.stop()
        redis.stop()


def test_acl_load_refuses_a_bad_file_whole(tmp_path):
    """A file with any bad line loads nothing: the error names the file and line, the users stay."""
    aclfile = tmp_path / "bad.acl"
    for content in (b"user a on +nosuch\n", b"# comment\n", b"user\n", b"user a on\nuser a off\n",
                    b"user a (+get\n", b"user a %X~y\n", b"usr a\n"):
        outcome = []
        for start in (start_ours, start_real_redis):
            folder = tmp_path / start.__name__
            folder.mkdir(exist_ok=True)
            aclfile.write_bytes(b"user z on +get\n")
            running = start(folder, "--aclfile", str(aclfile))
            try:
                aclfile.write_bytes(content)
                client = WireClient(running.port)
                outcome.append((client.call("ACL", "LOAD"), client.call("ACL", "USERS")))
                client.close()
            finally:
                running.stop()
        assert outcome[0] == outcome[1], content


def test_config_file_users(tmp_path):
    """`user` lines in a config file define users at start (the default user included), as in Redis."""
    lines = ("user default on >start ~* &* +@all\n"
             "user alice on >pw ~app:* +@read (+set ~w:*)\n"
             "user bob off nopass +get|x\n")
    outcome = []
    for start in (start_ours, start_real_redis):
        folder = tmp_path / start.__name__
        folder.mkdir()
        config = folder / "redis.conf"
        config.write_text(lines)
        running = _start_with_config(start, folder, config)
        try:
            client = WireClient(running.port)
            outcome.append([client.call("PING"), client.call("AUTH", "start"), client.call("ACL", "LIST"),
                            client.call("AUTH", "alice", "pw"), client.call("ACL", "WHOAMI")])
            client.close()
        finally:
            running.stop()
    assert outcome[0] == outcome[1]


def _start_with_config(start, folder, config):
    """Ours or redis-server with the config file first, as their command lines want it."""
    port = free_port()
    program = [sys.executable, os.path.join(ROOT, "server.py")] if start is start_ours else \
        [shutil.which("redis-server")]
    argv = program + [str(config), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--dir", str(folder)]
    return RunningServer(argv, port, str(folder))


def test_bad_config_user_stops_start(tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text("user alice on +nosuch\n")
    with pytest.raises(RuntimeError):
        _start_with_config(start_ours, tmp_path, config)


def _closed(client, timeout=3.0):
    """Whether the server hung up on this client (read until EOF or the timeout)."""
    client.sock.settimeout(timeout)
    try:
        while True:
            if not client.sock.recv(4096):
                return True
    except (socket.timeout, ConnectionResetError):
        return False


def test_deluser_and_load_disconnect_clients_of_the_user(fresh):
    def scenario(port):
        call(port, "ACL", "SETUSER", "dave", "on", ">pw", "+@all", "~*")
        victim, bystander = WireClient(port), WireClient(port)
        observed = [victim.call("AUTH", "dave", "pw"), call(port, "CLIENT", "KILL", "USER", "nobody")]
        observed.append(b"user=dave" in victim.call("CLIENT", "INFO"))
        observed.append(call(port, "ACL", "DELUSER", "dave"))
        observed += [_closed(victim), bystander.call("PING")]
        victim.close()
        bystander.close()
        return observed
    same_on_both(fresh, scenario)


def test_client_kill_user(fresh):
    def scenario(port):
        call(port, "ACL", "SETUSER", "erin", "on", "nopass", "+@all", "~*")
        first, second, other = WireClient(port), WireClient(port), WireClient(port)
        for client in (first, second):
            client.call("AUTH", "erin", "x")
        observed = [call(port, "CLIENT", "KILL", "USER", "erin"), _closed(first), _closed(second),
                    other.call("PING")]
        for client in (first, second, other):
            client.close()
        return observed
    same_on_both(fresh, scenario)


def test_revoked_channels_drop_subscribers(fresh):
    def scenario(port):
        call(port, "ACL", "SETUSER", "sub", "on", "nopass", "+@all", "~*", "resetchannels", "&news.*", "&chat")
        keeps, loses, pattern = WireClient(port), WireClient(port), WireClient(port)
        for client in (keeps, loses, pattern):
            client.call("AUTH", "sub", "x")
        observed = [keeps.call("SUBSCRIBE", "chat"), loses.call("SUBSCRIBE", "news.1"),
                    pattern.call("PSUBSCRIBE", "news.*"), pattern.call("PSUBSCRIBE", "news.1*")]
        observed.append(call(port, "ACL", "SETUSER", "sub", "resetchannels", "&chat", "&news.1"))
        observed += [_closed(loses, 0.5), _closed(pattern), _closed(keeps, 0.5)]
        observed.append(call(port, "PUBLISH", "chat", "hi"))
        for client in (keeps, loses, pattern):
            client.close()
        return observed
    same_on_both(fresh, scenario)


def test_restricted_user_pipeline_is_checked(servers):
    """A pipeline of plain commands as a restricted user is refused command by command: the plain lane
    only serves users allowed everything."""
    ours, redis = servers
    with Pair(ours.port, redis.port) as pair:
        pair.check("ACL", "SETUSER", "app", "on", ">pw", "~app:*", "+@read", "+@write")
        pair.check("AUTH", "app", "pw")
        pair.check_pipeline([("SET", "app:1", "a"), ("SET", "x", "b"), ("GET", "app:1"), ("GET", "x"),
                             ("INCR", "app:n"), ("DEL", "app:1"), ("LPUSH", "x", "1"), ("FLUSHALL",),
                             ("SET", "app:2", "v"), ("MGET", "app:2", "x")])
        pair.check("AUTH", "default", "any")  # back to the unrestricted default user: the plain lane again
        pair.check_pipeline([("SET", "x", "b"), ("GET", "x")])
        pair.check("ACL", "DELUSER", "app")


def test_slowlog_and_monitor_hide_setuser_rules(fresh):
    def scenario(port):
        call(port, "CONFIG", "SET", "slowlog-log-slower-than", "0")
        call(port, "SLOWLOG", "RESET")
        call(port, "ACL", "SETUSER", "frank", "on", ">topsecret", "+@all")
        entries = call(port, "SLOWLOG", "GET", "3")
        return [entry[3] for entry in entries]
    observed = same_on_both(fresh, scenario)
    assert any(b"(redacted)" in args for args in observed)
