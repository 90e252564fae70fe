"""SHUTDOWN and SIGTERM/SIGINT as Redis 7.0 does them with replicas attached: the master waits (writes paused,
reads served) until every replica acknowledged its offset or shutdown-timeout passed, SHUTDOWN NOW does not
wait, SHUTDOWN ABORT cancels, FORCE exits despite a failed save; and the pauses of CLIENT PAUSE, FAILOVER and
SHUTDOWN kept apart by purpose. The replicas are Debian's redis-server; where the replies are deterministic the
same scenario runs with a real Redis as the master too, and the replies must be the same."""
import os
import re
import shutil
import signal

import pytest
import redis

from conftest import start_ours, start_real_redis
from differential import WireClient, encode_command
from test_replication_replica import digest, field, wait_until

MASTER_OPTIONS = ("--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes")
WAITING = "Waiting for replicas before shutting down."
EXIT_TIMEOUT = 10  # seconds a process gets to exit once it must


class Replicated:
    """A master (ours or a real Redis) and a real Redis replica of it, online; the replica may be stopped
    (SIGSTOP) so that it acknowledges nothing more."""

    def __init__(self, tmp_path, start, *options, name="master"):
        (tmp_path / name).mkdir(parents=True)
        (tmp_path / (name + "-replica")).mkdir()
        self.master = start(tmp_path / name, *MASTER_OPTIONS, *options)
        self.replica = start_real_redis(tmp_path / (name + "-replica"), "--replicaof", "127.0.0.1",
                                        str(self.master.port), "--enable-debug-command", "yes")
        self.stopped = False
        wait_until(lambda: "state=online" in (field(self.master.port, "slave0") or ""), what="the replica online")

    def stop_replica(self):
        self.replica.process.send_signal(signal.SIGSTOP)
        self.stopped = True

    def exit_code(self):
        return self.master.process.wait(EXIT_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.stopped:
            self.replica.process.send_signal(signal.SIGCONT)
        self.replica.stop()
        self.master.stop()


def beside_redis(tmp_path, scenario):
    """The scenario's replies with ours as the master, checked equal to those with a real Redis as the master."""
    ours = scenario(tmp_path / "ours", start_ours)
    assert ours == scenario(tmp_path / "real", start_real_redis)
    return ours


def blocked(port):
    return field(port, "blocked_clients", "clients")


def lagging_line(log, replica_port):
    return re.search(r"# Lagging replica 127\.0\.0\.1:%d reported offset [1-9]\d* behind master, lag=\d+, "
                     r"state=online\.\n" % replica_port, log)


# ------------------------------------------------------------------ waiting for the replicas


def wait_out_a_lagging_replica(tmp_path, start, how):
    """The replica stopped, a write it never acknowledges, then SHUTDOWN (or SIGTERM) with shutdown-timeout 1:
    the master goes on serving reads, holds writes, and exits once the timeout passed.
    (replies, exit code, log, the replica's port)"""
    with Replicated(tmp_path, start, "--shutdown-timeout", "1") as deployment:
        master = deployment.master
        deployment.stop_replica()
        with WireClient(master.port) as caller, WireClient(master.port) as reader, WireClient(master.port) as writer:
            replies = [reader.call("SET", "k", "v")]
            if how == "shutdown":
                caller.send_raw(encode_command(("SHUTDOWN",)))
            else:
                master.process.send_signal(signal.SIGTERM)
            wait_until(lambda: WAITING in master.log(), what="the master waiting")
            replies.append(reader.call("GET", "k"))  # still served
            writer.send_raw(encode_command(("SET", "k", "w")))
            code = deployment.exit_code()
            replies += [writer.read_until_closed(), reader.read_until_closed()]  # the write never ran
            if how == "shutdown":
                replies.append(caller.read_until_closed())
        return replies, code, master.log(), deployment.replica.port


@pytest.mark.parametrize("how", ["shutdown", "sigterm"])
def test_a_lagging_replica_is_waited_for_until_shutdown_timeout(tmp_path, how):
    ours = wait_out_a_lagging_replica(tmp_path / "ours", start_ours, how)
    real = wait_out_a_lagging_replica(tmp_path / "real", start_real_redis, how)
    assert ours[:2] == real[:2]
    assert ours[0][:2] == [b"+OK\r\n", b"$1\r\nv\r\n"] and ours[1] == 0
    for _, _, log, replica_port in (ours, real):
        assert "* " + WAITING in log and lagging_line(log, replica_port)
        assert "* 0 of 1 replicas are in sync when shutting down." in log
        assert ("Received SIGTERM scheduling shutdown..." in log) == (how == "sigterm")


def test_a_caught_up_replica_lets_the_master_finish_at_once_with_the_data(tmp_path):
    """A write and SHUTDOWN in one batch: the replica lags by that write, the master asks for an ACK and
    finishes as soon as it comes (well within shutdown-timeout 10), the replica holding everything."""
    with Replicated(tmp_path, start_ours, "--shutdown-timeout", "10") as deployment:
        client = redis.Redis(port=deployment.master.port)
        with client.pipeline(transaction=False) as pipe:
            for index in range(200):
                pipe.set("key:%d" % index, index).rpush("list", index).hset("hash", index, index)
            pipe.execute()
        with WireClient(deployment.master.port) as caller:
            caller.send_raw(b"".join(encode_command(command) for command in
                                     (("SET", "last", "write"), ("DEBUG", "DIGEST"), ("SHUTDOWN",))))
            assert caller.read_reply() == b"+OK\r\n"
            master_digest = caller.read_reply()
            assert deployment.exit_code() == 0
            assert caller.read_until_closed() == b""
        log = deployment.master.log()
        assert WAITING in log and "* 1 of 1 replicas are in sync when shutting down." in log
        replica = redis.Redis(port=deployment.replica.port)
        assert replica.get("last") == b"write" and replica.llen("list") == 200
        assert b"+" + digest(deployment.replica.port) + b"\r\n" == master_digest


def test_shutdown_now_does_not_wait(tmp_path):
    """SHUTDOWN NOW exits without waiting for the stopped replica. Before it, CLIENT UNBLOCK of a SHUTDOWN
    caller that waits answers 0 and leaves it waiting (Redis 7.0.15 stops there: Unknown btype)."""
    with Replicated(tmp_path, start_ours, "--shutdown-timeout", "10") as deployment:
        port = deployment.master.port
        deployment.stop_replica()
        with WireClient(port) as caller, WireClient(port) as waiting:
            assert caller.call("SET", "k", "v") == b"+OK\r\n"
            waiting.send_raw(encode_command(("SHUTDOWN",)))
            wait_until(lambda: blocked(port) == "1", what="the SHUTDOWN caller waiting")
            target = caller.call("CLIENT", "LIST").split(b"cmd=shutdown")[0].rsplit(b"id=", 1)[1].split(b" ")[0]
            assert caller.call("CLIENT", "UNBLOCK", target) == b":0\r\n" and blocked(port) == "1"
            assert caller.call("SHUTDOWN", "ABORT") == b"+OK\r\n"
            assert waiting.read_reply() == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
            caller.send_raw(encode_command(("SHUTDOWN", "NOW")))
            assert deployment.exit_code() == 0
            assert caller.read_until_closed() == b""
        log = deployment.master.log()
        assert log.count(WAITING) == 1 and lagging_line(log, deployment.replica.port)  # the first SHUTDOWN's
        assert "0 of 1 replicas are in sync when shutting down." in log


# ------------------------------------------------------------------ ABORT, signals, FORCE: beside Redis


def abort_a_waiting_shutdown(tmp_path, start):
    """SHUTDOWN waits for a stopped replica; a read goes through, a write waits; SHUTDOWN ABORT from another
    client cancels: the caller gets the error, the write runs. Then SHUTDOWN NOW exits. The replies, in order.
    (The caller sends nothing more: Redis 7.0.15 leaves its arguments behind and stops on an assertion then.)"""
    with Replicated(tmp_path, start, "--shutdown-timeout", "10") as deployment:
        port = deployment.master.port
        deployment.stop_replica()
        with WireClient(port) as caller, WireClient(port) as other, WireClient(port) as writer:
            replies = [other.call("SET", "k", "v"), other.call("SHUTDOWN", "ABORT")]
            caller.send_raw(encode_command(("SHUTDOWN", "NOSAVE")))
            wait_until(lambda: blocked(port) == "1", what="the SHUTDOWN caller waiting")
            replies.append(other.call("GET", "k"))
            writer.send_raw(encode_command(("SET", "k2", "v2")))
            wait_until(lambda: blocked(port) == "2", what="the write paused")
            replies += [other.call("SHUTDOWN", "ABORT", "NOW"), other.call("SHUTDOWN", "SAVE", "NOSAVE")]
            replies += [other.call("SHUTDOWN", "ABORT"), caller.read_reply(), writer.read_reply()]
            replies += [other.call("SHUTDOWN", "ABORT", "ABORT"), other.call("GET", "k2"), blocked(port)]
            replies += [other.call("SET", "after", "abort"), other.call("SHUTDOWN", "BOGUS")]
            other.send_raw(encode_command(("SHUTDOWN", "NOW", "NOSAVE")))
            replies += [deployment.exit_code(), other.read_until_closed(), caller.read_until_closed()]
        return replies


def test_shutdown_abort_beside_redis(tmp_path):
    ours = beside_redis(tmp_path, abort_a_waiting_shutdown)
    assert ours[5:8] == [b"+OK\r\n", b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n", b"+OK\r\n"]


def signals_while_waiting(tmp_path, start):
    """SIGTERM with a stopped replica: the master waits, serving reads; SHUTDOWN ABORT cancels; a second
    SIGTERM, then a SIGINT while it waits again: "You insist", an exit with status 1 at once."""
    with Replicated(tmp_path, start, "--shutdown-timeout", "10", "--shutdown-on-sigterm", "nosave") as deployment:
        master = deployment.master
        deployment.stop_replica()
        with WireClient(master.port) as client:
            replies = [client.call("SET", "k", "v")]
            master.process.send_signal(signal.SIGTERM)
            wait_until(lambda: WAITING in master.log(), what="the master waiting")
            replies += [client.call("GET", "k"), client.call("SHUTDOWN", "ABORT"), client.call("SET", "k", "w")]
            master.process.send_signal(signal.SIGTERM)
            wait_until(lambda: master.log().count(WAITING) == 2, what="the master waiting again")
            master.process.send_signal(signal.SIGINT)
            replies += [deployment.exit_code(), client.read_until_closed()]
        log = master.log()
        lines = ["Received SIGTERM scheduling shutdown...", "User requested shutdown...", WAITING,
                 "Shutdown manually aborted.", "Received SIGTERM scheduling shutdown...",
                 "User requested shutdown...", WAITING, "You insist... exiting now."]
        return replies, [line for line in log.splitlines() if any(wanted in line for wanted in lines)]


def test_signals_beside_redis(tmp_path):
    ours, ours_log = signals_while_waiting(tmp_path / "ours", start_ours)
    real, real_log = signals_while_waiting(tmp_path / "real", start_real_redis)
    assert ours == real and ours[-2] == 1
    assert len(ours_log) == len(real_log) == 8
    assert "signal-handler" in ours_log[-1] and ours_log[-1].endswith("You insist... exiting now.")
    shape = re.compile(r"^\d+:(signal-handler \(\d+\)|M \d\d \w{3} \d{4} [\d:.]+ [#*]) ")
    assert [shape.sub("", line) for line in ours_log] == [shape.sub("", line) for line in real_log]


def forced(tmp_path, start, setup, commands, *options):
    """A server alone, its data in tmp_path/data, setup(server) done, then the commands one at a time (Redis exits
    without the replies it has not sent yet), the last a SHUTDOWN ... FORCE: (replies and exit status, the log)."""
    (tmp_path / "data").mkdir(parents=True)
    server = start(tmp_path, "--dir", str(tmp_path / "data"), *options)
    try:
        setup(server)
        with WireClient(server.port) as client:
            replies = [client.call(*command) for command in commands[:-1]]
            client.send_raw(encode_command(commands[-1]))
            replies += [server.process.wait(EXIT_TIMEOUT), client.read_until_closed()]
        return replies, server.log()
    finally:
        server.stop()


def remove_the_data_folder(server):
    shutil.rmtree(os.path.join(os.path.dirname(server.log_path), "data"))


def test_force_exits_despite_a_failed_save_beside_redis(tmp_path):
    """The data folder removed: SHUTDOWN SAVE fails and the server runs on; SHUTDOWN SAVE FORCE exits all the same."""
    commands = [("SET", "k", "v"), ("SHUTDOWN", "SAVE"), ("GET", "k"), ("SHUTDOWN", "ABORT"),
                ("SHUTDOWN", "SAVE", "FORCE")]
    ours, log = forced(tmp_path / "ours", start_ours, remove_the_data_folder, commands)
    real, real_log = forced(tmp_path / "real", start_real_redis, remove_the_data_folder, commands)
    assert ours == real
    assert ours[1] == b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n" and ours[-2:] == [0, b""]
    for text in (log, real_log):
        assert "Error trying to save the DB, can't exit." in text
        assert "Errors trying to shut down the server. Check the logs for more information." in text
        assert "Error trying to save the DB. Exit anyway." in text


def fill(server):
    with redis.Redis(port=server.port).pipeline(transaction=False) as pipe:
        for index in range(20_000):  # enough for an AOF rewrite to take longer than a few round trips
            pipe.set("key:%d" % index, "v" * 20)
        pipe.execute()


def test_force_exits_while_the_first_aof_is_written_beside_redis(tmp_path):
    """CONFIG SET appendonly yes starts writing the AOF's first file in a child: a SHUTDOWN meanwhile cannot
    exit (there would be no complete AOF), SHUTDOWN FORCE exits all the same."""
    commands = [("CONFIG", "SET", "appendonly", "yes"), ("SHUTDOWN", "NOSAVE"), ("SHUTDOWN", "NOSAVE", "FORCE")]
    ours, log = forced(tmp_path / "ours", start_ours, fill, commands)
    real, real_log = forced(tmp_path / "real", start_real_redis, fill, commands, "--rdb-key-save-delay", "100")
    assert ours == real == [b"+OK\r\n", b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n", 0, b""]
    for text in (log, real_log):
        lines = [line.split(" ", 5)[5] for line in text.splitlines()
                 if "Writing initial AOF" in line or "There is a child rewriting" in line]
        assert lines == ["# Writing initial AOF, can't exit.", "# Writing initial AOF. Exit anyway.",
                         "# There is a child rewriting the AOF. Killing it!"]


# ------------------------------------------------------------------ pauses apart by purpose


def pauses_by_purpose(tmp_path, start):
    """A FAILOVER waiting for a stopped replica pauses writes; CLIENT UNPAUSE leaves that pause on, a CLIENT
    PAUSE ALL holds reads until its own end only; FAILOVER ABORT leaves a CLIENT PAUSE WRITE on. The replies."""
    with Replicated(tmp_path, start) as deployment:
        port = deployment.master.port
        deployment.stop_replica()
        with WireClient(port) as control, WireClient(port) as writer, WireClient(port) as reader:
            replies = [control.call("SET", "k", "0"), control.call("FAILOVER", "TIMEOUT", "20000")]
            writer.send_raw(encode_command(("SET", "k", "1")))
            wait_until(lambda: blocked(port) == "1", what="the write paused")
            replies += [control.call("CLIENT", "UNPAUSE"), blocked(port)]
            replies += [control.call("CLIENT", "PAUSE", "300", "ALL"), reader.call("GET", "k"), blocked(port)]
            replies += [control.call("CLIENT", "PAUSE", "20000", "WRITE"), control.call("FAILOVER", "ABORT")]
            replies += [field(port, "master_failover_state"), blocked(port), control.call("CLIENT", "UNPAUSE")]
            replies += [writer.read_reply(), reader.call("GET", "k")]
        return replies


def test_client_unpause_leaves_a_failovers_pause_beside_redis(tmp_path):
    ours = beside_redis(tmp_path, pauses_by_purpose)
    assert ours[3] == "1" and ours[5] == b"$1\r\n0\r\n" and ours[-1] == b"$1\r\n1\r\n"
