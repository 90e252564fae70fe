"""t-digest: RedisBloom's TDIGEST.* commands and its TDIS-TYPE values (rm_tdigest.c).

The digest itself is histogram.TDigest; this is how RedisBloom's commands read their arguments,
answer an empty digest (nan, -2 ranks), turn ranks into quantiles and back, and persist it.
"""
import math

from modules.api import ReplyError
from modules.probabilistic.arguments import (
    OK, WRITES, add_commands, arg_index, changed, double, info_reply, long_long, wrong_arity)
from modules.probabilistic.common import READONLY, SketchCommands, data_type
from modules.probabilistic.histogram import INFINITY, NAN, TDigest, capacity_for

TYPE_NAME = "TDIS-TYPE"
ENCODING_VERSION = 0
DEFAULT_COMPRESSION = 100

NO_KEY = "ERR T-Digest: key does not exist"
WRONG_KEYWORD = "ERR T-Digest: wrong keyword"


def half_round_down(value):
    """_halfRoundDown: to the nearest integer, halves toward zero."""
    whole = float(math.trunc(value))
    if abs(value - whole) <= 0.5:
        return whole
    return whole + 1.0 if whole >= 0 else whole - 1.0


def c_round(value):
    """C's round(): to the nearest integer, halves away from zero."""
    whole = float(math.trunc(value))
    if abs(value - whole) >= 0.5:
        return whole + 1.0 if value > 0 else whole - 1.0
    return whole


def ranks(digest, values, reverse):
    """_TDigest_Rank: each value's rank (or reverse rank) from the digest's cdf; -2 on an empty digest,
    -1 or the size beyond the extremes."""
    size = float(digest.size())
    replies = []
    for value in values:
        if size == 0:
            rank = -2
        elif value < digest.minimum:
            rank = size if reverse else -1
        elif value > digest.maximum:
            rank = -1 if reverse else size
        else:
            below = digest.cdf(value) * size
            rank = c_round(size - c_round(below)) if reverse else half_round_down(below)
        replies.append(int(rank))
    return replies


def values_by_rank(digest, wanted, reverse):
    """_TDigest_ByRank: the value at each rank (or reverse rank); nan on an empty digest, min or max
    at rank 0, an infinity at or past the size."""
    size = float(digest.size())
    replies = []
    for rank in wanted:
        rank = float(rank)
        if size == 0:
            replies.append(NAN)
        elif rank == 0:
            replies.append(digest.maximum if reverse else digest.minimum)
        elif rank >= size:
            replies.append(-INFINITY if reverse else INFINITY)
        else:
            replies.append(digest.quantile(((size - rank - 1) if reverse else rank) / size))
    return replies


def quantiles(digest, fractions):
    """TDIGEST.QUANTILE's values: each ascending run of the fractions read in one td_quantiles pass."""
    values, start = [], 0
    while start < len(fractions):
        end = start + 1
        while end < len(fractions) and fractions[end - 1] <= fractions[end]:
            end += 1
        values.extend(digest.quantiles(fractions[start:end]))
        start = end
    return values


# ---------------------------------------------------------------- type callbacks


def save(writer, digest):
    """TDigestRdbSave: compressed first, so only merged centroids are written."""
    digest.compress()
    writer.double(digest.compression)
    writer.double(digest.minimum)
    writer.double(digest.maximum)
    for number in (digest.capacity, digest.merged_nodes, digest.unmerged_nodes, digest.total_compressions):
        writer.signed(number)
    writer.double(float(digest.merged_weight))
    writer.double(float(digest.unmerged_weight))
    for mean in digest.means:
        writer.double(mean)
    for weight in digest.weights:
        writer.double(float(weight))


def load(reader, encoding_version):
    if encoding_version > ENCODING_VERSION:
        return None  # a newer RedisBloom wrote it
    compression = reader.double()
    if not TDigest.valid_compression(compression):
        raise ValueError("a t-digest's compression out of range")
    digest = TDigest(compression)
    digest.minimum, digest.maximum = reader.double(), reader.double()
    capacity, merged_nodes, unmerged_nodes = reader.signed(), reader.signed(), reader.signed()
    digest.total_compressions = reader.signed()
    merged_weight, unmerged_weight = reader.double(), reader.double()
    if capacity != capacity_for(compression) or not 0 <= merged_nodes < capacity or unmerged_nodes \
            or unmerged_weight or not 0 <= merged_weight < 2**63:
        raise ValueError("a t-digest's nodes do not fit its capacity")
    digest.means = [reader.double() for _ in range(merged_nodes)]
    digest.weights = [reader.double() for _ in range(merged_nodes)]
    if not all(math.isfinite(mean) for mean in digest.means) or \
            not all(1 <= weight < 2**63 and weight == int(weight) for weight in digest.weights):
        raise ValueError("a t-digest's centroids are not finite means with whole weights")
    digest.weights = [int(weight) for weight in digest.weights]
    digest.merged_nodes, digest.merged_weight = merged_nodes, int(merged_weight)
    return digest


