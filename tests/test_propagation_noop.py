"""Only writes that changed something reach the AOF and the replicas, and each counts its changes as Redis's
server.dirty does: every write command we serve, in a form that changes something and one that changes nothing,
run on Redis 7.0.15 and on ours, both writing an AOF; the changes counted (INFO's rdb_changes_since_last_save)
after each step and the AOFs at the end must be the same, and a real replica of ours ends with our data."""
import random
import re

import pytest
import redis

from conftest import aof_file, ours_and_redis, start_ours, start_real_redis, wait_until
from differential import BlockingClients, WireClient, describe_command, parse_reply
from differential import aof_commands as stream_commands
from test_replication_master import FAST, assert_same_data, in_sync

LIBRARY = ("#!lua name=noops\n"
           "redis.register_function('setter', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n"
           "redis.register_function('deleter', function(keys, args) return redis.call('del', keys[1]) end)")
SCRIPT_CHANGING = "redis.call('del', 'nothing-here') redis.call('set', KEYS[1], 'lua') return redis.call('srem', 'nothing', 'x')"
SCRIPT_TWO_CHANGES = "redis.call('set', KEYS[1], 'one') redis.call('hdel', 'nothing', 'f') return redis.call('incr', KEYS[2])"
SCRIPT_NO_CHANGE = "redis.call('del', 'nothing-here') return redis.call('lpop', 'no-list')"
FUTURE = "4102444800"  # 2100-01-01, in seconds: absolute deadlines make both AOFs alike
PAST = "1000"

