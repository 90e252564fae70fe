"""The Count-Min sketch, Top-K and t-digest as structures (issue 20): RedisBloom's hashing and sizing,
and their accuracy on bounded deterministic data. tests/test_sketches_module.py drives the commands."""
import math
import random

from modules.probabilistic.countmin import CountMinSketch, dimensions_for
from modules.probabilistic.histogram import TDigest
from modules.probabilistic.murmur2 import murmur2
from modules.probabilistic.tdigest import quantiles, ranks, values_by_rank
from modules.probabilistic.topk import TopK


def skewed_stream(seed, distinct, length):
    """A Zipf-like stream of item names: item i drawn with weight 1 / (i + 1)."""
    rng = random.Random(seed)
    names = [b"item:%d" % index for index in range(distinct)]
    return rng.choices(names, weights=[1 / (index + 1) for index in range(distinct)], k=length)


def test_murmur2_is_austin_applebys_on_little_endian():
    """Values of the C function (RedisBloom's murmurhash2.c) compiled and run on x86-64."""
    assert murmur2(b"", 0) == 0
    assert murmur2(b"hello", 0) == 0xE56129CB
    assert murmur2(b"hello world", 1919) == 0xFBA01F39
    assert murmur2(b"ab\xff\x80zz", 7) == 0xC74E54D9


def test_dimensions_from_probabilities_compute_log10f_in_c_floats():
    """CMS_DimFromProb's depth is ceil(log10f(p) / log10f(0.5)) in single precision: 1/32 gives
    4.99999952, so 5, where doubles would give exactly 5 too, and 0.1 gives 4 (values from the C)."""
    assert dimensions_for(0.001, 0.01) == (2000, 7)
    assert dimensions_for(0.01, 0.001) == (200, 10)
    assert dimensions_for(0.5, 0.03125) == (4, 5)
    assert dimensions_for(0.1, 0.125) == (20, 3)
    assert dimensions_for(0.3, 0.1) == (7, 4)


def test_count_min_never_underestimates_and_stays_within_its_error_bound():
    error, probability = 0.01, 0.01
    sketch = CountMinSketch(*dimensions_for(error, probability))
    stream = skewed_stream(1, 2000, 20000)
    truth = {}
    for item in stream:
        sketch.increment(item, 1)
        truth[item] = truth.get(item, 0) + 1
    assert sketch.counter == len(stream)
    overshoots = [sketch.query(item) - count for item, count in truth.items()]
    assert min(overshoots) >= 0
    beyond = sum(1 for overshoot in overshoots if overshoot > error * len(stream))
    assert beyond <= probability * len(truth)
    assert sketch.query(b"never added") <= error * len(stream)


def test_count_min_counters_saturate_and_merges_refuse_overflow():
    sketch = CountMinSketch(4, 2)
    assert sketch.increment(b"a", 2**32 - 2) == 2**32 - 2
    assert sketch.increment(b"a", 5) == 2**32 - 1  # the cells stop at UINT32_MAX
    assert sketch.counter == 2**32 + 3  # the total does not
    other = CountMinSketch(4, 2)
    other.increment(b"a", 3)
    assert not other.merge([sketch, other], [1, 1])  # a's cells would pass UINT32_MAX: nothing changes
    assert other.query(b"a") == 3 and other.counter == 3
    assert other.merge([other, other], [5, -2])
    assert other.query(b"a") == 9 and other.counter == 9
    assert not other.merge([other], [-1])  # negative cells


