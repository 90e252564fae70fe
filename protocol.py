"""RESP, the Redis serialization protocol (versions 2 and 3), shared by server and client.

A request is an array of bulk strings::

    *<count>\\r\\n  then <count> times  $<length>\\r\\n<bytes>\\r\\n

or an *inline command*, one line of space-separated words as a person types
it into telnet (``SET greeting "hello world"\\r\\n``), split with Redis's
quoting rules (double quotes take ``\\n``, ``\\t``, ``\\xHH`` escapes; single
quotes take only ``\\'``).

A reply starts with a type byte and ends with CRLF:

    RESP2  +simple  -error  :integer  $bulk (``$-1`` is null)  *array (``*-1`` is a null array)
    RESP3  _null  ,double  #t/#f  (big-number  =verbatim  %map  ~set  >push  |attribute

The request parser follows Redis's networking.c to the byte, quirks included
(a NUL byte hides a line ending; the two bytes after a length's ``\\r`` are
skipped unchecked), because clients see the difference. Runs of ordinary
frames take a fast path: hiredis when it is installed (PARSER says which;
``MINI_REDIS_PARSER=python`` or ``=hiredis`` chooses), else a pure-Python split.
"""
import os
import re
from collections import namedtuple
from io import BytesIO
from itertools import chain

try:
    import hiredis
except ImportError:
    hiredis = None

CRLF = b"\r\n"
INLINE_MAX_SIZE = 64 * 1024
INT_MAX = 2**31 - 1
# Before AUTH, a client (with a password set) may send no more than this: Redis's authRequired limits.
UNAUTHENTICATED_MAX_ARGS = 10
UNAUTHENTICATED_MAX_BULK = 16384


def _choose_parser(wanted):
    """The request fast path: 'hiredis' if installed, unless MINI_REDIS_PARSER says 'python'."""
    if wanted not in ("", "hiredis", "python"):
        raise ValueError("MINI_REDIS_PARSER must be 'hiredis' or 'python', not %r" % wanted)
    if wanted == "hiredis" and hiredis is None:
        raise ImportError("MINI_REDIS_PARSER=hiredis, but hiredis is not installed (pip install hiredis)")
    return wanted or ("hiredis" if hiredis else "python")


PARSER = _choose_parser(os.environ.get("MINI_REDIS_PARSER", ""))

Error = namedtuple("Error", "message")
Error.__doc__ = "An error reply: message is its text without the leading '-', e.g. 'ERR syntax error'."

Verbatim = namedtuple("Verbatim", "format text")
Verbatim.__doc__ = "A RESP3 verbatim string (format is 'txt' or 'mkd'); RESP2 sends the text as a bulk string."

BigNumber = namedtuple("BigNumber", "value")
BigNumber.__doc__ = "A RESP3 big number (an int, or its digits as bytes); RESP2 sends the digits as a bulk string."


class Push(list):
    """A RESP3 out-of-band push (pub/sub messages); RESP2 sends it as a plain array."""


class SetReply(list):
    """A set whose members go out in this order (RESP3 ``~``, RESP2 ``*``), as Redis's fixed-order sets."""


class Attribute(dict):
    """RESP3 attributes (``|``) about the reply written after them; RESP2 leaves them out, as Redis does."""


class Frames(list):
    """Several replies to one command, written one after another (SUBSCRIBE answers once per channel)."""


class FormattedDouble(bytes):
    """A double already in the digits Redis prints for it (GEOPOS's "%.17Lf", trimmed): RESP3 sends it as a
    double, RESP2 as a bulk string."""


class Nested:
    """A reply nested deeper than the writer's recursion may go (a script's table of tables, up to
    Redis's ~8000 levels): written with a stack of its own."""

    __slots__ = ("reply",)

    def __init__(self, reply):
        self.reply = reply


class Raw(bytes):
    """A reply already encoded in RESP, the same in RESP2 and RESP3 (arrays of bulk strings): written as it is."""


class NullArray:
    """The null array (RESP2 ``*-1``): what Redis sends for a timed-out blocking pop."""

    __slots__ = ()


