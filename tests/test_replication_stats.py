"""INFO's replication figures, against Debian's redis-server 7.0.15 on loopback: the bytes written to replicas
(total_net_repl_output_bytes, and total_net_output_bytes which includes them), the bytes a replica reads from its
master, the _repl_kbps rates, and the memory a lagging replica's output takes (mem_clients_slaves, MEMORY STATS).

Every master here runs with repl-ping-replica-period 60: no PING in the stream during a test, so the stream is
exactly the writes, the same bytes from ours and from Redis."""
import os
import re
import signal
import time

import pytest
import redis

from conftest import start_ours, start_real_redis
from differential import WireClient, encode_command, parse_reply
from test_replication_replica import wait_until

NO_PINGS = ("--repl-ping-replica-period", "60", "--repl-diskless-sync-delay", "0", "--save", "")
KEYS, WRITES = 300, 40
BIG_VALUE = b"v" * 256 * 1024
LAGGING_BYTES = 2 * 1024 * 1024  # held for a stopped replica beyond what the kernel's socket buffers take
MAX_BIG_WRITES = 64  # 16 MB at most, whatever the socket buffers take


def fill(client):
    """The same dataset for every master: strings, a hash, a list, a sorted set, in two databases."""
    pipe = client.pipeline(transaction=False)
    for i in range(KEYS):
        pipe.set("key:%d" % i, "value-%d" % i)
    pipe.hset("hash", mapping={"f%d" % i: i for i in range(50)})
    pipe.rpush("list", *range(100))
    pipe.zadd("zset", {"m%d" % i: i for i in range(60)})
    pipe.execute()
    redis.Redis(port=client.connection_pool.connection_kwargs["port"], db=2).set("in-db-2", "x")


def write(client, count=WRITES):
    """The same writes for every master: the stream they make is the same bytes from ours and from Redis."""
    for i in range(count):
        client.set("written:%d" % i, "w" * i)
        client.incr("counter")
        client.lpush("list", i)


def synced(master, replica):
    """The replica's link is up and it has the master's whole stream."""
    state = replica.info("replication")
    return state.get("master_link_status") == "up" and \
        state["slave_repl_offset"] == master.info("replication")["master_repl_offset"]


class Deployment:
    """A master (ours or Redis) with the dataset, and a real redis-server as its replica."""

    def __init__(self, tmp_path_factory, start_master, *options):
        self.master_dir = tmp_path_factory.mktemp("master")
        self.master_server = start_master(self.master_dir, *NO_PINGS, *options)
        self.master = redis.Redis(port=self.master_server.port, socket_timeout=20)
        fill(self.master)
        started = time.monotonic()
        self.replica_server = start_real_redis(tmp_path_factory.mktemp("replica"), "--replicaof", "127.0.0.1",
                                               str(self.master_server.port), "--repl-timeout", "10")
        self.replica = redis.Redis(port=self.replica_server.port, socket_timeout=20)
        wait_until(lambda: synced(self.master, self.replica), what="the full sync")
        self.sync_seconds = time.monotonic() - started

    def stop(self):
        self.master.close()
        self.replica.close()
        self.replica_server.stop()
        self.master_server.stop()


@pytest.fixture(scope="module")
def ours_diskless(tmp_path_factory):
    deployment = Deployment(tmp_path_factory, start_ours, "--repl-diskless-sync", "yes")
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def disk_pair(tmp_path_factory):
    """Ours and Redis as masters, each syncing its real replica from dump.rdb (whose size we can read)."""
    pair = [Deployment(tmp_path_factory, start, "--repl-diskless-sync", "no")
            for start in (start_ours, start_real_redis)]
    yield pair
    for deployment in pair:
        deployment.stop()


