"""The Bloom chain and the cuckoo filter alone (modules/probabilistic/sbchain.py, cuckoofilter.py):
RedisBloom's sizes and shapes, no false negatives, scaling and its limits, dumps that load back."""
import random

import pytest

from modules.probabilistic.cuckoofilter import EXISTS, INSERTED, NO_SPACE, CuckooFilter
from modules.probabilistic.sbchain import FilterError, Link, ScalableBloom


def items(count, seed=7):
    generator = random.Random(seed)
    return [b"item:%d" % generator.getrandbits(48) for _ in range(count)]


def test_a_link_is_sized_as_bloom_init_with_noround():
    link = Link.sized(100, 0.005)  # BF.ADD's default chain: 100 entries at 0.01 tightened by half
    assert (len(link.array), link.bits, link.hashes) == (144, 1152, 8)
    assert Link.sized(1000, 0.001).hashes == 10


def test_the_default_chain_reports_redisblooms_sizes():
    chain = ScalableBloom.create(100, 0.01, 2)
    assert chain.memory_usage() == 240  # BF.INFO's Size in RedisBloom's documentation for this filter
    assert chain.capacity() == 100
    assert ScalableBloom.create(100, 0.01, 2, nonscaling=True).links[0].error == 0.01


def test_added_items_are_always_found_and_the_chain_scales():
    chain = ScalableBloom.create(100, 0.01, 2)
    added = items(1000)
    fresh = sum(chain.add(item) for item in added)
    assert all(chain.contains(item) for item in added)
    assert fresh == chain.size <= 1000
    assert [link.entries for link in chain.links][:4] == [100, 200, 400, 800]
    assert [link.error for link in chain.links][:3] == [0.005, 0.0025, 0.00125]
    assert chain.add(added[0]) == 0


def test_a_nonscaling_chain_refuses_past_its_capacity():
    chain = ScalableBloom.create(10, 0.01, 2, nonscaling=True)
    with pytest.raises(FilterError, match="ERR non scaling filter is full"):
        for item in items(100):
            chain.add(item)
    assert chain.size == 10 and len(chain.links) == 1


def test_the_false_positive_rate_stays_under_the_requested_rate():
    chain = ScalableBloom.create(2000, 0.01, 2)
    for item in items(2000, seed=1):
        chain.add(item)
    probes = [b"other:%d" % n for n in range(5000)]
    assert sum(chain.contains(probe) for probe in probes) / len(probes) < 0.01


def test_a_huge_filter_is_refused_rather_than_allocated():
    with pytest.raises(FilterError, match="ERR could not create filter"):
        ScalableBloom.create(2**40, 0.01, 2)


def test_a_chain_dumped_in_chunks_loads_into_the_same_filter():
    chain = ScalableBloom.create(50, 0.02, 3)
    added = items(400)
    for item in added:
        chain.add(item)
    copy = ScalableBloom.from_header(chain.encoded_header())
    position = 1
    while True:
        position, chunk = chain.encoded_chunk(position)
        if position == 0:
            break
        copy.load_chunk(position, chunk)
    assert copy.encoded_header() == chain.encoded_header()
    assert [link.array for link in copy.links] == [link.array for link in chain.links]
    assert all(copy.contains(item) for item in added)


def test_bad_headers_and_chunks_are_refused():
    header = ScalableBloom.create(100, 0.01, 2).encoded_header()
    for broken in (b"", header[:-1], header[:8] + b"\0\0\0\0" + header[12:], header[:4] + b"\x02" + header[5:]):
        with pytest.raises(FilterError):
            ScalableBloom.from_header(broken)
    chain = ScalableBloom.from_header(header)
    with pytest.raises(FilterError, match="Too big"):
        chain.load_chunk(1 + 200, bytes(200))
    with pytest.raises(FilterError, match="no link found"):
        chain.load_chunk(1000, bytes(10))


def test_a_cuckoo_filter_is_shaped_as_cuckoofilter_init():
    cf = CuckooFilter.create(1000, 2, 20, 1)
    assert (cf.num_buckets, len(cf.filters), cf.memory_usage()) == (512, 1, 1080)  # CF.INFO's documented Size
    assert CuckooFilter.create(1024, 4, 20, 3).expansion == 4
    assert CuckooFilter.create(3, 4, 20, 0).num_buckets == 1


