"""Stream commands, as Redis's t_stream.c: XADD, XRANGE, XREVRANGE, XLEN, XDEL, XTRIM, XREAD, XSETID.

The value is storage/streams.py's Stream. IDs are read as Redis reads them (strtoull after
string2ll, so ' 1' and '+1' are IDs too); options in Redis's order, so a bad argument and a wrong
type give Redis's error. What Redis propagates is logged: XADD with the ID it made and an
approximate trim rewritten as the exact one it did. The consumer-group commands are in
commands/stream_groups.py and XREAD/XREADGROUP in commands/stream_reads.py; they share the parsers here.
"""
from commands import Command, table
from errors import (ELEMENTS_TOO_LARGE, INVALID_END_ID, INVALID_START_ID, INVALID_STREAM_ID, LIMIT_WITHOUT_APPROX,
                    LIMIT_WITHOUT_STRATEGY, MAXLEN_AND_MINID, NO_SUCH_KEY, NOT_INTEGER, ReplyError, STREAM_EXHAUSTED,
                    STREAM_LIMIT_NEGATIVE, STREAM_MAXLEN_NEGATIVE, SYNTAX, XADD_ID_TOO_SMALL, XADD_ZERO_ID,
                    XSETID_ADDED_SMALLER, XSETID_ENTRIES_ADDED_NEGATIVE, XSETID_MAXDELETED, XSETID_SMALLER,
                    XTRIM_NO_STRATEGY, wrong_arity)
from protocol import NULL_ARRAY, Raw, string_to_int
from storage.events import STREAM as STREAM_EVENTS, UNCHANGED
from storage.keyspace import wall_clock_ms
from storage.streams import MAX_ID, SEQ_MASK, Stream, id_bytes, make_id

_SPACES = b" \t\n\v\f\r"
UINT64 = 1 << 64


# ------------------------------------------------------------------ reading IDs and numbers


def _strtoull(raw):
    """Redis's string2ull: string2ll when that reads it, else C's strtoull over the whole text; None if bad."""
    number = string_to_int(raw)
    if number is not None:
        return number if number >= 0 else None
    text = raw.lstrip(_SPACES)
    negative = text[:1] == b"-"
    if text[:1] in (b"-", b"+"):
        text = text[1:]
    if not text or not text.isdigit():
        return None
    number = int(text)
    if number >= UINT64:
        return None
    return (UINT64 - number) % UINT64 if negative else number


def parse_id(raw, missing_seq=0, strict=False, allow_partial=False):
    """streamGenericParseIDOrReply: (id, whether the seq was given). '-' and '+' unless strict; 'ms-*'
    only where allow_partial (XADD)."""
    raw = raw.split(b"\0", 1)[0] if len(raw) <= 127 else None
    if raw is None or (strict and raw in (b"-", b"+")):
        raise ReplyError(INVALID_STREAM_ID)
    if raw == b"-":
        return 0, True
    if raw == b"+":
        return MAX_ID, True
    ms_text, dash, seq_text = raw.partition(b"-")
    ms = _strtoull(ms_text)
    if ms is None:
        raise ReplyError(INVALID_STREAM_ID)
    if not dash:
        return make_id(ms, missing_seq), True
    if allow_partial and seq_text == b"*":
        return make_id(ms, 0), False
    seq = _strtoull(seq_text)
    if seq is None:
        raise ReplyError(INVALID_STREAM_ID)
    return make_id(ms, seq), True


def strict_id(raw, missing_seq=0):
    return parse_id(raw, missing_seq, strict=True)[0]


def interval_id(raw, missing_seq):
    """streamParseIntervalIDOrReply: (id, exclusive) for a range bound, '(' marking an exclusive one."""
    if len(raw) > 1 and raw[:1] == b"(":
        return strict_id(raw[1:], missing_seq), True
    return parse_id(raw, missing_seq)[0], False


def parse_long(raw):
    value = string_to_int(raw)
    if value is None:
        raise ReplyError(NOT_INTEGER)
    return value