@pytest.fixture(scope="module")
def ours_replica(tmp_path_factory):
    """A real Redis master (diskless), with the dataset, and ours as its replica."""
    master_server = start_real_redis(tmp_path_factory.mktemp("real-master"), *NO_PINGS, "--repl-diskless-sync", "yes")
    master = redis.Redis(port=master_server.port, socket_timeout=20)
    fill(master)
    replica_server = start_ours(tmp_path_factory.mktemp("our-replica"), "--replicaof", "127.0.0.1",
                                str(master_server.port), "--save", "")
    replica = redis.Redis(port=replica_server.port, socket_timeout=20)
    wait_until(lambda: synced(master, replica), what="our replica's full sync")
    yield master, replica
    master.close()
    replica.close()
    replica_server.stop()
    master_server.stop()


def test_a_diskless_sync_and_its_stream_are_the_bytes_the_replica_received(ours_diskless):
    """$EOF:<mark>, the RDB, the mark, then the stream: Redis's replica counts each byte as it reads it (the
    $EOF line too), and a diskless master sends no newline after +FULLRESYNC, so the two counts are equal."""
    master, replica = ours_diskless.master, ours_diskless.replica
    write(master)
    wait_until(lambda: synced(master, replica), what="the stream")
    sent = master.info("stats")["total_net_repl_output_bytes"]
    assert sent == replica.info("stats")["total_net_repl_input_bytes"]
    assert sent > master.info("replication")["master_repl_offset"] + KEYS * len("key:1value-1")
    assert master.info("stats")["total_net_repl_input_bytes"] == 0  # the replica's ACKs are ordinary input


def test_a_partial_resync_counts_the_backlog_it_sends(ours_diskless):
    """After a dropped link the replica continues with PSYNC: the backlog it missed is counted as sent
    (the +CONTINUE line is not, as Redis writes it straight to the socket and the replica reads it apart)."""
    master, replica = ours_diskless.master, ours_diskless.replica
    partial = master.info("stats")["sync_partial_ok"]
    master.client_kill_filter(_type="replica")
    write(master, 5)  # while the replica is away: it gets these from the backlog
    wait_until(lambda: master.info("stats")["sync_partial_ok"] == partial + 1 and synced(master, replica),
               what="the partial resync")
    assert master.info("stats")["total_net_repl_output_bytes"] == replica.info("stats")["total_net_repl_input_bytes"]


def rdb_transfer(deployment):
    """What a disk-based full sync sends before the stream: $<length>\\r\\n and dump.rdb."""
    size = os.path.getsize(deployment.master_dir / "dump.rdb")
    return len(b"$%d\r\n" % size) + size


def aux_fields(deployment):
    """dump.rdb's aux fields, {name: (value, bytes it takes)}, and where they end."""
    data = (deployment.master_dir / "dump.rdb").read_bytes()
    fields, position = {}, 9  # after REDIS0010
    while data[position] == 0xFA:
        position += 1
        name, position = _rdb_string(data, position)
        start = position
        value, position = _rdb_string(data, position)
        fields[name] = (value, position - start)
    return fields, position


def _rdb_string(data, position):
    """An RDB string at position: a 6-bit length, or an integer of 1, 2 or 4 bytes (what aux fields use)."""
    kind = data[position] >> 6
    if kind == 0:
        end = position + 1 + (data[position] & 63)
        return data[position + 1:end], end
    assert kind == 3 and data[position] & 63 < 3, "unexpected RDB string encoding %#x" % data[position]
    size = 1 << (data[position] & 63)
    return int.from_bytes(data[position + 1:position + 1 + size], "little", signed=True), position + 1 + size


