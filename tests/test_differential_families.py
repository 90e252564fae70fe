"""A seeded differential fuzzer for the newer families: bitmaps and BITFIELD, SORT, HyperLogLog, geo,
DUMP/RESTORE, against Redis 7.0.15.

Each sequence starts from FLUSHALL and the same keys of every type, then runs commands drawn from a
grammar per family that mixes valid arguments with edge cases (negative, huge and overflowing numbers,
`inf`/`nan`/`-0`/`1e400`/hex, empty strings, keys of other types, option words in odd cases, orders
and repeats, RESTORE of real DUMPs cut short or altered). Every raw reply must be byte-identical, and
our server must never log a traceback. The inputs that are cheap to send but costly to serve (huge
offsets, thousands of BITFIELD operations, huge radii, LIMITs and declared lengths) get their own
tests, each asked of both servers once. Bounded: a fixed number of sequences, cut short past a time
budget, with a fixed seed (a failure shows the command and the ones before it).

Left out, each for an entry in the README's known differences: SORT of a hash-table set or a sorted
set where Redis's order comes from its hash table (BY nosort, and ALPHA under a BY pattern, where
values tie); DUMP of a hash-table set (its members' order); a numeric SORT after a number that made
strtod overflow (a new connection first: see RANGE_ERRORS); RESTORE's payloads are checked as Redis's
`sanitize-dump-payload yes` does, and a value restored from an altered one is read only in ways that
do not show the encoding Redis kept (see _READERS). Also left out, as no command makes it: a sparse
HyperLogLog ending in half an XZERO that PFADD then splits (see the APPEND in Grammar.hyperloglog).
"""
import random
import struct
import time

import pytest

from conftest import ours_and_redis
from differential import Pair, mask_client_id
from persistence.codecs import crc64

SEED = 20261206
SEQUENCES = 1500     # random sequences, each of COMMANDS commands, drawn from every family in turn
COMMANDS = 25
BUDGET = 25.0        # seconds: the sequences stop early past it (on a busy machine), never fail for it

KEYS = ["s", "n", "ln", "lw", "si", "st", "z", "h", "hll", "g", "b", "nokey", "dest", "w_1", "wh_1", ""]
NUMBERS = ["0", "1", "-1", "2", "7", "8", "63", "64", "-0", "+1", " 1", "1 ", "01", "0x10", "1e3", "1e400",
           "-1e400", "inf", "-inf", "+inf", "nan", "3.5", "-3.5", "", "abc", "9223372036854775807",
           "-9223372036854775808", "9223372036854775808", "-9223372036854775809", "4294967296", "2147483647",
           "-2147483648", "18446744073709551615", "1.5e2", ".5", "5.", "1e-5", "0.0", "-0.0", "100000"]
WORDS = ["ASC", "desc", "Alpha", "LIMIT", "STORE", "BY", "GET", "COUNT", "ANY", "WITHDIST", "withcoord",
         "WithHash", "STOREDIST", "M", "km", "FT", "mi", "x", "REPLACE", "ABSTTL", "IDLETIME", "FREQ"]

# Every sequence starts from these: one key of each type, and what SORT's patterns point at.
PREAMBLE = [
    ("SET", "s", "hello world"), ("SET", "n", "42"),
    ("RPUSH", "ln", "3", "1", "2", "10", "-5", "1.5", "07", "2", "1e1"),
    ("RPUSH", "lw", "b", "a", "c", "", "a", "B", "10", "9"),
    ("SADD", "si", "5", "3", "9", "1", "-7"), ("SADD", "st", "x", "y", "z", "3"),
    ("ZADD", "z", "1", "a", "2", "b", "2", "c", "3", "d", "-inf", "e"),
    ("HSET", "h", "f", "1", "g", "x"),
    ("PFADD", "hll", "a", "b", "c"),
    ("GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania", "2.35", "48.85",
     "Paris", "-0.12", "51.5", "London", "0", "0", "zero", "179.9", "-85", "far"),
    ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "100", "1"),
    ("MSET", "w_3", "30", "w_1", "10", "w_2", "-2", "w_a", "x", "w_x", "1", "w_10", "5"),
    ("HSET", "wh_3", "f", "3"), ("HSET", "wh_1", "f", "x", "g", "1"), ("HSET", "wh_2", "f", "2"),
    ("HSET", "wh_b", "f", "b"), ("HSET", "wh_a", "f", "b"),
]


