"""CF.*: RedisBloom 2.6's cuckoo filter commands and its data type MBbloomCF (rebloom.c), over
cuckoofilter.py's filter.

A value is saved as RedisBloom's encoding version 4 writes it (sub-filter count, bucket count, items,
deletes, bucket size, max iterations, expansion, then each sub-filter's bucket count and slots); the
AOF rewrite emits CF.LOADCHUNK commands, the header and then the slot arrays, as CFAofRewrite does.
"""
from modules.api import Error, ReplyError
from modules.probabilistic.arguments import (ITEM_EXISTS, NOT_FOUND, OK, READS, WRITES, add_commands, arg_index,
                                             changed, existing, info_reply, long_long, membership, present,
                                             wrong_arity)
from modules.probabilistic.cuckoofilter import EXISTS, HEADER, INSERTED, NO_SPACE, CuckooFilter

TYPE_NAME = "MBbloomCF"
ENCODING_VERSION = 4  # CF_MIN_EXPANSION_VERSION: bucket size, iterations and expansion are saved
DEFAULT_CAPACITY = 1024
DEFAULT_BUCKET_SIZE, DEFAULT_MAX_ITERATIONS, DEFAULT_EXPANSION = 2, 20, 1
# RedisBloom 2.6's bounds (the fields are uint8_t and uint16_t in its structs).
MAX_BUCKET_SIZE, MAX_ITERATIONS, MAX_EXPANSION = 255, 65535, 32768
CAPACITY_TOO_SMALL = "Capacity must be at least (BucketSize * 2)"


def save(writer, cf):
    """CFRdbSave."""
    for number in (len(cf.filters), cf.num_buckets, cf.num_items, cf.num_deletes, cf.bucket_size,
                   cf.max_iterations, cf.expansion):
        writer.unsigned(number)
    for sub in cf.filters:
        writer.unsigned(sub.num_buckets)
        writer.string(bytes(sub.slots))


def load(reader, encoding_version):
    """CFRdbLoad for encoding version 4 (earlier ones come from RedisBloom 1.x)."""
    if encoding_version != ENCODING_VERSION:
        return None
    count, *fields = [reader.unsigned() for _ in range(7)]  # then buckets, items, deletes, bucket size...
    if count > 0xFFFF:
        return None
    subfilters = [(reader.unsigned(), reader.string()) for _ in range(count)]
    return CuckooFilter.from_fields(fields, subfilters)


def rewrite(key, cf):
    """CFAofRewrite: CF.LOADCHUNK with the header at position 1, then every chunk."""
    commands = [[b"CF.LOADCHUNK", key, b"1", cf.encoded_header()]]
    position = 1
    while (dumped := cf.encoded_chunk(position)) is not None:
        position, chunk = dumped
        commands.append([b"CF.LOADCHUNK", key, b"%d" % position, chunk])
    return commands


def _bounded(argv, word, low, high, unparsable, out_of_range, default):
    """A CF.RESERVE option found anywhere in argv (RMUtil_ArgIndex), within [low, high]."""
    at = arg_index(word, argv)
    if at == -1:
        return default
    value = long_long(argv[at + 1]) if at + 1 < len(argv) else None
    if value is None:
        raise ReplyError(unparsable)
    if not low <= value <= high:
        raise ReplyError(out_of_range)
    return value


