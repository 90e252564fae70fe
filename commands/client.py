"""CLIENT and MONITOR, as Redis's networking.c: who is connected and what they do, and the levers on
them (KILL, PAUSE, REPLY, UNBLOCK, NO-EVICT).

The levers that change how commands run for everyone (a pause, a monitor) or for one client
(REPLY OFF or SKIP) make sessions leave the plain lane (commands.is_plain), so while nobody
uses them they cost nothing.
"""
from commands import Command, subcommand_table, table, tracking
from commands.connection import check_name
from errors import (CLIENT_ID_NOT_POSITIVE, INVALID_CLIENT_ID, NO_SUCH_CLIENT, NOT_INTEGER, PAUSE_MODE,
                    PAUSE_TIMEOUT_NOT_INTEGER, SYNTAX, TIMEOUT_NEGATIVE, UNBLOCK_REASON, ReplyError, printed,
                    subcommand_syntax)
from protocol import Verbatim, string_to_int
from serving.pause import BY_CLIENT_COMMAND, PAUSE_ALL, PAUSE_WRITE, pause_clients, unpause_clients
from serving.session import NO_REPLY, REPLY_OFF, REPLY_ON, REPLY_SKIP_NEXT
from storage.blocking import UNBLOCK_ERROR

CLIENT_TYPES = {b"normal": "normal", b"master": "master", b"replica": "replica", b"slave": "replica",
                b"pubsub": "pubsub"}