class Grammar:
    """Random commands of each family, from a seeded random.Random."""

    def __init__(self, rnd):
        self.rnd = rnd
        self.payloads = []  # DUMPs taken from Redis during the sequence, for RESTORE to mangle
        self.range_error = False  # a number that set strtod's ERANGE was sent (see RANGE_ERRORS)

    def choice(self, items):
        return self.rnd.choice(items)

    def chance(self, p):
        return self.rnd.random() < p

    def key(self):
        return self.choice(KEYS)

    def number(self):
        return self.choice(NUMBERS) if self.chance(0.5) else str(self.rnd.randint(-20, 120))

    def word(self, word):
        """An option word in an odd case now and then."""
        shapes = [word.upper(), word.lower(), word.capitalize(), word.swapcase()]
        return self.choice(shapes) if self.chance(0.3) else word.upper()

    def element(self):
        return self.choice(["a", "b", "c", "", "1", "-1", "x" * 40, "\x00", "\xff\xfe", "Palermo", "zero",
                            str(self.rnd.randint(0, 10 ** 6))])

    # ------------------------------------------------------------------ bitmaps

    def bit_offset(self):
        return self.choice(["0", "7", "8", "100", "-1", "1e3", "", "4294967296", "9999999999", "0x10", " 3",
                            str(self.rnd.randint(0, 5000))])

    def bitmaps(self):
        key = self.key()
        kind = self.choice(["setbit", "getbit", "bitcount", "bitpos", "bitop", "bitfield", "bitfield_ro", "get", "set"])
        if kind == "set":  # bytes of every kind, and lengths across BITPOS's and BITCOUNT's word steps
            value = bytes(self.rnd.choice([0, 255, self.rnd.randrange(256)]) for _ in range(self.rnd.randint(0, 70)))
            return self.choice([("SET", key, value), ("APPEND", key, value), ("SETRANGE", key, self.number(), value)])
        if kind == "setbit":
            return ("SETBIT", key, self.bit_offset(), self.choice(["0", "1", "1", "2", "-1", "", "1.0"]))
        if kind == "getbit":
            return ("GETBIT", key, self.bit_offset())
        if kind in ("bitcount", "bitpos"):
            head = ("BITCOUNT", key) if kind == "bitcount" else ("BITPOS", key, self.choice(["0", "1", "2", "x"]))
            extra = [self.number() for _ in range(self.rnd.randint(0, 2))]
            if self.chance(0.4):
                extra.append(self.choice(["BIT", "byte", "Bit", "bits", ""]))
            return head + tuple(extra[:self.rnd.randint(0, 4)] if self.chance(0.2) else extra)
        if kind == "bitop":
            operation = self.choice(["AND", "or", "Xor", "NOT", "nand", ""])
            return ("BITOP", operation, self.choice(["dest", "b", "s"]),
                    *[self.key() for _ in range(self.rnd.randint(0, 3))])
        if kind == "get":
            return (self.choice(["GET", "STRLEN"]), key)
        return (kind.upper(), key, *self.bitfield_operations(read_only=kind == "bitfield_ro"))

    def bitfield_type(self):
        if self.chance(0.8):
            return self.choice("iu") + str(self.rnd.randint(1, 64))
        return self.choice(["i0", "u0", "i65", "I8", "x8", "i", "u8\x00z", "i08", "u 8", "", "i-1"])

    def bitfield_offset(self):
        return self.choice([str(self.rnd.randint(0, 300)), "#" + str(self.rnd.randint(0, 40)), "#-1", "#",
                            "-1", "#9223372036854775807", "4294967296", "x", "0"])

    def bitfield_operations(self, read_only=False):
        arguments = []
        for _ in range(self.rnd.randint(0, 8)):
            operation = self.choice(["GET"] * (6 if read_only else 2) + ["SET", "INCRBY", "OVERFLOW", "bogus"])
            if operation == "OVERFLOW":
                arguments += [self.word("overflow"), self.choice(["WRAP", "sat", "Fail", "none"])]
            elif operation == "GET":
                arguments += [self.word("get"), self.bitfield_type(), self.bitfield_offset()]
            elif operation == "bogus":
                arguments.append(self.choice(["bogus", "GET", "SET", "INCRBY", "OVERFLOW"]))  # short or unknown
            else:
                value = self.choice([self.number(), str(self.rnd.randint(-2 ** 64, 2 ** 64))])
                arguments += [self.word(operation), self.bitfield_type(), self.bitfield_offset(), value]
        return arguments

    # ------------------------------------------------------------------ SORT

    def sort_pattern(self):
        return self.choice(["w_*", "wh_*->f", "wh_*->g", "wh_*->", "*->f", "nokey_*", "nosort", "#", "*", "",
                            "w_*->f", "h->f", "w_*\x00x", "*_*", "w_", "wh_*->f->g"])

    def sort(self):
        name = self.choice(["SORT", "SORT", "sort_ro"])
        options = []
        for _ in range(self.rnd.randint(0, 5)):
            option = self.choice(["BY", "GET", "GET", "LIMIT", "ASC", "DESC", "ALPHA", "STORE", "junk"])
            if option in ("BY", "GET"):
                options += [self.word(option), self.sort_pattern()]
            elif option == "LIMIT":
                options += [self.word("limit"), self.number(), self.number()][:3 if self.chance(0.9) else 2]
            elif option == "STORE":
                options += [self.word("store"), self.choice(["dest", "ln", "s", "z"])]
            elif option == "junk":
                options.append(self.choice(WORDS))
            else:
                options.append(self.word(option))
        return (name, self.choice(["ln", "lw", "si", "st", "z", "s", "h", "nokey", "hll", "g"]), *options)

    # ------------------------------------------------------------------ HyperLogLog

    def hyperloglog(self):
        kind = self.choice(["pfadd", "pfadd", "pfcount", "pfmerge", "pfdebug", "get", "corrupt", "cross"])
        hll_keys = ["hll", "hll2", "dest", "s", "ln", "b", "nokey"]
        if kind == "pfadd":
            many = self.chance(0.1)
            elements = [str(self.rnd.random()) for _ in range(self.choice([300, 1500]))] if many else \
                [self.element() for _ in range(self.rnd.randint(0, 5))]
            return ("PFADD", self.choice(hll_keys), *elements)
        if kind == "pfcount":
            return ("PFCOUNT", *[self.choice(hll_keys) for _ in range(self.rnd.randint(1, 4))])
        if kind == "pfmerge":
            return ("PFMERGE", *[self.choice(hll_keys) for _ in range(self.rnd.randint(1, 4))])
        if kind == "pfdebug":
            return ("PFDEBUG", self.choice(["GETREG", "decode", "Encoding", "TODENSE", "nosuch"]),
                    self.choice(hll_keys))
        if kind == "get":
            return ("GET", self.choice(hll_keys))
        if kind == "corrupt":  # HLL headers with something wrong after them
            return self.choice([
                ("SET", "hll2", "HYLL"), ("SET", "hll2", b"HYLL\x02" + bytes(11)),
                ("SET", "hll2", b"HYLL\x01" + bytes(11) + b"\x7f" * 5),
                ("SET", "hll2", b"HYLL\x00" + bytes(11) + b"\x00" * 100),
                ("SETRANGE", "hll", "4", self.choice(["\x01", "\x00", "\x02", "\xff"])),
                ("SETRANGE", "hll", str(self.rnd.randint(16, 30)), self.choice(["\x7f", "\x00", "\xff", "\x40"])),
                # Never a lone XZERO byte (0x40-0x7f) at the end: when PFADD splits that XZERO, Redis
                # reads the byte past the string's end, which its split left holding the old low byte.
                ("APPEND", "hll", self.choice([b"\x01", b"\x80\x80\x80", b"\x7f\xff"])),
                ("SETRANGE", "hll", "15", "\x80"),  # the cache's "invalid" bit
            ])
        return self.choice([("SETBIT", "hll", self.choice(["0", "40", "130", "200"]), "1"),
                            ("LPUSH", "hll", "x"), ("GEOADD", "hll", "1", "1", "m"), ("SORT", "hll"),
                            ("BITCOUNT", "hll"), ("BITFIELD", "hll", "GET", "u8", "32"),
                            ("PFADD", self.choice(["ln", "z", "g", "h", "si"]), "a")])

    # ------------------------------------------------------------------ geo

    def coordinate(self):
        return self.choice([repr(self.rnd.uniform(-180, 180)), repr(self.rnd.uniform(-85, 85)), "180", "-180",
                            "180.0000001", "85.05112878", "85.05112879", "-85.05112878", "-0", "0", "nan", "inf",
                            "1e400", "0x10", "", "1e-320", "12", "-45.5", " 3"])

    def distance(self):
        return self.choice(["0", "1", "100", "1000", "500000", "-1", "1e400", "inf", "nan", "", "x", "0x10",
                            "20000000", "1e-9", str(self.rnd.uniform(0, 3000))])

    def unit(self):
        return self.choice(["m", "KM", "ft", "Mi", "mm", ""])

    def member(self):
        return self.choice(["Palermo", "Catania", "Paris", "London", "zero", "far", "nobody", ""])

    def geo_options(self, search):
        pieces = []
        if search:
            if self.chance(0.85):
                pieces.append([self.word("frommember"), self.member()] if self.chance(0.4) else
                              [self.word("fromlonlat"), self.coordinate(), self.coordinate()])
            if self.chance(0.85):
                pieces.append([self.word("byradius"), self.distance(), self.unit()] if self.chance(0.5) else
                              [self.word("bybox"), self.distance(), self.distance(), self.unit()])
        for _ in range(self.rnd.randint(0, 4)):
            option = self.choice(["ASC", "DESC", "COUNT", "WITHDIST", "WITHCOORD", "WITHHASH", "ANY", "STORE",
                                  "STOREDIST", "frommember", "bybox", "junk"])
            if option == "COUNT":
                piece = [self.word("count"), self.choice(["1", "2", "3", "0", "-1", "100", "x", "1e3"])]
                if self.chance(0.4):
                    piece.append(self.word("any"))
                pieces.append(piece)
            elif option in ("STORE", "STOREDIST") and self.chance(0.6):
                pieces.append([self.word(option), self.choice(["dest", "g", "s"])])
            elif option == "frommember":
                pieces.append([self.word("frommember"), self.member()])
            elif option == "bybox":
                pieces.append([self.word("bybox"), self.distance(), self.distance(), self.unit()])
            elif option == "junk":
                pieces.append([self.choice(WORDS)])
            else:
                pieces.append([self.word(option)])
        self.rnd.shuffle(pieces)
        return [word for piece in pieces for word in piece]

    def geo(self):
        geo_keys = ["g", "g", "z", "s", "nokey", "dest", "hll", "ln"]
        kind = self.choice(["geoadd", "geopos", "geohash", "geodist", "geosearch", "geosearch", "geosearchstore",
                            "georadius", "georadiusbymember", "zrange"])
        key = self.choice(geo_keys)
        if kind == "geoadd":
            flags = [self.word(self.choice(["nx", "xx", "ch"])) for _ in range(self.rnd.randint(0, 2))]
            triples = [part for _ in range(self.rnd.randint(0, 3))
                       for part in (self.coordinate(), self.coordinate(), self.member())]
            return ("GEOADD", key, *flags, *triples[:len(triples) - (1 if self.chance(0.1) else 0)])
        if kind in ("geopos", "geohash"):
            return (kind.upper(), key, *[self.member() for _ in range(self.rnd.randint(0, 3))])
        if kind == "geodist":
            return ("GEODIST", key, self.member(), self.member(), *([self.unit()] * self.rnd.randint(0, 2)))
        if kind == "geosearch":
            return ("GEOSEARCH", key, *self.geo_options(True))
        if kind == "geosearchstore":
            return ("GEOSEARCHSTORE", self.choice(["dest", "g", "s"]), key, *self.geo_options(True))
        if kind == "georadius":
            name = self.choice(["GEORADIUS", "georadius_ro"])
            return (name, key, self.coordinate(), self.coordinate(), self.distance(), self.unit(),
                    *self.geo_options(False))
        if kind == "georadiusbymember":
            name = self.choice(["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"])
            return (name, key, self.member(), self.distance(), self.unit(), *self.geo_options(False))
        return ("ZRANGE", self.choice(["dest", "g"]), "0", "-1", "WITHSCORES")

    # ------------------------------------------------------------------ DUMP and RESTORE

    def mangled(self, payload):
        """A payload cut short, with a byte changed (the CRC made right again, so the body is read),
        with a declared length made huge, or random bytes."""
        kind = self.choice(["whole", "cut", "flip", "flip", "length", "version", "random", "empty"])
        if kind == "whole" or len(payload) < 11:
            return payload
        body = payload[:-10]
        if kind == "cut":
            return payload[:self.rnd.randint(0, len(payload) - 1)]
        if kind == "flip":
            at = self.rnd.randrange(len(body))
            body = body[:at] + bytes([self.rnd.randrange(256)]) + body[at + 1:]
        elif kind == "length" and len(body) > 1:
            at = self.rnd.randrange(1, len(body))
            body = body[:at] + self.choice([b"\x80\xff\xff\xff\xff", b"\x81" + b"\xff" * 8, b"\x7f", b"\xbf\xff"]) \
                + body[at + 1:]
        elif kind == "version":
            return body + struct.pack("<H", self.choice([9, 11, 0xffff])) + payload[-8:]
        elif kind == "random":
            return bytes(self.rnd.randrange(256) for _ in range(self.rnd.randint(0, 40)))
        elif kind == "empty":
            return b""
        framed = body + payload[-10:-8]
        return framed + struct.pack("<Q", crc64(0, framed))

    def dump_restore(self):
        kind = self.choice(["dump", "restore", "restore", "restore", "check"])
        if kind == "dump" or not self.payloads:
            return ("DUMP", self.choice(["s", "n", "ln", "lw", "si", "z", "h", "hll", "g", "b", "nokey", "dest"]))
        if kind == "check":
            return self.choice([("GET", "dest"), ("LRANGE", "dest", "0", "-1"), ("ZRANGE", "dest", "0", "-1",
                                "WITHSCORES"), ("HGETALL", "dest"), ("TYPE", "dest"), ("EXISTS", "dest"),
                                ("PFCOUNT", "dest"), ("SMEMBERS", "dest")])
        options = []
        for _ in range(self.rnd.randint(0, 3)):
            option = self.choice(["REPLACE", "REPLACE", "ABSTTL", "IDLETIME", "FREQ", "junk"])
            if option in ("IDLETIME", "FREQ"):
                options += [self.word(option), self.choice(["0", "10", "255", "256", "-1", "x", "1e3"])]
            elif option == "junk":
                options.append(self.choice(WORDS))
            else:
                options.append(self.word(option))
        if self.chance(0.1) and options:
            options.pop()  # an option missing its value, now and then
        # never a TTL of a few milliseconds: it would run out between the two servers
        ttl = self.choice(["0", "0", "0", "-1", "x", "100000000", "9223372036854775807", ""])
        return ("RESTORE", self.choice(["dest", "dest", "s", "nokey"]), ttl,
                self.mangled(self.choice(self.payloads)), *options)

    FAMILIES = ("bitmaps", "sort", "hyperloglog", "geo", "dump_restore")

    def command(self, family):
        return getattr(self, family)()