def get_stream(db, key, read=True):
    """The stream at key, None if missing; WRONGTYPE for another type."""
    return db.get_typed(key, Stream, read)


def entry_reply(entry):
    return [id_bytes(entry[0]), list(entry[1])]


def _encoded_entry(entry):
    stream_id, fields = entry
    text = b"%d-%d" % (stream_id >> 64, stream_id & SEQ_MASK)
    return b"*2\r\n$%d\r\n%b\r\n*%d\r\n%b" % (len(text), text, len(fields),
                                                 b"".join([b"$%d\r\n%b\r\n" % (len(item), item) for item in fields]))


def entries_reply(entries):
    """An array of entries, encoded at once (a reply of many small arrays costs the writer a call per item)."""
    return Raw(b"*%d\r\n%b" % (len(entries), b"".join(map(_encoded_entry, entries))))


def node_limits(session):
    config = session.server.config
    return config["stream-node-max-bytes"], config["stream-node-max-entries"]


# ------------------------------------------------------------------ XADD, XTRIM


class TrimArgs:
    """streamAddTrimArgs: what XADD and XTRIM were asked to do, and where the trim's arguments sit."""

    __slots__ = ("maxlen", "minid", "approx", "limit", "strategy_index", "nomkstream", "stream_id", "seq_given")

    def __init__(self):
        self.maxlen = self.minid = None
        self.approx = self.nomkstream = False
        self.limit = 0
        self.strategy_index = 0
        self.stream_id = None
        self.seq_given = True

    @property
    def trimming(self):
        return self.maxlen is not None or self.minid is not None


def parse_add_or_trim(session, arguments, xadd):
    """streamParseAddOrTrimArgsOrReply over arguments after the key: (TrimArgs, index of the ID)."""
    args = TrimArgs()
    if xadd and arguments[0] == b"*":  # the common case: no option, an automatic ID
        return args, 0
    limit_given = False
    index = 0
    while index < len(arguments):
        more = len(arguments) - 1 - index
        option = arguments[index].lower()
        if xadd and option == b"*":
            break
        if option in (b"maxlen", b"minid") and more:
            if args.trimming:
                raise ReplyError(MAXLEN_AND_MINID)
            args.approx = False
            following = arguments[index + 1]
            if more >= 2 and following in (b"~", b"="):
                args.approx = following == b"~"
                index += 1
            if option == b"maxlen":
                args.maxlen = parse_long(arguments[index + 1])
                if args.maxlen < 0:
                    raise ReplyError(STREAM_MAXLEN_NEGATIVE)
            else:
                args.minid = strict_id(arguments[index + 1])
            index += 1
            args.strategy_index = index
        elif option == b"limit" and more:
            args.limit = parse_long(arguments[index + 1])
            if args.limit < 0:
                raise ReplyError(STREAM_LIMIT_NEGATIVE)
            limit_given = True
            index += 1
        elif xadd and option == b"nomkstream":
            args.nomkstream = True
        elif xadd:
            args.stream_id, args.seq_given = parse_id(arguments[index], strict=True, allow_partial=True)
            break
        else:
            raise ReplyError(SYNTAX)
        index += 1
    if args.limit and not args.trimming:
        raise ReplyError(LIMIT_WITHOUT_STRATEGY)
    if not xadd and not args.trimming:
        raise ReplyError(XTRIM_NO_STRATEGY)
    if session.id == 0:  # the AOF: the trim was logged as what it did, and LIMIT is not enforced
        args.limit = 0
    elif limit_given:
        if not args.approx:
            raise ReplyError(LIMIT_WITHOUT_APPROX)
    elif args.approx:
        max_entries = session.server.config["stream-node-max-entries"]
        args.limit = 100 * max_entries if 0 < 100 * max_entries <= 10000 else 10000
    else:
        args.limit = 0
    return args, index


def trim(stream, args):
    return stream.trim(args.maxlen, args.minid, args.approx, args.limit)