def client_setname(session, name):
    """CLIENT SETNAME connection-name"""
    check_name(name)
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

    Redis 7.2's subcommand: clients such as redis-py 8 send it on connect. It is checked and
    accepted, and kept nowhere: Redis 7.0's CLIENT LIST, which we match, has no field for it.
    """
    attribute = attribute.lower()
    if attribute not in (b"lib-name", b"lib-ver"):
        raise ReplyError("ERR Unrecognized option '%s'" % printed(attribute))
    check_name(value, "ERR %s cannot contain spaces, newlines or special characters." % attribute.decode())
    return "OK"


def client_info(session):
    """CLIENT INFO"""
    return Verbatim("txt", session.describe(session).encode() + b"\n")


def _client_type(session):
    """getClientType(): our master's client, a replica of ours, a subscriber, or normal (a monitor counts as
    normal, as in Redis)."""
    if session.master_client:
        return "master"
    if session.is_replica():
        return "replica"
    return "pubsub" if session.subscription_count() else "normal"


def _parse_type(raw):
    kind = CLIENT_TYPES.get(raw.lower())
    if kind is None:
        raise ReplyError("ERR Unknown client type '%s'" % printed(raw))
    return kind


def client_list(session, *filters):
    """CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id ...]"""
    sessions = list(session.server.sessions.values())
    if filters:
        option = filters[0].lower()
        if option == b"type" and len(filters) == 2:
            kind = _parse_type(filters[1])
            sessions = [other for other in sessions if _client_type(other) == kind]
        elif option == b"id" and len(filters) >= 2:  # in the order asked, as often as asked
            ids = [string_to_int(raw) for raw in filters[1:]]
            if None in ids:  # any integer will do, even one no client can have
                raise ReplyError(INVALID_CLIENT_ID)
            by_id = session.server.sessions
            sessions = [by_id[wanted] for wanted in ids if wanted in by_id]
        else:
            raise ReplyError(SYNTAX)
    return Verbatim("txt", b"".join(other.describe(session).encode() + b"\n" for other in sessions))


def _kill_filter(session, option, value):
    """One CLIENT KILL filter as a test on a session; ReplyError for a bad one, before anything is killed."""
    text = value.decode(errors="replace")
    if option == b"id":
        wanted = string_to_int(value)
        if wanted is None or wanted <= 0:
            raise ReplyError(CLIENT_ID_NOT_POSITIVE)
        return lambda other: other.id == wanted
    if option == b"type":
        kind = _parse_type(value)
        return lambda other: _client_type(other) == kind
    if option == b"user":
        user = session.server.acl.get(value)
        if user is None:
            raise ReplyError("ERR No such user '%s'" % printed(value))
        return lambda other: other.user is user
    if option == b"addr":
        return lambda other: other.address == text
    if option == b"laddr":
        return lambda other: other.local_address == text
    raise ReplyError(SYNTAX)


def _kill(session, victims):
    """Close the victims; the caller among them gets its reply first (Redis's close-after-reply)."""
    if session in victims:
        session.close_after_reply = True
    session.server.kill([other for other in victims if other is not session])


def client_kill(session, *filters):
    """CLIENT KILL ip:port|[ID client-id] [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME yes|no]"""
    sessions = list(session.server.sessions.values())
    if len(filters) == 1:  # the old form: one address, and an error when nobody is there
        victims = [other for other in sessions if other.address == filters[0].decode(errors="replace")]
        if not victims:
            raise ReplyError(NO_SUCH_CLIENT)
        _kill(session, victims)
        return "OK"
    if len(filters) % 2:
        raise ReplyError(SYNTAX)
    tests, skip_me = [], True
    for index in range(0, len(filters), 2):
        option, value = filters[index].lower(), filters[index + 1]
        if option == b"skipme":
            if value.lower() not in (b"yes", b"no"):
                raise ReplyError(SYNTAX)
            skip_me = value.lower() == b"yes"
        else:
            tests.append(_kill_filter(session, option, value))
    victims = [other for other in sessions if all(test(other) for test in tests)
               and not (skip_me and other is session)]
    _kill(session, victims)
    return len(victims)


def client_reply(session, mode):
    """CLIENT REPLY ON|OFF|SKIP"""
    mode = mode.lower()
    if mode == b"on":
        session.replies = REPLY_ON
        return "OK"
    if mode == b"off":
        session.replies = REPLY_OFF
    elif mode == b"skip":
        if session.replies != REPLY_OFF:
            session.replies = REPLY_SKIP_NEXT
    else:
        raise ReplyError(SYNTAX)
    return None  # withheld: the session is no longer REPLY_ON (Session.outgoing)


def client_pause(session, timeout, *mode):
    """CLIENT PAUSE timeout [WRITE|ALL]"""
    if len(mode) > 1:
        raise subcommand_syntax(session.argv)
    kind = PAUSE_ALL
    if mode:
        kind = {b"write": PAUSE_WRITE, b"all": PAUSE_ALL}.get(mode[0].lower())
        if kind is None:
            raise ReplyError(PAUSE_MODE)
    milliseconds = string_to_int(timeout)
    if milliseconds is None:
        raise ReplyError(PAUSE_TIMEOUT_NOT_INTEGER)
    if milliseconds < 0:
        raise ReplyError(TIMEOUT_NEGATIVE)
    pause_clients(session.server, BY_CLIENT_COMMAND, kind, milliseconds)
    return "OK"


def client_unpause(session):
    """CLIENT UNPAUSE: ends CLIENT PAUSE's pause only; a failover's or a shutdown's goes on."""
    unpause_clients(session.server, BY_CLIENT_COMMAND)
    return "OK"


def client_unblock(session, target_id, *reason):
    """CLIENT UNBLOCK client-id [TIMEOUT|ERROR]"""
    if len(reason) > 1:
        raise subcommand_syntax(session.argv)
    result = None  # as if the wait timed out
    if reason:
        result = {b"timeout": None, b"error": UNBLOCK_ERROR}.get(reason[0].lower(), ReplyError)
        if result is ReplyError:
            raise ReplyError(UNBLOCK_REASON)
    wanted = string_to_int(target_id)
    if wanted is None:
        raise ReplyError(NOT_INTEGER)
    target = session.server.sessions.get(wanted)
    waiter = target.waiter if target is not None else None
    if waiter is None or waiter.result.ready():
        return 0
    waiter.result.set(result)
    return 1


def client_no_evict(session, switch):
    """CLIENT NO-EVICT ON|OFF"""
    switch = switch.lower()
    if switch not in (b"on", b"off"):
        raise ReplyError(SYNTAX)
    session.no_evict = switch == b"on"
    return "OK"


CLIENT_HELP = [
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR", "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME", "    Return the name of the current connection.",
    "ID", "    Return the ID of the current connection.",
    "INFO", "    Return information about the current client connection.",
    "KILL <ip:port>", "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
    "    * USER <username>", "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
    "LIST [options ...]", "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
    "UNPAUSE", "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
    "SETNAME <name>", "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO", "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
    "HELP", "    Prints this help.",
]


def client_help(session):
    """CLIENT HELP"""
    return CLIENT_HELP


def monitor(session):
    """MONITOR"""
    if session.in_exec:  # Redis denies it to a client that may not block, as inside EXEC
        raise ReplyError("ERR MONITOR isn't allowed for DENY BLOCKING client")
    if session.monitoring:
        return NO_REPLY  # Redis ignores it, without a word, from a client that monitors already
    session.monitoring = True
    session.server.monitors.append(session)
    return "OK"


_ADMIN = ("admin", "noscript", "loading", "stale")
_PLAIN = ("noscript", "loading", "stale")
CLIENT_SUBCOMMANDS = subcommand_table(
    "client",
    Command("setname", client_setname, 3, _PLAIN, 0, 0, 0),
    Command("getname", client_getname, 2, _PLAIN, 0, 0, 0),
    Command("id", client_id, 2, _PLAIN, 0, 0, 0),
    Command("setinfo", client_setinfo, 4, _PLAIN, 0, 0, 0),
    Command("info", client_info, 2, _PLAIN, 0, 0, 0),
    Command("list", client_list, -2, _ADMIN, 0, 0, 0),
    Command("kill", client_kill, -3, _ADMIN, 0, 0, 0),
    Command("reply", client_reply, 3, _PLAIN, 0, 0, 0),
    Command("pause", client_pause, -3, _ADMIN, 0, 0, 0),
    Command("unpause", client_unpause, 2, _ADMIN, 0, 0, 0),
    Command("unblock", client_unblock, -3, _ADMIN, 0, 0, 0),
    Command("no-evict", client_no_evict, 3, _ADMIN, 0, 0, 0),
    Command("help", client_help, 2, ("loading", "stale"), 0, 0, 0),
    *tracking.SUBCOMMANDS,
)


COMMANDS = table(
    Command("client", None, -2, (), 0, 0, 0, CLIENT_SUBCOMMANDS),
    Command("monitor", monitor, 1, _ADMIN, 0, 0, 0),
    group="connection",
)