NULL_ARRAY = NullArray()


class ProtocolError(Exception):
    """Malformed input: the server answers ``-ERR Protocol error: <message>`` and closes."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


def string_to_int(raw):
    """Redis's string2ll: an exact base-10 int64 or None (no '+', spaces or leading zeros)."""
    digits = raw[1:] if raw[:1] == b"-" else raw
    # bytes.isdigit() is ASCII-only; a leading 0 is only allowed as "0" itself (so "-0" is refused).
    if len(raw) > 20 or not digits.isdigit() or (digits[0] == 0x30 and len(raw) > 1):
        return None
    value = int(digits) if digits is raw else -int(digits)
    if -(2**63) <= value < 2**63:
        return value
    return None


# ---------------------------------------------------------------- requests

_ESCAPES = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("a"): b"\a"}
_SPACE = frozenset(b" \n\r\t\v\f")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def split_inline(line):
    """Split an inline command into arguments as Redis's sdssplitargs does.

    Returns None for unbalanced quotes (or a closing quote not followed by a space).
    """
    args = []
    pos, end = 0, len(line)
    while True:
        while pos < end and line[pos] in _SPACE:
            pos += 1
        if pos >= end or line[pos] == 0:
            return args
        token = bytearray()
        quote = 0
        while True:
            char = line[pos] if pos < end else 0
            if quote == 0x22:  # inside "double quotes"
                if char == 0x5C and pos + 3 < end and line[pos + 1] == 0x78 \
                        and line[pos + 2] in _HEX and line[pos + 3] in _HEX:
                    token.append(int(line[pos + 2:pos + 4], 16))
                    pos += 3
                elif char == 0x5C and pos + 1 < end and line[pos + 1] != 0:
                    pos += 1
                    token += _ESCAPES.get(line[pos], line[pos:pos + 1])
                elif char == 0x22:
                    if pos + 1 < end and line[pos + 1] != 0 and line[pos + 1] not in _SPACE:
                        return None
                    pos += 1
                    break
                elif char == 0:
                    return None
                else:
                    token.append(char)
            elif quote == 0x27:  # inside 'single quotes'
                if char == 0x5C and pos + 1 < end and line[pos + 1] == 0x27:
                    pos += 1
                    token.append(0x27)
                elif char == 0x27:
                    if pos + 1 < end and line[pos + 1] != 0 and line[pos + 1] not in _SPACE:
                        return None
                    pos += 1
                    break
                elif char == 0:
                    return None
                else:
                    token.append(char)
            elif char in (0x20, 0x0A, 0x0D, 0x09, 0):
                if char:
                    pos += 1
                break
            elif char in (0x22, 0x27):
                quote = char
            else:
                token.append(char)
            pos += 1
        args.append(bytes(token))


# Canonical multibulk counts and bulk lengths the fast path recognises at a glance.
_PLAIN_COUNTS = {b"*%d" % count: count for count in range(1, 1025)}
_PLAIN_LENGTHS = {b"$%d" % length: length for length in range(0, 16385)}


def _plain_size(command):
    """How many bytes a command took on the fast path, where every count and length is canonical."""
    return len(b"*%d\r\n" % len(command)) + sum(len(b"$%d\r\n\r\n" % len(arg)) + len(arg) for arg in command)


class _CanonicalTemplates(dict):
    """count -> the %-template of a canonical frame of that many arguments: *count, then $%d and %b each.

    Kept for small counts only: a template takes ten bytes per argument.
    """

    def __missing__(self, count):
        template = b"*%d\r\n" % count + b"$%d\r\n%b\r\n" * count
        if count <= 64:
            self[count] = template
        return template