def _exact_trim_argv(argv, stream, args, offset):
    """streamRewriteApproxSpecifier and streamRewriteTrimArgument: '~' becomes '=' and the count or ID
    becomes what the trim left, so a replay trims exactly as this did."""
    argv[offset + args.strategy_index - 1] = b"="
    if args.maxlen is not None:
        argv[offset + args.strategy_index] = b"%d" % len(stream)
    else:
        first = stream.first_entry()
        argv[offset + args.strategy_index] = id_bytes(first[0] if first else MAX_ID)


def _next_id(stream, clock):
    """streamNextID: now in ms, or the last ID plus one when the clock has not passed it."""
    ms = clock()
    last_ms = stream.last_id >> 64
    if ms > last_ms:
        return make_id(ms, 0)
    return stream.last_id + 1


def _new_id(stream, args, clock):
    """The ID XADD gives the entry (streamAppendItem), or its error."""
    if args.stream_id is None:
        return _next_id(stream, clock)
    stream_id = args.stream_id
    if not args.seq_given and stream.last_id >> 64 == stream_id >> 64:
        if stream.last_id & SEQ_MASK == SEQ_MASK:
            raise ReplyError(ELEMENTS_TOO_LARGE)  # Redis 7.0.15 leaves errno unset here: not its EDOM text
        stream_id = stream.last_id + 1
    if stream_id <= stream.last_id:
        raise ReplyError(XADD_ID_TOO_SMALL)
    return stream_id


def xadd(session, key, *arguments):
    """XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]"""
    args, id_index = parse_add_or_trim(session, arguments, True)
    fields = arguments[id_index + 1:]
    if len(fields) < 2 or len(fields) % 2:
        raise wrong_arity("xadd")
    if args.stream_id == 0 and args.seq_given:
        raise ReplyError(XADD_ZERO_ID)
    db = session.db
    stream = get_stream(db, key, read=False)
    if stream is None:
        if args.nomkstream:
            return None
        stream = Stream()
        db.set(key, stream)
    if stream.last_id == MAX_ID:
        raise ReplyError(STREAM_EXHAUSTED)
    stream_id = _new_id(stream, args, wall_clock_ms)
    stream.append(stream_id, fields, *node_limits(session))
    db.keyspace.dirty += 1  # its trim aside, as Redis counts
    db.notify(STREAM_EVENTS, b"xadd", key)
    if args.trimming and trim(stream, args):
        db.notify(STREAM_EVENTS, b"xtrim", key)
    reply = id_bytes(stream_id)
    if session.server.keyspace.propagator is not None:  # the AOF logs the ID made and the trim done
        argv = [b"XADD", key, *arguments]
        if args.approx:
            _exact_trim_argv(argv, stream, args, 2)
        argv[2 + id_index] = reply
        session.propagate(argv)
    db.signal_ready(key)
    return reply


def xtrim(session, key, *arguments):
    """XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]"""
    args, _ = parse_add_or_trim(session, arguments, False)
    stream = get_stream(session.db, key, read=False)
    if stream is None:
        return 0
    deleted = trim(stream, args)
    if not deleted:
        return 0
    session.db.keyspace.dirty += deleted
    session.db.notify(STREAM_EVENTS, b"xtrim", key)
    if args.approx:
        argv = [b"XTRIM", key, *arguments]
        _exact_trim_argv(argv, stream, args, 2)
        session.propagate(argv)
    return deleted


# XSETID's and the consumer groups' events: announced, but no change for clients caching the stream's
# entries (Redis calls no signalModifiedKey for them)
META_EVENTS = STREAM_EVENTS | UNCHANGED


def consumer_of(db, key, group, name, now):
    """A group's consumer, made if new: a new one is the event xgroup-createconsumer (streamCreateConsumer)."""
    if name not in group.consumers:
        consumer = group.consumer(name, now)
        db.keyspace.dirty += 1
        db.notify(META_EVENTS, b"xgroup-createconsumer", key)
        return consumer
    return group.consumer(name, now)


# ------------------------------------------------------------------ XRANGE, XREVRANGE, XLEN, XDEL


