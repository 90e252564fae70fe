"""HyperLogLog against Redis 7.0.15: the same PFADDs give the same bytes (sparse and dense), the same
counts and the same PFDEBUG output; corrupt values get the same errors; HyperLogLogs move between
the servers through dump.rdb both ways; the AOF holds what Redis's holds.

Random inputs are seeded, so a failure repeats; sizes stay bounded (20k elements at most, pipelined).
"""
import random
import shutil

import pytest
import redis

from conftest import logged_by_both, start_ours, start_real_redis
from differential import Pair
from storage import hyperloglog as hll

HEADER_STALE = b"HYLL\x01\x00\x00\x00" + bytes(7) + b"\x80"


def random_elements(rng, count):
    """Binary elements of lengths around the hash's 8-byte blocks, empty and long ones included."""
    lengths = (0, 1, 3, 7, 8, 9, 15, 16, 17, 40, 64, 65, 100, 300)
    return [rng.randbytes(rng.choice(lengths)) for _ in range(count)]


def add_in_batches(pair, key, elements, rng, check_every=1):
    """PFADD the elements in batches of random sizes, comparing replies; GET, PFCOUNT and ENCODING
    compared after every check_every batches."""
    position, batch = 0, 0
    while position < len(elements):
        size = rng.choice((1, 2, 5, 30, 100, 250))
        pair.check("PFADD", key, *elements[position:position + size])
        position += size
        batch += 1
        if batch % check_every == 0:
            pair.check_pipeline([("GET", key), ("PFCOUNT", key), ("GET", key), ("PFDEBUG", "ENCODING", key)])


def sparse(*opcodes):
    return HEADER_STALE + bytes(opcodes)


def xzero(run):
    return (0x40 | (run - 1) >> 8, (run - 1) & 0xff)


def val(value, run):
    return 0x80 | (value - 1) << 2 | (run - 1)


# ------------------------------------------------------------------ the hash and the representation


def test_a_new_hyperloglog_is_redis_empty_sparse_string(pair):
    pair.check_sequence([
        ("PFADD", "h"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"), ("PFDEBUG", "DECODE", "h"),
        ("OBJECT", "ENCODING", "h"), ("TYPE", "h"), ("PFADD", "h"), ("STRLEN", "h"),
    ])


def test_each_element_lands_in_redis_register(pair):
    """One element per key: the register and run length show MurmurHash64A's value, block by block."""
    rng = random.Random(1)
    elements = [b"", b"a", b"abcdefg", b"abcdefgh", b"abcdefghi", b"x" * 64, b"y" * 65, b"z" * 1000]
    elements += random_elements(rng, 60)
    pair.check_pipeline([("PFADD", "k%d" % i, element) for i, element in enumerate(elements)])
    pair.check_pipeline([("PFDEBUG", "DECODE", "k%d" % i) for i in range(len(elements))])
    pair.check_pipeline([("GET", "k%d" % i) for i in range(len(elements))])


def test_murmur64a_is_the_c_source_block_by_block():
    rng = random.Random(2)
    for length in range(0, 140):
        data = rng.randbytes(length)
        assert hll.murmur64a(data) == _reference_murmur(data)


def test_hashing_elements_of_one_length_together_gives_each_its_hash():
    rng = random.Random(8)
    elements = [rng.randbytes(length) for length in (0, 5, 8, 14, 64, 65, 129) for _ in range(rng.randint(1, 40))]
    rng.shuffle(elements)
    assert sorted(hll.hashes(elements)) == sorted(_reference_murmur(element) for element in elements)


def _reference_murmur(data):
    """MurmurHash64A as its C source reads, one block at a time."""
    m, mask = 0xc6a4a7935bd1e995, (1 << 64) - 1
    h = (0xadc83b19 ^ (len(data) * m)) & mask
    cut = len(data) - len(data) % 8
    for start in range(0, cut, 8):
        k = (int.from_bytes(data[start:start + 8], "little") * m) & mask
        k = ((k ^ (k >> 47)) * m) & mask
        h = ((h ^ k) * m) & mask
    if len(data) % 8:
        h = ((h ^ int.from_bytes(data[cut:], "little")) * m) & mask
    h = ((h ^ (h >> 47)) * m) & mask
    return h ^ (h >> 47)


@pytest.mark.parametrize("size", [1, 10, 100, 700, 1500, 2500, 4000, 20000])
def test_pfadd_grows_byte_for_byte_as_in_redis(pair, size):
    """Sparse growth, its promotion past hll-sparse-max-bytes or a register above 32, then dense: the
    string after every batch is Redis's, and so are the replies, counts and cached counts."""
    rng = random.Random(size)
    elements = random_elements(rng, size)
    elements += rng.sample(elements, min(len(elements), 50))  # repeats raise nothing
    add_in_batches(pair, "h", elements, rng, check_every=1 if size <= 4000 else 20)
    pair.check_pipeline([("GET", "h"), ("PFCOUNT", "h"), ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "GETREG", "h"),
                         ("GET", "h"), ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "TODENSE", "h")])