_CANONICAL_TEMPLATES = _CanonicalTemplates()
# hiredis makes a list of the declared size at an array header, and at a RESP3 set (~), push (>)
# or attribute (|) header; mapped to '*', all four are found by one search for a literal first
# byte (far faster than a character class). Counts as hiredis reads them (no sign, no leading
# zero) from 10 up; a longer one is judged by its first ten digits, which already need 6 GB.
_LISTS_AS_ARRAYS = bytes.maketrans(b"~>|", b"***")
_LIST_OF_TEN_OR_MORE = re.compile(rb"\*([1-9][0-9]{1,9})")
# The screen of the common case: bytes that can start an element hiredis reads as bytes other than
# a $bulk (+ ( =) or as a list other than a *array (~ |) become '+'; a push (>) is a list hiredis
# allocates ahead like an array, so it becomes '*' for the search of large lists.
_SCREEN = bytes.maketrans(b"(=~|>", b"++++*")
_LARGE_LIST = re.compile(rb"\*[1-9][0-9]{2}")
# Canonical framing bytes around an argument of each length, and of an array of each count.
_BULK_OVERHEAD = [len(b"$%d\r\n\r\n" % length) for length in range(16385)]
_ARRAY_OVERHEAD = [len(b"*%d\r\n" % count) for count in range(1025)]


def _hiredis_run(reader, buffer, start, end):
    """(the non-empty arrays hiredis reads from buffer[start:end], whether it stopped only for want of bytes).

    It stops at the first thing that is not such an array; the exact parser judges that.
    """
    reader.feed(buffer, start, end - start)
    frames = []
    try:
        frame = reader.gets()
        while type(frame) is list and frame:  # *0 is left to the exact parser
            frames.append(frame)
            frame = reader.gets()
    except Exception:  # hiredis.ProtocolError; TypeError for a list as a RESP3 map key...
        return frames, False
    return frames, frame is False


def _run_size(frames, args):
    """How many bytes a run of canonical frames takes (args: all their arguments, in order)."""
    lengths = list(map(len, args))
    try:
        return (sum(lengths) + sum(map(_BULK_OVERHEAD.__getitem__, lengths))
                + sum(map(_ARRAY_OVERHEAD.__getitem__, map(len, frames))))
    except IndexError:  # a length or count past the tables
        return sum(map(_plain_size, frames))


def _between_frames(reader):
    """Whether hiredis, having used every byte fed, is between frames rather than inside an array whose
    header it read: an empty array fed now comes back as itself only in the first case."""
    reader.feed(b"*0\r\n")
    try:
        return reader.gets() == []
    except Exception:  # inside a bulk header, say: then certainly not between frames
        return False


# The one frame of a client that waits for each reply: its head, the canonical spelling of its lengths,
# and the most bytes it is looked for in (a longer buffer is a pipeline, or a large value arriving).
_LONE_FRAME_HEADS = {b"*%d\r\n" % count: count for count in range(1, 10)}
_LONE_FRAME_HEADERS = {count: b"$%d\r\n" * count for count in range(1, 10)}
_LONE_FRAME_MAX = 16 * 1024

_shared_reader = hiredis.Reader() if hiredis else None  # see RequestReader._read_hiredis_frames


