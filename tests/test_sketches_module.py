"""CMS.*, TOPK.* and TDIGEST.* of modules/bloom.py (issue 20), driven by redis-py's r.cms(), r.topk() and
r.tdigest() and checked on the wire: RedisBloom's replies in RESP2 and RESP3, its argument errors, and the
sketches kept across restarts (RDB, AOF and its rewrite), DUMP/RESTORE and COPY."""
import os
import shutil
import subprocess
import time

import pytest
import redis

from conftest import ROOT, aof_file, start_ours
from differential import WireClient

BLOOM = os.path.join(ROOT, "modules", "bloom.py")


def start_with_bloom(tmp_path, *options):
    return start_ours(tmp_path, "--loadmodule", BLOOM, "--enable-debug-command", "yes", *options)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    running = start_with_bloom(tmp_path_factory.mktemp("sketches"))
    yield running
    running.stop()


@pytest.fixture
def wire(loaded):
    with WireClient(loaded.port) as client:
        client.call("FLUSHALL")
        yield client


@pytest.fixture(params=[2, 3])
def r(request, loaded):
    client = redis.Redis(port=loaded.port, protocol=request.param, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def info_fields(info, *names):
    """An INFO reply's fields by their wire names: redis-py gives RESP2's as an object (CMSInfo...), RESP3's
    map as a dict."""
    if isinstance(info, dict):
        return tuple(info[name.encode()] if name.encode() in info else info[name] for name in names)
    return tuple(getattr(info, name.lower().replace(" ", "_")) for name in names)


def bulk(text):
    return b"$%d\r\n%b\r\n" % (len(text), text)


def error(text):
    return b"-%b\r\n" % text


def arity(name):
    return error(b"ERR wrong number of arguments for '%b' command" % name)


# ------------------------------------------------------------------ Count-Min sketch


def test_cms_through_redis_py(r):
    cms = r.cms()
    assert cms.initbydim("dim", 1000, 5)
    assert cms.initbyprob("prob", 0.001, 0.01)
    assert cms.incrby("dim", ["foo", "bar", "foo"], [5, 3, 2]) == [5, 3, 7]
    assert cms.query("dim", "foo", "bar", "baz") == [7, 3, 0]
    assert info_fields(cms.info("prob"), "width", "depth", "count") == (2000, 7, 0)
    assert info_fields(cms.info("dim"), "count") == (10,)
    assert cms.initbydim("other", 1000, 5)
    cms.incrby("other", ["foo"], [1])
    assert cms.initbydim("sum", 1000, 5)
    assert cms.merge("sum", 2, ["dim", "other"], [2, 3])
    assert cms.query("sum", "foo", "bar") == [17, 6]
    assert info_fields(cms.info("sum"), "count") == (23,)
    assert cms.merge("sum", 1, ["other"])
    assert cms.query("sum", "foo", "bar") == [1, 0]


def test_cms_reply_shapes_in_resp2_and_resp3(wire):
    assert wire.call("CMS.INITBYDIM", "c", "10", "2") == b"+OK\r\n"
    assert wire.call("CMS.INCRBY", "c", "a", "1", "b", "4294967295") == (
        b"*2\r\n:1\r\n-CMS: INCRBY overflow\r\n")  # a cell at UINT32_MAX: an error in the item's place
    assert wire.call("CMS.QUERY", "c", "b") == b"*1\r\n:4294967295\r\n"
    info = b"+width\r\n:10\r\n+depth\r\n:2\r\n+count\r\n:4294967296\r\n"
    assert wire.call("CMS.INFO", "c") == b"*6\r\n" + info
    wire.call("HELLO", "3")
    assert wire.call("CMS.INFO", "c") == b"%3\r\n" + info
    assert wire.call("CMS.QUERY", "c", "a", "zz") == b"*2\r\n:1\r\n:0\r\n"


def test_cms_errors_are_redisblooms(wire):
    wire.call("SET", "str", "x")
    wire.call("CMS.INITBYDIM", "c", "10", "2")
    wire.call("CMS.INITBYDIM", "wide", "20", "2")
    for command, reply in [
            (("CMS.INITBYDIM", "k", "10"), arity(b"cms.initbydim")),
            (("CMS.INITBYDIM", "c", "10", "2"), error(b"CMS: key already exists")),
            (("CMS.INITBYDIM", "str", "10", "2"), error(b"CMS: key already exists")),
            (("CMS.INITBYDIM", "k", "0", "2"), error(b"CMS: invalid width")),
            (("CMS.INITBYDIM", "k", "x", "2"), error(b"CMS: invalid width")),
            (("CMS.INITBYDIM", "k", "10", "-1"), error(b"CMS: invalid depth")),
            (("CMS.INITBYDIM", "k", "9223372036854775807", "2"), error(b"CMS: invalid init arguments")),
            (("CMS.INITBYDIM", "k", "100000000000", "2"), error(b"CMS: Insufficient memory to create the key")),
            (("CMS.INITBYPROB", "k", "1", "0.5"), error(b"CMS: invalid overestimation value")),
            (("CMS.INITBYPROB", "k", "0.1", "0"), error(b"CMS: invalid prob value")),
            (("CMS.INITBYPROB", "k", "0.1", "nan"), error(b"CMS: invalid prob value")),
            (("CMS.INCRBY", "c", "a"), arity(b"cms.incrby")),
            (("CMS.INCRBY", "c", "a", "1", "b"), arity(b"cms.incrby")),
            (("CMS.INCRBY", "nokey", "a", "1"), error(b"CMS: key does not exist")),
            (("CMS.INCRBY", "str", "a", "1"), error(b"WRONGTYPE Operation against a key holding the wrong kind of value")),
            (("CMS.INCRBY", "c", "a", "1", "b", "x"), error(b"CMS: Cannot parse number")),
            (("CMS.INCRBY", "c", "a", "-1"), error(b"CMS: Number cannot be negative")),
            (("CMS.QUERY", "c"), arity(b"cms.query")),
            (("CMS.QUERY", "nokey", "a"), error(b"CMS: key does not exist")),
            (("CMS.MERGE", "c", "1"), arity(b"cms.merge")),
            (("CMS.MERGE", "nokey", "1", "c"), error(b"CMS: key does not exist")),
            (("CMS.MERGE", "c", "x", "c"), error(b"CMS: invalid numkeys")),
            (("CMS.MERGE", "c", "0", "c"), error(b"CMS: Number of keys must be positive")),
            (("CMS.MERGE", "c", "2", "c"), error(b"CMS: wrong number of keys")),
            (("CMS.MERGE", "c", "1", "c", "WEIGHTS"), error(b"CMS: wrong number of keys/weights")),
            (("CMS.MERGE", "c", "1", "c", "weights", "x"), error(b"CMS: invalid weight value")),
            (("CMS.MERGE", "c", "1", "nokey"), error(b"CMS: key does not exist")),
            (("CMS.MERGE", "c", "1", "wide"), error(b"CMS: width/depth is not equal")),
            (("CMS.INFO",), arity(b"cms.info")),
            (("CMS.INFO", "str"), error(b"WRONGTYPE Operation against a key holding the wrong kind of value"))]:
        assert wire.call(*command) == reply, command
    assert wire.call("CMS.INCRBY", "c", "a", "2147483648") == b"*1\r\n:2147483648\r\n"
    assert wire.call("CMS.MERGE", "c", "2", "c", "c") == error(b"CMS: MERGE overflow")
    assert wire.call("CMS.QUERY", "c", "a") == b"*1\r\n:2147483648\r\n"  # a refused merge changes nothing
    assert wire.call("EXISTS", "k") == b":0\r\n"


# ------------------------------------------------------------------ Top-K


def test_topk_through_redis_py(r):
    topk = r.topk()
    assert topk.reserve("t", 3, 50, 5, 0.9)
    assert topk.add("t", "a", "b", "c") == [None, None, None]
    assert topk.incrby("t", ["a", "b"], [10, 5]) == [None, None]
    assert topk.query("t", "a", "b", "zz") == [1, 1, 0]
    with pytest.deprecated_call():  # deprecated since RedisBloom 2.4, still served
        assert topk.count("t", "a", "b", "zz") == [11, 6, 0]
    assert topk.list("t") in (["a", "b", "c"], [b"a", b"b", b"c"])
    assert topk.list("t", withcount=True) in (["a", 11, "b", 6, "c", 1], [b"a", 11, b"b", 6, b"c", 1])
    expelled = topk.incrby("t", ["d"], [20])
    assert expelled in (["c"], [b"c"])
    k, width, depth, decay = info_fields(topk.info("t"), "k", "width", "depth", "decay")
    assert (k, width, depth, float(decay)) == (3, 50, 5, 0.9)


def test_topk_finds_heavy_hitters_through_the_server(wire):
    """A skewed stream of 3,000 additions in batches: the five heaviest items make the list, the three
    heaviest in their order."""
    assert wire.call("TOPK.RESERVE", "hh", "5") == b"+OK\r\n"
    stream = []
    for heavy, times in ((b"h1", 400), (b"h2", 300), (b"h3", 200), (b"h4", 150), (b"h5", 100)):
        stream += [heavy] * times
    stream += [b"light:%d" % index for index in range(1850)]
    stream = [stream[(index * 7919) % len(stream)] for index in range(len(stream))]  # a fixed interleaving
    for start in range(0, len(stream), 500):
        wire.call("TOPK.ADD", "hh", *stream[start:start + 500])
    listed = wire.call("TOPK.LIST", "hh")
    assert listed.startswith(b"*5\r\n+h1\r\n+h2\r\n+h3\r\n")
    assert set(listed.split(b"\r\n")[1::1]) >= {b"+h4", b"+h5"}
    assert wire.call("TOPK.QUERY", "hh", "h1", "light:1") == b"*2\r\n:1\r\n:0\r\n"


def test_topk_reply_shapes_in_resp2_and_resp3(wire):
    assert wire.call("TOPK.RESERVE", "t", "2", "8", "7", "0.5") == b"+OK\r\n"
    assert wire.call("TOPK.ADD", "t", "a", "b", "c") == b"*3\r\n$-1\r\n$-1\r\n+a\r\n"  # expelled: simple strings
    assert wire.call("TOPK.LIST", "t", "withcount") == b"*4\r\n+b\r\n:1\r\n+c\r\n:1\r\n"
    assert wire.call("TOPK.LIST", "t", "WITH") == b"*4\r\n+b\r\n:1\r\n+c\r\n:1\r\n"  # any prefix, as strncasecmp
    assert wire.call("TOPK.INFO", "t") == (
        b"*8\r\n+k\r\n:2\r\n+width\r\n:8\r\n+depth\r\n:7\r\n+decay\r\n$3\r\n0.5\r\n")
    wire.call("HELLO", "3")
    assert wire.call("TOPK.INFO", "t") == b"%4\r\n+k\r\n:2\r\n+width\r\n:8\r\n+depth\r\n:7\r\n+decay\r\n,0.5\r\n"
    assert wire.call("TOPK.ADD", "t", "b") == b"*1\r\n_\r\n"
    assert wire.call("TOPK.INCRBY", "t", "b", "1", "c", "100001") == (
        b"*2\r\n_\r\n-TopK: increment must be an integer greater or equal to 0" + b" " * 28 +
        b"and smaller or equal to 100,000\r\n")
    assert wire.call("TOPK.COUNT", "t", "b") == b"*1\r\n:3\r\n"


def test_topk_errors_are_redisblooms(wire):
    wire.call("SET", "str", "x")
    wire.call("TOPK.RESERVE", "t", "2")
    for command, reply in [
            (("TOPK.RESERVE", "k"), arity(b"topk.reserve")),
            (("TOPK.RESERVE", "k", "1", "8"), arity(b"topk.reserve")),
            (("TOPK.RESERVE", "t", "2"), error(b"TopK: key already exists")),
            (("TOPK.RESERVE", "str", "2"), error(b"TopK: key already exists")),
            (("TOPK.RESERVE", "k", "0"), error(b"TopK: invalid k")),
            (("TOPK.RESERVE", "k", "2", "0", "7", "0.9"), error(b"TopK: invalid width")),
            (("TOPK.RESERVE", "k", "2", "8", "x", "0.9"), error(b"TopK: invalid depth")),
            (("TOPK.RESERVE", "k", "2", "8", "7", "1.5"), error(b"TopK: invalid decay value. must be '<= 1' & '> 0'")),
            (("TOPK.RESERVE", "k", "2", "8", "7", "0"), error(b"TopK: invalid decay value. must be '<= 1' & '> 0'")),
            (("TOPK.RESERVE", "k", "4000000000"), error(b"ERR Insufficient memory to create topk data structure")),
            (("TOPK.ADD", "t"), arity(b"topk.add")),
            (("TOPK.ADD", "nokey", "a"), error(b"TopK: key does not exist")),
            (("TOPK.ADD", "str", "a"), error(b"WRONGTYPE Operation against a key holding the wrong kind of value")),
            (("TOPK.INCRBY", "t", "a"), arity(b"topk.incrby")),
            (("TOPK.QUERY", "t"), arity(b"topk.query")),
            (("TOPK.COUNT", "nokey", "a"), error(b"TopK: key does not exist")),
            (("TOPK.LIST", "t", "x", "y"), arity(b"topk.list")),
            (("TOPK.LIST", "t", "WITHCOUNTS"), error(b"WITHCOUNT keyword expected")),
            (("TOPK.LIST", "nokey", "nope"), error(b"WITHCOUNT keyword expected")),
            (("TOPK.INFO", "nokey"), error(b"TopK: key does not exist"))]:
        assert wire.call(*command) == reply, command
    assert wire.call("TOPK.INCRBY", "t", "a", "-1") == (
        b"*1\r\n-TopK: increment must be an integer greater or equal to 0" + b" " * 28 +
        b"and smaller or equal to 100,000\r\n")
    assert wire.call("EXISTS", "k") == b":0\r\n"


# ------------------------------------------------------------------ t-digest


def test_tdigest_through_redis_py(r):
    td = r.tdigest()
    assert td.create("t", 1000)
    assert td.add("t", [1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5]) in ("OK", b"OK")
    assert td.quantile("t", 0, 0.5, 1) == [1.0, 4.0, 5.0]
    assert td.cdf("t", 0, 3, 6) == [0.0, 0.3, 1.0]
    assert (td.min("t"), td.max("t")) == (1.0, 5.0)
    assert td.rank("t", 0, 3, 9) == [-1, 4, 15]
    assert td.revrank("t", 0, 3, 9) == [15, 10, -1]
    assert td.byrank("t", 0, 1, 14, 15) == [1.0, 2.0, 5.0, float("inf")]
    assert td.byrevrank("t", 0, 14, 15) == [5.0, 1.0, float("-inf")]
    assert td.trimmed_mean("t", 0.1, 0.6) == 3.125  # the 2nd to 9th values: 2 2 3 3 3 4 4 4
    assert info_fields(td.info("t"), "Compression", "Capacity", "Merged nodes", "Unmerged nodes", "Merged weight",
                       "Total compressions", "Memory usage") == (1000, 6010, 15, 0, 15, 1, 96168)
    assert td.create("u")
    assert td.add("u", [10, 20]) in ("OK", b"OK")
    assert td.merge("m", 2, "t", "u") in ("OK", b"OK")
    assert info_fields(td.info("m"), "Compression") == (1000,)  # the largest of the sources'
    assert (td.min("m"), td.max("m")) == (1.0, 20.0)
    assert td.merge("m", 1, "u", compression=50, override=True) in ("OK", b"OK")
    assert (info_fields(td.info("m"), "Compression"), td.min("m")) == ((50,), 10.0)
    assert td.merge("m", 1, "u") in ("OK", b"OK")  # into the existing destination
    # the destination's centroids were compressed when the source's were added, which wait unmerged
    assert info_fields(td.info("m"), "Merged weight", "Unmerged weight") == (2, 2)
    assert td.reset("t") in ("OK", b"OK")
    assert info_fields(td.info("t"), "Total compressions") == (0,)
    empty = [float(value) for value in td.quantile("t", 0.5) + [td.min("t"), td.max("t")]]  # "nan" in RESP2
    assert all(value != value for value in empty)


def test_tdigest_info_is_the_documentations(wire):
    """docs/commands/tdigest.info.md: five values wait unmerged until something reads the digest."""
    wire.call("TDIGEST.CREATE", "t")
    wire.call("TDIGEST.ADD", "t", "1", "2", "3", "4", "5")
    fields = [(b"Compression", 100), (b"Capacity", 610), (b"Merged nodes", 0), (b"Unmerged nodes", 5),
              (b"Merged weight", 0), (b"Unmerged weight", 5), (b"Observations", 5), (b"Total compressions", 0),
              (b"Memory usage", 9768)]
    assert wire.call("TDIGEST.INFO", "t") == b"*18\r\n" + b"".join(b"+%b\r\n:%d\r\n" % field for field in fields)


def test_tdigest_reply_shapes_in_resp2_and_resp3(wire):
    wire.call("TDIGEST.CREATE", "t")
    assert wire.call("TDIGEST.MIN", "t") == bulk(b"nan")
    assert wire.call("TDIGEST.QUANTILE", "t", "0.5") == b"*1\r\n" + bulk(b"nan")
    assert wire.call("TDIGEST.RANK", "t", "1") == b"*1\r\n:-2\r\n"
    assert wire.call("TDIGEST.BYRANK", "t", "1") == b"*1\r\n" + bulk(b"nan")
    wire.call("TDIGEST.ADD", "t", "1", "2", "3")
    assert wire.call("TDIGEST.CDF", "t", "2") == b"*1\r\n" + bulk(b"0.5")
    assert wire.call("TDIGEST.BYRANK", "t", "3", "0") == b"*2\r\n" + bulk(b"inf") + bulk(b"1")
    assert wire.call("TDIGEST.TRIMMED_MEAN", "t", "0", "1") == bulk(b"2")
    info = wire.call("TDIGEST.INFO", "t")
    assert info.startswith(b"*18\r\n+Compression\r\n:100\r\n+Capacity\r\n:610\r\n+Merged nodes\r\n:3\r\n")
    assert info.endswith(b"+Observations\r\n:3\r\n+Total compressions\r\n:1\r\n+Memory usage\r\n:9768\r\n")
    wire.call("HELLO", "3")
    assert wire.call("TDIGEST.BYREVRANK", "t", "3", "0") == b"*2\r\n,-inf\r\n,3\r\n"
    assert wire.call("TDIGEST.MAX", "t") == b",3\r\n"
    assert wire.call("TDIGEST.INFO", "t").startswith(b"%9\r\n+Compression\r\n:100\r\n")
    wire.call("TDIGEST.RESET", "t")
    assert wire.call("TDIGEST.CDF", "t", "1") == b"*1\r\n,nan\r\n"


def test_tdigest_errors_are_redisblooms(wire):
    wire.call("SET", "str", "x")
    wire.call("TDIGEST.CREATE", "t")
    wrongtype = error(b"WRONGTYPE Operation against a key holding the wrong kind of value")
    for command, reply in [
            (("TDIGEST.CREATE", "k", "COMPRESSION"), arity(b"tdigest.create")),
            (("TDIGEST.CREATE", "t"), error(b"ERR T-Digest: key already exists")),
            (("TDIGEST.CREATE", "str"), wrongtype),
            (("TDIGEST.CREATE", "k", "COMPRESS", "10"), error(b"ERR T-Digest: wrong keyword")),
            (("TDIGEST.CREATE", "k", "COMPRESSION", "x"), error(b"ERR T-Digest: error parsing compression parameter")),
            (("TDIGEST.CREATE", "k", "compression", "0"),
             error(b"ERR T-Digest: compression parameter needs to be a positive integer")),
            (("TDIGEST.CREATE", "k", "COMPRESSION", "9999999999"), error(b"ERR T-Digest: allocation failed")),
            (("TDIGEST.ADD", "t"), arity(b"tdigest.add")),
            (("TDIGEST.ADD", "nokey", "1"), error(b"ERR T-Digest: key does not exist")),
            (("TDIGEST.ADD", "t", "1", "nan"), error(b"ERR T-Digest: error parsing val parameter")),
            (("TDIGEST.ADD", "t", "x"), error(b"ERR T-Digest: error parsing val parameter")),
            (("TDIGEST.ADD", "t", "-inf"), error(b"ERR T-Digest: val parameter needs to be a finite number")),
            (("TDIGEST.MERGE", "d", "1"), arity(b"tdigest.merge")),
            (("TDIGEST.MERGE", "d", "x", "t"), error(b"ERR T-Digest: error parsing numkeys")),
            (("TDIGEST.MERGE", "d", "0", "t"), error(b"ERR T-Digest: numkeys needs to be a positive integer")),
            (("TDIGEST.MERGE", "d", "2", "t"), arity(b"tdigest.merge")),
            (("TDIGEST.MERGE", "d", "1", "t", "COMPRESSION"), arity(b"tdigest.merge")),
            (("TDIGEST.MERGE", "d", "1", "t", "other"), error(b"ERR T-Digest: wrong keyword")),
            (("TDIGEST.MERGE", "d", "1", "nokey"), error(b"ERR T-Digest: key does not exist")),
            (("TDIGEST.MERGE", "d", "1", "d"), error(b"ERR T-Digest: key does not exist")),
            (("TDIGEST.MERGE", "str", "1", "t"), wrongtype),
            (("TDIGEST.MERGE", "d", "1", "str"), wrongtype),
            (("TDIGEST.MIN", "t", "x"), arity(b"tdigest.min")),
            (("TDIGEST.QUANTILE", "t", "2", "x"), error(b"ERR T-Digest: quantile should be in [0,1]")),
            (("TDIGEST.QUANTILE", "t", "x", "2"), error(b"ERR T-Digest: error parsing quantile")),
            (("TDIGEST.CDF", "t", "x"), error(b"ERR T-Digest: error parsing cdf")),
            (("TDIGEST.RANK", "t", "nan"), error(b"ERR T-Digest: error parsing value")),
            (("TDIGEST.BYRANK", "t", "1.5"), error(b"ERR T-Digest: error parsing rank")),
            (("TDIGEST.BYREVRANK", "t", "-1"), error(b"ERR T-Digest: rank needs to be non negative")),
            (("TDIGEST.TRIMMED_MEAN", "t", "0.1"), arity(b"tdigest.trimmed_mean")),
            (("TDIGEST.TRIMMED_MEAN", "t", "x", "1"), error(b"ERR T-Digest: error parsing low_cut_percentile")),
            (("TDIGEST.TRIMMED_MEAN", "t", "0", "x"), error(b"ERR T-Digest: error parsing high_cut_percentile")),
            (("TDIGEST.TRIMMED_MEAN", "t", "0", "2"),
             error(b"ERR T-Digest: low_cut_percentile and high_cut_percentile should be in [0,1]")),
            (("TDIGEST.TRIMMED_MEAN", "t", "0.5", "0.5"),
             error(b"ERR T-Digest: low_cut_percentile should be lower than high_cut_percentile")),
            (("TDIGEST.INFO", "nokey"), error(b"ERR T-Digest: key does not exist"))]:
        assert wire.call(*command) == reply, command
    assert wire.call("EXISTS", "k", "d") == b":0\r\n"


# ------------------------------------------------------------------ keys, persistence


def fill_sketches(client):
    """One key of each type, with enough in it that its counters and centroids matter."""
    client.execute_command("CMS.INITBYPROB", "cms", "0.01", "0.01")
    client.execute_command("CMS.INCRBY", "cms", *[part for index in range(200) for part in (b"i%d" % index, index)])
    client.execute_command("TOPK.RESERVE", "topk", "5", "20", "4", "0.8")
    client.execute_command("TOPK.ADD", "topk", *[b"w%d" % (index % 37 % (index % 7 + 1)) for index in range(800)])
    client.execute_command("TDIGEST.CREATE", "td", "COMPRESSION", "50")
    client.execute_command("TDIGEST.ADD", "td", *[str((index * 7919) % 1013 / 7) for index in range(3000)])
    client.execute_command("PEXPIREAT", "td", "4102444800000")


READS = [("CMS.QUERY", "cms", "i0", "i7", "i199", "none"), ("CMS.INFO", "cms"), ("TOPK.LIST", "topk", "WITHCOUNT"),
         ("TOPK.COUNT", "topk", "w0", "w1", "w2"), ("TOPK.INFO", "topk"),
         ("TDIGEST.QUANTILE", "td", "0", "0.01", "0.5", "0.99", "1"), ("TDIGEST.CDF", "td", "3.5", "100"),
         ("TDIGEST.INFO", "td"), ("TDIGEST.TRIMMED_MEAN", "td", "0.2", "0.7"), ("PEXPIRETIME", "td"),
         ("TYPE", "cms"), ("TYPE", "topk"), ("TYPE", "td")]


def wait_for_rewrite(wire):
    deadline = time.monotonic() + 15
    while b"aof_rewrite_in_progress:1" in wire.call("INFO", "persistence") and time.monotonic() < deadline:
        time.sleep(0.05)


def state(wire):
    """DEBUG DIGEST (what each value's save callback writes) and the READS replies."""
    return [wire.call("DEBUG", "DIGEST")] + [wire.call(*command) for command in READS]


def state_after_restart(tmp_path, change, *options):
    """The state a server left after change(wire), and the state a new one loads from what it left."""
    states = []
    for restart in (False, True):
        running = start_with_bloom(tmp_path, *options)
        try:
            with WireClient(running.port) as wire:
                if not restart:
                    fill_sketches(redis.Redis(port=running.port, socket_timeout=10))
                    change(wire)
                states.append(state(wire))
        finally:
            running.stop()
    return states


def test_sketches_survive_a_restart_from_the_rdb(tmp_path):
    def save(wire):
        wire.call("TDIGEST.QUANTILE", "td", "0.5")  # reads compress the digest, as RedisBloom's do
        assert wire.call("SAVE") == b"+OK\r\n"

    before, after = state_after_restart(tmp_path, save)
    assert before[-3:] == [b"+CMSk-TYPE\r\n", b"+TopK-TYPE\r\n", b"+TDIS-TYPE\r\n"]
    assert after == before
    checked = subprocess.run([shutil.which("redis-check-rdb"), str(tmp_path / "dump.rdb")], capture_output=True,
                             text=True, timeout=30)
    assert "RDB looks OK" in checked.stdout, checked.stdout


def test_sketches_survive_the_aof_and_its_rewrite(tmp_path):
    def rewrite_then_write(wire):
        # compressed first: the rewrite compresses the digest it saves, in its own process only
        wire.call("TDIGEST.QUANTILE", "td", "0.5")
        assert wire.call("BGREWRITEAOF").startswith(b"+Background append only file rewriting")
        wait_for_rewrite(wire)
        rewritten = aof_file(tmp_path, "b").read_bytes()
        assert rewritten.count(b"$7\r\nRESTORE\r\n") == 3 and b"TOPK.ADD" not in rewritten
        wire.call("CMS.INCRBY", "cms", "after", "3")  # logged as sent, after the rewrite
        wire.call("TDIGEST.ADD", "td", "0.25", "2000")
        assert wire.call("TOPK.COUNT", "topk", "w0").startswith(b"*1\r\n:")  # flagged write, never logged
        wire.call("CMS.INCRBY", "cms", "marker", "1")
        deadline = time.monotonic() + 10
        while b"marker" not in aof_file(tmp_path).read_bytes() and time.monotonic() < deadline:
            time.sleep(0.05)
        logged = aof_file(tmp_path).read_bytes()
        assert b"TDIGEST.ADD" in logged and b"marker" in logged and b"TOPK.COUNT" not in logged

    before, after = state_after_restart(tmp_path, rewrite_then_write, "--appendonly", "yes",
                                        "--aof-use-rdb-preamble", "no")
    assert after == before


def test_dump_restore_and_copy_of_each_sketch(wire):
    fill_sketches(redis.Redis(port=wire.port, socket_timeout=10))
    wire.call("TDIGEST.QUANTILE", "td", "0")  # compressed, as a DUMP leaves it
    originals = [wire.call(*command) for command in READS]
    for key in ("cms", "topk", "td"):
        payload = wire.call("DUMP", key)
        raw = payload[payload.index(b"\r\n") + 2:-2]
        assert raw[:1] == b"\x07"  # RDB_TYPE_MODULE_2
        assert wire.call("RESTORE", key + "2", "0", raw) == b"+OK\r\n"
        assert wire.call("RESTORE", key + "2", "0", raw) == b"-BUSYKEY Target key name already exists.\r\n"
        assert wire.call("DUMP", key) == wire.call("DUMP", key + "2")
        assert wire.call("COPY", key, key + "3") == b":1\r\n"
        wire.call("DEL", key)
        assert wire.call("RENAME", key + "2", key) == b"+OK\r\n"
    assert [wire.call(*command) for command in READS][:-4] == originals[:-4]
    wire.call("CMS.INCRBY", "cms3", "i0", "1000")  # a copy is a copy
    wire.call("TDIGEST.RESET", "td3")
    assert wire.call("CMS.QUERY", "cms3", "i0") != wire.call("CMS.QUERY", "cms", "i0")
    assert wire.call("TDIGEST.INFO", "td") == originals[7]
    assert int(wire.call("MEMORY", "USAGE", "td")[1:-2]) >= 8 + 2 * 310 * 8
