"""A small redis-cli for people without one: ``python client.py [options] [command ...]``.

    -h host  -p port  -n db  -a password  --user name  -3 (RESP3)  --raw  --no-raw

With a command it runs that one and exits (one-shot, for scripts); without,
it reads commands line by line, split with Redis's quoting rules
(protocol.split_inline), with readline editing and history kept in
~/.mini_redis_cli_history (or $MINI_REDIS_CLI_HISTFILE).

Replies are printed as redis-cli prints them, byte for byte: the formatted
view (``(integer) 1``, ``"value"``, ``1) "a"``, ``1# "key" => (double) 1.5``)
when stdout is a terminal or --no-raw is given, else the raw one (bare values,
one per line) -- so ``python client.py GET k | ...`` gets the value itself, as
with redis-cli. As redis-cli, INFO, CLIENT LIST and friends always print raw.
The prompt is shown only when stdin is a terminal.
"""
import os
import sys
from collections import namedtuple

from clientlib.connection import Connection
from protocol import ReplyReader, _Incomplete, encode_command, split_inline

HISTORY = os.path.expanduser("~/.mini_redis_cli_history")

Reply = namedtuple("Reply", "kind value")
Reply.__doc__ = ("A reply with its RESP type byte kept (kind '+', '$', '%' ...): value is bytes, "
                 "or a list of Reply for an aggregate (a map's keys and values alternate).")
NIL = Reply("_", b"")
AGGREGATE = frozenset("*~>%")


class TypedReplyReader(ReplyReader):
    """Replies as Reply trees, which keep what redis-cli shows and Python values lose.

    A double keeps its wire text, a set its order, a simple string its
    difference from a bulk one.
    """

    def _parse(self, pos):
        if pos >= len(self._buffer):
            raise _Incomplete
        kind = chr(self._buffer[pos])
        line, pos = self._line(pos)
        if kind in "$=":
            length = int(line)
            if length < 0:
                return NIL, pos
            if len(self._buffer) < pos + length + 2:
                raise _Incomplete
            data = bytes(self._buffer[pos:pos + length])
            return Reply(kind, data[4:] if kind == "=" else data), pos + length + 2
        if kind in "*~>%|":
            count = int(line)
            if count < 0:
                return NIL, pos
            items = []
            for _ in range(count * 2 if kind in "%|" else count):
                item, pos = self._parse(pos)
                items.append(item)
            if kind == "|":  # an attribute annotates the reply that follows it
                return self._parse(pos)
            return Reply(kind, items), pos
        return (NIL if kind == "_" else Reply(kind, line)), pos


# ---------------------------------------------------------------- redis-cli's two views


def quoted(data):
    """redis-cli's sdscatrepr: printable ASCII as is, C escapes, other bytes as \\xHH."""
    out = bytearray(b'"')
    for byte in data:
        if byte in b'\\"':
            out += b"\\" + bytes((byte,))
        elif byte in _C_ESCAPES:
            out += _C_ESCAPES[byte]
        elif 0x20 <= byte < 0x7F:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out + b'"')


_C_ESCAPES = {0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x07: b"\\a", 0x08: b"\\b"}
_SCALAR_TTY = {"-": b"(error) %b\n", "+": b"%b\n", ":": b"(integer) %b\n", ",": b"(double) %b\n",
               "(": b"(big number) %b\n", "=": b"%b\n"}
_EMPTY = {"*": b"(empty array)\n", "%": b"(empty hash)\n", "~": b"(empty set)\n", ">": b"(empty push)\n"}
_NUMBER_SIGN = {"~": b"~", "%": b"#"}