def _set_needs_redis_order(pair, command):
    """Whether SORT would show where Redis's order comes from its hash table (README: "SORT loads a set or
    sorted set in our member order"): BY nosort or a constant on a hash-table set, or ALPHA under a BY
    pattern (where values tie) on one or on a sorted set. The key's type is asked of both."""
    words = [word.lower() for word in command[2:]]
    patterns = [words[i + 1] for i in range(len(words) - 1) if words[i] == "by"]
    if not patterns:
        return False
    kind = pair.check("TYPE", command[1])
    hash_ordered = kind == b"+set\r\n" and pair.check("OBJECT", "ENCODING", command[1]) == b"$9\r\nhashtable\r\n"
    constant = any("*" not in pattern.split("\x00")[0] for pattern in patterns)
    if hash_ordered and constant and "store" not in words:
        return True
    return (hash_ordered or kind == b"+zset\r\n") and "alpha" in words


# Numbers whose strtod sets ERANGE. Redis 7.0's sort.c reads errno after strtod without clearing it, so
# once one was parsed (by any command) a numeric SORT on that server fails until some system call
# resets errno, as accepting a connection does (README's known differences: "A numeric SORT reads...").
RANGE_ERRORS = ("1e400", "-1e400", "1e-320")


def _run_command(pair, grammar, command):
    if command[0].upper() in ("SORT", "SORT_RO"):
        if grammar.range_error:
            pair.reconnect()
            grammar.range_error = False
        if _set_needs_redis_order(pair, command):
            return
    grammar.range_error = grammar.range_error or any(argument in RANGE_ERRORS for argument in command)
    if command[0] == "DUMP" and pair.check("TYPE", command[1]) in (b"+set\r\n", b"+hash\r\n") \
            and pair.check("OBJECT", "ENCODING", command[1]) == b"$9\r\nhashtable\r\n":
        return  # README: a hash-table set or hash lists its members in insertion order
    reply = pair.check(*command)
    if command[0] == "DUMP" and reply.startswith(b"$") and not reply.startswith(b"$-1"):
        header_end = reply.index(b"\r\n") + 2
        grammar.payloads.append(reply[header_end:-2])
    if command[0] == "RESTORE" and reply == b"+OK\r\n" and command[3] not in grammar.payloads:
        _read_and_drop(pair, command[1])