def test_top_k_finds_the_heavy_hitters_of_a_skewed_stream():
    topk = TopK(10, 50, 5, 0.9, rng=random.Random(3))
    stream = skewed_stream(2, 1000, 30000)
    truth = {}
    for item in stream:
        topk.add(item)
        truth[item] = truth.get(item, 0) + 1
    heaviest = sorted(truth, key=truth.get, reverse=True)[:10]
    listed = topk.listing()
    assert {item for item, _ in listed} >= set(heaviest[:7])
    assert [count for _, count in listed] == sorted((count for _, count in listed), reverse=True)
    for item, count in listed:
        assert topk.query(item)
        assert count <= truth[item]  # HeavyKeeper only loses counts (no fingerprint collides here)
    assert listed[0] == (heaviest[0], topk.count(heaviest[0]))
    assert listed[0][1] >= 0.9 * truth[heaviest[0]]


def test_top_k_reports_what_each_addition_pushed_out():
    topk = TopK(2, 8, 7, 0.9, rng=random.Random(1))
    assert [topk.add(item) for item in (b"a", b"b")] == [None, None]
    assert topk.add(b"c") == b"a"  # a count of 1 meets the heap's minimum of 1: the oldest leaves
    assert topk.add(b"c") is None
    assert topk.listing()[0] == (b"c", 2)
    assert topk.add(b"big", 10) == b"b"
    assert topk.listing() == [(b"big", 10), (b"c", 2)]


def digest_of(values, compression=100):
    digest = TDigest(compression)
    for value in values:
        assert digest.add(float(value))
    return digest


def test_t_digest_is_exact_on_the_documentations_small_inputs():
    """RedisBloom's examples (docs/commands/tdigest.*.md), which its t-digest answers exactly."""
    digest = digest_of([1, 2, 2, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 5], 1000)
    assert quantiles(digest, [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]) == [
        1, 2, 3, 3, 4, 4, 4, 5, 5, 5, 5]
    assert [digest.cdf(value) for value in range(7)] == [
        0, 0.033333333333333333, 0.13333333333333333, 0.29999999999999999, 0.53333333333333333,
        0.83333333333333337, 1]
    tens = digest_of([10, 10, 10, 10, 20, 20], 1000)
    assert ranks(tens, [10, 20], reverse=False) == [2, 5]
    assert ranks(tens, [10, 20], reverse=True) == [4, 1]
    singles = digest_of([10, 20, 30, 40, 50, 60], 1000)
    assert ranks(singles, [0, 10, 35, 60, 70], reverse=False) == [-1, 0, 3, 5, 6]
    assert ranks(singles, [0, 10, 60, 70], reverse=True) == [6, 5, 0, -1]
    assert values_by_rank(singles, [0, 1, 5, 6, 9], reverse=False) == [10, 20, 60, math.inf, math.inf]
    assert values_by_rank(singles, [0, 1, 5, 6], reverse=True) == [60, 50, 10, -math.inf]
    assert digest_of(range(1, 11)).trimmed_mean(0.1, 0.9) == 5.5


def test_t_digest_quantiles_of_a_known_distribution_are_within_tolerance():
    rng = random.Random(5)
    values = [rng.gauss(0, 1) for _ in range(20000)]
    digest = digest_of(values)
    assert digest.merged_nodes + digest.unmerged_nodes < digest.capacity
    ordered = sorted(values)
    for fraction in (0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999):
        estimate = digest.quantile(fraction)
        rank = sum(1 for value in ordered if value <= estimate) / len(ordered)
        assert abs(rank - fraction) <= 0.005 + 0.02 * min(fraction, 1 - fraction), (fraction, rank)
    assert digest.quantile(0) == ordered[0] and digest.quantile(1) == ordered[-1]
    assert abs(digest.trimmed_mean(0.1, 0.9)) < 0.02
    assert abs(digest.cdf(0) - 0.5) < 0.01


def test_merged_digests_answer_as_one_digest_of_everything():
    low, high = digest_of(range(0, 5000)), digest_of(range(5000, 10000))
    merged = TDigest(100)
    assert merged.merge(low) and merged.merge(high)
    assert merged.size() == 10000 and merged.minimum == 0 and merged.maximum == 9999
    for fraction in (0.05, 0.5, 0.95):
        assert abs(merged.quantile(fraction) - fraction * 10000) < 60
