"""Redis's error replies, word for word, built in one place.

Commands raise ReplyError; the dispatcher turns it into an error reply, so a
deep helper (an integer parser, a type check) can fail a command directly.
"""


class ReplyError(Exception):
    """Fails the running command with this error text (e.g. 'ERR syntax error')."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


SYNTAX = "ERR syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
DB_OUT_OF_RANGE = "ERR DB index is out of range"
NO_PROTOCOL = "NOPROTO unsupported protocol version"
WRONG_PASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = ("ERR AUTH <password> called without any password configured for the "
                       "default user. Are you sure your configuration is correct?")
MAX_CLIENTS = "ERR max number of clients reached"


def _c_string(arg, limit=128):
    """An argument as C's "%.128s" prints it: cut at the first NUL and at limit bytes."""
    return arg.split(b"\0", 1)[0][:limit]


def _error_text(raw):
    """Redis replaces CR and LF with spaces so an error stays one protocol line."""
    return raw.replace(b"\r", b" ").replace(b"\n", b" ").decode("utf-8", "surrogateescape")


def wrong_arity(fullname):
    return ReplyError("ERR wrong number of arguments for '%s' command" % fullname)


def unknown_command(argv):
    """Redis 7 quotes the name and the first arguments, up to 128 bytes of them."""
    quoted = b""
    for arg in argv[1:]:
        if len(quoted) >= 128:
            break
        quoted += b"'%b' " % _c_string(arg, 128 - len(quoted))
    return ReplyError(_error_text(b"ERR unknown command '%b', with args beginning with: %b"
                                  % (_c_string(argv[0]), quoted)))


def unknown_subcommand(subcommand, container):
    return ReplyError(_error_text(b"ERR unknown subcommand '%b'. Try %b HELP."
                                  % (_c_string(subcommand), container.upper().encode())))


def protocol_error(message):
    return "ERR Protocol error: " + message
