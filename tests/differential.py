"""Differential testing: send the same bytes to our server and to real Redis, expect the same bytes back.

    pair.check("SET", "k", "v")                       # one command, replies byte-identical
    pair.check_sequence([("SET", "k", "v"), ("GET", "k")])
    pair.check_pipeline([("PING",), ("ECHO", "x")])  # one send, every reply compared
    pair.check_raw(b"PING\\r\\n")                      # hand-made request bytes (inline, broken...)
    pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_closed()                               # after QUIT: both hung up, nothing more sent

Requests are encoded and replies cut out of the byte stream (reply_end())
here rather than with protocol.py, so that a bug in the code under test
cannot hide a difference. A normaliser rewrites both replies before
they are compared; keep it for values that are random by nature (client
ids, clocks) and mask as little as possible.
"""
import re
import socket
import time

import hiredis

TIMEOUT = 5.0
HISTORY = 8  # commands shown before the failing one

# What follows a reply's first line: the scalars end there, a blob has <n> bytes
# and CRLF after it, an aggregate has <n> replies (maps and attributes 2n).
_SCALARS = frozenset(b"+-:_,#(")
_BLOBS = frozenset(b"$=!")
_AGGREGATES = {ord("*"): 1, ord("~"): 1, ord(">"): 1, ord("%"): 2, ord("|"): 2}


def encode_command(args):
    """A request as a RESP array of bulk strings: str goes as UTF-8, a number as its digits."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        raw = arg.encode() if isinstance(arg, str) else str(arg).encode() if isinstance(arg, int) else bytes(arg)
        parts.append(b"$%d\r\n%b\r\n" % (len(raw), raw))
    return b"".join(parts)


class ReplyFormatError(Exception):
    """The bytes are not RESP2 or RESP3 at all."""


def reply_end(buffer, start=0):
    """Index just past the one reply that begins at start, or None if it is not all buffered yet."""
    pending, pos = 1, start
    while pending:
        line_end = buffer.find(b"\r\n", pos)
        if line_end < 0:
            return None
        kind, header = buffer[pos], bytes(buffer[pos + 1:line_end])
        pos, pending = line_end + 2, pending - 1
        if kind in _SCALARS:
            continue
        try:
            count = int(header)
        except ValueError:
            raise ReplyFormatError("bad length %r after %r" % (header, chr(kind))) from None
        if kind in _BLOBS:
            if count >= 0:
                if len(buffer) < pos + count + 2:
                    return None
                pos += count + 2
        elif kind in _AGGREGATES:
            pending += max(count, 0) * _AGGREGATES[kind]
            if kind == ord("|"):  # an attribute comes before the reply it annotates
                pending += 1
        else:
            raise ReplyFormatError("unknown reply type %r at byte %d" % (chr(kind), pos))
    return pos


class Node:
    """One reply cut out of raw bytes, to compare its parts: its own line (or whole blob), and the replies
    inside an aggregate (COMMAND INFO's fields, a map's pairs by pairs())."""

    def __init__(self, raw, start=0):
        line_end = raw.index(b"\r\n", start) + 2
        self.end = reply_end(raw, start)
        kind = raw[start:start + 1]
        self.children = []
        if kind in (b"*", b"~", b"%"):
            position = line_end
            while position < self.end:
                child = Node(raw, position)
                self.children.append(child)
                position = child.end
            self.head = raw[start:line_end]
        else:
            self.head = raw[start:self.end]

    def bytes(self):
        return self.head + b"".join(child.bytes() for child in self.children)

    def pairs(self):
        return dict(zip((child.bytes() for child in self.children[::2]), self.children[1::2]))


class WireClient:
    """A raw socket to 127.0.0.1:port that hands back each reply's exact bytes.

    When the server hangs up or stays silent, read_reply() returns a
    description in angle brackets (a str, never equal to any bytes), so a
    comparison still shows what each side did.
    """

    def __init__(self, port, host="127.0.0.1", timeout=TIMEOUT):
        self.port = port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.closed = False  # the server hung up
        self._buffer = bytearray()

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            self.closed = True  # reads now report the closed connection instead of raising

    def call(self, *args):
        """Send one command (str, bytes or numbers) and return its reply's raw bytes."""
        self.send_raw(encode_command(args))
        return self.read_reply()

    def read_reply(self):
        while True:
            try:
                end = reply_end(self._buffer)
            except ReplyFormatError as error:
                garbage = bytes(self._buffer)
                self._buffer.clear()  # the stream is out of step: nothing after this can be trusted
                return "<not RESP (%s): %r>" % (error, garbage)
            if end is not None:
                reply = bytes(self._buffer[:end])
                del self._buffer[:end]
                return reply
            event = self._receive()
            if event is not None:
                return event

    def read_replies(self, count):
        return [self.read_reply() for _ in range(count)]

    def read_until_closed(self):
        """Everything sent before the server hangs up, or a description if it does not."""
        while not self.closed:
            event = self._receive()
            if event is not None and not self.closed:
                return event
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def _receive(self):
        """Read more bytes; a description of the event if there are none."""
        if self.closed:
            return "<connection closed; unparsed: %r>" % bytes(self._buffer)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return "<no reply after %gs; unparsed: %r>" % (self.sock.gettimeout(), bytes(self._buffer))
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            return "<connection closed; unparsed: %r>" % bytes(self._buffer)
        self._buffer += chunk
        return None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.sock.close()