# What a value restored from an altered payload may be read with before it is dropped. Redis keeps
# the listpack it was given as it came (a sorted set's out of order, its scores as integers), where ours
# holds the value it decodes: DUMP, and a sorted set's order, show the difference (README: DUMP writes
# Redis's bytes...). Hash-table sets list their members in our order (README: the hash-table line).
_READERS = {b"+string\r\n": ("GET",), b"+list\r\n": ("LRANGE", "0", "-1"), b"+hash\r\n": ("HGETALL",),
            b"+zset\r\n": ("ZCARD",), b"+set\r\n": ("SCARD",)}


def _read_and_drop(pair, key):
    reader = _READERS.get(pair.check("TYPE", key))
    if reader is not None:
        pair.check(reader[0], key, *reader[1:])
    pair.check("DEL", key)


def _no_tracebacks(ours, start):
    """Nothing failed inside ours: commands/__init__.py's call() logs "command 'name' failed"."""
    log = ours.log()[start:]
    assert "Traceback" not in log and "internal error" not in log and " failed" not in log, log[-3000:]


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """A pair on this module's own servers, and ours, to read its log. Redis checks RESTORE's payloads
    in full (README: RESTORE checks every payload as Redis's `sanitize-dump-payload yes` does)."""
    with ours_and_redis(tmp_path_factory.mktemp("ours"), tmp_path_factory.mktemp("redis"),
                        "--sanitize-dump-payload", "yes") as (ours, redis):
        with Pair(ours.port, redis.port) as pair:
            yield pair, ours