class RequestReader:
    """Incremental parser of client requests: feed() what arrived, then frames() yields each command.

    A command is a list of bytes. What is incomplete stays buffered, and the
    parse state (arguments read so far, bulk length pending) survives between
    calls, so a huge frame trickling in is never re-parsed from its start.
    """

    def __init__(self, max_bulk_len=512 * 1024 * 1024, parser=PARSER):
        if parser not in ("hiredis", "python") or parser == "hiredis" and hiredis is None:
            raise ValueError("parser %r: 'python', or 'hiredis' when it is installed" % parser)
        self.max_bulk_len = max_bulk_len
        self.parser = parser  # the fast path: 'hiredis' or 'python'
        self._buffer = bytearray()
        self._pos = 0
        self._args = None  # arguments of the multibulk being read, None between commands
        self._missing = 0  # bulks still to read for it
        self._bulk_len = -1  # declared length of the bulk being read, -1 before its header
        self.authenticated = True  # before AUTH, Redis's tighter limits apply: the exact parser only

    def feed(self, data):
        """Buffer what arrived; return how many bytes are now buffered but not yet parsed."""
        self._buffer += data
        return len(self._buffer) - self._pos

    def pending(self):
        """How many bytes are buffered but not yet parsed."""
        return len(self._buffer) - self._pos

    def head(self, size):
        """The first bytes not yet parsed (for a log line)."""
        return bytes(self._buffer[self._pos:self._pos + size])

    def frames(self):
        """Yield every complete command; raise ProtocolError at malformed input."""
        buffer = self._buffer
        fast = self.authenticated
        if fast and self._args is None and not self._pos:
            command = self._read_lone_frame()
            if command is not None:
                yield command
                fast = self.authenticated  # what arrived meanwhile (a blocked client's) is read below
        try:
            while self._pos < len(buffer):
                if self._args is None and buffer[self._pos] != 0x2A:  # not '*'
                    command = self._read_inline()
                elif fast and self._args is None:
                    start = self._pos
                    commands = self._read_hiredis_frames() if self.parser == "hiredis" else self._read_plain_frames()
                    for index, command in enumerate(commands):
                        yield command
                        if not self.authenticated:  # RESET: the limits apply again from the next command
                            self._pos = start + sum(_plain_size(done) for done in commands[:index + 1])
                            break
                    fast = bool(commands) and self.authenticated  # else the exact parser goes on
                    continue
                else:
                    command = self._read_multibulk()
                if command is None:
                    return
                if command:
                    yield command
        finally:
            if self._pos:
                del buffer[:self._pos]
                self._pos = 0

    def _read_lone_frame(self):
        """The one canonical frame that is all the buffer holds, taken from it; else None.

        The common case of a client that waits for each reply, read with one split. The length
        lines, joined with what follows the frame, must be the canonical spelling of the lengths
        found between the CRLFs and nothing more: no length line holds a CRLF, so the strings
        match only piece by piece, and only if nothing follows. Anything else (several frames,
        a CRLF inside an argument, ten arguments or more, a frame still arriving) is left to the
        paths below. 16 KiB is under any proto-max-bulk-len.
        """
        buffer = self._buffer
        if len(buffer) > _LONE_FRAME_MAX:
            return None
        data = bytes(buffer)
        count = _LONE_FRAME_HEADS.get(data[:4])
        if count is None:
            return None
        parts = data.split(b"\r\n", 2 * count + 1)  # what follows the frame, if anything, stays in one piece
        if len(parts) != 2 * count + 2:
            return None
        args = parts[2::2]
        if _LONE_FRAME_HEADERS[count] % tuple(map(len, args)) != b"\r\n".join(parts[1::2]):
            return None
        del buffer[:]
        return args

    def _read_plain_frames(self):
        """The run of ordinary frames at the cursor, parsed in one split at CRLF: the fast path.

        Ordinary means canonical counts and lengths from small tables, and data
        without a CRLF inside; at anything else it stops, and the exact
        parser below takes over, errors and Redis's quirks included.
        """
        start = self._pos
        with memoryview(self._buffer) as view:
            parts = bytes(view[start:]).split(b"\r\n")
        counts, lengths = _PLAIN_COUNTS, _PLAIN_LENGTHS
        complete = len(parts) - 1  # the last part is what follows the last CRLF
        commands, index = [], 0
        while index < complete:
            count = counts.get(parts[index])
            end = index + 1 + 2 * count if count else complete + 1
            if end > complete:
                break
            args = parts[index + 2:end:2]
            # Every declared length must be the length found between the CRLFs (mapped at C speed).
            if list(map(lengths.get, parts[index + 1:end:2])) != list(map(len, args)):
                break
            commands.append(args)
            index = end
        self._pos = start + sum(map(len, parts[:index])) + 2 * index  # each part ended with a CRLF
        return commands

    def _read_hiredis_frames(self):
        """The run of frames at the cursor as hiredis reads them, when that is what Redis reads:
        the fast path when hiredis is installed.

        hiredis takes more than Redis does in a request (RESP3 types, +simple strings as
        arguments, nested arrays, lax terminators) and cannot say how many bytes it used. One
        pass over the bytes settles the common case: with no byte there that can start another
        bytes-like element (+ ( =) or list (~ | >), and no list of 100 or more elements for
        hiredis to allocate ahead, every argument hiredis returns as bytes was a $bulk, every
        frame it returns as a plain list was a *array of them, and the frames took exactly their
        canonical size. Otherwise each run is re-encoded and compared with the buffer.
        """
        global _shared_reader
        buffer, start, end = self._buffer, self._pos, len(self._buffer)
        screened = (buffer[start:] if start else buffer).translate(_SCREEN)
        if b"+" in screened or _LARGE_LIST.search(screened):
            return self._read_hiredis_frames_compared()
        reader = _shared_reader  # used within this call only, and left clean or replaced
        frames, complete = _hiredis_run(reader, buffer, start, end)
        args = frames[0] if len(frames) == 1 else list(chain.from_iterable(frames))
        try:
            b"".join(args)  # TypeError unless every argument is bytes (not an int, None, a nested list...)
        except TypeError:
            frames = []
        if frames and end - start > self.max_bulk_len and max(map(len, args)) > self.max_bulk_len:
            frames = []
        if frames and complete and not reader.has_data() and _between_frames(reader):
            self._pos = end  # hiredis used every byte: the run ends where the buffer does
            return frames
        _shared_reader = hiredis.Reader()  # it holds bytes past the run, or its state is unknown
        if frames:
            self._pos = start + _run_size(frames, args)
        return frames

    def _read_hiredis_frames_compared(self):
        """The run of frames hiredis reads at the cursor, kept if its canonical encoding is the very
        bytes there: for runs with bytes that hiredis could read as something Redis would not.

        Both read a canonical frame (*N, then $len CRLF and the bytes of each argument, CRLF after
        each) the same way, to its last byte: so if the run, re-encoded canonically, is what the
        buffer holds, each frame is what Redis reads there and the cursor moves past exactly those
        bytes. Else the run is dropped and the exact parser goes on from the cursor.
        """
        start, limit = self._pos, self._hiredis_limit()
        frames, _ = _hiredis_run(hiredis.Reader(), self._buffer, start, limit)
        if not frames:
            return []
        args = list(chain.from_iterable(frames))
        try:
            lengths = list(map(len, args))
            values = [None] * (2 * len(args))
            values[::2], values[1::2] = lengths, args
            # %b takes only bytes here: for an int, None or a nested list, len() or %b raises TypeError.
            canonical = b"".join(map(_CANONICAL_TEMPLATES.__getitem__, map(len, frames))) % tuple(values)
        except TypeError:
            return []
        if not self._buffer.startswith(canonical, start) or max(lengths) > self.max_bulk_len:
            return []
        self._pos = start + len(canonical)
        return frames

    def _hiredis_limit(self):
        """How far from the cursor hiredis may read without allocating much more than it reads.

        hiredis makes a list at its header, before the elements arrive: the run stops before the
        header that would bring the elements declared by lists of 10 or more past what the bytes
        could hold (6 bytes at least each). A smaller list allocates 200 bytes at most.
        """
        pos, end = self._pos, len(self._buffer)
        region = self._buffer[pos:end].translate(_LISTS_AS_ARRAYS)
        room = len(region) // 6
        for header in _LIST_OF_TEN_OR_MORE.finditer(region):
            room -= int(header[1])
            if room < 0:
                return pos + header.start()
        return end

    def _line_end(self, char, error):
        """Position of char (b'\\r' or b'\\n') from the cursor, as C strchr finds it (a NUL hides it)."""
        buffer, pos = self._buffer, self._pos
        found = buffer.find(char, pos)
        if found >= 0 and buffer.find(0, pos, found) < 0:
            return found
        if len(buffer) - pos > INLINE_MAX_SIZE:
            raise ProtocolError(error)
        return -1

    def _read_inline(self):
        newline = self._line_end(b"\n", "too big inline request")
        if newline < 0:
            return None
        end = newline - 1 if newline > self._pos and self._buffer[newline - 1] == 0x0D else newline
        args = split_inline(bytes(self._buffer[self._pos:end]))
        if args is None:
            raise ProtocolError("unbalanced quotes in request")
        self._pos = newline + 1
        return args

    def _read_multibulk(self):
        buffer = self._buffer
        if self._args is None:
            cr = self._line_end(b"\r", "too big mbulk count string")
            if cr < 0 or cr + 2 > len(buffer):
                return None
            count = string_to_int(bytes(buffer[self._pos + 1:cr]))
            if count is None or count > INT_MAX:
                raise ProtocolError("invalid multibulk length")
            if count > UNAUTHENTICATED_MAX_ARGS and not self.authenticated:
                raise ProtocolError("unauthenticated multibulk length")
            self._pos = cr + 2
            if count <= 0:
                return []
            self._args, self._missing = [], count
        args = self._args
        while self._missing:
            if self._bulk_len < 0:
                cr = self._line_end(b"\r", "too big bulk count string")
                if cr < 0 or cr + 2 > len(buffer):
                    return None
                if buffer[self._pos] != 0x24:  # '$'
                    got = bytes(buffer[self._pos:self._pos + 1]).replace(b"\r", b" ").replace(b"\n", b" ")
                    raise ProtocolError("expected '$', got '%s'" % got.decode("utf-8", "surrogateescape"))
                length = string_to_int(bytes(buffer[self._pos + 1:cr]))
                if length is None or length < 0 or length > self.max_bulk_len:
                    raise ProtocolError("invalid bulk length")
                if length > UNAUTHENTICATED_MAX_BULK and not self.authenticated:
                    raise ProtocolError("unauthenticated bulk length")
                self._pos = cr + 2
                self._bulk_len = length
            start = self._pos
            if len(buffer) - start < self._bulk_len + 2:
                return None
            args.append(bytes(buffer[start:start + self._bulk_len]))
            self._pos = start + self._bulk_len + 2
            self._bulk_len = -1
            self._missing -= 1
        self._args = None
        return args