def test_a_disk_sync_costs_what_it_costs_redis_but_for_the_rdb_bytes(disk_pair):
    """Each master's count is its RDB transfer plus the stream (which started at offset 0: neither kept a
    backlog before its replica came). The streams are the same bytes; the RDBs differ only in their aux
    fields' values (used-mem: ours writes 0, an integer one byte long where Redis's takes four), so the
    counts differ by exactly that. A replica counts one byte more per newline a master sends while its
    BGSAVE runs (as it reads the RDB's header line), which the master writes straight to the socket,
    uncounted: at most one per second of the sync."""
    counts = []
    for deployment in disk_pair:
        write(deployment.master)
        wait_until(lambda: synced(deployment.master, deployment.replica), what="the stream")
        sent = deployment.master.info("stats")["total_net_repl_output_bytes"]
        stream = deployment.master.info("replication")["master_repl_offset"]
        assert sent == rdb_transfer(deployment) + stream
        newlines = deployment.replica.info("stats")["total_net_repl_input_bytes"] - sent
        assert 0 <= newlines <= int(deployment.sync_seconds) + 1
        counts.append((sent, rdb_transfer(deployment), stream))
    (ours, our_rdb, our_stream), (theirs, their_rdb, their_stream) = counts
    assert our_stream == their_stream
    assert ours - theirs == our_rdb - their_rdb
    (our_aux, our_end), (their_aux, their_end) = (aux_fields(deployment) for deployment in disk_pair)
    assert list(our_aux) == list(their_aux)
    different = {name for name in our_aux if our_aux[name][1] != their_aux[name][1]}
    assert different <= {b"used-mem", b"ctime"}  # the memory figure differs (ours writes 0), a second may pass
    assert our_rdb - our_end == their_rdb - their_end  # after the aux fields: the same size of data


def _stat(reply, name):
    return int(re.search(rb"\r\n%s:(\d+)\r\n" % name.encode(), parse_reply(reply)).group(1))


@pytest.mark.parametrize("side", ["ours", "redis"])
def test_total_net_output_bytes_includes_the_replication_bytes(side, ours_diskless, disk_pair):
    """As Redis 7.0: what the replicas got counts in total_net_output_bytes too. Between two INFOs on a
    quiet master, the output grows by exactly the first INFO's reply, the other replies, and the stream."""
    deployment = ours_diskless if side == "ours" else disk_pair[1]
    port = deployment.master_server.port
    with WireClient(port) as watcher, WireClient(port) as writer:
        first = watcher.call("INFO", "stats")
        replies = len(first)
        assert writer.call("SET", "watched", "x") == b"+OK\r\n"
        replies += len(b"+OK\r\n")

        def caught_up():
            nonlocal replies
            reply = watcher.call("INFO", "replication")
            replies += len(reply)
            return deployment.replica.info("replication")["slave_repl_offset"] == _stat(reply, "master_repl_offset")

        wait_until(caught_up, what="the replica")
        second = watcher.call("INFO", "stats")
    streamed = _stat(second, "total_net_repl_output_bytes") - _stat(first, "total_net_repl_output_bytes")
    assert streamed > 0
    assert _stat(second, "total_net_output_bytes") - _stat(first, "total_net_output_bytes") == replies + streamed


def test_our_replica_counts_what_a_real_master_sent_it(ours_replica):
    """On a replica, total_net_repl_input_bytes is every byte after PSYNC's answer (the RDB, the stream),
    which is what the master counts as sent; total_net_input_bytes includes it; the ACKs count as output."""
    master, replica = ours_replica
    write(master)
    wait_until(lambda: synced(master, replica), what="the stream")
    received = replica.info("stats")
    assert received["total_net_repl_input_bytes"] == master.info("stats")["total_net_repl_output_bytes"]
    assert received["total_net_repl_output_bytes"] == 0
    port = replica.connection_pool.connection_kwargs["port"]
    with WireClient(port) as watcher:
        first = watcher.call("INFO", "stats")
        commands, replies = 0, len(first)
        master.set("watched", "x")
        offset = master.info("replication")["master_repl_offset"]

        def call(*command):
            nonlocal commands, replies
            reply = watcher.call(*command)
            commands, replies = commands + len(encode_command(command)), replies + len(reply)
            return reply

        def acknowledged(reply):
            """The reply if an ACK went out since the first INFO (our output beyond the replies before it)."""
            output = _stat(reply, "total_net_output_bytes") - _stat(first, "total_net_output_bytes")
            return reply if output > replies - len(reply) else None

        wait_until(lambda: _stat(call("INFO", "replication"), "slave_repl_offset") == offset, what="the stream")
        second = wait_until(lambda: acknowledged(call("INFO", "stats")), what="an ACK")  # one every second
    streamed = _stat(second, "total_net_repl_input_bytes") - _stat(first, "total_net_repl_input_bytes")
    assert streamed > 0
    assert _stat(second, "total_net_input_bytes") - _stat(first, "total_net_input_bytes") == commands + streamed
    acks = _stat(second, "total_net_output_bytes") - _stat(first, "total_net_output_bytes") - (replies - len(second))
    assert acks >= len(encode_command(("REPLCONF", "ACK", offset)))