def _fresh(pair, resp3=False):
    pair.reconnect()
    pair.check("FLUSHALL")
    if resp3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_sequence(PREAMBLE)


def test_random_family_sequences_match_redis(both):
    pair, ours = both
    rnd = random.Random(SEED)
    deadline = time.monotonic() + BUDGET
    log_start = len(ours.log())
    for number in range(SEQUENCES):
        if time.monotonic() > deadline:
            break
        grammar = Grammar(random.Random(rnd.random()))
        family = Grammar.FAMILIES[number % len(Grammar.FAMILIES)]
        _fresh(pair, resp3=number % 4 == 3)
        for _ in range(COMMANDS):
            chosen = family if grammar.chance(0.8) else grammar.choice(Grammar.FAMILIES)
            _run_command(pair, grammar, grammar.command(chosen))
        pair.check_idle()
    _no_tracebacks(ours, log_start)


# ------------------------------------------------------------------ cheap to send, costly to serve

@pytest.fixture
def pair(both):
    """conftest's pair, on this module's servers: after FLUSHALL and the usual keys; afterwards, nothing
    failed inside ours."""
    pair, ours = both
    _fresh(pair)
    log_start = len(ours.log())
    yield pair
    _no_tracebacks(ours, log_start)


def _costly(pair, commands):
    """Each command on both, its reply compared: a reply later than the pair's 5 s read timeout shows as
    a difference, so a command ours serves unbounded fails here (no timed assertion)."""
    for command in commands:
        pair.check(*command)


