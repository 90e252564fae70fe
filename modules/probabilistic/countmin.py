"""The Count-Min sketch: RedisBloom's CMS.* commands and its CMSk-TYPE values (cms.c, rm_cms.c).

A sketch is depth rows of width 32-bit counters; an item counts in one cell per row, the cell
MurmurHash2(item, seed=row) picks, and its estimate is the smallest of those cells, so it never
falls below the item's true count. Counters stop at 2**32-1, as RedisBloom's saturate.
"""
import math
import struct
from array import array

from modules.api import INT64_MAX, Error, ReplyError
from modules.probabilistic.arguments import (
    OK, WRITES, add_commands, arg_index, changed, double, info_reply, long_long, wrong_arity)
from modules.probabilistic.common import (
    MAX_ALLOCATION, READONLY, UINT32_MAX, SketchCommands, data_type, key_exists)
from modules.probabilistic.murmur2 import murmur2

TYPE_NAME = "CMSk-TYPE"
ENCODING_VERSION = 0
_UINT64 = 2**64

NO_KEY = "CMS: key does not exist"
KEY_EXISTS = "CMS: key already exists"


def _float32(value):
    """value rounded to a C float, as log10f's argument and result are."""
    return struct.unpack("f", struct.pack("f", value))[0]


def dimensions_for(error, probability):
    """CMS_DimFromProb: width 2/error, depth log(probability)/log(1/2), the latter in C floats."""
    width = math.ceil(2 / error)
    depth = math.ceil(_float32(_float32(math.log10(_float32(probability))) /
                               _float32(math.log10(_float32(0.5)))))
    return width, depth


class CountMinSketch:
    """width * depth counters, row after row, and the total of every increment (counter)."""

    __slots__ = ("width", "depth", "counter", "cells")

    def __init__(self, width, depth, counter=0, cells=None):
        self.width = width
        self.depth = depth
        self.counter = counter
        self.cells = array("I", bytes(4 * width * depth)) if cells is None else cells

    def _locations(self, item):
        width = self.width
        return [murmur2(item, row) % width + row * width for row in range(self.depth)]

    def increment(self, item, value):
        """CMS_IncrBy: adds value to the item's cells (saturating) and returns its new estimate."""
        cells = self.cells
        smallest = UINT32_MAX
        for location in self._locations(item):
            cell = min(cells[location] + value, UINT32_MAX)
            cells[location] = cell
            smallest = min(smallest, cell)
        self.counter = (self.counter + value) % _UINT64
        return smallest

    def query(self, item):
        cells = self.cells
        return min(cells[location] for location in self._locations(item))

    def merge(self, sources, weights):
        """CMS_Merge: self becomes the weighted sum of sources; False (and nothing changed) when a cell
        leaves 0..2**32-1 or a sum leaves int64 on the way, as checkOverflow refuses it."""
        cells = []
        for column in zip(*(source.cells for source in sources)):
            total = _weighted_sum(column, weights)
            if total is None or not 0 <= total <= UINT32_MAX:
                return False
            cells.append(total)
        counter = _weighted_sum([source.counter for source in sources], weights)
        if counter is None or counter < 0:
            return False
        self.cells = array("I", cells)
        self.counter = counter
        return True

    def copy(self):
        return CountMinSketch(self.width, self.depth, self.counter, array("I", self.cells))


def _weighted_sum(values, weights):
    """sum(value * weight) with each product and partial sum checked to fit an int64, or None."""
    total = 0
    for value, weight in zip(values, weights):
        total += value * weight
        if not -INT64_MAX - 1 <= value * weight <= INT64_MAX or not -INT64_MAX - 1 <= total <= INT64_MAX:
            return None
    return total


# ---------------------------------------------------------------- type callbacks


def save(writer, sketch):
    writer.unsigned(sketch.width)
    writer.unsigned(sketch.depth)
    writer.unsigned(sketch.counter)
    writer.string(sketch.cells.tobytes())


def load(reader, encoding_version):
    if encoding_version > ENCODING_VERSION:
        return None  # a newer RedisBloom wrote it
    width, depth, counter = reader.unsigned(), reader.unsigned(), reader.unsigned()
    data = reader.string()
    if width < 1 or depth < 1 or len(data) != 4 * width * depth:
        raise ValueError("a Count-Min sketch's cells do not fill its width and depth")
    cells = array("I")
    cells.frombytes(data)
    return CountMinSketch(width, depth, counter, cells)


def memory_usage(sketch):
    """CMSMemUsage: a pointer plus eight bytes a cell (RedisBloom counts cells as size_t)."""
    return 8 + sketch.width * sketch.depth * 8



# ---------------------------------------------------------------- commands


def _dimensions(width, depth):
    """CMS.INITBYDIM's width and depth."""
    width, depth = long_long(width), long_long(depth)
    if width is None or width < 1:
        raise ReplyError("CMS: invalid width")
    if depth is None or depth < 1:
        raise ReplyError("CMS: invalid depth")
    return width, depth