# (command...) steps: each write command in a form that changes something and, where Redis has one, one that does not.
STEPS = [
    # strings
    ("SET", "s1", "v"), ("SET", "s1", "v", "NX"), ("SET", "s1", "w", "XX"), ("SET", "nokey", "v", "XX"),
    ("SET", "s1", "x", "GET"), ("SET", "get", "get", "get", "KEEPTTL"), ("SET", "s1", "x", "NX", "GET"), ("SET", "s2", "v", "EXAT", FUTURE),
    ("SET", "s2", "v", "KEEPTTL"), ("SETNX", "s1", "y"), ("SETNX", "s3", "y"), ("SETEX", "s4", "100", "v"),
    ("PSETEX", "s5", "100000", "v"), ("GETSET", "s1", "z"), ("GETDEL", "s1"), ("GETDEL", "s1"),
    ("GETEX", "s3"), ("GETEX", "s3", "EXAT", FUTURE), ("GETEX", "s3", "PERSIST"), ("GETEX", "s3", "PERSIST"),
    ("GETEX", "nokey", "EX", "10"), ("GETEX", "s3", "PXAT", PAST),
    ("SETRANGE", "s6", "0", ""), ("SETRANGE", "s6", "2", "ab"), ("SETRANGE", "s6", "1", ""),
    ("APPEND", "s6", "x"), ("APPEND", "s6", ""), ("APPEND", "s7", ""),
    ("INCR", "n"), ("DECR", "n"), ("INCRBY", "n", "5"), ("DECRBY", "n", "2"), ("INCRBYFLOAT", "f", "1.5"),
    ("INCR", "s6"), ("MSET", "a", "1", "b", "2", "a", "3"), ("MSETNX", "a", "1", "c", "3"), ("MSETNX", "c", "3", "d", "4"),
    # bitmaps
    ("SETBIT", "bm", "7", "1"), ("SETBIT", "bm", "7", "1"), ("SETBIT", "bm", "7", "0"), ("SETBIT", "bm", "100", "0"),
    ("BITFIELD", "bf", "SET", "u8", "0", "255", "INCRBY", "u8", "8", "1"), ("BITFIELD", "bf", "GET", "u8", "0"), ("BITFIELD", "bf", "SET", "u8", "0", "255"),
    ("BITFIELD", "bf2", "SET", "u8", "0", "0", "SET", "u8", "8", "0"), ("BITFIELD", "bf2", "SET", "u8", "16", "0", "SET", "u8", "0", "0"),
    ("BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "10"), ("BITFIELD", "nobf", "GET", "u8", "0"),
    ("BITOP", "AND", "bdest", "bm", "bf"), ("BITOP", "OR", "bdest2", "nokey", "nokey2"),
    ("BITOP", "OR", "bdest", "nokey", "nokey2"),
    # lists
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d", "e"), ("LPUSHX", "nol", "a"), ("RPUSHX", "l", "f"),
    ("RPUSHX", "nol", "f"), ("LINSERT", "l", "BEFORE", "a", "x"), ("LINSERT", "l", "BEFORE", "zz", "x"),
    ("LINSERT", "nol", "BEFORE", "zz", "x"), ("LSET", "l", "0", "y"), ("LREM", "l", "0", "nothere"),
    ("LREM", "l", "1", "y"), ("LTRIM", "l", "0", "-1"), ("LTRIM", "l", "1", "-2"), ("LTRIM", "nol", "0", "1"),
    ("RPUSH", "l", "p", "q", "r", "s", "t", "u"),
    ("LPOP", "l"), ("RPOP", "l", "2"), ("LPOP", "nol"), ("LPOP", "nol", "2"), ("RPOP", "l", "0"),
    ("LMOVE", "l", "l2", "LEFT", "RIGHT"), ("LMOVE", "nol", "l2", "LEFT", "RIGHT"), ("RPOPLPUSH", "l2", "l"),
    ("RPOPLPUSH", "nol", "l"), ("LMPOP", "2", "nol", "l", "LEFT", "COUNT", "2"), ("LMPOP", "1", "nol", "LEFT"),
    ("BLPOP", "l", "0"), ("BRPOP", "nol", "l", "0"), ("BLMOVE", "l", "l3", "left", "LEFT", "0"),
    ("BRPOPLPUSH", "l3", "l", "0"), ("BLMPOP", "0", "1", "l", "RIGHT", "COUNT", "1"),
    ("BLPOP", "nol", "0.01"), ("BLMPOP", "0.01", "1", "nol", "LEFT"), ("BLMOVE", "nol", "l", "LEFT", "LEFT", "0.01"),
    # hashes
    ("HSET", "h", "f", "1", "g", "2"), ("HSET", "h", "f", "1"), ("HMSET", "h", "a", "1", "b", "2"),
    ("HSETNX", "h", "f", "x"), ("HSETNX", "h", "n", "x"), ("HDEL", "h", "nothere"), ("HDEL", "h", "f", "g", "zz"),
    ("HDEL", "noh", "f"), ("HINCRBY", "h", "c", "1"), ("HINCRBYFLOAT", "h", "d", "1.5"),
    # sets
    ("SADD", "st", "a", "b", "c", "a"), ("SADD", "st", "a"), ("SREM", "st", "zz"), ("SREM", "st", "c", "zz"),
    ("SMOVE", "st", "st2", "a"), ("SMOVE", "st", "st2", "zz"), ("SMOVE", "st", "st", "b"), ("SMOVE", "nos", "st", "b"),
    ("SPOP", "nos"), ("SPOP", "st2"), ("SADD", "st3", "x", "y"), ("SPOP", "st3", "5"), ("SPOP", "nos", "2"),
    ("SPOP", "st", "0"), ("SADD", "st", "c", "d"), ("SADD", "st2", "c"),
    ("SINTERSTORE", "sd", "st", "st2"), ("SUNIONSTORE", "sd2", "st", "st2"), ("SDIFFSTORE", "sd3", "st", "st2"),
    ("SINTERSTORE", "sd4", "nos", "st"), ("SINTERSTORE", "sd", "nos", "st"), ("SUNIONSTORE", "sd5", "nos"),
    ("SDIFFSTORE", "sd5", "nos", "st"),
    # sorted sets
    ("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "NX", "5", "a"),
    ("ZADD", "z", "XX", "3", "a"), ("ZADD", "z", "XX", "3", "zz"), ("ZADD", "z", "INCR", "1", "a"),
    ("ZADD", "z", "NX", "INCR", "1", "a"), ("ZADD", "z", "CH", "1", "a", "9", "e"), ("ZINCRBY", "z", "1", "b"),
    ("ZREM", "z", "zz"), ("ZREM", "z", "a", "zz"), ("ZREMRANGEBYSCORE", "z", "100", "200"),
    ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYRANK", "noz", "0", "0"), ("ZREMRANGEBYLEX", "z", "[x", "[y"),
    ("ZADD", "zl", "0", "a", "0", "b", "0", "c"), ("ZREMRANGEBYLEX", "zl", "[a", "[a"),
    ("ZADD", "z", "5", "f", "6", "g", "7", "h", "8", "i"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "2"),
    ("ZPOPMAX", "noz"), ("ZPOPMIN", "z", "0"), ("ZMPOP", "2", "noz", "z", "MIN", "COUNT", "1"), ("ZMPOP", "1", "noz", "MAX"),
    ("BZPOPMIN", "z", "0"), ("BZPOPMAX", "z", "0"), ("BZMPOP", "0", "1", "z", "MAX"), ("BZPOPMIN", "noz", "0.01"),
    ("ZADD", "z2", "1", "x", "2", "d"), ("ZUNIONSTORE", "zd", "2", "z", "z2"), ("ZINTERSTORE", "zd2", "2", "z", "z2"),
    ("ZDIFFSTORE", "zd3", "2", "z", "z2"), ("ZRANGESTORE", "zd4", "z", "0", "-1"), ("ZINTERSTORE", "zd5", "2", "noz", "z"),
    ("ZINTERSTORE", "zd", "2", "noz", "z"), ("ZRANGESTORE", "zd6", "noz", "0", "-1"), ("ZDIFFSTORE", "zd6", "1", "noz"),
    # geo
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"),
    ("GEOADD", "g", "NX", "13.361389", "38.115556", "Palermo"), ("GEOADD", "g", "XX", "CH", "13.5", "38.1", "Palermo"),
    ("GEORADIUS", "g", "15", "37", "200", "km"), ("GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gd"),
    ("GEORADIUS", "g", "0", "0", "1", "km", "STORE", "gd0"), ("GEORADIUSBYMEMBER", "g", "Palermo", "100", "km"),
    ("GEORADIUSBYMEMBER", "g", "Palermo", "300", "km", "STOREDIST", "gd2"),
    ("GEOSEARCHSTORE", "gd3", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "10", "km"),
    ("GEOSEARCHSTORE", "gd4", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    ("GEOSEARCHSTORE", "gd3", "g", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
    # HyperLogLog
    ("PFADD", "hl", "a", "b"), ("PFADD", "hl", "a"), ("PFADD", "hl2"), ("PFADD", "hl2"), ("PFCOUNT", "hl"),
    ("PFCOUNT", "hl"), ("PFMERGE", "hl3", "hl", "hl2"), ("PFMERGE", "hl3"), ("PFDEBUG", "GETREG", "hl2"),
    ("PFDEBUG", "TODENSE", "hl"), ("PFDEBUG", "TODENSE", "hl"),
    # streams
    ("XADD", "x", "1-1", "f", "v"), ("XADD", "nox", "NOMKSTREAM", "2-1", "f", "v"), ("XADD", "x", "2-1", "f", "v"),
    ("XDEL", "x", "9-9"), ("XDEL", "x", "2-1", "8-8"), ("XDEL", "nox", "1-1"), ("XTRIM", "x", "MAXLEN", "10"),
    ("XTRIM", "x", "MAXLEN", "0"), ("XTRIM", "nox", "MAXLEN", "0"), ("XADD", "x", "3-1", "f", "v"),
    ("XADD", "x", "4-1", "f", "v"), ("XGROUP", "CREATE", "x", "g", "0"), ("XGROUP", "CREATE", "x", "g", "0"),
    ("XGROUP", "CREATE", "nox2", "g2", "$", "MKSTREAM"), ("XGROUP", "SETID", "x", "g", "0"),
    ("XGROUP", "CREATECONSUMER", "x", "g", "c1"), ("XGROUP", "CREATECONSUMER", "x", "g", "c1"),
    ("XREADGROUP", "GROUP", "g", "c1", "COUNT", "1", "STREAMS", "x", ">"),
    ("XREADGROUP", "GROUP", "g", "c9", "STREAMS", "x", "0"), ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "x", "0"),
    ("XREADGROUP", "GROUP", "g", "c2", "COUNT", "5", "STREAMS", "x", ">"),
    ("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "x", ">"), ("XACK", "x", "g", "3-1"), ("XACK", "x", "g", "3-1"),
    ("XADD", "x", "5-1", "f", "v"), ("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "x", ">"),
    ("XCLAIM", "x", "g", "c3", "0", "4-1"), ("XCLAIM", "x", "g", "c3", "0", "9-9"),
    ("XCLAIM", "x", "g", "c3", "0", "4-1", "JUSTID"),
    ("XAUTOCLAIM", "x", "g", "c4", "0", "0"), ("XAUTOCLAIM", "x", "g", "c4", "3600000", "0"),
    ("XGROUP", "DELCONSUMER", "x", "g", "c4"), ("XGROUP", "DELCONSUMER", "x", "g", "nobody"),
    ("XGROUP", "DESTROY", "x", "g"), ("XGROUP", "DESTROY", "x", "g"), ("XSETID", "x", "9-0"), ("XSETID", "x", "9-0"),
    # keys
    ("DEL", "a", "b", "nokey"), ("DEL", "nokey"), ("UNLINK", "c"), ("UNLINK", "nokey"), ("RENAME", "d", "e"),
    ("RENAME", "e", "e"), ("SET", "taken", "1"), ("RENAMENX", "e", "taken"), ("RENAMENX", "e", "e2"),
    ("RENAMENX", "e2", "e2"), ("COPY", "e2", "cp"), ("COPY", "e2", "cp"), ("COPY", "e2", "cp", "REPLACE"),
    ("COPY", "nokey", "cp2"), ("COPY", "e2", "cp", "DB", "2"), ("MOVE", "cp", "1"), ("MOVE", "nokey", "1"),
    ("MOVE", "e2", "2"), ("SWAPDB", "0", "1"), ("SWAPDB", "1", "0"), ("SWAPDB", "3", "3"),
    ("EXPIRE", "taken", "100"), ("EXPIRE", "nokey", "100"), ("EXPIRE", "taken", "100", "NX"),
    ("EXPIREAT", "taken", FUTURE), ("EXPIREAT", "taken", FUTURE, "GT"), ("PEXPIRE", "taken", "100000"),
    ("PEXPIREAT", "taken", FUTURE + "000"), ("PERSIST", "taken"), ("PERSIST", "taken"), ("PERSIST", "nokey"),
    ("EXPIRE", "taken", "-1"), ("EXPIRE", "taken", "-1"),
    ("RPUSH", "sl", "3", "1", "2"), ("SORT", "sl", "STORE", "sorted"), ("SORT", "nol", "STORE", "sorted"),
    ("SORT", "nol", "STORE", "sorted"),
    ("SORT", "l2", "ALPHA"),
    ("RESTORE", "r", "0", "<payload>"), ("RESTORE", "r", "0", "<payload>"), ("RESTORE", "r", "0", "<payload>", "REPLACE"),
    ("RESTORE", "r2", "0", "<payload>", "ABSTTL", "IDLETIME", "10"), ("RESTORE", "r3", FUTURE + "000", "<payload>", "ABSTTL"),
    ("RESTORE-ASKING", "r4", "0", "<payload>"), ("RESTORE-ASKING", "r4", "0", "<payload>"),
    ("MIGRATE", "127.0.0.1", "1", "nokey", "0", "100"),  # NOKEY (the moves: tests/test_migrate.py)
    # scripts and functions
    ("EVAL", SCRIPT_CHANGING, "1", "lua1"), ("EVAL", SCRIPT_TWO_CHANGES, "2", "lua2", "lua3"),
    ("EVAL", SCRIPT_NO_CHANGE, "0"), ("EVAL", "return 1", "0"),
    ("FUNCTION", "LOAD", LIBRARY), ("FUNCTION", "LOAD", LIBRARY), ("FCALL", "setter", "1", "fk", "v"),
    ("FCALL", "deleter", "1", "nokey"), ("FUNCTION", "DUMP"), ("FUNCTION", "DELETE", "noops"),
    ("FUNCTION", "DELETE", "noops"), ("FUNCTION", "RESTORE", "<functions>"), ("FUNCTION", "RESTORE", "<functions>", "REPLACE"),
    ("FUNCTION", "FLUSH"), ("FUNCTION", "FLUSH"),
    # transactions
    ("MULTI",), ("SET", "m1", "1"), ("DEL", "nokey"), ("EXEC",),
    ("MULTI",), ("SET", "m1", "2"), ("LPOP", "nol"), ("SET", "m2", "2"), ("EXEC",),
    ("MULTI",), ("DEL", "nokey"), ("SREM", "nos", "x"), ("EXEC",), ("MULTI",), ("EXEC",),
    ("MULTI",), ("SELECT", "5"), ("SET", "m5", "5"), ("SELECT", "0"), ("EXEC",),
    # errors change nothing
    ("LPUSH", "s2", "x"), ("SET", "s2"), ("INCR", "h"),
    # whole databases
    ("SELECT", "4"), ("FLUSHDB",), ("SET", "k4", "v"), ("FLUSHDB",), ("SELECT", "0"), ("FLUSHALL",), ("FLUSHALL",),
    ("SELECT", "0"),
]
SUBCOMMAND_CONTAINERS = ("XGROUP", "FUNCTION")
OURS_ONLY = {"delete", "flush"}  # the seed design's names for DEL and FLUSHDB: checked apart, Redis has neither


def command_name(step):
    """The command table's name of a step: 'xgroup|create' for a container's subcommand."""
    name = step[0].lower()
    return name + "|" + step[1].lower() if step[0] in SUBCOMMAND_CONTAINERS else name


def our_write_commands():
    from commands.families import build_table
    names = set()
    for command in build_table().values():
        names.update(row.name for row in (command, *command.subcommands.values()) if "write" in row.flags)
    return names


def test_every_write_command_has_a_step():
    assert our_write_commands() - OURS_ONLY - {command_name(step) for step in STEPS} == set()


def changes_counted(client):
    reply = parse_reply(client.call("INFO", "persistence"))
    return int(re.search(rb"rdb_changes_since_last_save:(\d+)", reply).group(1))


def substitute(step, payloads):
    return tuple(payloads.get(word, word) for word in step)


def run_steps(client, steps):
    """Run each step and read the changes counted after it: [(step, reply, changes)]. The RESTORE payload
    and FUNCTION DUMP's are the server's own."""
    payloads = {}
    record = []
    queuing = False
    for step in steps:
        if step[0].startswith("RESTORE") and "<payload>" not in payloads:
            payloads["<payload>"] = parse_reply(client.call("DUMP", "h"))
        reply = client.call(*substitute(step, payloads))
        if step == ("FUNCTION", "DUMP"):
            payloads["<functions>"] = parse_reply(reply)
        queuing = step[0] == "MULTI" or (queuing and step[0] != "EXEC")
        changes = None if queuing else changes_counted(client)
        record.append((step, reply, changes))
    return record


def aof_commands(data):
    """The commands an AOF holds, as lists of bytes; the deadlines of relative expiries masked."""
    return [[re.sub(rb"^17\d{11}$", b"<ms>", word) for word in argv] for argv in stream_commands(data)]


@pytest.fixture(scope="module")
def both_logged(tmp_path_factory):
    """STEPS run on ours and on Redis, both writing an AOF: ((our record, our AOF), (Redis's, Redis's))."""
    ours_dir, redis_dir = tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("redis")
    results = []
    with ours_and_redis(ours_dir, redis_dir, "--appendonly", "yes", "--appendfsync", "always") as servers:
        for server in servers:
            with WireClient(server.port) as client:
                results.append(run_steps(client, STEPS))
    return ((results[0], aof_file(ours_dir).read_bytes()), (results[1], aof_file(redis_dir).read_bytes()))


def test_the_replies_are_redis_s(both_logged):
    (ours, _), (real, _) = both_logged
    differences = [(describe_command(step), got, expected) for (step, got, _), (_, expected, _) in zip(ours, real)
                   if got != expected and step[0] not in ("FUNCTION", "DUMP") and step[0] != "SPOP"]
    assert differences == []


def test_each_step_counts_the_changes_redis_counts(both_logged):
    (ours, _), (real, _) = both_logged
    differences = []
    before_ours = before_real = 0
    for (step, _, got), (_, _, expected) in zip(ours, real):
        if got is None:
            continue
        if got - before_ours != expected - before_real:
            differences.append((describe_command(step), got - before_ours, expected - before_real))
        before_ours, before_real = got, expected
    assert differences == []


def test_the_aof_holds_what_redis_s_holds(both_logged):
    (_, ours), (_, real) = both_logged
    assert aof_commands(ours) == aof_commands(real)


def served_later(port):
    """Blocked pops, moves and group reads served by later writes, and a blocked XREAD whose wait sees other
    clients' changes: (the replies, the changes counted after each write that serves one)."""
    clients = BlockingClients(port)
    control = clients.control
    try:
        waiting = [clients.block("BLPOP", "l", "0"), clients.block("BLMOVE", "l2", "d", "RIGHT", "LEFT", "0"),
                   clients.block("BRPOPLPUSH", "l3", "d", "0"), clients.block("BZPOPMIN", "z", "0"),
                   clients.block("BLMPOP", "0", "1", "l4", "LEFT", "COUNT", "5")]
        control.call("XGROUP", "CREATE", "x", "g", "$", "MKSTREAM")
        waiting += [clients.block("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "x", ">"),
                    clients.block("XREAD", "BLOCK", "0", "STREAMS", "x", "$")]
        counted = []
        for write in (("RPUSH", "l", "a", "b"), ("RPUSH", "l2", "a"), ("RPUSH", "l3", "a"), ("ZADD", "z", "1", "a"),
                      ("RPUSH", "l4", "a", "b"), ("XADD", "x", "1-1", "f", "v")):
            control.call(*write)
            counted.append(changes_counted(control))
        return [client.read_reply() for client in waiting], counted
    finally:
        clients.close()


RANDOM_TEMPLATES = [
    ("SET", "{k}", "v"), ("SET", "{k}", "w", "NX"), ("SET", "{k}", "x", "XX"), ("DEL", "{k}", "{k}"), ("UNLINK", "{k}"),
    ("INCR", "{k}"), ("APPEND", "{k}", "x"), ("SETRANGE", "{k}", "0", ""), ("GETDEL", "{k}"), ("GETEX", "{k}", "PERSIST"),
    ("MSETNX", "{k}", "1", "{k}", "2"), ("SETBIT", "{k}", "3", "1"), ("PFADD", "{k}", "a"),
    ("LPUSH", "{k}", "a"), ("RPUSHX", "{k}", "b"), ("LPOP", "{k}"), ("RPOP", "{k}", "2"), ("LREM", "{k}", "0", "a"),
    ("LTRIM", "{k}", "0", "1"), ("LMOVE", "{k}", "{k}", "LEFT", "RIGHT"),
    ("SADD", "{k}", "a"), ("SREM", "{k}", "a"), ("SMOVE", "{k}", "{k}", "a"), ("SINTERSTORE", "{k}", "{k}", "{k}"),
    ("HSET", "{k}", "f", "v"), ("HDEL", "{k}", "f"), ("HSETNX", "{k}", "f", "v"), ("HINCRBY", "{k}", "n", "1"),
    ("ZADD", "{k}", "1", "a"), ("ZADD", "{k}", "NX", "2", "a"), ("ZREM", "{k}", "a"), ("ZPOPMIN", "{k}"),
    ("ZUNIONSTORE", "{k}", "1", "{k}"), ("EXPIREAT", "{k}", FUTURE, "NX"), ("PERSIST", "{k}"),
    ("RENAMENX", "{k}", "{k}"), ("COPY", "{k}", "{k}"), ("MOVE", "{k}", "1"), ("SORT", "{k}", "ALPHA", "STORE", "{k}"),
    ("XADD", "{k}", "1-1", "f", "v"), ("XDEL", "{k}", "1-1"), ("XTRIM", "{k}", "MAXLEN", "0"),
    ("XGROUP", "CREATE", "{k}", "g", "0"), ("XGROUP", "DESTROY", "{k}", "g"), ("GEOADD", "{k}", "13.36", "38.11", "m"),
    ("BITOP", "OR", "{k}", "{k}"), ("LINSERT", "{k}", "BEFORE", "a", "x"), ("LSET", "{k}", "0", "y"),
    ("ZINCRBY", "{k}", "1", "a"), ("ZREMRANGEBYSCORE", "{k}", "0", "1"), ("HINCRBYFLOAT", "{k}", "g", "0.5"),
    ("INCRBYFLOAT", "{k}", "1.5"), ("RENAME", "{k}", "{k}"), ("PFMERGE", "{k}", "{k}"), ("GETSET", "{k}", "z"),
    ("SWAPDB", "0", "1"),
]
RANDOM_KEYS = ("a", "b", "c", "d")


def random_steps(seed, count):
    """count commands drawn from RANDOM_TEMPLATES over a few keys: types clash, and most writes find
    something to change or nothing, at random; the same list for a seed."""
    draw = random.Random(seed)
    steps = []
    for _ in range(count):
        template = draw.choice(RANDOM_TEMPLATES)
        steps.append(tuple(draw.choice(RANDOM_KEYS) if word == "{k}" else word for word in template))
    return steps


def test_random_writes_count_and_log_as_redis(tmp_path):
    """A seeded random mix of writes that clash over four keys: the replies, the changes counted after each,
    and the AOF are Redis's."""
    steps = random_steps(7, 400)
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always") \
            as servers:
        records = []
        for server in servers:
            with WireClient(server.port) as client:
                records.append([(describe_command(step), reply, changes)
                                for step, reply, changes in run_steps(client, steps)])
    assert records[0] == records[1]
    assert aof_commands(aof_file(tmp_path / "ours").read_bytes()) == \
        aof_commands(aof_file(tmp_path / "redis").read_bytes())


def test_blocked_commands_served_later_count_and_log_as_redis(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always") \
            as (ours, real):
        assert served_later(ours.port) == served_later(real.port)
    assert aof_commands(aof_file(tmp_path / "ours").read_bytes()) == \
        aof_commands(aof_file(tmp_path / "redis").read_bytes())


def test_flushall_with_save_points_saves_and_leaves_no_change_as_redis(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "redis").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "redis", "--save", "3600 1") as servers:
        counted = []
        for server in servers:
            with WireClient(server.port) as client:
                counted.append([changes for _, _, changes in run_steps(
                    client, [("SET", "a", "1"), ("SET", "b", "2"), ("FLUSHALL",), ("SET", "c", "3"), ("FLUSHALL",)])])
    assert counted[0] == counted[1] == [1, 2, 0, 1, 0]
    assert (tmp_path / "ours" / "dump.rdb").exists() and (tmp_path / "redis" / "dump.rdb").exists()


def test_delete_and_flush_count_as_del_and_flushdb(tmp_path):
    """Our two commands Redis lacks: DELETE counts the keys it deleted, FLUSH the keys it emptied, and
    DELETE is logged only when it changed something, FLUSH always, as FLUSHDB."""
    server = start_ours(tmp_path, "--appendonly", "yes", "--appendfsync", "always")
    try:
        with WireClient(server.port) as client:
            record = run_steps(client, [("SET", "a", "1"), ("SET", "b", "1"), ("DELETE", "a", "b", "c"),
                                        ("DELETE", "a"), ("SET", "a", "1"), ("FLUSH",), ("FLUSH",)])
        changes = [counted for _, _, counted in record]
        assert changes == [1, 2, 4, 4, 5, 6, 6]
        assert aof_commands(aof_file(tmp_path).read_bytes()) == [
            [b"SELECT", b"0"], [b"SET", b"a", b"1"], [b"SET", b"b", b"1"], [b"DELETE", b"a", b"b", b"c"],
            [b"SET", b"a", b"1"], [b"FLUSH"], [b"FLUSH"]]
    finally:
        server.stop()


def test_a_real_replica_ends_with_our_data_after_writes_that_changed_nothing(tmp_path_factory):
    """Our server as master of a real redis-server, through STEPS (no-ops, blocking pops, scripts,
    transactions), a random mix, and then more writes on what they left: the replica's DEBUG DIGEST ends
    equal to ours."""
    ours = start_ours(tmp_path_factory.mktemp("master"), *FAST)
    real = start_real_redis(tmp_path_factory.mktemp("replica"), "--replicaof", "127.0.0.1", str(ours.port),
                            "--enable-debug-command", "yes", "--repl-timeout", "5")
    master, replica = redis.Redis(port=ours.port, socket_timeout=20), redis.Redis(port=real.port, socket_timeout=20)
    try:
        assert wait_until(lambda: in_sync(master, replica)), ours.log()
        with WireClient(ours.port) as client:
            run_steps(client, [step for step in STEPS if step[0] not in ("FLUSHALL", "FLUSHDB")])
            run_steps(client, random_steps(3, 300))
            run_steps(client, [("SET", "after", "1"), ("SADD", "st", "late"), ("SREM", "st", "none"),
                               ("XADD", "x", "10-1", "f", "v"), ("PUBLISH", "ch", "m"), ("LPUSH", "l", "end")])
        assert_same_data(master, replica)
    finally:
        master.close()
        replica.close()
        real.stop()
        ours.stop()