M64, MASK = 0xc6a4a7935bd1e995, (1 << 64) - 1
M64_INVERSE = pow(M64, -1, 1 << 64)


def _element_hashing_to(index, run, rng):
    """An 8-byte element whose MurmurHash64A picks register index with that run of zeros: each step
    of the hash can be undone (an odd multiplier has an inverse mod 2^64, x ^ x >> 47 is its own)."""
    unmix = lambda x: x ^ (x >> 47)  # noqa: E731
    high = rng.getrandbits(64) << (14 + run) & MASK if run < 51 else 0
    h = high | (1 << (13 + run) if run < 51 else 0) | index
    h = unmix((unmix(h) * M64_INVERSE) & MASK)  # before the finalisation
    k = ((h * M64_INVERSE) & MASK) ^ (0xadc83b19 ^ (8 * M64) & MASK)  # the mixed block
    block = (unmix((k * M64_INVERSE) & MASK) * M64_INVERSE) & MASK
    return block.to_bytes(8, "little")


def test_registers_above_32_turn_a_sparse_value_dense(pair):
    """Runs of 33 and more zeros happen once in billions of elements; these elements are made to."""
    rng = random.Random(9)
    crafted = {(index, run): _element_hashing_to(index, run, rng)
               for index, run in ((5, 32), (16383, 32), (100, 33), (7, 40), (16383, 51), (0, 51))}
    assert all(hll.murmur64a(element) & 16383 == index for (index, _), element in crafted.items())
    for (index, run), element in crafted.items():
        replies = pair.check_pipeline([
            ("DEL", "h"), ("PFADD", "h", *random_elements(rng, 20)), ("PFADD", "h", element),
            ("PFDEBUG", "ENCODING", "h"), ("GET", "h"), ("PFCOUNT", "h"), ("PFADD", "h", element, "more"),
            ("GET", "h")])
        assert replies[2:4] == [b":1\r\n", b"+dense\r\n" if run > 32 else b"+sparse\r\n"]
    pair.check_pipeline([("PFADD", "all", *crafted.values()), ("PFDEBUG", "GETREG", "all"), ("GET", "all"),
                         ("PFADD", "s", "x"), ("PFMERGE", "s", "all"), ("GET", "s"), ("PFCOUNT", "s", "all")])


@pytest.mark.parametrize("limit", [0, 40, 300, 10000, 60000])
def test_hll_sparse_max_bytes_takes_effect(pair, limit):
    """Past the limit the value turns dense; a high one keeps it sparse until a register passes 32."""
    pair.check("CONFIG", "SET", "hll-sparse-max-bytes", limit)
    try:
        rng = random.Random(limit)
        add_in_batches(pair, "h", [b"%d" % rng.getrandbits(40) for _ in range(6000)], rng, check_every=4)
    finally:
        pair.check("CONFIG", "SET", "hll-sparse-max-bytes", 3000)


