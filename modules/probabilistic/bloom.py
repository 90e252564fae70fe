"""BF.*: RedisBloom 2.6's Bloom filter commands and its data type MBbloom-- (rebloom.c), over
sbchain.py's scalable filter.

A value is saved as RedisBloom's encoding version 4 writes it (the chain's size, link count, options and
growth, then each link's entries, error, hashes, bpe, bits, n2, bit array and item count), so an RDB
file or DUMP payload carries what RedisBloom's would; the AOF rewrite emits BF.LOADCHUNK commands, the
header and then the bit arrays, as RedisBloom's BFAofRewrite does.
"""
from modules.api import Error, ReplyError
from modules.probabilistic.arguments import (ITEM_EXISTS, NOT_FOUND, OK, READS, WRITES, add_commands, arg_index,
                                             changed, double, existing, info_reply, long_long, membership,
                                             wrong_arity)
from modules.probabilistic.sbchain import FilterError, ScalableBloom, chain_from_fields

TYPE_NAME = "MBbloom--"
ENCODING_VERSION = 4  # BF_MIN_GROWTH_ENC: the growth factor is saved
MIN_OPTIONS_ENCODING = 2  # BF_MIN_OPTIONS_ENC
DEFAULT_EXPANSION = 2
INFO_FIELDS = {b"capacity": "Capacity", b"size": "Size", b"filters": "Number of filters",
               b"items": "Number of items inserted", b"expansion": "Expansion rate"}


def save(writer, chain):
    """BFRdbSave."""
    for number in (chain.size, len(chain.links), chain.options, chain.growth):
        writer.unsigned(number)
    for link in chain.links:
        writer.unsigned(link.entries)
        writer.double(link.error)
        writer.unsigned(link.hashes)
        writer.double(link.bpe)
        writer.unsigned(link.bits)
        writer.unsigned(link.n2)
        writer.string(bytes(link.array))
        writer.unsigned(link.size)


def load(reader, encoding_version):
    """BFRdbLoad, for the encodings RedisBloom 2.x writes (2 to 4; version 4 adds the growth factor)."""
    if not MIN_OPTIONS_ENCODING <= encoding_version <= ENCODING_VERSION:
        return None
    size, count, options = reader.unsigned(), reader.unsigned(), reader.unsigned()
    growth = reader.unsigned() if encoding_version >= ENCODING_VERSION else DEFAULT_EXPANSION
    if count >= 1000:  # rebloom.c's sanity check
        return None
    links = []
    for _ in range(count):
        entries, error, hashes, bpe = reader.unsigned(), reader.double(), reader.unsigned(), reader.double()
        bits, n2, array = reader.unsigned(), reader.unsigned(), reader.string()
        links.append((entries, error, hashes, bpe, bits, n2, array, reader.unsigned()))
    try:
        return chain_from_fields(size, options, growth, links)
    except FilterError:
        return None


def rewrite(key, chain):
    """BFAofRewrite: BF.LOADCHUNK with the header at iterator 1, then every chunk SCANDUMP would give."""
    commands = [[b"BF.LOADCHUNK", key, b"1", chain.encoded_header()]]
    position = 1
    while True:
        position, chunk = chain.encoded_chunk(position)
        if position == 0:
            return commands
        commands.append([b"BF.LOADCHUNK", key, b"%d" % position, chunk])