def load(client, seconds=1.2, most=4000):
    """A sustained write load, bounded in time and in count: pipelines of 50 SETs of 1 kB."""
    deadline, sent = time.monotonic() + seconds, 0
    while time.monotonic() < deadline and sent < most:
        pipe = client.pipeline(transaction=False)
        for i in range(50):
            pipe.set("load:%d" % (sent + i), b"l" * 1024)
        pipe.execute()
        sent += 50


def rates(client, *names):
    stats = client.info("stats")
    return [stats[name] for name in names]


def rates_under(load_on, client, *names):
    """The rates on client while load_on takes a load: the first sample after the load's bytes arrived holds
    them for the 1.6 s of the ring (a busy replica may serve INFO before its cron took that sample)."""
    load(load_on)
    return wait_until(lambda: (lambda values: values if values[0] > 0 else None)(rates(client, *names)),
                      timeout=1.5, what="%s above 0" % names[0])


def test_the_repl_kbps_rates_follow_a_write_load_and_fall_back_to_zero(ours_diskless, ours_replica):
    """Sampled every 100 ms as the other rates (the mean of the last 16 samples): non-zero under load, 0.00
    once it stops (no PINGs here); instantaneous_*_kbps include the replication bytes, as in Redis 7.0."""
    master = ours_diskless.master
    real_master, replica = ours_replica
    repl_output, output = rates_under(master, master, "instantaneous_output_repl_kbps", "instantaneous_output_kbps")
    assert 0 < repl_output <= output
    repl_input, network_input = rates_under(real_master, replica, "instantaneous_input_repl_kbps",
                                            "instantaneous_input_kbps")
    assert 0 < repl_input <= network_input
    wait_until(lambda: rates(master, "instantaneous_output_repl_kbps") == [0]
               and rates(replica, "instantaneous_input_repl_kbps") == [0], what="the rates back at 0.00")
    with WireClient(master.connection_pool.connection_kwargs["port"]) as wire:
        assert b"\r\ninstantaneous_output_repl_kbps:0.00\r\n" in parse_reply(wire.call("INFO", "stats"))


def replica_line(client):
    """The replica's CLIENT LIST line, as {field: value}."""
    for line in client.execute_command("CLIENT", "LIST").decode().splitlines():
        if " flags=S " in line:
            return dict(item.split("=", 1) for item in line.split(" "))
    raise AssertionError("no replica in CLIENT LIST")


def memory_stats(client):
    """MEMORY STATS as {name: value} (the reply's pairs, read from the wire)."""
    with WireClient(client.connection_pool.connection_kwargs["port"]) as wire:
        reply = parse_reply(wire.call("MEMORY", "STATS"))
    return dict(zip(reply[::2], reply[1::2]))


def test_an_idle_replica_costs_no_replica_memory(ours_diskless, disk_pair):
    """With the replica caught up, the shared buffer is the backlog: mem_clients_slaves 0 on both. The
    replica's line in CLIENT LIST: flag S, its last command REPLCONF (ACK)."""
    for master in (ours_diskless.master, disk_pair[1].master):
        memory = master.info("memory")
        assert memory["mem_clients_slaves"] == 0 and memory["mem_not_counted_for_evict"] == 0
        assert memory["mem_total_replication_buffers"] > 0 and memory["mem_replication_backlog"] > 0
        assert memory_stats(master)[b"clients.slaves"] == 0
        line = replica_line(master)
        assert line["flags"] == "S" and line["cmd"] == "replconf" and line["db"] == "0"
    ours = ours_diskless.master
    assert ours.info("memory")["mem_replication_backlog"] == ours.info("replication")["repl_backlog_histlen"]