class CuckooCommands:
    """The CF.* handlers, bound to the module's registered type and load-time defaults."""

    def __init__(self, module_type, defaults):
        self.type = module_type
        self.defaults = defaults

    def _create(self, ctx, key, capacity, bucket_size, max_iterations, expansion, failure):
        cf = CuckooFilter.create(capacity, bucket_size, max_iterations, expansion)
        if cf is None:
            raise ReplyError(failure)
        ctx.set_value(key, self.type, cf)
        return cf

    def reserve(self, ctx, *arguments):
        """CF.RESERVE key capacity [BUCKETSIZE bucketsize] [MAXITERATIONS maxiterations] [EXPANSION expansion]"""
        argv = (b"cf.reserve",) + arguments
        if len(argv) < 3 or len(argv) % 2 == 0:
            raise wrong_arity("cf.reserve")
        capacity = long_long(argv[2])
        if capacity is None:
            raise ReplyError("Bad capacity")
        iterations = _bounded(argv, b"MAXITERATIONS", 1, MAX_ITERATIONS, "Couldn't parse MAXITERATIONS",
                              "MAXITERATIONS parameter needs to be a positive integer", DEFAULT_MAX_ITERATIONS)
        bucket_size = _bounded(argv, b"BUCKETSIZE", 1, MAX_BUCKET_SIZE, "Couldn't parse BUCKETSIZE",
                               "BUCKETSIZE parameter needs to be a positive integer", DEFAULT_BUCKET_SIZE)
        expansion = _bounded(argv, b"EXPANSION", 0, MAX_EXPANSION, "Couldn't parse EXPANSION",
                             "EXPANSION parameter needs to be a non-negative integer", DEFAULT_EXPANSION)
        if bucket_size * 2 > capacity:
            raise ReplyError(CAPACITY_TOO_SMALL)
        if ctx.get_value(argv[1], self.type) is not None:
            raise ReplyError(ITEM_EXISTS)
        self._create(ctx, argv[1], capacity, bucket_size, iterations, expansion, "Couldn't create Cuckoo Filter")
        return OK

    def _insert(self, ctx, key, items, unique, multi, capacity, autocreate=True):
        """cfInsertCommon: added, already there (NX forms), or no room: "Filter is full" for one item, -1 in
        CF.INSERT's array."""
        cf = ctx.get_value(key, self.type)
        if cf is None:
            if not autocreate:
                raise ReplyError(NOT_FOUND)
            cf = self._create(ctx, key, capacity, DEFAULT_BUCKET_SIZE, DEFAULT_MAX_ITERATIONS, DEFAULT_EXPANSION,
                              "Could not create filter")
        else:
            changed(ctx, key)
        if len(cf.filters) >= self.defaults.cf_max_expansions:
            raise ReplyError("Maximum expansions reached")
        replies = []
        for item in items:
            status = cf.insert(item, unique)
            if status is None or (status == NO_SPACE and not multi):
                # None: the next sub-filter would pass our memory bound (RedisBloom: its calloc failed)
                failure = "Filter is full" if status == NO_SPACE else "Memory allocation failure"
                if not multi:
                    raise ReplyError(failure)
                replies.append(Error(failure))
            elif multi:
                replies.append({INSERTED: 1, EXISTS: 0, NO_SPACE: -1}[status])
            else:  # CF.ADD and CF.ADDNX answer a boolean, CF.INSERT[NX] integers (-1: no room)
                replies.append(status == INSERTED)
        return replies if multi else replies[0]

    def add(self, ctx, *arguments):
        """CF.ADD key item"""
        if len(arguments) != 2:
            raise wrong_arity("cf.add")
        return self._insert(ctx, arguments[0], arguments[1:], False, False, DEFAULT_CAPACITY)

    def addnx(self, ctx, *arguments):
        """CF.ADDNX key item"""
        if len(arguments) != 2:
            raise wrong_arity("cf.addnx")
        return self._insert(ctx, arguments[0], arguments[1:], True, False, DEFAULT_CAPACITY)

    def _insert_command(self, ctx, name, arguments, unique):
        """CF.INSERT / CF.INSERTNX key [CAPACITY capacity] [NOCREATE] ITEMS item [item ...], options told
        apart by their first letter."""
        argv = (name.encode(),) + arguments
        if len(argv) < 4:
            raise wrong_arity(name)
        capacity, autocreate, position, items_at = DEFAULT_CAPACITY, True, 2, -1
        while position < len(argv) and items_at < 0:
            first = argv[position][:1].lower()
            if first == b"c":
                position += 1
                if position == len(argv):
                    raise wrong_arity(name)
                capacity = long_long(argv[position])
                if capacity is None:
                    raise ReplyError("Bad capacity")
                if DEFAULT_BUCKET_SIZE * 2 > capacity:
                    raise ReplyError(CAPACITY_TOO_SMALL)
                position += 1
            elif first == b"i":
                items_at = position = position + 1
            elif first == b"n":
                autocreate = False
                position += 1
            else:
                raise ReplyError("Unknown argument received")
        if items_at < 0 or items_at == len(argv):
            raise wrong_arity(name)
        return self._insert(ctx, argv[1], argv[items_at:], unique, True, capacity, autocreate)

    def insert(self, ctx, *arguments):
        """CF.INSERT key [CAPACITY capacity] [NOCREATE] ITEMS item [item ...]"""
        return self._insert_command(ctx, "cf.insert", arguments, unique=False)

    def insertnx(self, ctx, *arguments):
        """CF.INSERTNX key [CAPACITY capacity] [NOCREATE] ITEMS item [item ...]"""
        return self._insert_command(ctx, "cf.insertnx", arguments, unique=True)

    def exists(self, ctx, *arguments):
        """CF.EXISTS key item"""
        return membership(ctx, "cf.exists", arguments, self.type, multi=False)

    def mexists(self, ctx, *arguments):
        """CF.MEXISTS key item [item ...]"""
        return membership(ctx, "cf.mexists", arguments, self.type, multi=True)

    def count(self, ctx, *arguments):
        """CF.COUNT key item: how many copies of its fingerprint the item's buckets hold."""
        if len(arguments) != 2:
            raise wrong_arity("cf.count")
        cf = present(ctx, arguments[0], self.type)
        return 0 if cf is None else cf.count(arguments[1])

    def delete(self, ctx, *arguments):
        """CF.DEL key item"""
        if len(arguments) != 2:
            raise wrong_arity("cf.del")
        cf = present(ctx, arguments[0], self.type)
        if cf is None:
            raise ReplyError("Not found")
        changed(ctx, arguments[0])
        return cf.delete(arguments[1]) == 1

    def info(self, ctx, *arguments):
        """CF.INFO key"""
        if len(arguments) != 1:
            raise wrong_arity("cf.info")
        cf = existing(ctx, arguments[0], self.type)
        return info_reply((
            ("Size", cf.memory_usage()), ("Number of buckets", cf.num_buckets),
            ("Number of filters", len(cf.filters)), ("Number of items inserted", cf.num_items),
            ("Number of items deleted", cf.num_deletes), ("Bucket size", cf.bucket_size),
            ("Expansion rate", cf.expansion), ("Max iterations", cf.max_iterations)))

    def scandump(self, ctx, *arguments):
        """CF.SCANDUMP key position: [1, header] at 0, then [next position, chunk] until [0, nil]."""
        if len(arguments) != 2:
            raise wrong_arity("cf.scandump")
        position = long_long(arguments[1])
        if position is None:
            raise ReplyError("Invalid position")
        cf = existing(ctx, arguments[0], self.type)
        if not cf.num_items:
            return [0, None]
        if position == 0:
            return [1, cf.encoded_header()]
        dumped = cf.encoded_chunk(position)
        return [0, None] if dumped is None else list(dumped)

    def loadchunk(self, ctx, *arguments):
        """CF.LOADCHUNK key position data: position 1 with a header creates the filter, later ones fill it."""
        if len(arguments) != 3:
            raise wrong_arity("cf.loadchunk")
        key, raw, data = arguments
        position = long_long(raw)
        if not position:
            raise ReplyError("Invalid position")
        cf = ctx.get_value(key, self.type)
        if position == 1:
            if cf is not None:
                raise ReplyError(ITEM_EXISTS)
            if len(data) != HEADER.size:
                raise ReplyError("Invalid header")
            cf = CuckooFilter.from_header(data)
            if cf is None:
                raise ReplyError("Couldn't create filter!")
            ctx.set_value(key, self.type, cf)
            return OK
        if cf is None:
            raise ReplyError(NOT_FOUND)
        if not cf.load_chunk(position, data):
            raise ReplyError("Couldn't load chunk!")
        changed(ctx, key)
        return OK


def register(module, defaults):
    """The MBbloomCF type and the CF.* commands, as rebloom.c's RedisModule_OnLoad creates them."""
    module_type = module.data_type(TYPE_NAME, ENCODING_VERSION, save=save, load=load, rewrite=rewrite,
                                   memory_usage=CuckooFilter.memory_usage, copy=CuckooFilter.copy)
    commands = CuckooCommands(module_type, defaults)
    add_commands(module, (
        ("cf.reserve", commands.reserve, WRITES), ("cf.add", commands.add, WRITES),
        ("cf.addnx", commands.addnx, WRITES), ("cf.insert", commands.insert, WRITES),
        ("cf.insertnx", commands.insertnx, WRITES), ("cf.exists", commands.exists, READS),
        ("cf.mexists", commands.mexists, READS), ("cf.del", commands.delete, WRITES),
        ("cf.count", commands.count, READS), ("cf.info", commands.info, READS),
        ("cf.scandump", commands.scandump, READS), ("cf.loadchunk", commands.loadchunk, WRITES)))