class BloomCommands:
    """The BF.* handlers, bound to the module's registered type and load-time defaults."""

    def __init__(self, module_type, defaults):
        self.type = module_type
        self.defaults = defaults

    def _create(self, ctx, key, capacity, error, expansion, nonscaling):
        try:
            chain = ScalableBloom.create(capacity, error, expansion, nonscaling)
        except FilterError as failure:
            raise ReplyError(str(failure)) from None
        ctx.set_value(key, self.type, chain)
        return chain

    def reserve(self, ctx, *arguments):
        """BF.RESERVE key error_rate capacity [EXPANSION expansion] [NONSCALING]"""
        argv = (b"bf.reserve",) + arguments
        if not 4 <= len(argv) <= 7:
            raise wrong_arity("bf.reserve")
        error = double(argv[2])
        if error is None:
            raise ReplyError("ERR bad error rate")
        if not 0 < error < 1:
            raise ReplyError("ERR (0 < error rate range < 1)")
        capacity = long_long(argv[3])
        if capacity is None:
            raise ReplyError("ERR bad capacity")
        if capacity <= 0:
            raise ReplyError("ERR (capacity should be larger than 0)")
        nonscaling = arg_index(b"NONSCALING", argv) != -1
        expansion, at = DEFAULT_EXPANSION, arg_index(b"EXPANSION", argv)
        if at + 1 == len(argv):
            raise ReplyError("ERR no expansion")
        if at != -1:
            if nonscaling:
                raise ReplyError("Nonscaling filters cannot expand")
            expansion = long_long(argv[at + 1])
            if expansion is None:
                raise ReplyError("ERR bad expansion")
            if expansion <= 0:
                raise ReplyError("ERR expansion should be greater or equal to 1")
        if ctx.get_value(argv[1], self.type) is not None:
            raise ReplyError(ITEM_EXISTS)
        self._create(ctx, argv[1], capacity, error, expansion, nonscaling)
        return OK

    def _insert(self, ctx, key, items, multi, capacity, error, expansion=DEFAULT_EXPANSION, nonscaling=False,
                autocreate=True):
        """bfInsertCommon: each item's true (new) or false; a full NONSCALING chain ends the reply with its error."""
        chain = ctx.get_value(key, self.type)
        if chain is None:
            if not autocreate:
                raise ReplyError(NOT_FOUND)
            chain = self._create(ctx, key, capacity, error, expansion, nonscaling)
        else:
            changed(ctx, key)
        replies = []
        for item in items:
            try:
                replies.append(chain.add(item) == 1)
            except FilterError as failure:
                if not multi:
                    raise ReplyError(str(failure)) from None
                replies.append(Error(str(failure)))
                break
        return replies if multi else replies[0]

    def add(self, ctx, *arguments):
        """BF.ADD key item"""
        if len(arguments) != 2:
            raise wrong_arity("bf.add")
        return self._insert(ctx, arguments[0], arguments[1:], False, self.defaults.initial_size,
                            self.defaults.error_rate)

    def madd(self, ctx, *arguments):
        """BF.MADD key item [item ...]"""
        if len(arguments) < 2:
            raise wrong_arity("bf.madd")
        return self._insert(ctx, arguments[0], arguments[1:], True, self.defaults.initial_size,
                            self.defaults.error_rate)

    def insert(self, ctx, *arguments):
        """BF.INSERT key [CAPACITY capacity] [ERROR error] [EXPANSION expansion] [NOCREATE] [NONSCALING]
        ITEMS item [item ...]: options are told apart by their first letters, as rebloom.c does."""
        argv = (b"bf.insert",) + arguments
        if len(argv) < 4:
            raise wrong_arity("bf.insert")
        options = {"capacity": self.defaults.initial_size, "error": self.defaults.error_rate,
                   "expansion": DEFAULT_EXPANSION, "nonscaling": False, "autocreate": True}
        position, items_at = 2, -1
        while position < len(argv) and items_at < 0:
            word = argv[position].lower()
            first = word[:1]
            if first == b"i":
                items_at = position = position + 1
            elif first in (b"e", b"c"):
                position += 1
                if position == len(argv):
                    raise wrong_arity("bf.insert")
                self._insert_option(options, word, argv[position])
                position += 1
            elif first == b"n":  # NOCREATE if the third letter is a C, else NONSCALING
                if word[2:3] == b"c":
                    options["autocreate"] = False
                else:
                    options["nonscaling"] = True
                position += 1
            else:
                raise ReplyError("Unknown argument received")
        if items_at < 0 or items_at == len(argv):
            raise wrong_arity("bf.insert")
        if not 0 < options["error"] < 1 or options["capacity"] < 1 or options["expansion"] < 1:
            raise ReplyError("Bad argument received")
        return self._insert(ctx, argv[1], argv[items_at:], True, **options)

    @staticmethod
    def _insert_option(options, word, raw):
        if word[:1] == b"c":
            name, value, failure = "capacity", long_long(raw), "Bad capacity"
        elif word[1:2] == b"r":
            name, value, failure = "error", double(raw), "Bad error rate"
        else:
            name, value, failure = "expansion", long_long(raw), "Bad expansion"
        if value is None:
            raise ReplyError(failure)
        options[name] = value

    def exists(self, ctx, *arguments):
        """BF.EXISTS key item"""
        return membership(ctx, "bf.exists", arguments, self.type, multi=False)

    def mexists(self, ctx, *arguments):
        """BF.MEXISTS key item [item ...]"""
        return membership(ctx, "bf.mexists", arguments, self.type, multi=True)

    def info(self, ctx, *arguments):
        """BF.INFO key [CAPACITY | SIZE | FILTERS | ITEMS | EXPANSION]: one field comes as a one-element array."""
        if len(arguments) not in (1, 2):
            raise wrong_arity("bf.info")
        chain = existing(ctx, arguments[0], self.type)
        values = {b"capacity": chain.capacity(), b"size": chain.memory_usage(), b"filters": len(chain.links),
                  b"items": chain.size, b"expansion": chain.growth if chain.scaling else None}
        if len(arguments) == 2:
            field = arguments[1].lower()
            if field not in values:
                raise ReplyError("Invalid information value")
            return [values[field]]
        return info_reply((INFO_FIELDS[field], value) for field, value in values.items())

    def card(self, ctx, *arguments):
        """BF.CARD key: the items added (0 for a missing key)."""
        if len(arguments) != 1:
            raise wrong_arity("bf.card")
        chain = ctx.get_value(arguments[0], self.type)
        return 0 if chain is None else chain.size

    def scandump(self, ctx, *arguments):
        """BF.SCANDUMP key iterator: [1, header] at 0, then [next iterator, chunk] until [0, ""]."""
        if len(arguments) != 2:
            raise wrong_arity("bf.scandump")
        chain = existing(ctx, arguments[0], self.type)
        iterator = long_long(arguments[1])
        if iterator is None:
            raise ReplyError("Second argument must be numeric")
        if iterator == 0:
            return [1, chain.encoded_header()]
        return list(chain.encoded_chunk(iterator))

    def loadchunk(self, ctx, *arguments):
        """BF.LOADCHUNK key iterator data: iterator 1 with a header creates the filter, later ones fill it."""
        if len(arguments) != 3:
            raise wrong_arity("bf.loadchunk")
        key, raw, data = arguments
        iterator = long_long(raw)
        if iterator is None:
            raise ReplyError("ERR Second argument must be numeric")
        chain = ctx.get_value(key, self.type)
        try:
            if chain is None:
                if iterator != 1:
                    raise ReplyError(NOT_FOUND)
                ctx.set_value(key, self.type, ScalableBloom.from_header(data))
                return OK
            chain.load_chunk(iterator, data)
        except FilterError as failure:
            raise ReplyError(str(failure)) from None
        changed(ctx, key)
        return OK


def register(module, defaults):
    """The MBbloom-- type and the BF.* commands, as rebloom.c's RedisModule_OnLoad creates them."""
    module_type = module.data_type(TYPE_NAME, ENCODING_VERSION, save=save, load=load, rewrite=rewrite,
                                   memory_usage=ScalableBloom.memory_usage, copy=ScalableBloom.copy)
    commands = BloomCommands(module_type, defaults)
    add_commands(module, (
        ("bf.reserve", commands.reserve, WRITES), ("bf.add", commands.add, WRITES),
        ("bf.madd", commands.madd, WRITES), ("bf.insert", commands.insert, WRITES),
        ("bf.exists", commands.exists, READS), ("bf.mexists", commands.mexists, READS),
        ("bf.info", commands.info, READS), ("bf.card", commands.card, READS),
        ("bf.scandump", commands.scandump, READS), ("bf.loadchunk", commands.loadchunk, WRITES)))