# ---------------------------------------------------------------- replies


def format_double(value):
    """A double as Redis 7.0 prints it: %.17g, with inf, -inf and nan spelled out."""
    if value != value:
        return b"nan"
    if value in (float("inf"), float("-inf")):
        return b"inf" if value > 0 else b"-inf"
    return b"%.17g" % value


_SIMPLE_REPLIES = {text: b"+%b\r\n" % text.encode() for text in ("OK", "PONG", "QUEUED")}
_DONE = object()  # an exhausted iterator's marker (ReplyWriter._nested)


class ReplyWriter:
    """Serializes replies into a BytesIO, in the connection's protocol version (2 or 3).

    Python types map to RESP types: bytes -> bulk, str -> simple string,
    int -> integer, bool -> boolean, float -> double, None -> null,
    list/tuple -> array, dict -> map, set -> set, Error -> error, plus the
    Verbatim, BigNumber, Push, SetReply, Attribute, Frames and NULL_ARRAY markers. RESP2 folds the RESP3
    types back into the RESP2 ones as Redis does.
    """

    def __init__(self, protocol=2):
        self.buffer = BytesIO()
        self.protocol = protocol
        self._encoders = {
            bytes: self._bulk, bytearray: self._bulk, memoryview: self._bulk,
            str: self._simple, int: self._integer, bool: self._boolean,
            float: self._double, type(None): self._null, NullArray: self._null_array,
            list: self._array, tuple: self._array, dict: self._map,
            set: self._set, frozenset: self._set, SetReply: self._set, Error: self._error,
            Verbatim: self._verbatim, BigNumber: self._big_number, Push: self._push, Frames: self._frames,
            Attribute: self._attribute, FormattedDouble: self._formatted_double, Nested: self._nested, Raw: self._raw,
        }

    def write(self, reply):
        kind = type(reply)
        if kind is str:  # the commonest replies, written without a second call
            encoded = _SIMPLE_REPLIES.get(reply)
            if encoded is not None:
                self.buffer.write(encoded)
                return
        elif kind is bytes:
            self.buffer.write(b"$%d\r\n%b\r\n" % (len(reply), reply))
            return
        encoder = self._encoders.get(kind)
        if encoder is None:
            encoder = self._encoder_for_subclass(kind)
        encoder(reply)

    def _encoder_for_subclass(self, kind):
        """A subclass of a known type (a bytes subclass, say) is written as its base."""
        for base in kind.__mro__[1:]:
            if base in self._encoders:
                self._encoders[kind] = self._encoders[base]
                return self._encoders[base]
        raise TypeError("no RESP encoding for %r" % kind)

    def take(self):
        """Everything written so far, leaving the buffer empty."""
        data = self.buffer.getvalue()
        self.buffer = BytesIO()  # cheaper than rewinding and truncating this one
        return data

    def _raw(self, data):
        self.buffer.write(data)

    def _bulk(self, value):
        self.buffer.write(b"$%d\r\n%b\r\n" % (len(value), value))

    def _simple(self, text):
        encoded = _SIMPLE_REPLIES.get(text)
        if encoded is None:
            encoded = b"+%b\r\n" % text.encode("utf-8", "surrogateescape")
        self.buffer.write(encoded)

    def _error(self, error):
        self.buffer.write(b"-%b\r\n" % error.message.encode("utf-8", "surrogateescape"))

    def _integer(self, value):
        self.buffer.write(b":%d\r\n" % value)

    def _boolean(self, value):
        if self.protocol == 3:
            self.buffer.write(b"#t\r\n" if value else b"#f\r\n")
        else:
            self.buffer.write(b":1\r\n" if value else b":0\r\n")

    def _double(self, value):
        if self.protocol == 3:
            self.buffer.write(b",%b\r\n" % format_double(value))
        else:
            self._bulk(format_double(value))

    def _formatted_double(self, text):
        if self.protocol == 3:
            self.buffer.write(b",%b\r\n" % text)
        else:
            self._bulk(text)

    def _null(self, _):
        self.buffer.write(b"_\r\n" if self.protocol == 3 else b"$-1\r\n")

    def _null_array(self, _):
        self.buffer.write(b"_\r\n" if self.protocol == 3 else b"*-1\r\n")

    def _aggregate(self, marker, count, items):
        """The header, then the items. Bulk strings only (LRANGE's, HGETALL's, SMEMBERS's) are formatted in
        one comprehension, at two thirds of the cost of a write() each; an aggregate whose ends are bulk
        strings is tried that way, and goes the general way if another type turns up in between."""
        self.buffer.write(b"%b%d\r\n" % (marker, count))
        if count > 2:
            try:
                cue = type(items[0]) is bytes and type(items[-1]) is bytes
            except TypeError:  # a set has no ends to look at: try it
                cue = True
            if cue:
                bulks = [b"$%d\r\n%b\r\n" % (len(item), item) for item in items if type(item) is bytes]
                if len(bulks) == count:
                    self.buffer.write(b"".join(bulks))
                    return
        write = self.write
        for item in items:
            write(item)

    def _nested(self, nested):
        """Aggregates opened on a stack instead of by recursion; anything else written as write() does."""
        resp3 = self.protocol == 3
        stack = [iter((nested.reply,))]
        while stack:
            item = next(stack[-1], _DONE)
            if item is _DONE:
                stack.pop()
                continue
            if isinstance(item, dict) and not isinstance(item, Attribute):
                pairs = [part for pair in item.items() for part in pair]
                self.buffer.write(b"%%%d\r\n" % len(item) if resp3 else b"*%d\r\n" % len(pairs))
                stack.append(iter(pairs))
            elif isinstance(item, (list, set, frozenset)) and not isinstance(item, Frames) or type(item) is tuple:
                marker = (b"~" if isinstance(item, (set, frozenset, SetReply)) else b">" if isinstance(item, Push)
                          else b"*")
                self.buffer.write(b"%b%d\r\n" % (marker if resp3 else b"*", len(item)))
                stack.append(iter(item))
            else:
                self.write(item)

    def _frames(self, replies):
        for reply in replies:
            self.write(reply)

    def _array(self, items):
        self._aggregate(b"*", len(items), items)

    def _set(self, items):
        self._aggregate(b"~" if self.protocol == 3 else b"*", len(items), items)

    def _push(self, items):
        self._aggregate(b">" if self.protocol == 3 else b"*", len(items), items)

    def _map(self, mapping):
        pairs = [item for pair in mapping.items() for item in pair]
        if self.protocol == 3:
            self._aggregate(b"%", len(mapping), pairs)
        else:
            self._aggregate(b"*", len(pairs), pairs)

    def _attribute(self, mapping):
        if self.protocol == 3:
            self._aggregate(b"|", len(mapping), [item for pair in mapping.items() for item in pair])

    def _verbatim(self, verbatim):
        if self.protocol == 3:
            body = verbatim.format.encode() + b":" + verbatim.text
            self.buffer.write(b"=%d\r\n%b\r\n" % (len(body), body))
        else:
            self._bulk(verbatim.text)

    def _big_number(self, number):
        digits = number.value if type(number.value) is bytes else b"%d" % number.value
        if self.protocol == 3:
            self.buffer.write(b"(%b\r\n" % digits)
        else:
            self._bulk(digits)