def memory_usage(digest):
    """TDigestMemUsage: a pointer and the two node arrays."""
    return 8 + 2 * digest.capacity * 8



# ---------------------------------------------------------------- commands


def _not_a_fraction(value):
    return None if 0 <= value <= 1 else "ERR T-Digest: quantile should be in [0,1]"


def _negative_rank(rank):
    return "ERR T-Digest: rank needs to be non negative" if rank < 0 else None


def _parse_compression(raw):
    compression = long_long(raw)
    if compression is None:
        raise ReplyError("ERR T-Digest: error parsing compression parameter")
    if compression <= 0:
        raise ReplyError("ERR T-Digest: compression parameter needs to be a positive integer")
    return compression


def _new_digest(compression, failure):
    if not TDigest.valid_compression(compression):
        raise ReplyError(failure)
    return TDigest(compression)


class TDigestCommands(SketchCommands):
    """The TDIGEST.* handlers over one registered TDIS-TYPE."""

    missing = NO_KEY

    def create(self, ctx, *args):
        """TDIGEST.CREATE key [COMPRESSION compression]"""
        if len(args) not in (1, 3):
            raise wrong_arity("tdigest.create")
        if ctx.get_value(args[0], self.type) is not None:
            raise ReplyError("ERR T-Digest: key already exists")
        compression = DEFAULT_COMPRESSION
        if len(args) == 3:
            if arg_index(b"COMPRESSION", args[1:]) < 0:
                raise ReplyError(WRONG_KEYWORD)
            compression = _parse_compression(args[2])
        ctx.set_value(args[0], self.type, _new_digest(compression, "ERR T-Digest: allocation failed"))
        return OK

    def reset(self, ctx, *args):
        """TDIGEST.RESET key"""
        if len(args) != 1:
            raise wrong_arity("tdigest.reset")
        digest = self.existing(ctx, args[0])
        digest.reset()
        changed(ctx, args[0])
        return OK

    def add(self, ctx, *args):
        """TDIGEST.ADD key value [value ...]: every value read before any is added"""
        if len(args) < 2:
            raise wrong_arity("tdigest.add")
        digest = self.existing(ctx, args[0])
        values = []
        for raw in args[1:]:
            value = double(raw)
            if value is None:
                raise ReplyError("ERR T-Digest: error parsing val parameter")
            if math.isinf(value):
                raise ReplyError("ERR T-Digest: val parameter needs to be a finite number")
            values.append(value)
        added = all(digest.add(value) for value in values)
        changed(ctx, args[0])
        if not added:
            raise ReplyError("ERR T-Digest: overflow detected")
        return OK

    def merge(self, ctx, *args):
        """TDIGEST.MERGE destination numkeys source [source ...] [COMPRESSION compression] [OVERRIDE]"""
        if len(args) < 3:
            raise wrong_arity("tdigest.merge")
        destination = ctx.get_value(args[0], self.type)
        count = long_long(args[1])
        if count is None:
            raise ReplyError("ERR T-Digest: error parsing numkeys")
        if count <= 0:
            raise ReplyError("ERR T-Digest: numkeys needs to be a positive integer")
        if count > len(args) - 2:
            raise wrong_arity("tdigest.merge")
        compression, override = self._merge_options(destination, args[2 + count:])
        sources = []
        for key in args[2:2 + count]:
            source = destination if key == args[0] else ctx.get_value(key, self.type)
            if source is None:
                raise ReplyError(NO_KEY)
            sources.append(source)
        if compression is None:  # the largest of the sources'
            compression = max(int(source.compression) for source in sources)
        merged = _new_digest(compression, "ERR T-Digest: allocation of destination digest failed")
        if destination is not None and not override:
            merged.merge(destination)
        if not all(merged.merge(source) for source in sources):
            raise ReplyError("ERR T-Digest: overflow detected")
        ctx.set_value(args[0], self.type, merged)
        return OK

    @staticmethod
    def _merge_options(destination, options):
        """The merged digest's compression (None: the largest of the sources') and OVERRIDE."""
        compression = None if destination is None else int(destination.compression)
        if not options:
            return compression, False
        compression_at = arg_index(b"COMPRESSION", options)
        if compression_at >= 0:
            if compression_at + 1 >= len(options):
                raise wrong_arity("tdigest.merge")
            compression = _parse_compression(options[compression_at + 1])
        override = arg_index(b"OVERRIDE", options) >= 0
        if override and compression_at < 0:
            compression = None
        if compression_at < 0 and not override:
            raise ReplyError(WRONG_KEYWORD)
        return compression, override

    def minimum(self, ctx, *args):
        """TDIGEST.MIN key"""
        if len(args) != 1:
            raise wrong_arity("tdigest.min")
        digest = self.existing(ctx, args[0])
        return digest.minimum if digest.size() > 0 else NAN

    def maximum(self, ctx, *args):
        """TDIGEST.MAX key"""
        if len(args) != 1:
            raise wrong_arity("tdigest.max")
        digest = self.existing(ctx, args[0])
        return digest.maximum if digest.size() > 0 else NAN

    def _values(self, ctx, args, name, message, parse=double, refused=lambda value: None):
        """The digest and the numbers after it, for the commands that take a list of them: each read (message
        if it cannot be) and checked (refused(value): an error text, or None) before the next."""
        if len(args) < 2:
            raise wrong_arity(name)
        digest = self.existing(ctx, args[0])
        values = []
        for raw in args[1:]:
            value = parse(raw)
            if value is None:
                raise ReplyError(message)
            problem = refused(value)
            if problem is not None:
                raise ReplyError(problem)
            values.append(value)
        return digest, values

    def quantile(self, ctx, *args):
        """TDIGEST.QUANTILE key quantile [quantile ...]"""
        digest, fractions = self._values(ctx, args, "tdigest.quantile", "ERR T-Digest: error parsing quantile",
                                         refused=_not_a_fraction)
        return quantiles(digest, fractions)

    def cdf(self, ctx, *args):
        """TDIGEST.CDF key value [value ...]"""
        digest, values = self._values(ctx, args, "tdigest.cdf", "ERR T-Digest: error parsing cdf")
        return [digest.cdf(value) for value in values]

    def rank(self, ctx, *args):
        """TDIGEST.RANK key value [value ...]"""
        digest, values = self._values(ctx, args, "tdigest.rank", "ERR T-Digest: error parsing value")
        return ranks(digest, values, reverse=False)

    def revrank(self, ctx, *args):
        """TDIGEST.REVRANK key value [value ...]"""
        digest, values = self._values(ctx, args, "tdigest.revrank", "ERR T-Digest: error parsing value")
        return ranks(digest, values, reverse=True)

    def _ranks(self, ctx, args, name):
        return self._values(ctx, args, name, "ERR T-Digest: error parsing rank", parse=long_long,
                            refused=_negative_rank)

    def byrank(self, ctx, *args):
        """TDIGEST.BYRANK key rank [rank ...]"""
        digest, wanted = self._ranks(ctx, args, "tdigest.byrank")
        return values_by_rank(digest, wanted, reverse=False)

    def byrevrank(self, ctx, *args):
        """TDIGEST.BYREVRANK key reverse_rank [reverse_rank ...]"""
        digest, wanted = self._ranks(ctx, args, "tdigest.byrevrank")
        return values_by_rank(digest, wanted, reverse=True)

    def trimmed_mean(self, ctx, *args):
        """TDIGEST.TRIMMED_MEAN key low_cut_quantile high_cut_quantile"""
        if len(args) != 3:
            raise wrong_arity("tdigest.trimmed_mean")
        digest = self.existing(ctx, args[0])
        low, high = double(args[1]), double(args[2])
        if low is None:
            raise ReplyError("ERR T-Digest: error parsing low_cut_percentile")
        if high is None:
            raise ReplyError("ERR T-Digest: error parsing high_cut_percentile")
        if not (0 <= low <= 1 and 0 <= high <= 1):
            raise ReplyError("ERR T-Digest: low_cut_percentile and high_cut_percentile should be in [0,1]")
        if low >= high:
            raise ReplyError("ERR T-Digest: low_cut_percentile should be lower than high_cut_percentile")
        return digest.trimmed_mean(low, high)

    def info(self, ctx, *args):
        """TDIGEST.INFO key"""
        if len(args) != 1:
            raise wrong_arity("tdigest.info")
        digest = self.existing(ctx, args[0])
        fields = (("Compression", int(digest.compression)), ("Capacity", digest.capacity),
                  ("Merged nodes", digest.merged_nodes), ("Unmerged nodes", digest.unmerged_nodes),
                  ("Merged weight", digest.merged_weight), ("Unmerged weight", digest.unmerged_weight),
                  ("Observations", digest.size()), ("Total compressions", digest.total_compressions),
                  ("Memory usage", memory_usage(digest)))
        return info_reply(fields)


def register(module):
    """Registers TDIS-TYPE and the TDIGEST.* commands, flagged and keyed as RedisBloom registers them."""
    digest_type = data_type(module, TYPE_NAME, ENCODING_VERSION, save=save, load=load,
                            memory_usage=memory_usage, copy=TDigest.copy)
    commands = TDigestCommands(digest_type)
    add_commands(module, (
        ("tdigest.create", commands.create, WRITES),
        ("tdigest.add", commands.add, WRITES),
        ("tdigest.reset", commands.reset, WRITES),
        ("tdigest.merge", commands.merge, WRITES),
        ("tdigest.min", commands.minimum, READONLY),
        ("tdigest.max", commands.maximum, READONLY),
        ("tdigest.quantile", commands.quantile, READONLY),
        ("tdigest.byrank", commands.byrank, READONLY),
        ("tdigest.byrevrank", commands.byrevrank, READONLY),
        ("tdigest.rank", commands.rank, READONLY),
        ("tdigest.revrank", commands.revrank, READONLY),
        ("tdigest.cdf", commands.cdf, READONLY),
        ("tdigest.trimmed_mean", commands.trimmed_mean, READONLY),
        ("tdigest.info", commands.info, READONLY)))