def aof_commands(raw):
    """The commands of a RESP command stream (an AOF, a replication stream), as lists of bytes."""
    commands, position = [], 0
    while position < len(raw):
        assert raw[position:position + 1] == b"*", raw[position:position + 80]
        end = raw.index(b"\r\n", position)
        count, position = int(raw[position + 1:end]), end + 2
        argv = []
        for _ in range(count):
            end = raw.index(b"\r\n", position)
            size = int(raw[position + 1:end])
            argv.append(raw[end + 2:end + 2 + size])
            position = end + 2 + size + 2
        commands.append(argv)
    return commands


def parse_reply(raw):
    """A raw reply as a client library reads it (hiredis): bytes, ints, lists, errors."""
    reader = hiredis.Reader()
    reader.feed(raw)
    return reader.gets()


def describe_command(args, limit=60):
    """A command as a person reads it: SET 'k' b'\\x00\\xff' '<5000 bytes: aaaa...>'."""
    words = []
    for arg in args:
        raw = arg.encode() if isinstance(arg, str) else arg if isinstance(arg, bytes) else str(arg).encode()
        if len(raw) > limit:
            words.append("<%d bytes: %r...>" % (len(raw), raw[:limit]))
        else:
            words.append(repr(raw))
    return " ".join(words)


class Pair:
    """A WireClient to our server and one to real Redis, driven in lockstep.

    Every check sends the same bytes to both and fails with the command, the
    commands before it and both replies when the replies are not byte-identical.
    (__tracebackhide__ makes pytest point at the test's line, not at the harness.)
    """

    def __init__(self, ours_port, redis_port):
        self.ours = WireClient(ours_port)
        self.redis = WireClient(redis_port)
        self.history = []

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        self.ours.close()
        self.redis.close()

    def reconnect(self):
        """New connections to both (after QUIT, or to start a fresh session)."""
        self.close()
        self.ours, self.redis = WireClient(self.ours.port), WireClient(self.redis.port)
        self.history.append("<reconnect>")

    def check(self, *args, normalise=None):
        """Run one command on both; return Redis's reply (raw bytes)."""
        __tracebackhide__ = True
        return self.check_raw(encode_command(args), normalise=normalise, label=describe_command(args))

    def check_sequence(self, commands, normalise=None):
        """check() each command (a tuple of arguments) in turn; return Redis's replies."""
        __tracebackhide__ = True
        return [self.check(*command, normalise=normalise) for command in commands]

    def check_pipeline(self, commands, normalise=None):
        """Send every command in one write, then compare the replies one by one; return Redis's."""
        __tracebackhide__ = True
        data = b"".join(encode_command(command) for command in commands)
        labels = [describe_command(command) for command in commands]
        return self.check_raw(data, replies=len(commands), normalise=normalise, label=labels)

    def check_raw(self, data, replies=1, normalise=None, label=None):
        """Send hand-made request bytes to both, read `replies` replies from each and compare them.

        Returns Redis's reply (a list of them when replies > 1 or label is a list).
        """
        __tracebackhide__ = True
        label = label if label is not None else repr(data if len(data) <= 200 else data[:200] + b"...")
        labels = label if isinstance(label, list) else [label] * replies
        self.ours.send_raw(data)
        self.redis.send_raw(data)
        redis_replies = self.redis.read_replies(replies)
        ours_replies = self.ours.read_replies(replies)
        for index, (expected, got) in enumerate(zip(redis_replies, ours_replies)):
            self._compare(labels[index], expected, got, normalise)
            self.history.append(labels[index])
        return redis_replies if replies > 1 or isinstance(label, list) else redis_replies[0]

    def check_closed(self):
        """Both servers hang up without sending anything more (after QUIT, a protocol error...)."""
        __tracebackhide__ = True
        self._compare("<waiting for the connection to close>", self.redis.read_until_closed(),
                      self.ours.read_until_closed(), None)

    def check_idle(self):
        """Nothing stray is left in either stream: a last PING gets the same reply from both."""
        __tracebackhide__ = True
        if not (self.ours.closed and self.redis.closed):
            self.check("PING")

    def _compare(self, label, expected, got, normalise):
        __tracebackhide__ = True
        if normalise is not None and isinstance(expected, bytes) and isinstance(got, bytes):
            same = normalise(expected) == normalise(got)
        else:
            same = expected == got
        if not same:
            raise AssertionError(self._difference(label, expected, got, normalise))

    def _difference(self, label, expected, got, normalise):
        lines = ["ours differs from Redis 7.0.15 for: %s" % label]
        if normalise is not None and isinstance(expected, bytes) and isinstance(got, bytes):
            lines += ["  redis: %r" % (expected,), "  ours:  %r" % (got,)]
            expected, got = normalise(expected), normalise(got)
            lines.append("  normalised with %s:" % normalise.__name__)
        lines += _side_by_side(expected, got)
        if self.history:
            lines.append("  after: " + " | ".join(self.history[-HISTORY:]))
        return "\n".join(lines)