def test_huge_bit_offsets_as_redis(pair):
    """The last bit proto-max-bulk-len allows makes a 512 MB string on both; one bit further is refused
    before anything is made, as are BITFIELD offsets past it (by "#" multiplied out, too)."""
    _costly(pair, [
        ("SETBIT", "big", "4294967296", "1"), ("SETBIT", "big", "18446744073709551615", "1"), ("EXISTS", "big"),
        ("BITFIELD", "big", "SET", "u8", "#536870912", "1"), ("BITFIELD", "big", "GET", "i64", "4294967296"),
        ("BITFIELD", "big", "SET", "i64", "#67108864", "1"), ("BITFIELD", "big", "SET", "u8", "#2305843009213693952", "1"),
        ("EXISTS", "big"), ("SETBIT", "big", "4294967295", "1"), ("STRLEN", "big"), ("GETBIT", "big", "4294967295"),
        ("BITCOUNT", "big", "-1", "-1"), ("BITPOS", "big", "1", "-2"), ("BITPOS", "big", "1", "-8", "-1", "BIT"),
        ("BITFIELD", "big", "SET", "i64", "4294967295", "-1", "GET", "u8", "#536870911"), ("STRLEN", "big"),
        ("BITFIELD_RO", "big", "GET", "u63", "4294967290", "GET", "i1", "4294967295"),
        ("SETBIT", "big", "0", "1"), ("BITPOS", "big", "1", "1"), ("DEL", "big"),
        ("BITFIELD", "big2", "SET", "u8", "#536870911", "255"), ("STRLEN", "big2"), ("DEL", "big2"),
    ])