def encode_command(args):
    """A command as a RESP array of bulk strings; str is sent as UTF-8, numbers as their digits."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif isinstance(arg, (int, float)) and not isinstance(arg, bool):
            arg = repr(arg).encode()
        elif not isinstance(arg, (bytes, bytearray, memoryview)):
            raise TypeError("cannot send %r as a command argument" % (arg,))
        out.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(out)


class _Incomplete(Exception):
    """The buffer ends inside a reply: wait for more bytes."""


class ReplyReader:
    """Incremental parser of replies (RESP2 and RESP3) for clients and tests.

    feed() bytes, then frames() yields each complete reply as a Python value:
    bytes for bulk and simple strings, int, float, bool, None, list, dict,
    set (a list when members are unhashable), Push, Error and NULL_ARRAY.
    """

    def __init__(self):
        self._buffer = bytearray()
        self._pos = 0

    def feed(self, data):
        self._buffer += data

    def frames(self):
        try:
            while self._pos < len(self._buffer):
                try:
                    value, self._pos = self._parse(self._pos)
                except _Incomplete:
                    return
                yield value
        finally:
            if self._pos:
                del self._buffer[:self._pos]
                self._pos = 0

    def _line(self, pos):
        end = self._buffer.find(CRLF, pos)
        if end < 0:
            raise _Incomplete
        return bytes(self._buffer[pos + 1:end]), end + 2

    def _parse(self, pos):
        if pos >= len(self._buffer):
            raise _Incomplete
        kind = self._buffer[pos]
        line, pos = self._line(pos)
        if kind == 0x2B:  # +
            return line, pos
        if kind == 0x2D:  # -
            return Error(line.decode("utf-8", "surrogateescape")), pos
        if kind == 0x3A:  # :
            return int(line), pos
        if kind in (0x24, 0x3D):  # $ and =
            length = int(line)
            if length < 0:
                return None, pos
            if len(self._buffer) < pos + length + 2:
                raise _Incomplete
            data = bytes(self._buffer[pos:pos + length])
            return (data[4:] if kind == 0x3D else data), pos + length + 2
        if kind == 0x5F:  # _
            return None, pos
        if kind == 0x2C:  # ,
            return float(line), pos
        if kind == 0x23:  # #
            return line == b"t", pos
        if kind == 0x28:  # (
            return int(line), pos
        if kind in (0x2A, 0x7E, 0x3E, 0x25, 0x7C):  # * ~ > % |
            count = int(line)
            if count < 0:
                return NULL_ARRAY, pos
            if kind in (0x25, 0x7C):
                count *= 2
            items = []
            for _ in range(count):
                item, pos = self._parse(pos)
                items.append(item)
            if kind == 0x7C:  # an attribute annotates the reply that follows it
                return self._parse(pos)
            if kind == 0x25:
                return dict(zip(items[::2], items[1::2])), pos
            if kind == 0x3E:
                return Push(items), pos
            if kind == 0x7E:
                try:
                    return set(items), pos
                except TypeError:
                    return items, pos
            return items, pos
        raise ProtocolError("unexpected reply type %r" % chr(kind))