def test_cuckoo_insert_count_delete():
    cf = CuckooFilter.create(1000, 2, 20, 1)
    assert cf.insert(b"a") == INSERTED and cf.insert(b"a") == INSERTED
    assert cf.insert(b"a", unique=True) == EXISTS
    assert cf.count(b"a") == 2 and cf.contains(b"a") and not cf.contains(b"b")
    assert cf.delete(b"a") == 1 and cf.count(b"a") == 1
    assert cf.delete(b"b") == 0
    assert (cf.num_items, cf.num_deletes) == (1, 1)


def test_a_cuckoo_filter_grows_and_compacts_back():
    cf = CuckooFilter.create(64, 2, 20, 1)
    added = items(300)
    assert all(cf.insert(item) == INSERTED for item in added)
    assert len(cf.filters) > 1 and all(cf.contains(item) for item in added)
    for item in added[:290]:
        assert cf.delete(item) == 1
    assert len(cf.filters) == 1 and all(cf.contains(item) for item in added[290:])


def test_a_cuckoo_filter_without_expansion_fills_up():
    cf = CuckooFilter.create(8, 2, 20, 0)
    results = [cf.insert(item) for item in items(40)]
    assert NO_SPACE in results and len(cf.filters) == 1
    assert cf.num_items == results.count(INSERTED) <= 8


def test_a_cuckoo_filter_dumped_in_chunks_loads_into_the_same_filter():
    cf = CuckooFilter.create(64, 4, 10, 2)
    added = items(500)
    for item in added:
        cf.insert(item)
    copy = CuckooFilter.from_header(cf.encoded_header())
    position = 1
    while (dumped := cf.encoded_chunk(position)) is not None:
        position, chunk = dumped
        assert copy.load_chunk(position, chunk)
    assert copy.encoded_header() == cf.encoded_header()
    assert [sub.slots for sub in copy.filters] == [sub.slots for sub in cf.filters]
    assert not copy.load_chunk(10**6, b"x") and not copy.load_chunk(1, b"")


# RedisBloom's documentation's BF.SCANDUMP and CF.SCANDUMP examples: the bytes RedisBloom wrote.
DOCUMENTED_BF_HEADER = (b"\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x05\x00\x00\x00\x02\x00\x00\x00\x08\x00\x00"
                        b"\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x9a\x99"
                        b"\x99\x99\x99\x99\xa9?J\xf7\xd4\x9e\xde\xf0\x18@\x05\x00\x00\x00\n\x00\x00\x00\x00\x00\x00"
                        b"\x00\x00")
DOCUMENTED_BF_CHUNK = b"\x01\x08\x00\x80\x00\x04 \x00"
# The cuckoo header's first 38 bytes: RedisBloom 2.6's packed CFHeader (later versions append a seed).
DOCUMENTED_CF_HEADER = (b"\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
                        b"\x00\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x14\x00\x01\x00")
DOCUMENTED_CF_CHUNK = b"\x00\x00\x00\x00\x07\x00\x00\x00"


def test_the_documented_dumps_are_what_these_filters_write():
    """BF.RESERVE bf 0.1 10, BF.ADD bf item1; CF.RESERVE cf 8, CF.ADD cf item1: the same bits and slots,
    so the hashing, the sizes and the header layouts are RedisBloom's."""
    chain = ScalableBloom.create(10, 0.1, 2)
    assert chain.add(b"item1") == 1
    assert chain.encoded_header() == DOCUMENTED_BF_HEADER
    assert chain.encoded_chunk(1) == (9, DOCUMENTED_BF_CHUNK) and chain.encoded_chunk(9) == (0, b"")
    cf = CuckooFilter.create(8, 2, 20, 1)
    assert cf.insert(b"item1") == INSERTED
    assert cf.encoded_header() == DOCUMENTED_CF_HEADER
    assert cf.encoded_chunk(1) == (9, DOCUMENTED_CF_CHUNK) and cf.encoded_chunk(9) is None