def test_bitfield_with_thousands_of_operations(pair):
    rnd = random.Random(SEED)
    operations = []
    for index in range(3000):
        kind = rnd.choice(["GET", "SET", "INCRBY", "OVERFLOW"])
        if kind == "OVERFLOW":
            operations += ["OVERFLOW", rnd.choice(["WRAP", "SAT", "FAIL"])]
            continue
        encoding = rnd.choice("iu") + str(rnd.randint(1, 63))
        offset = rnd.choice(["#%d" % rnd.randint(0, 500), str(rnd.randint(0, 30000))])
        operations += [kind, encoding, offset] + ([] if kind == "GET" else [str(rnd.randint(-2 ** 63, 2 ** 63 - 1))])
    _costly(pair, [
        ("BITFIELD", "f", *operations), ("BITFIELD", "f", *operations), ("GET", "f"),
        ("BITFIELD_RO", "f", *[word for index in range(5000) for word in ("GET", "u8", "#%d" % index)]),
        ("BITFIELD", "f", *operations, "bogus"), ("BITFIELD_RO", "f", *operations), ("GET", "f"),
    ])


def test_geosearch_of_the_whole_world_on_a_large_set(pair):
    rnd = random.Random(SEED)
    for batch in range(10):
        pair.check("GEOADD", "world", *[part for index in range(2000) for part in (
            repr(rnd.uniform(-180, 180)), repr(rnd.uniform(-85, 85)), "p%d" % (batch * 2000 + index))])
    _costly(pair, [
        ("GEOSEARCH", "world", "FROMLONLAT", "0", "0", "BYRADIUS", "40000", "km", "COUNT", "3"),
        ("GEOSEARCH", "world", "FROMLONLAT", "10", "10", "BYRADIUS", "1e300", "m", "DESC", "COUNT", "2", "WITHDIST"),
        ("GEOSEARCH", "world", "FROMMEMBER", "p7", "BYBOX", "1e9", "1e9", "mi", "COUNT", "5", "ANY"),
        ("GEOSEARCH", "world", "FROMLONLAT", "-179", "84", "BYBOX", "80000", "40000", "km", "ASC", "COUNT", "4",
         "WITHCOORD", "WITHHASH"),
        ("GEOSEARCHSTORE", "copy", "world", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "STOREDIST"),
        ("ZCARD", "copy"), ("ZRANGE", "copy", "0", "4", "WITHSCORES"),
        ("GEORADIUS", "world", "0", "0", "25000", "km", "STORE", "copy"), ("ZCARD", "copy"),
        ("GEOSEARCH", "world", "FROMLONLAT", "100", "-30", "BYRADIUS", "20000", "km", "ASC"),
    ])