def format_tty(reply, prefix=b""):
    """The formatted view, as redis-cli's cliFormatReplyTTY (nested indexes indent by their width)."""
    kind, value = reply
    if kind in _SCALAR_TTY:
        return _SCALAR_TTY[kind] % value
    if kind == "$":
        return quoted(value) + b"\n"
    if kind == "_":
        return b"(nil)\n"
    if kind == "#":
        return b"(true)\n" if value == b"t" else b"(false)\n"
    if not value:
        return _EMPTY[kind]
    step = 2 if kind == "%" else 1
    width = len(str(len(value) // step))
    inner = prefix + b" " * (width + 2)
    sign = _NUMBER_SIGN.get(kind, b")")
    out = []
    for index in range(0, len(value), step):
        out.append(b"%b%*d%b " % (prefix if index else b"", width, index // step + 1, sign))
        out.append(format_tty(value[index], inner))
        if step == 2:
            out[-1] = out[-1][:-1] + b" => "
            if is_multiline(value[index + 1]):
                out.append(b"\n" + inner)
            out.append(format_tty(value[index + 1], inner))
    return b"".join(out)


def is_multiline(reply):
    """Does format_tty print it on several lines? Then a map puts it under its key (cliIsMultilineValueTTY)."""
    kind, value = reply
    if kind not in AGGREGATE or not value:
        return False
    if len(value) > (2 if kind == "%" else 1):
        return True
    return is_multiline(value[-1])


def format_raw(reply):
    """The raw view, as redis-cli's cliFormatReplyRaw: values only, aggregates one item a line."""
    kind, value = reply
    if kind == "_":
        return b""
    if kind == "-":
        return value + b"\n"
    if kind == "#":
        return b"(true)" if value == b"t" else b"(false)"
    if kind == "%":
        return b"\n".join(format_raw(key) + b" " + format_raw(item)
                          for key, item in zip(value[::2], value[1::2]))
    if kind in AGGREGATE:
        return b"\n".join(format_raw(item) for item in value)
    return value


def always_raw(argv):
    """The commands redis-cli prints raw even on a terminal (cliSendCommand's output_raw)."""
    words = [arg.lower() for arg in argv[:2]]
    name, sub = words[0], words[1] if len(words) > 1 else b""
    return (name in (b"info", b"lolwut")
            or (name, sub) in {(b"client", b"list"), (b"client", b"info"), (b"memory", b"doctor"),
                               (b"memory", b"malloc-stats"), (b"latency", b"doctor"),
                               (b"cluster", b"nodes"), (b"cluster", b"info")})


# ---------------------------------------------------------------- the session


class Session:
    """One connection and what redis-cli tracks about it: the db (for the prompt) and MULTI."""

    def __init__(self, options):
        self.options = options
        self.db = options.db
        self.in_multi = False
        self.connection = Connection(options.host, options.port, reader_class=TypedReplyReader)

    def prompt(self):
        if not self.connection.is_open:
            return "not connected> "
        db = "[%d]" % self.db if self.db else ""
        return "%s:%d%s%s> " % (self.options.host, self.options.port, db, "(TX)" if self.in_multi else "")

    def connect(self):
        """Open the connection and send -3 / -a / -n's commands, reporting their errors as redis-cli."""
        self.connection.connect()
        handshake = []
        if self.options.resp3:
            handshake.append((b"HELLO", b"3"))
        if self.options.password is not None:
            handshake.append((b"AUTH", *filter(None, (self.options.user, self.options.password))))
        if self.db:
            handshake.append((b"SELECT", b"%d" % self.db))
        for argv in handshake:
            reply = self.connection.round_trip(encode_command(argv))
            if reply.kind == "-":
                sys.stderr.write("%s failed: %s\n" % (argv[0].decode(), reply.value.decode(errors="replace")))

    def run(self, argv, tty_view):
        """Send one command and print its reply (or, after SUBSCRIBE, every message until an error)."""
        if not self.connection.is_open:
            self.connect()
        self.connection.send(encode_command(argv))
        name = argv[0].lower()
        if name in (b"subscribe", b"psubscribe"):
            if tty_view:
                _write(b"Reading messages... (press Ctrl-C to quit)\n")
            while self.print_reply(argv, tty_view).kind != "-":
                pass
            return
        reply = self.print_reply(argv, tty_view)
        self.track(name, argv, reply)

    def print_reply(self, argv, tty_view):
        reply = self.connection.read_reply()
        if always_raw(argv):
            _write(format_raw(reply))
        elif tty_view:
            _write(format_tty(reply))
        else:
            _write(format_raw(reply) + b"\n")
        return reply

    def track(self, name, argv, reply):
        failed = reply.kind == "-"
        if name == b"select" and len(argv) == 2 and not failed:
            self.db = int(argv[1])
        elif name == b"multi" and not failed:
            self.in_multi = True
        elif name in (b"exec", b"discard"):
            self.in_multi = False


def _write(data):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def read_lines(session):
    """Lines as bytes: typed at a readline prompt on a terminal, else read from stdin bare."""
    if not sys.stdin.isatty():
        for line in sys.stdin.buffer:
            yield line.rstrip(b"\n")
        return
    import readline
    history = os.environ.get("MINI_REDIS_CLI_HISTFILE", HISTORY)
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    while True:
        try:
            line = input(session.prompt())
        except EOFError:
            return
        # input() has added the line to the history; a password stays out of the file.
        if line.lower().lstrip().startswith(("auth", "hello")):
            readline.remove_history_item(readline.get_current_history_length() - 1)
        try:
            readline.write_history_file(history)
        except OSError:
            pass
        yield line.encode("utf-8", "surrogateescape")


def repl(session, tty_view):
    for line in read_lines(session):
        argv = split_inline(line)
        if argv is None:
            _write(b"Invalid argument(s)\n")
            continue
        if not argv:
            continue
        if argv[0].lower() in (b"quit", b"exit"):
            return 0
        try:
            session.run(argv, tty_view)
        except KeyboardInterrupt:
            session.connection.close()
        except OSError as error:
            report_connection_error(session.options, error)
    return 0


def report_connection_error(options, error):
    reason = error.strerror or str(error)
    sys.stderr.write("Could not connect to Redis at %s:%d: %s\n" % (options.host, options.port, reason))


# ---------------------------------------------------------------- command line

Options = namedtuple("Options", "host port db password user resp3 tty_view command")
USAGE = ("usage: python client.py [-h host] [-p port] [-n db] [-a password] [--user name] [-3] "
         "[--raw|--no-raw] [command [arg ...]]\n")


def parse_options(args):
    """redis-cli's option style: options first, the first other word starts the command."""
    settings = {"host": "127.0.0.1", "port": 4000, "db": 0, "password": None, "user": None,
                "resp3": False, "tty_view": sys.stdout.isatty()}
    valued = {"-h": ("host", str), "-p": ("port", int), "-n": ("db", int), "-a": ("password", str),
              "--pass": ("password", str), "--user": ("user", str)}
    flags = {"-3": ("resp3", True), "--raw": ("tty_view", False), "--no-raw": ("tty_view", True)}
    index = 0
    while index < len(args) and args[index].startswith("-"):
        arg = args[index]
        if arg in valued and index + 1 < len(args):
            name, convert = valued[arg]
            settings[name] = convert(args[index + 1])
            index += 2
        elif arg in flags:
            name, value = flags[arg]
            settings[name] = value
            index += 1
        else:
            raise SystemExit(USAGE if arg == "--help" else "unknown option %s\n%s" % (arg, USAGE))
    command = [os.fsencode(arg) for arg in args[index:]]
    return Options(command=command, **settings)


def main(args=None):
    options = parse_options(sys.argv[1:] if args is None else args)
    session = Session(options)
    try:
        session.connect()
    except OSError as error:
        report_connection_error(options, error)
        if options.command:
            return 1
    if options.command:
        try:
            session.run(options.command, options.tty_view)
        except OSError as error:
            report_connection_error(options, error)
            return 1
        return 0
    return repl(session, options.tty_view)


if __name__ == "__main__":
    sys.exit(main())
