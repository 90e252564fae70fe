"""The RedisBloom-compatible module's Bloom and cuckoo filters (modules/bloom.py): a server started with
--loadmodule, driven by redis-py's r.bf() and r.cf() and by raw RESP2/RESP3, checked against RedisBloom
2.6's documented replies, defaults and error texts; persistence through RDB, AOF and DUMP/RESTORE.

No RedisBloom runs here to compare with: the expected values are RedisBloom's (its documentation's
examples, and what rebloom.c, sb.c and cuckoo.c compute for the same arguments).
"""
import os
import random
import time

import pytest
import redis

from conftest import ROOT, aof_file, start_ours
from differential import WireClient

MODULE = os.path.join(ROOT, "modules", "bloom.py")


@pytest.fixture(scope="module")
def bloom_server(tmp_path_factory):
    server = start_ours(tmp_path_factory.mktemp("bloom"), "--loadmodule", MODULE, "--enable-module-command", "yes")
    yield server
    server.stop()


@pytest.fixture
def r(bloom_server):
    client = redis.Redis(port=bloom_server.port, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def wire(bloom_server, r):
    with WireClient(bloom_server.port) as client:
        yield client


def sample(count, prefix, seed):
    generator = random.Random(seed)
    return [b"%s:%d" % (prefix, generator.getrandbits(60)) for _ in range(count)]


def test_module_list_names_redisblooms_version(r):
    [entry] = r.module_list()
    assert (entry[b"name"], entry[b"ver"]) == (b"bf", 20612)


def test_bf_commands_through_redis_py(r):
    bf = r.bf()
    assert bf.create("bf", 0.001, 1000) is True
    assert bf.add("bf", "a") == 1 and bf.add("bf", "a") == 0
    assert bf.madd("bf", "b", "c", "a") == [1, 1, 0]
    assert bf.exists("bf", "b") == 1 and bf.exists("bf", "zz") == 0 and bf.exists("missing", "a") == 0
    assert bf.mexists("bf", "a", "zz", "c") == [1, 0, 1]
    assert bf.card("bf") == 3 and bf.card("missing") == 0
    info = bf.info("bf")
    assert (info.capacity, info.filterNum, info.insertedNum, info.expansionRate) == (1000, 1, 3, 2)
    assert info.size == 32 + 64 + 1984  # SBChain, one SBLink, 1000 entries at 0.0005: 15820 bits in words
    assert bf.insert("ins", ["x", "y"], capacity=50, error=0.1, expansion=4) == [1, 1]
    assert bf.info("ins").capacity == 50 and bf.info("ins").expansionRate == 4
    assert bf.insert("ins", ["x", "z"], noCreate=True) == [0, 1]
    with pytest.raises(redis.ResponseError, match="^not found$"):
        bf.insert("nothing", ["x"], noCreate=True)
    assert bf.insert("ns", ["p"], capacity=1, noScale=True) == [1]
    assert bf.info("ns").expansionRate is None
    assert bf.create("grow", 0.01, 10, expansion=3) is True
    bf.madd("grow", *range(60))
    assert (bf.info("grow").capacity, bf.info("grow").filterNum) == (10 + 30 + 90, 3)
    assert r.type("bf") == b"MBbloom--"


def test_bf_add_creates_the_default_filter(wire):
    """BF.INFO as RedisBloom's documentation shows it after one BF.ADD."""
    assert wire.call("BF.ADD", "k", "item") == b":1\r\n"
    assert wire.call("BF.INFO", "k") == (b"*10\r\n+Capacity\r\n:100\r\n+Size\r\n:240\r\n+Number of filters\r\n:1\r\n"
                                         b"+Number of items inserted\r\n:1\r\n+Expansion rate\r\n:2\r\n")


def test_cf_commands_through_redis_py(r):
    cf = r.cf()
    assert cf.create("cf", 1000) is True
    assert cf.add("cf", "a") == 1 and cf.add("cf", "a") == 1
    assert cf.addnx("cf", "a") == 0 and cf.addnx("cf", "b") == 1
    assert cf.count("cf", "a") == 2 and cf.count("cf", "zz") == 0 and cf.count("missing", "a") == 0
    assert cf.exists("cf", "b") == 1 and cf.exists("cf", "zz") == 0
    assert cf.mexists("cf", "a", "zz") == [1, 0]
    assert cf.insert("cf", ["c", "a"]) == [1, 1]
    assert cf.insertnx("cf", ["a", "d"]) == [0, 1]
    assert cf.delete("cf", "a") == 1 and cf.count("cf", "a") == 2
    assert cf.delete("cf", "zz") == 0
    info = cf.info("cf")
    assert (info.size, info.bucketNum, info.filterNum, info.insertedNum, info.deletedNum, info.bucketSize,
            info.expansionRate, info.maxIteration) == (1080, 512, 1, 5, 1, 2, 1, 20)
    assert cf.create("opts", 1000, expansion=3, bucket_size=4, max_iterations=50) is True
    info = cf.info("opts")
    assert (info.bucketNum, info.bucketSize, info.expansionRate, info.maxIteration) == (256, 4, 4, 50)
    assert cf.insert("new", ["x"], capacity=100) == [1] and cf.info("new").bucketNum == 64
    with pytest.raises(redis.ResponseError, match="^not found$"):
        cf.insert("none", ["x"], nocreate=True)
    assert r.type("cf") == b"MBbloomCF"


def test_a_full_cuckoo_filter(r):
    r.cf().create("small", 4, expansion=0)
    replies = r.cf().insert("small", [str(n) for n in range(30)])
    assert -1 in replies and replies.count(1) <= 4
    with pytest.raises(redis.ResponseError, match="^Filter is full$"):
        for n in range(30, 60):
            r.cf().add("small", str(n))


def test_a_cuckoo_filter_grows_and_stops_at_its_maximum_expansions(r):
    r.cf().create("grows", 4)
    assert all(reply == 1 for reply in r.cf().insert("grows", [str(n) for n in range(300)]))
    assert r.cf().info("grows").filterNum > 1
    r.cf().create("capped", 4)
    with pytest.raises(redis.ResponseError, match="^Maximum expansions reached$"):
        for n in range(2000):
            r.cf().add("capped", str(n))
    assert r.cf().info("capped").filterNum == 32


def test_replies_in_resp2_and_resp3_on_the_wire(wire):
    assert wire.call("BF.RESERVE", "ns", "0.01", "2", "NONSCALING") == b"+OK\r\n"
    assert wire.call("BF.MADD", "ns", "a", "b", "c", "d") == b"*3\r\n:1\r\n:1\r\n-ERR non scaling filter is full\r\n"
    assert wire.call("BF.ADD", "ns", "e") == b"-ERR non scaling filter is full\r\n"
    assert wire.call("BF.INFO", "ns", "EXPANSION") == b"*1\r\n$-1\r\n"
    assert [wire.call("BF.INFO", "ns", field) for field in ("capacity", "Size", "FILTERS", "items")] == [
        b"*1\r\n:2\r\n", b"*1\r\n:104\r\n", b"*1\r\n:1\r\n", b"*1\r\n:2\r\n"]
    info2 = wire.call("BF.INFO", "ns")
    assert info2.startswith(b"*10\r\n+Capacity\r\n:2\r\n+Size\r\n:") and info2.endswith(b"+Expansion rate\r\n$-1\r\n")
    assert wire.call("CF.RESERVE", "cf", "100") == b"+OK\r\n"
    assert wire.call("CF.SCANDUMP", "cf", "0") == b"*2\r\n:0\r\n$-1\r\n"  # an empty filter has nothing to dump
    assert wire.call("CF.INSERT", "cf", "ITEMS", "a") == b"*1\r\n:1\r\n"
    cf_info2 = wire.call("CF.INFO", "cf")
    assert cf_info2 == (b"*16\r\n+Size\r\n:184\r\n+Number of buckets\r\n:64\r\n+Number of filters\r\n:1\r\n"
                        b"+Number of items inserted\r\n:1\r\n+Number of items deleted\r\n:0\r\n+Bucket size\r\n:2\r\n"
                        b"+Expansion rate\r\n:1\r\n+Max iterations\r\n:20\r\n")
    wire.call("HELLO", "3")
    assert wire.call("BF.INFO", "ns") == b"%5" + info2[3:-5] + b"_\r\n"
    assert wire.call("CF.INFO", "cf") == b"%8" + cf_info2[3:]
    assert wire.call("BF.INFO", "ns", "expansion") == b"*1\r\n_\r\n"
    # RESP3 answers yes or no as booleans, as RedisBloom's documentation shows; CF.INSERT's stay integers
    assert wire.call("BF.MEXISTS", "ns", "a", "zz") == b"*2\r\n#t\r\n#f\r\n"
    assert wire.call("BF.ADD", "b3", "a") == b"#t\r\n"
    assert wire.call("BF.MADD", "b3", "a", "b") == b"*2\r\n#f\r\n#t\r\n"
    assert wire.call("BF.INSERT", "b3", "ITEMS", "c") == b"*1\r\n#t\r\n"
    assert wire.call("BF.EXISTS", "b3", "zz") == b"#f\r\n"
    assert wire.call("CF.ADD", "cf", "b") == b"#t\r\n"
    assert wire.call("CF.ADDNX", "cf", "b") == b"#f\r\n"
    assert wire.call("CF.INSERTNX", "cf", "ITEMS", "b", "c") == b"*2\r\n:0\r\n:1\r\n"
    assert wire.call("CF.EXISTS", "cf", "b") == b"#t\r\n"
    assert wire.call("CF.COUNT", "cf", "b") == b":1\r\n"
    assert wire.call("CF.DEL", "cf", "a") == b"#t\r\n"
    assert wire.call("CF.DEL", "cf", "a") == b"#f\r\n"
    assert wire.call("BF.CARD", "b3") == b":3\r\n"
    wire.call("DEL", "cf")
    wire.call("CF.RESERVE", "cf", "100")
    assert wire.call("CF.SCANDUMP", "cf", "0") == b"*2\r\n:0\r\n_\r\n"


def test_redis_py_in_resp3(bloom_server):
    client = redis.Redis(port=bloom_server.port, protocol=3, socket_timeout=10)
    try:
        client.bf().add("r3", "a")
        client.cf().add("c3", "a")
        assert client.bf().info("r3") == {b"Capacity": 100, b"Size": 240, b"Number of filters": 1,
                                          b"Number of items inserted": 1, b"Expansion rate": 2}
        assert client.cf().info("c3")[b"Number of buckets"] == 512
        assert client.bf().mexists("r3", "a", "b") == [1, 0]
    finally:
        client.close()


def test_the_false_positive_rate_stays_within_the_bound(r):
    """10,000 items in a filter reserved for them at 1%, then 10,000 others probed (fixed seed)."""
    r.bf().create("fp", 0.01, 10000)
    r.cf().create("cfp", 10000)
    added = sample(10000, b"in", seed=20)
    for start in range(0, len(added), 1000):
        r.bf().madd("fp", *added[start:start + 1000])
        r.cf().insert("cfp", added[start:start + 1000])
    assert all(r.bf().mexists("fp", *added[:2000])) and all(r.cf().mexists("cfp", *added[:2000]))
    probes = sample(10000, b"out", seed=21)
    bloom_hits = cuckoo_hits = 0
    for start in range(0, len(probes), 1000):
        bloom_hits += sum(r.bf().mexists("fp", *probes[start:start + 1000]))
        cuckoo_hits += sum(r.cf().mexists("cfp", *probes[start:start + 1000]))
    assert bloom_hits / len(probes) <= 0.01
    # A cuckoo filter's rate is about 2 * bucket size / 255 at full load (1.6%); 10,000 of 16,384 slots.
    assert cuckoo_hits / len(probes) <= 0.016


def _dump(scandump, key):
    chunks, iterator = [], 0
    while True:
        iterator, data = scandump(key, iterator)
        if iterator == 0:
            return chunks
        chunks.append((iterator, data))


def test_scandump_and_loadchunk_copy_a_filter(r):
    bf, cf = r.bf(), r.cf()
    bf.create("src", 0.01, 100, expansion=2)
    cf.create("csrc", 100)
    items = sample(500, b"x", seed=3)
    bf.madd("src", *items)
    cf.insert("csrc", items[:300])
    for dump, load, source, target in ((bf.scandump, bf.loadchunk, "src", "dst"),
                                       (cf.scandump, cf.loadchunk, "csrc", "cdst")):
        chunks = _dump(dump, source)
        assert chunks[0][0] == 1 and len(chunks) > 1
        for iterator, data in chunks:
            assert load(target, iterator, data) == b"OK"
        assert _dump(dump, target) == chunks
    assert bf.mexists("dst", *items) == [1] * 500
    assert bf.info("dst").insertedNum == bf.info("src").insertedNum
    probes = sample(300, b"y", seed=4)
    assert bf.mexists("dst", *probes) == bf.mexists("src", *probes)
    assert cf.mexists("cdst", *items) == cf.mexists("csrc", *items)


def test_loadchunk_takes_the_dumps_redisblooms_documentation_shows(wire):
    from test_bloom_structures import (DOCUMENTED_BF_CHUNK, DOCUMENTED_BF_HEADER, DOCUMENTED_CF_CHUNK,
                                       DOCUMENTED_CF_HEADER)
    assert wire.call("BF.LOADCHUNK", "bf", "1", DOCUMENTED_BF_HEADER) == b"+OK\r\n"
    assert wire.call("BF.LOADCHUNK", "bf", "9", DOCUMENTED_BF_CHUNK) == b"+OK\r\n"
    assert wire.call("BF.MEXISTS", "bf", "item1", "item2") == b"*2\r\n:1\r\n:0\r\n"
    assert wire.call("CF.LOADCHUNK", "cf", "1", DOCUMENTED_CF_HEADER) == b"+OK\r\n"
    assert wire.call("CF.LOADCHUNK", "cf", "9", DOCUMENTED_CF_CHUNK) == b"+OK\r\n"
    assert wire.call("CF.MEXISTS", "cf", "item1", "item2") == b"*2\r\n:1\r\n:0\r\n"
    assert wire.call("BF.SCANDUMP", "bf", "0") == b"*2\r\n:1\r\n$%d\r\n%s\r\n" % (len(DOCUMENTED_BF_HEADER),
                                                                                DOCUMENTED_BF_HEADER)


@pytest.mark.parametrize("command, error", [
    (("BF.ADD", "k"), "ERR wrong number of arguments for 'bf.add' command"),
    (("BF.RESERVE", "k", "0.01"), "ERR wrong number of arguments for 'bf.reserve' command"),
    (("BF.RESERVE", "k", "x", "100"), "ERR bad error rate"),
    (("BF.RESERVE", "k", "1", "100"), "ERR (0 < error rate range < 1)"),
    (("BF.RESERVE", "k", "0.01", "x"), "ERR bad capacity"),
    (("BF.RESERVE", "k", "0.01", "0"), "ERR (capacity should be larger than 0)"),
    (("BF.RESERVE", "k", "0.01", "100", "EXPANSION"), "ERR no expansion"),
    (("BF.RESERVE", "k", "0.01", "100", "EXPANSION", "x"), "ERR bad expansion"),
    (("BF.RESERVE", "k", "0.01", "100", "EXPANSION", "0"), "ERR expansion should be greater or equal to 1"),
    (("BF.RESERVE", "k", "0.01", "100", "NONSCALING", "EXPANSION", "2"), "Nonscaling filters cannot expand"),
    (("BF.RESERVE", "k", "0.01", "1000000000000"), "ERR could not create filter"),
    (("BF.INSERT", "k", "ITEMS"), "ERR wrong number of arguments for 'bf.insert' command"),
    (("BF.INSERT", "k", "CAPACITY", "x", "ITEMS", "a"), "Bad capacity"),
    (("BF.INSERT", "k", "ERROR", "x", "ITEMS", "a"), "Bad error rate"),
    (("BF.INSERT", "k", "EXPANSION", "x", "ITEMS", "a"), "Bad expansion"),
    (("BF.INSERT", "k", "ERROR", "2", "ITEMS", "a"), "Bad argument received"),
    (("BF.INSERT", "k", "BOGUS", "ITEMS", "a"), "Unknown argument received"),
    (("BF.INFO", "missing"), "ERR not found"),
    (("BF.INFO", "bf", "bogus"), "Invalid information value"),
    (("BF.SCANDUMP", "bf", "x"), "Second argument must be numeric"),
    (("BF.SCANDUMP", "missing", "0"), "ERR not found"),
    (("BF.LOADCHUNK", "k", "x", "data"), "ERR Second argument must be numeric"),
    (("BF.LOADCHUNK", "k", "1", "not a header"), "ERR received bad data"),
    (("BF.LOADCHUNK", "k", "5", "data"), "ERR not found"),
    (("BF.RESERVE", "bf", "0.01", "100"), "ERR item exists"),
    (("BF.ADD", "string", "a"), "WRONGTYPE Operation against a key holding the wrong kind of value"),
    (("BF.INFO", "string"), "WRONGTYPE Operation against a key holding the wrong kind of value"),
    (("CF.RESERVE", "c", "100", "BUCKETSIZE"), "ERR wrong number of arguments for 'cf.reserve' command"),
    (("CF.RESERVE", "c", "x"), "Bad capacity"),
    (("CF.RESERVE", "c", "100", "BUCKETSIZE", "x"), "Couldn't parse BUCKETSIZE"),
    (("CF.RESERVE", "c", "100", "BUCKETSIZE", "0"), "BUCKETSIZE parameter needs to be a positive integer"),
    (("CF.RESERVE", "c", "100", "MAXITERATIONS", "0"), "MAXITERATIONS parameter needs to be a positive integer"),
    (("CF.RESERVE", "c", "100", "EXPANSION", "-1"), "EXPANSION parameter needs to be a non-negative integer"),
    (("CF.RESERVE", "c", "3"), "Capacity must be at least (BucketSize * 2)"),
    (("CF.RESERVE", "cf", "100"), "ERR item exists"),
    (("CF.RESERVE", "c", "100000000000000"), "Couldn't create Cuckoo Filter"),
    (("CF.INSERT", "c", "CAPACITY", "100000000000000", "ITEMS", "a"), "Could not create filter"),
    (("CF.INSERT", "c", "CAPACITY", "2", "ITEMS", "a"), "Capacity must be at least (BucketSize * 2)"),
    (("CF.INSERT", "c", "X", "ITEMS", "a"), "Unknown argument received"),
    (("CF.INSERTNX", "c", "NOCREATE", "ITEMS", "a"), "ERR not found"),
    (("CF.DEL", "missing", "a"), "Not found"),
    (("CF.DEL", "string", "a"), "Not found"),
    (("CF.INFO", "missing"), "ERR not found"),
    (("CF.SCANDUMP", "cf", "x"), "Invalid position"),
    (("CF.LOADCHUNK", "c", "0", "x"), "Invalid position"),
    (("CF.LOADCHUNK", "c", "1", "short"), "Invalid header"),
    (("CF.LOADCHUNK", "c", "2", "x"), "ERR not found"),
    (("CF.ADD", "bf", "a"), "WRONGTYPE Operation against a key holding the wrong kind of value"),
])
def test_errors(wire, command, error):
    wire.call("SET", "string", "v")
    wire.call("BF.ADD", "bf", "a")
    wire.call("CF.ADD", "cf", "a")
    assert wire.call(*command) == b"-%s\r\n" % error.encode()


def test_reads_of_a_key_of_another_type_answer_zero(r):
    """rebloom.c's BF.EXISTS and CF.EXISTS/COUNT treat a key of another type as an empty filter."""
    r.set("string", "v")
    assert r.bf().exists("string", "a") == 0 and r.bf().mexists("string", "a") == [0]
    assert r.cf().exists("string", "a") == 0 and r.cf().count("string", "a") == 0


def test_a_write_in_place_breaks_a_watch_and_runs_in_multi(r):
    r.bf().add("w", "a")
    with r.pipeline() as watching:
        watching.watch("w")
        r.bf().add("w", "b")  # another client changes the filter in place
        watching.multi()
        watching.bf().add("w", "c")
        with pytest.raises(redis.WatchError):
            watching.execute()
    with r.pipeline() as transaction:
        transaction.bf().add("w", "c").bf().exists("w", "c").cf().add("wc", "x")
        assert transaction.execute() == [1, 1, 1]


def test_dump_restore_copy_and_memory_usage(r):
    r.bf().madd("b", "a", "b")
    r.cf().insert("c", ["a", "b", "a"])
    for key in ("b", "c"):
        payload = r.dump(key)
        assert r.restore(key + "2", 0, payload) == b"OK"
        assert r.copy(key, key + "3") is True
    assert r.bf().mexists("b2", "a", "b", "zz") == [1, 1, 0] == r.bf().mexists("b3", "a", "b", "zz")
    assert r.cf().count("c2", "a") == 2 == r.cf().count("c3", "a")
    r.bf().add("b3", "new")
    assert r.bf().exists("b", "new") == 0  # the copy is independent
    assert r.memory_usage("b") >= 240 and r.memory_usage("c") >= 1080


def infos(client):
    return [vars(client.bf().info("b")), vars(client.cf().info("c"))]


def wait_for_rewrite(client):
    for _ in range(200):
        if client.info("persistence")["aof_rewrite_in_progress"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the AOF rewrite did not finish")


def test_a_filter_survives_a_restart_through_rdb_and_aof(tmp_path):
    items = sample(300, b"p", seed=9)
    for name, options in (("rdb", ()), ("aof", ("--appendonly", "yes", "--aof-use-rdb-preamble", "no"))):
        folder = tmp_path / name
        folder.mkdir()
        server = start_ours(folder, "--loadmodule", MODULE, *options)
        client = redis.Redis(port=server.port, socket_timeout=10)
        client.bf().create("b", 0.01, 50)
        client.bf().madd("b", *items)
        client.cf().create("c", 64, expansion=2)
        client.cf().insert("c", items)
        client.cf().delete("c", items[0])
        if name == "rdb":
            client.save()
        else:  # the rewritten AOF holds LOADCHUNKs, then the commands that came after the rewrite
            client.bgrewriteaof()
            wait_for_rewrite(client)
            client.bf().add("b", "late")
            client.cf().add("c", "late")
        before = infos(client)
        client.close()
        server.stop()
        if name == "aof":
            assert b"BF.LOADCHUNK" in aof_file(folder, "b").read_bytes()
        restarted = start_ours(folder, "--loadmodule", MODULE, *options)
        client = redis.Redis(port=restarted.port, socket_timeout=10)
        try:
            assert infos(client) == before
            assert client.bf().mexists("b", *items) == [1] * len(items)
            assert client.cf().mexists("c", *items[1:]) == [1] * (len(items) - 1)
        finally:
            client.close()
            restarted.stop()


def test_load_options_and_bad_ones(tmp_path, r):
    server = start_ours(tmp_path, "--loadmodule", MODULE, "ERROR_RATE", "0.1", "INITIAL_SIZE", "1000",
                        "CF_MAX_EXPANSIONS", "2")
    client = redis.Redis(port=server.port, socket_timeout=10)
    try:
        client.bf().add("b", "a")
        assert client.bf().info("b").capacity == 1000
        assert client.bf().info("b").size == 32 + 64 + 784  # 1000 entries at 0.05
        client.cf().create("c", 4)
        with pytest.raises(redis.ResponseError, match="Maximum expansions reached"):
            for n in range(100):
                client.cf().add("c", str(n))
        assert client.cf().info("c").filterNum == 2
    finally:
        client.close()
        server.stop()
    r.execute_command("MODULE", "UNLOAD", "bf")
    for arguments in (("ERROR_RATE",), ("ERROR_RATE", "2"), ("INITIAL_SIZE", "0"), ("BOGUS", "1")):
        with pytest.raises(redis.ResponseError, match="Error loading the extension"):
            r.execute_command("MODULE", "LOAD", MODULE, *arguments)
    assert r.execute_command("MODULE", "LOAD", MODULE) == b"OK"