def lag(deployment):
    """Stop the replica, write one key over and over until the master holds LAGGING_BYTES of stream for it
    (bounded: the kernel's socket buffers take a few MB first), read the figures, let the replica go on."""
    master = deployment.master
    before = master.info("replication")["master_repl_offset"], master.info("stats")["total_net_repl_output_bytes"]
    os.kill(deployment.replica_server.process.pid, signal.SIGSTOP)
    try:
        for _ in range(MAX_BIG_WRITES):
            master.set("big", BIG_VALUE)
            if int(replica_line(master)["omem"]) > master.info("replication")["repl_backlog_size"] + LAGGING_BYTES:
                break
        wait_until(lambda: master.info("clients")["client_recent_max_output_buffer"] > LAGGING_BYTES,
                   what="the clients' cron (once a second) to see the replica's buffer")
        figures = replica_line(master), master.info("memory"), memory_stats(master), master.info("stats")
        produced = master.info("replication")["master_repl_offset"] - before[0]
        sent = figures[3]["total_net_repl_output_bytes"] - before[1]
    finally:
        os.kill(deployment.replica_server.process.pid, signal.SIGCONT)
    wait_until(lambda: synced(master, deployment.replica), what="the replica catching up")
    return figures, produced - sent


def left_after_catching_up(master):
    """mem_clients_slaves once the replica caught up. Redis frees its shared buffer's blocks only as new
    ones are added (ten at most each time), and only while the backlog keeps repl-backlog-size without
    the first block: some writes bring it down to a block or two (one 256 kB write each)."""
    for _ in range(MAX_BIG_WRITES):
        left = master.info("memory")["mem_clients_slaves"]
        if left <= 2 * len(BIG_VALUE):
            return left
        master.set("big", BIG_VALUE)
    return master.info("memory")["mem_clients_slaves"]


@pytest.mark.parametrize("side", ["ours", "redis"])
def test_a_lagging_replica_costs_what_its_buffer_holds_beyond_the_backlog(side, ours_diskless, disk_pair):
    """Redis 7.0 keeps the backlog and the replicas' output in one buffer, and charges the replicas only
    what it holds beyond repl-backlog-size (getMemoryOverheadData): mem_clients_slaves is the lagging
    replica's omem less repl-backlog-size, MEMORY STATS' clients.slaves the same; eviction leaves it out
    (mem_not_counted_for_evict). Ours hold the same stream, in the replica's own queue, which is empty
    as soon as the replica caught up, where Redis frees its blocks only as later writes add new ones."""
    deployment = ours_diskless if side == "ours" else disk_pair[1]
    size = deployment.master.info("replication")["repl_backlog_size"]
    deployment.master.config_set("maxmemory", deployment.master.info("memory")["used_memory"] + 4 * 1024 * 1024)
    deployment.master.config_set("maxmemory-policy", "allkeys-random")
    try:
        (line, memory, stats, counters), unsent = lag(deployment)
    finally:
        deployment.master.config_set("maxmemory", 0)
    omem = int(line["omem"])
    assert omem > size + LAGGING_BYTES and int(line["tot-mem"]) > omem
    assert memory["mem_clients_slaves"] == omem - size == stats[b"clients.slaves"]
    assert memory["mem_total_replication_buffers"] == omem
    assert memory["mem_clients_normal"] < LAGGING_BYTES  # the replica's buffer is not an ordinary client's
    assert counters["evicted_keys"] == 0  # its buffer is not counted for eviction
    if side == "ours":  # Redis also subtracts an estimate of its buffer blocks' headers; ours have none
        assert memory["mem_not_counted_for_evict"] == memory["mem_clients_slaves"]
        assert memory["mem_replication_backlog"] == size == stats[b"replication.backlog"]
        assert omem == unsent  # the stream produced since the replica stopped, less what was written to it
        assert deployment.master.info("memory")["mem_clients_slaves"] == 0  # its queue is empty once caught up
    else:
        assert 0 < memory["mem_clients_slaves"] - memory["mem_not_counted_for_evict"] < size // 100
        assert left_after_catching_up(deployment.master) <= 2 * len(BIG_VALUE)