def _side_by_side(expected, got, window=300):
    """Both replies, cut to a window around the first differing byte when they are long."""
    if not (isinstance(expected, bytes) and isinstance(got, bytes)):
        return ["  redis: %r" % (expected,), "  ours:  %r" % (got,)]
    at = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b), min(len(expected), len(got)))
    start = max(0, at - window // 3) if max(len(expected), len(got)) > window else 0
    lines = []
    for side, reply in (("redis", expected), ("ours ", got)):
        shown = reply[start:start + window]
        cut = "" if len(shown) == len(reply) else " (bytes %d-%d of %d)" % (start, start + len(shown), len(reply))
        lines.append("  %s: %r%s" % (side, shown, cut))
    lines.append("  first difference at byte %d" % at)
    return lines


# ------------------------------------------------------------------ normalisers

_CLIENT_ID = re.compile(rb"(\$2\r\nid\r\n|\+id\r\n):\d+\r\n")
_INTEGER = re.compile(rb"^:-?\d+\r\n$")
_DIGIT_BULK = re.compile(rb"\$\d+\r\n\d+\r\n")


def same_on_both(fresh, scenario):
    """Run scenario(port) on Redis, then on ours (the `fresh` fixture's ports); what they observe must be
    equal. Returns Redis's observations."""
    __tracebackhide__ = True
    ours_port, redis_port = fresh
    expected = scenario(redis_port)
    assert scenario(ours_port) == expected
    return expected


def mask_client_id(reply):
    """HELLO's reply with the value after 'id' masked: ids count connections, which differ."""
    return _CLIENT_ID.sub(rb"\1:<id>\r\n", reply)


def mask_integer(reply):
    """Any integer reply is as good as another (CLIENT ID, COMMAND COUNT); other replies stay."""
    return _INTEGER.sub(b":<int>\r\n", reply)


def mask_digit_bulks(reply):
    """Bulk strings made of digits (TIME's seconds and microseconds) masked, lengths included."""
    return _DIGIT_BULK.sub(b"$?\r\n<digits>\r\n", reply)


def unordered_pairs(reply):
    """A map (or a flat array of name, value pairs) with its pairs sorted; other replies stay.

    For CONFIG GET of several parameters: Redis collects them in a dict whose
    seed is random per process, so their order changes from one run to the next.
    """
    if reply[:1] not in (b"*", b"%"):
        return reply
    header_end = reply.index(b"\r\n") + 2
    items, pos = [], header_end
    while pos < len(reply):
        end = reply_end(reply, pos)
        items.append(reply[pos:end])
        pos = end
    if len(items) % 2:
        return reply
    pairs = sorted(zip(items[::2], items[1::2]))
    return reply[:header_end] + b"".join(name + value for name, value in pairs)


def drop_slow_subscriber(port, subscribe, count_command, publish):
    """A subscriber (subscribe: its command) that never reads, on a small socket buffer, while publish(control)
    runs until count_command answers :0 or an empty count: the pubsub output limit (256 kB here) must drop it."""
    control = WireClient(port)
    control.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0")
    slow = WireClient(port)
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.call(*subscribe)
    try:
        deadline = time.monotonic() + 10
        while not re.search(rb":0\r\n$", control.call(*count_command)):
            assert time.monotonic() < deadline, "the slow subscriber was never disconnected"
            publish(control)
    finally:
        control.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32mb 8mb 60")
        slow.close()
        control.close()


class BlockingClients:
    """Raw connections to one server, and a way to wait until some of them are blocked."""

    def __init__(self, port):
        self.port = port
        self.opened = []
        self.control = self.connect()
        self.control.call("FLUSHALL")

    def connect(self):
        client = WireClient(self.port)
        self.opened.append(client)
        return client

    def block(self, *command, resp3=False):
        """A new client that sends command, then waits until the server counts it as blocked."""
        client = self.connect()
        if resp3:
            client.call("HELLO", "3")
        before = self.blocked()
        client.send_raw(encode_command(command))
        self.wait_blocked(before + 1)
        return client

    def blocked(self):
        info = self.control.call("INFO", "clients").decode()
        return int(info.split("blocked_clients:")[1].split("\r\n")[0])

    def wait_blocked(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.blocked() != count:
            assert time.monotonic() < deadline, "blocked_clients never became %d" % count
            time.sleep(0.01)

    def close(self):
        for client in self.opened:
            client.close()
