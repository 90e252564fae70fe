"""Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO (CLIENT is in client.py)."""
from acl import DEFAULT, authenticate
from commands import Command, table
from errors import (AUTH_NOT_CONFIGURED, CLIENT_NAME, DB_OUT_OF_RANGE, HELLO_NOAUTH, NO_PROTOCOL, SYNTAX,
                    ReplyError, printed, wrong_arity)
from protocol import string_to_int
from serving import access, version
from storage.numeric import to_int32

REDIS_VERSION = version.REDIS_VERSION.encode()


def ping(session, *message):
    """PING [message]"""
    if len(message) > 1:
        raise wrong_arity("ping")
    if session.protocol == 2 and session.subscription_count():
        return [b"pong", message[0] if message else b""]  # a subscribed RESP2 client gets an array
    return message[0] if message else "PONG"


def echo(session, message):
    """ECHO message"""
    return message


def quit_(session, *ignored):
    """QUIT"""
    session.close_after_reply = True
    return "OK"


def reset(session):
    """RESET"""
    session.reset()
    return "RESET"


def select(session, index):
    """SELECT index"""
    index = to_int32(index)
    if not 0 <= index < len(session.server.keyspace):
        raise ReplyError(DB_OUT_OF_RANGE)
    session.select(index)
    return "OK"


def auth(session, *credentials):
    """AUTH [username] password"""
    if len(credentials) > 2:
        raise ReplyError(SYNTAX)
    if len(credentials) == 1:
        if session.server.acl.default.nopass:
            raise ReplyError(AUTH_NOT_CONFIGURED)
        credentials = (DEFAULT, credentials[0])
    authenticate(session, *credentials)
    return "OK"


def check_name(name, message=CLIENT_NAME):
    """CLIENT SETNAME's and HELLO SETNAME's rule: printable ASCII, no spaces."""
    if any(byte < 0x21 or byte > 0x7E for byte in name):
        raise ReplyError(message)


def hello(session, *arguments):
    """HELLO [protover [AUTH username password] [SETNAME clientname]]"""
    version = None
    if arguments:
        version = string_to_int(arguments[0])
        if version is None:
            raise ReplyError("ERR Protocol version is not an integer or out of range")
        if version not in (2, 3):
            raise ReplyError(NO_PROTOCOL)
    # Like Redis 7.0, each option takes effect as it is read: AUTH or SETNAME before a later bad option
    # still counts, and so does SETNAME when the client turns out not to be authenticated.
    position = 1
    while position < len(arguments):
        option, remaining = arguments[position].lower(), len(arguments) - position - 1
        if option == b"auth" and remaining >= 2:
            authenticate(session, *arguments[position + 1:position + 3])
            position += 3
        elif option == b"setname" and remaining >= 1:
            check_name(arguments[position + 1])
            session.name = arguments[position + 1]
            position += 2
        else:
            raise ReplyError("ERR Syntax error in HELLO option '%s'" % printed(arguments[position]))
    if not access.is_authenticated(session):
        raise ReplyError(HELLO_NOAUTH)
    if version:
        session.protocol = version
    role = b"master" if session.server.replication.master is None else b"replica"
    return {
        b"server": b"redis", b"version": REDIS_VERSION, b"proto": session.protocol,
        b"id": session.id, b"mode": b"standalone", b"role": role, b"modules": [],
    }


COMMANDS = table(
    Command("ping", ping, -1, ("fast",), 0, 0, 0),
    Command("echo", echo, 2, ("loading", "stale", "fast"), 0, 0, 0),
    Command("quit", quit_, -1, ("allow_busy", "noscript", "loading", "stale", "fast", "no_auth"), 0, 0, 0),
    Command("reset", reset, 1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), 0, 0, 0),
    Command("select", select, 2, ("loading", "stale", "fast"), 0, 0, 0),
    Command("auth", auth, -2, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), 0, 0, 0),
    Command("hello", hello, -1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), 0, 0, 0),
    group="connection",
)
