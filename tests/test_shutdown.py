"""The pauses of CLIENT PAUSE and FAILOVER kept apart by purpose, as in Redis 7.0. The replicas are Debian's
redis-server; the same scenario runs with a real Redis as the master too, and the replies must be the same."""
import signal

from conftest import start_ours, start_real_redis
from differential import WireClient, encode_command
from test_replication_replica import field, wait_until

MASTER_OPTIONS = ("--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes")


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

    def close(self):
        if self.stopped:
            self.replica.process.send_signal(signal.SIGCONT)
        self.replica.stop()
        self.master.stop()


def blocked(port):
    return field(port, "blocked_clients", "clients")


# ------------------------------------------------------------------ pauses apart by purpose


def pauses_by_purpose(tmp_path, start):
    """A FAILOVER waiting for a stopped replica pauses writes; CLIENT UNPAUSE leaves that pause on, a CLIENT
    PAUSE ALL holds reads until its own end only; FAILOVER ABORT leaves a CLIENT PAUSE WRITE on. The replies."""
    deployment = Replicated(tmp_path, start)
    port = deployment.master.port
    try:
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
    finally:
        deployment.close()


def test_client_unpause_leaves_a_failovers_pause_beside_redis(tmp_path):
    ours = pauses_by_purpose(tmp_path / "ours", start_ours)
    assert ours == pauses_by_purpose(tmp_path / "real", start_real_redis)
    assert ours[3] == "1" and ours[5] == b"$1\r\n0\r\n" and ours[-1] == b"$1\r\n1\r\n"