def test_sort_with_huge_limits_and_patterns_on_a_large_list(pair):
    rnd = random.Random(SEED)
    for _ in range(5):
        pair.check("RPUSH", "big", *[str(rnd.randint(-10 ** 6, 10 ** 6)) for _ in range(4000)])
    limits = [("0", "9223372036854775807"), ("19990", "9223372036854775807"), ("9223372036854775807", "1"),
              ("-9223372036854775808", "3"), ("3", "9223372036854775805"), ("5", "-9223372036854775808")]
    _costly(pair, [("SORT", "big", "LIMIT", *limit, *extra) for limit in limits
                   for extra in [(), ("BY", "nokey_*", "GET", "#", "GET", "w_*"), ("ALPHA", "DESC")]]
            + [("SORT", "big", "LIMIT", "0", "9223372036854775807", "STORE", "dest"), ("LLEN", "dest"),
               ("SORT", "big", "BY", "nosort", "LIMIT", "19995", "9223372036854775807", "DESC")])


def test_pfmerge_and_pfcount_of_many_keys(pair):
    keys = ["h%d" % index for index in range(600)]
    commands = [("PFADD", key, *["%s-%d" % (key, element) for element in range(index % 7)])
                for index, key in enumerate(keys)]
    commands += [("PFADD", "dense", *[str(element) for element in range(3000)])]
    pair.check_pipeline(commands)
    _costly(pair, [
        ("PFMERGE", "all", *keys), ("PFCOUNT", "all"), ("PFCOUNT", *keys), ("PFMERGE", "all", *keys, "dense"),
        ("PFCOUNT", *keys, "dense"), ("GET", "all"), ("PFMERGE", "all", *keys, "ln"), ("PFCOUNT", *keys, "s"),
    ])


def _payload(body):
    framed = body + struct.pack("<H", 10)
    return framed + struct.pack("<Q", crc64(0, framed))


def test_restore_of_payloads_declaring_huge_sizes(pair):
    """A few bytes that claim billions of elements, or a listpack of 4 GB: refused at once by both (Redis
    with sanitize-dump-payload yes). Sets, hashes and sorted sets claim only 2^62 members, which Redis
    cannot size a hash table for: for 2^32 or 2^40 Redis 7.0.15 makes that table, for seconds to hours
    (tests/test_dump_restore.py sends such a set to ours alone)."""
    huge = [b"\x80\xff\xff\xff\xff", b"\x81" + (1 << 62).to_bytes(8, "big"), b"\x81" + (1 << 33).to_bytes(8, "big")]
    bodies = [kind + claim + tail for claim in huge for kind, tail in [
        (b"\x00", b"abc"), (b"\x01", b"\x01a"), (b"\x12", b"\x02\x01a"), (b"\x0e", b"\x01a"), (b"\x10", b"abc"),
        (b"\x11", b"abc"), (b"\x0b", b"ab"), (b"\x00\xc3", b"\x01\x00a")]]
    bodies += [kind + huge[1] + tail for kind, tail in [
        (b"\x02", b"\x01a"), (b"\x04", b"\x01a\x01b"), (b"\x05", b"\x01a" + bytes(8)), (b"\x03", b"\x01a\x011")]]
    bodies += [b"\x10\x0a\xff\xff\xff\xff\x01\x00\x81a\x02\xff", b"\x11\x0a\x0a\x00\x00\x00\xff\xff\x81a\x02\xff",
               b"\x12\x01\x02\x0c\xff\xff\xff\x7f\x02\x00\x81x\x02\x07\x01\xff"]
    _costly(pair, [("RESTORE", "k", "0", _payload(body), "REPLACE") for body in bodies] + [("EXISTS", "k")])
