"""Connection commands: PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO, CLIENT."""
from commands import Command, subcommand_table, table
from errors import (AUTH_NOT_CONFIGURED, DB_OUT_OF_RANGE, HELLO_NOAUTH, NO_PROTOCOL, SYNTAX, ReplyError,
                    printed, wrong_arity)
from protocol import Verbatim, string_to_int
from serving import access, version
from storage.numeric import to_int32

REDIS_VERSION = version.REDIS_VERSION.encode()
NAME_ERROR = "ERR Client names cannot contain spaces, newlines or special characters."


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


def _authenticate(session, username, password):
    """The default user's password is requirepass; without one, any password opens it."""
    access.authenticate(session.server.config, username, password)
    session.authenticated = True


def auth(session, *credentials):
    """AUTH [username] password"""
    if len(credentials) > 2:
        raise ReplyError(SYNTAX)
    if len(credentials) == 1:
        if not access.password(session.server.config):
            raise ReplyError(AUTH_NOT_CONFIGURED)
        credentials = (access.DEFAULT_USER, credentials[0])
    _authenticate(session, *credentials)
    return "OK"


def _check_name(name, message=NAME_ERROR):
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
            _authenticate(session, *arguments[position + 1:position + 3])
            position += 3
        elif option == b"setname" and remaining >= 1:
            _check_name(arguments[position + 1])
            session.name = arguments[position + 1]
            position += 2
        else:
            raise ReplyError("ERR Syntax error in HELLO option '%s'" % printed(arguments[position]))
    if not access.is_authenticated(session):
        raise ReplyError(HELLO_NOAUTH)
    if version:
        session.protocol = version
    return {
        b"server": b"redis", b"version": REDIS_VERSION, b"proto": session.protocol,
        b"id": session.id, b"mode": b"standalone", b"role": b"master", b"modules": [],
    }


# ------------------------------------------------------------------ CLIENT


def client_setname(session, name):
    """CLIENT SETNAME connection-name"""
    _check_name(name)
    session.name = name
    return "OK"


def client_getname(session):
    """CLIENT GETNAME"""
    return session.name or None


def client_id(session):
    """CLIENT ID"""
    return session.id


def client_setinfo(session, attribute, value):
    """CLIENT SETINFO <LIB-NAME libname|LIB-VER libver>

    Redis 7.2's subcommand: clients such as redis-py 8 send it on connect.
    """
    attribute = attribute.lower()
    if attribute == b"lib-name":
        _check_name(value, "ERR lib-name cannot contain spaces, newlines or special characters.")
        session.lib_name = value
    elif attribute == b"lib-ver":
        _check_name(value, "ERR lib-ver cannot contain spaces, newlines or special characters.")
        session.lib_version = value
    else:
        raise ReplyError("ERR Unrecognized option '%s'" % printed(attribute))
    return "OK"


def client_info(session):
    """CLIENT INFO"""
    return Verbatim("txt", session.describe().encode() + b"\n")


def client_list(session, *filters):
    """CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id ...]"""
    sessions = list(session.server.sessions.values())
    if filters:
        option = filters[0].lower()
        if option == b"type" and len(filters) == 2:
            kind = filters[1].lower()
            if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                raise ReplyError("ERR Unknown client type '%s'" % printed(filters[1]))
            if kind != b"normal":
                sessions = []
        elif option == b"id" and len(filters) >= 2:
            ids = set()
            for raw in filters[1:]:
                client_id_ = string_to_int(raw)
                if client_id_ is None or client_id_ <= 0:
                    raise ReplyError("ERR Invalid client ID")
                ids.add(client_id_)
            sessions = [other for other in sessions if other.id in ids]
        else:
            raise ReplyError(SYNTAX)
    return Verbatim("txt", b"".join(other.describe().encode() + b"\n" for other in sessions))


def client_kill(session, *filters):
    """CLIENT KILL ip:port|[ID client-id] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]"""
    sessions = session.server.sessions.values()
    if len(filters) == 1:
        victims = [other for other in sessions if other.address == filters[0].decode(errors="replace")]
        if not victims:
            raise ReplyError("ERR No such client")
        session.server.kill(victims)
        return "OK"
    if len(filters) % 2:
        raise ReplyError(SYNTAX)
    victims, skip_me = list(sessions), True
    for index in range(0, len(filters), 2):
        option, value = filters[index].lower(), filters[index + 1]
        text = value.decode(errors="replace")
        if option == b"id":
            wanted = string_to_int(value)
            if wanted is None or wanted <= 0:
                raise ReplyError("ERR client-id should be greater than 0")
            victims = [other for other in victims if other.id == wanted]
        elif option == b"addr":
            victims = [other for other in victims if other.address == text]
        elif option == b"laddr":
            victims = [other for other in victims if other.local_address == text]
        elif option == b"skipme" and value.lower() in (b"yes", b"no"):
            skip_me = value.lower() == b"yes"
        else:
            raise ReplyError(SYNTAX)
    if skip_me:
        victims = [other for other in victims if other is not session]
    session.server.kill(victims)
    return len(victims)


CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME", "    Return the name of the current connection.",
    "ID", "    Return the ID of the current connection.",
    "INFO", "    Return information about the current client connection.",
    "KILL <ip:port>", "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
    "    * ID <client-id>", "      Kill connections by client id.",
    "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
    "LIST [options ...]", "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
    "    * ID <client-id> [<client-id> ...]", "      Return clients of specified IDs only.",
    "SETNAME <name>", "    Assign the name <name> to the current connection.",
    "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
    "HELP", "    Print this help.",
]


def client_help(session):
    """CLIENT HELP"""
    return CLIENT_HELP


CLIENT_SUBCOMMANDS = subcommand_table(
    "client",
    Command("setname", client_setname, 3, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("getname", client_getname, 2, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("id", client_id, 2, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("setinfo", client_setinfo, 4, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("info", client_info, 2, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("list", client_list, -2, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("kill", client_kill, -3, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("help", client_help, 2, ("loading", "stale"), 0, 0, 0),
)


COMMANDS = table(
    Command("ping", ping, -1, ("fast",), 0, 0, 0),
    Command("echo", echo, 2, ("loading", "stale", "fast"), 0, 0, 0),
    Command("quit", quit_, -1, ("allow_busy", "noscript", "loading", "stale", "fast", "no_auth"), 0, 0, 0),
    Command("reset", reset, 1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), 0, 0, 0),
    Command("select", select, 2, ("loading", "stale", "fast"), 0, 0, 0),
    Command("auth", auth, -2, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), 0, 0, 0),
    Command("hello", hello, -1, ("noscript", "loading", "stale", "fast", "no_auth", "allow_busy"), 0, 0, 0),
    Command("client", None, -2, (), 0, 0, 0, CLIENT_SUBCOMMANDS),
    group="connection",
)