def range_bounds(start_raw, end_raw):
    """XRANGE's and XPENDING's bounds as inclusive IDs: '(' makes a bound exclusive, '-' and '+' the ends."""
    start, exclusive = interval_id(start_raw, 0)
    if exclusive:
        if start == MAX_ID:
            raise ReplyError(INVALID_START_ID)
        start += 1
    end, exclusive = interval_id(end_raw, SEQ_MASK)
    if exclusive:
        if end == 0:
            raise ReplyError(INVALID_END_ID)
        end -= 1
    return start, end


def _range(session, key, start_raw, end_raw, options, reverse):
    start, end = range_bounds(start_raw, end_raw)
    count = -1
    index = 0
    while index < len(options):
        if options[index].lower() == b"count" and index + 1 < len(options):
            count = max(0, parse_long(options[index + 1]))
            index += 2
        else:
            raise ReplyError(SYNTAX)
    stream = get_stream(session.db, key)
    if stream is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return entries_reply(stream.range(start, end, None if count < 0 else count, reverse))


def xrange(session, key, start, end, *options):
    """XRANGE key start end [COUNT count]"""
    return _range(session, key, start, end, options, False)


def xrevrange(session, key, end, start, *options):
    """XREVRANGE key end start [COUNT count]"""
    return _range(session, key, start, end, options, True)


def xlen(session, key):
    """XLEN key"""
    stream = get_stream(session.db, key)
    return 0 if stream is None else len(stream)


def xdel(session, key, *ids):
    """XDEL key id [id ...]"""
    stream = get_stream(session.db, key, read=False)
    if stream is None:
        return 0
    parsed = [strict_id(raw) for raw in ids]
    deleted = 0
    for stream_id in parsed:
        if stream.delete(stream_id):
            deleted += 1
            stream.max_deleted_id = max(stream.max_deleted_id, stream_id)
    if deleted:
        first = stream.first_entry()
        stream.first_id = first[0] if first else 0
        session.db.keyspace.dirty += deleted
        session.db.notify(STREAM_EVENTS, b"xdel", key)
    return deleted


# ------------------------------------------------------------------ XSETID


def xsetid(session, key, last_id_raw, *options):
    """XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]"""
    last_id = strict_id(last_id_raw)
    entries_added = max_deleted = None
    index = 0
    while index < len(options):
        option = options[index].lower()
        if option == b"entriesadded" and index + 1 < len(options):
            entries_added = parse_long(options[index + 1])
            if entries_added < 0:
                raise ReplyError(XSETID_ENTRIES_ADDED_NEGATIVE)
        elif option == b"maxdeletedid" and index + 1 < len(options):
            max_deleted = strict_id(options[index + 1])
            if last_id < max_deleted:
                raise ReplyError(XSETID_MAXDELETED)
        else:
            raise ReplyError(SYNTAX)
        index += 2
    stream = get_stream(session.db, key, read=False)
    if stream is None:
        raise ReplyError(NO_SUCH_KEY)
    if len(stream):
        last = stream.last_entry()[0]
        if last_id < last:
            raise ReplyError(XSETID_SMALLER)
        if entries_added is not None and len(stream) > entries_added:
            raise ReplyError(XSETID_ADDED_SMALLER)
    stream.last_id = last_id
    if entries_added is not None:
        stream.entries_added = entries_added
    if max_deleted is not None:
        stream.max_deleted_id = max_deleted
    session.db.keyspace.dirty += 1
    session.db.notify(META_EVENTS, b"xsetid", key)
    return "OK"


COMMANDS = table(
    Command("xadd", xadd, -5, ("write", "denyoom", "fast"), 1, 1, 1),
    Command("xrange", xrange, -4, ("readonly",), 1, 1, 1),
    Command("xrevrange", xrevrange, -4, ("readonly",), 1, 1, 1),
    Command("xlen", xlen, 2, ("readonly", "fast"), 1, 1, 1),
    Command("xdel", xdel, -3, ("write", "fast"), 1, 1, 1),
    Command("xtrim", xtrim, -4, ("write",), 1, 1, 1),
    Command("xsetid", xsetid, -3, ("write", "denyoom", "fast"), 1, 1, 1),
    group="stream",
)