def _dimensions_for_probabilities(error, probability):
    """CMS.INITBYPROB's error and probability, as the dimensions they make."""
    error, probability = double(error), double(probability)
    if error is None or not 0 < error < 1:
        raise ReplyError("CMS: invalid overestimation value")
    if probability is None or not 0 < probability < 1:
        raise ReplyError("CMS: invalid prob value")
    return dimensions_for(error, probability)


class CountMinCommands(SketchCommands):
    """The CMS.* handlers over one registered CMSk-TYPE."""

    missing = NO_KEY

    def initbydim(self, ctx, *args):
        """CMS.INITBYDIM key width depth"""
        return self._create(ctx, args, "cms.initbydim", _dimensions)

    def initbyprob(self, ctx, *args):
        """CMS.INITBYPROB key error probability"""
        return self._create(ctx, args, "cms.initbyprob", _dimensions_for_probabilities)

    def _create(self, ctx, args, name, dimensions):
        """CMSketch_Create: an empty key, then the dimensions the command's two arguments give."""
        if len(args) != 3:
            raise wrong_arity(name)
        key = args[0]
        if key_exists(ctx, key, self.type):
            raise ReplyError(KEY_EXISTS)
        width, depth = dimensions(*args[1:])
        if width > INT64_MAX // depth:
            raise ReplyError("CMS: invalid init arguments")
        if width * depth * 4 > MAX_ALLOCATION:
            raise ReplyError("CMS: Insufficient memory to create the key")
        ctx.set_value(key, self.type, CountMinSketch(width, depth))
        return OK

    def incrby(self, ctx, *args):
        """CMS.INCRBY key item increment [item increment ...]"""
        if len(args) < 3 or len(args) % 2 == 0:
            raise wrong_arity("cms.incrby")
        sketch = self.existing(ctx, args[0])
        pairs = []
        for item, raw in zip(args[1::2], args[2::2]):
            value = long_long(raw)
            if value is None:
                raise ReplyError("CMS: Cannot parse number")
            if value < 0:
                raise ReplyError("CMS: Number cannot be negative")
            pairs.append((item, value))
        counts = [sketch.increment(item, value) for item, value in pairs]
        changed(ctx, args[0])
        return [count if count != UINT32_MAX else Error("CMS: INCRBY overflow") for count in counts]

    def query(self, ctx, *args):
        """CMS.QUERY key item [item ...]"""
        return self.each_item(ctx, args, "cms.query", CountMinSketch.query)

    def merge(self, ctx, *args):
        """CMS.MERGE destination numKeys source [source ...] [WEIGHTS weight [weight ...]]"""
        if len(args) < 3:
            raise wrong_arity("cms.merge")
        destination = self.existing(ctx, args[0])
        count = long_long(args[1])
        if count is None:
            raise ReplyError("CMS: invalid numkeys")
        sources, weights = self._merge_sources(ctx, destination, count, args[2:])
        if not destination.merge(sources, weights):
            raise ReplyError("CMS: MERGE overflow")
        changed(ctx, args[0])
        return OK

    def _merge_sources(self, ctx, destination, count, rest):
        """parseMergeArgs: the source sketches and their weights, checked in RedisBloom's order."""
        if count <= 0:
            raise ReplyError("CMS: Number of keys must be positive")
        position = arg_index(b"WEIGHTS", rest)
        if position < 0 and count != len(rest):
            raise ReplyError("CMS: wrong number of keys")
        if position >= 0 and (position != count or len(rest) != 1 + count * 2):
            raise ReplyError("CMS: wrong number of keys/weights")
        sources, weights = [], []
        for index in range(count):
            weight = 1 if position < 0 else long_long(rest[count + 1 + index])
            if weight is None:
                raise ReplyError("CMS: invalid weight value")
            source = self.existing(ctx, rest[index])
            if source.width != destination.width or source.depth != destination.depth:
                raise ReplyError("CMS: width/depth is not equal")
            sources.append(source)
            weights.append(weight)
        return sources, weights

    def info(self, ctx, *args):
        """CMS.INFO key"""
        if len(args) != 1:
            raise wrong_arity("cms.info")
        sketch = self.existing(ctx, args[0])
        counter = sketch.counter - _UINT64 if sketch.counter > INT64_MAX else sketch.counter
        return info_reply((("width", sketch.width), ("depth", sketch.depth), ("count", counter)))


def register(module):
    """Registers CMSk-TYPE and the CMS.* commands, flagged and keyed as RedisBloom registers them."""
    sketch_type = data_type(module, TYPE_NAME, ENCODING_VERSION, save=save, load=load,
                            memory_usage=memory_usage, copy=CountMinSketch.copy)
    commands = CountMinCommands(sketch_type)
    add_commands(module, (
        ("cms.initbydim", commands.initbydim, WRITES),
        ("cms.initbyprob", commands.initbyprob, WRITES),
        ("cms.incrby", commands.incrby, WRITES),
        ("cms.query", commands.query, READONLY),
        ("cms.merge", commands.merge, WRITES),
        ("cms.info", commands.info, READONLY)))