def test_counts_of_several_keys_and_merges_of_mixed_encodings(pair):
    rng = random.Random(3)
    sizes = {"tiny": 3, "small": 200, "mid": 1200, "big": 5000, "huge": 15000}
    for key, size in sizes.items():
        elements = random_elements(rng, size)
        pair.check_pipeline([("PFADD", key, *elements[i:i + 200]) for i in range(0, size, 200)])
    keys = list(sizes)
    commands = [("PFCOUNT", *keys), ("PFCOUNT", "tiny", "small"), ("PFCOUNT", "small", "nokey", "mid"),
                ("PFCOUNT", "nokey", "nokey2"), ("PFCOUNT", "big", "big")]
    for index in range(12):
        sources = rng.sample(keys + ["nokey"], rng.randint(1, 4))
        destination = rng.choice(["new%d" % index, "small", "tiny", "mid", "big"])
        commands += [("PFMERGE", destination, *sources), ("GET", destination), ("PFCOUNT", destination),
                     ("PFDEBUG", "ENCODING", destination)]
    commands += [("PFMERGE", "alone"), ("GET", "alone"), ("PFMERGE", "tiny"), ("GET", "tiny")]
    pair.check_pipeline(commands)


def test_merging_sparse_values_into_a_sparse_one_splits_and_joins_as_redis(pair):
    """A sparse destination is raised register by register, each edit as PFADD's (and promoted the same)."""
    rng = random.Random(4)
    for round_number in range(6):
        keys = ["s%d" % i for i in range(4)]
        for key in keys:
            pair.check("PFADD", key, *random_elements(rng, rng.choice((5, 50, 300, 900))))
        pair.check_pipeline([("PFMERGE", keys[0], *keys[1:]), ("GET", keys[0]), ("PFDEBUG", "DECODE", keys[0]),
                             ("PFMERGE", "fresh%d" % round_number, keys[1], keys[2]),
                             ("GET", "fresh%d" % round_number)])
        pair.check("DEL", *keys)


# ------------------------------------------------------------------ the cache


def test_the_cached_count_is_trusted_while_valid_and_refreshed_when_stale(pair):
    valid_cache = b"HYLL\x01\x00\x00\x00" + (12345).to_bytes(8, "little") + bytes(xzero(16384))
    pair.check_sequence([
        ("SET", "h", valid_cache), ("PFCOUNT", "h"), ("GET", "h"), ("OBJECT", "ENCODING", "h"),
        ("PFADD", "h", "a"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFADD", "h", "a"), ("GET", "h"),
        ("SET", "small", HEADER_STALE + bytes(xzero(16384))), ("OBJECT", "ENCODING", "small"),
        ("PFCOUNT", "small"), ("OBJECT", "ENCODING", "small"), ("GET", "small"),
    ])


def test_a_cache_refresh_breaks_a_watch_and_a_no_op_pfadd_does_not(pair):
    watcher = Pair(pair.ours.port, pair.redis.port)
    try:
        pair.check("PFADD", "h", "a", "b")
        for change, broken in ((("PFCOUNT", "h"), True), (("PFADD", "h", "a"), False),
                               (("PFCOUNT", "h"), False), (("PFADD", "h", "c"), True)):
            watcher.check_sequence([("WATCH", "h"), ("MULTI",), ("GET", "h")])
            pair.check(*change)
            reply = watcher.check("EXEC")
            assert (reply == b"*-1\r\n") == broken
    finally:
        watcher.close()


def test_a_transaction_returns_the_string_as_it_was_read(pair):
    """GET inside MULTI is not changed by a later PFADD that edits the same string in place."""
    pair.check_sequence([
        ("PFADD", "h", "a"), ("MULTI",), ("GET", "h"), ("PFADD", "h", "b", "c"), ("MGET", "h", "h"),
        ("PFCOUNT", "h"), ("GET", "h"), ("EXEC",),
        ("SET", "s", "ab"), ("APPEND", "s", "c"), ("MULTI",), ("GET", "s"), ("APPEND", "s", "d"), ("EXEC",),
    ])


# ------------------------------------------------------------------ errors and corrupt values


def test_errors_and_arity(pair):
    pair.check_sequence([
        ("PFADD",), ("PFCOUNT",), ("PFMERGE",), ("PFDEBUG", "GETREG"), ("PFDEBUG", "GETREG", "h", "x"),
        ("PFSELFTEST", "x"),
        ("LPUSH", "list", "x"), ("PFADD", "list", "a"), ("PFCOUNT", "list"), ("PFCOUNT", "list", "nokey"),
        ("PFMERGE", "list", "nokey"), ("PFMERGE", "d", "list"), ("PFDEBUG", "GETREG", "list"),
        ("SET", "s", "not an hll at all"), ("PFADD", "s", "a"), ("PFCOUNT", "s"), ("PFMERGE", "d", "s"),
        ("SET", "n", "12345678901234567890"), ("PFADD", "n"), ("SET", "n", "1"), ("PFCOUNT", "n"),
        ("PFDEBUG", "GETREG", "nokey"), ("PFDEBUG", "NOPE", "nokey"), ("PFDEBUG", "NOPE", "s"),
        ("PFADD", "h", "a"), ("PFDEBUG", "NOPE", "h"), ("PFDEBUG", "nope\x00tail", "h"),
        ("PFDEBUG", "decode", "h"), ("PFDEBUG", "todense", "h"), ("PFDEBUG", "decode", "h"),
        ("PFDEBUG", "todense", "h"), ("PFDEBUG", "encoding", "h"), ("EXISTS", "d"),
    ])


CORRUPT = {
    "short": b"HYLL\x01\x00",
    "magic": b"HYLX" + bytes(12) + bytes(xzero(16384)),
    "encoding 2": b"HYLL\x02\x00\x00\x00" + bytes(8) + bytes(xzero(16384)),
    "dense too short": b"HYLL\x00\x00\x00\x00" + bytes(8 + 12287),
    "dense too long": b"HYLL\x00\x00\x00\x00" + bytes(8 + 12289),
    "no opcodes": HEADER_STALE,
    "too few registers": sparse(*xzero(16383)),
    "too many registers": sparse(*xzero(16384), 0),
    "val overflow": sparse(*xzero(16382), val(5, 3)),
    "xzero cut short": sparse(0x7f),
    "xzero cut short after vals": sparse(val(3, 2), *xzero(16000), val(1, 1), 0x41),
    "cut short, valid cache": b"HYLL\x01\x00\x00\x00" + (7).to_bytes(8, "little") + bytes(xzero(16000)),
    "zero runs": sparse(*([63] * 256)),
    "vals beyond the end": sparse(*xzero(100), val(2, 4), *xzero(16380)),
}


@pytest.mark.parametrize("name", list(CORRUPT))
def test_corrupt_values_answer_as_in_redis(pair, name):
    value = CORRUPT[name]
    for command in (("PFCOUNT", "h"), ("PFADD", "h", "a", "b", "c"), ("PFADD", "h"), ("PFCOUNT", "h", "h"),
                    ("PFMERGE", "d", "h"), ("PFMERGE", "h", "d"), ("PFDEBUG", "GETREG", "h"),
                    ("PFDEBUG", "DECODE", "h"), ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "ENCODING", "h")):
        pair.check_sequence([("DEL", "d"), ("SET", "h", value), command, ("GET", "h"), ("EXISTS", "d"), ("GET", "d")])


def _random_sparse(rng):
    """Opcodes covering the 16384 registers (or, one time in four, missing or overrunning a few)."""
    opcodes, covered = [], 0
    target = 16384 + (rng.choice((-3, -1, 1, 70)) if rng.random() < 0.25 else 0)
    while covered < target:
        kind = rng.random()
        left = target - covered
        if kind < 0.5:
            run = rng.randint(1, 4)
            opcodes.append(val(rng.randint(1, 32), run))
        elif kind < 0.8:
            run = rng.randint(1, 64)
            opcodes.append(run - 1)
        else:
            run = rng.randint(1, min(left, 2000)) if left > 0 else 1
            opcodes.extend(xzero(run))
        covered += run
    return HEADER_STALE + bytes(opcodes)


def test_random_sparse_layouts_are_edited_as_redis_edits_them(pair):
    """Sparse values of any valid layout (VAL runs of equal values side by side, zero runs Redis would
    not write) split, merge and promote as in Redis; the broken ones fail alike."""
    rng = random.Random(5)
    for _ in range(60):
        value = _random_sparse(rng)
        elements = random_elements(rng, rng.choice((1, 20, 200)))
        pair.check_pipeline([
            ("SET", "h", value), ("PFDEBUG", "DECODE", "h"), ("PFCOUNT", "h"), ("PFADD", "h", *elements),
            ("GET", "h"), ("SET", "other", value), ("PFMERGE", "other", "h"), ("GET", "other"),
            ("PFCOUNT", "h", "other"), ("PFDEBUG", "GETREG", "other"), ("DEL", "h", "other"),
        ])


def test_pfselftest_passes(pair):
    pair.check("PFSELFTEST")


# ------------------------------------------------------------------ persistence and interop


def _fill_hlls(client):
    """Sparse, dense, counted (valid cache) and stale ones, one set from raw bytes."""
    rng = random.Random(6)
    pipe = client.pipeline(transaction=False)
    for key, size in (("sparse", 40), ("sparse:big", 1500), ("dense", 4000), ("dense:big", 12000)):
        elements = random_elements(rng, size)
        for start in range(0, size, 500):
            pipe.pfadd(key, *elements[start:start + 500])
    pipe.pfcount("sparse").pfcount("dense")
    pipe.set("raw", sparse(val(3, 2), *xzero(16382)))
    pipe.execute()


KEYS = ("sparse", "sparse:big", "dense", "dense:big", "raw")


def _grow(client):
    """What both servers then do to the loaded values: the observations, in order."""
    rng = random.Random(7)
    pipe = client.pipeline(transaction=False)
    for key in KEYS:
        pipe.get(key).pfcount(key).pfadd(key, *random_elements(rng, 300)).get(key).pfcount(key)
    pipe.pfmerge("merged", *KEYS).get("merged").pfcount(*KEYS)
    return pipe.execute()


def test_hyperloglogs_move_through_dump_rdb_both_ways(tmp_path):
    for name in ("made", "redis", "ours", "back"):
        (tmp_path / name).mkdir()
    maker = start_real_redis(tmp_path / "made")
    try:
        _fill_hlls(redis.Redis(port=maker.port))
        redis.Redis(port=maker.port).save()
    finally:
        maker.stop()
    for name in ("redis", "ours"):
        shutil.copy(tmp_path / "made" / "dump.rdb", tmp_path / name / "dump.rdb")
    theirs = start_real_redis(tmp_path / "redis")
    ours = start_ours(tmp_path / "ours")
    try:
        expected = _grow(redis.Redis(port=theirs.port))
        assert _grow(redis.Redis(port=ours.port)) == expected
        ours_client = redis.Redis(port=ours.port)
        saved = {key: ours_client.get(key) for key in KEYS + ("merged",)}
        assert ours_client.save() is True
    finally:
        theirs.stop()
        ours.stop()
    shutil.copy(tmp_path / "ours" / "dump.rdb", tmp_path / "back" / "dump.rdb")
    back = start_real_redis(tmp_path / "back")
    try:
        client = redis.Redis(port=back.port)
        assert {key: client.get(key) for key in saved} == saved
        assert client.pfcount(*KEYS) == expected[-1]
    finally:
        back.stop()


def test_the_aof_holds_what_redis_propagates(tmp_path):
    """PFADD that raised nothing and the PFDEBUG reads are left out; a PFCOUNT that refreshed the
    cache is logged as sent; PFDEBUG GETREG and TODENSE are logged when they made the value dense."""
    def run(client):
        client.pfadd("h", "a", "b")
        client.pfadd("h", "a")
        client.pfcount("h")
        client.pfcount("h")
        client.pfcount("h", "nokey")
        client.execute_command("PFDEBUG", "ENCODING", "h")
        client.execute_command("PFDEBUG", "DECODE", "h")
        client.pfadd("g", "x")
        client.execute_command("PFDEBUG", "GETREG", "g")
        client.execute_command("PFDEBUG", "GETREG", "g")
        client.execute_command("PFDEBUG", "TODENSE", "h")
        client.execute_command("PFDEBUG", "TODENSE", "h")
        client.pfmerge("m", "h", "g")
        client.pfadd("h", "new")
        pipe = client.pipeline(transaction=True)
        pipe.pfadd("t", "a").pfcount("t").pfadd("t", "a").pfcount("t").pfcount("h")
        pipe.execute()
        pipe = client.pipeline(transaction=True)
        pipe.pfadd("t", "a").pfcount("t")
        pipe.execute()
    written, expected = logged_by_both(tmp_path, run)
    assert written == expected
