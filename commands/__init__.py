"""The command table: every command the server knows, and the dispatcher that runs them.

Each family module (strings, keys, connection, admin) lists its commands as
Command rows, Redis's way: a positive arity is exact, a negative one a
minimum, both counting the command name. A handler is called as
handler(session, *arguments) and returns the reply; it raises ReplyError to
answer with an error. A container command (CLIENT, CONFIG, COMMAND) carries
its own table of subcommands, checked the same way. The families import
this module for their rows; commands/families.py imports the families and
builds the full table.

Imports: errors, protocol, storage, persistence, serving.
"""
import logging
from collections import namedtuple
from types import MappingProxyType

from errors import NOAUTH, OOM, ReplyError, unknown_command, unknown_subcommand, wrong_arity
from protocol import Error
from serving import access
from storage.eviction import evict_or_refuse

Command = namedtuple("Command", "name handler arity flags first_key last_key step subcommands group",
                     defaults=(MappingProxyType({}), "generic"))
Command.__doc__ = "One row of the command table: flags is a tuple of Redis's flag names."

log = logging.getLogger("mini-redis")


def table(*commands, group):
    """A family's rows keyed by lowercase name (bytes), each tagged with the family."""
    return {command.name.encode(): command._replace(group=group) for command in commands}


def subcommand_table(container, *commands):
    """Subcommand rows keyed by name, each named 'container|sub' as Redis names them."""
    return {command.name.encode(): command._replace(name="%s|%s" % (container, command.name), group=None)
            for command in commands}


def arity_ok(arity, count):
    return count == arity if arity >= 0 else count >= -arity


def lookup(commands, argv):
    """(command row, its arguments) for argv, going into subcommands; or raise ReplyError."""
    command = commands.get(argv[0].lower())
    if command is None:
        raise unknown_command(argv)
    arguments = argv[1:]
    if command.subcommands and arguments:
        subcommand = command.subcommands.get(arguments[0].lower())
        if subcommand is None:
            raise unknown_subcommand(arguments[0], argv[0])
        command, arguments = subcommand, arguments[1:]
    if not arity_ok(command.arity, len(argv)):
        raise wrong_arity(command.name)
    return command, arguments


# Commands that act at once inside MULTI instead of being queued.
TRANSACTION_CONTROL = frozenset(("multi", "exec", "discard", "watch", "quit", "reset"))
# What a RESP2 client may send while subscribed: the rest would be mixed up with its messages.
SUBSCRIBED_CONTEXT = frozenset(("subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ping", "quit",
                                "reset"))


def execute(commands, session, argv):
    """Run (or, inside MULTI, queue) one command for a session and return its reply."""
    session.argv = argv
    command = commands.get(argv[0].lower())
    try:
        if command is None or command.subcommands or not arity_ok(command.arity, len(argv)):
            command, arguments = lookup(commands, argv)  # a container's subcommand, or the error to send
        else:
            arguments = argv[1:]
        if "protected" in command.flags:  # DEBUG: allowed by enable-debug-command
            access.check_protected(session, command.name)
        if not session.authenticated and "no_auth" not in command.flags and session.server.config["requirepass"]:
            raise ReplyError(NOAUTH)
        if session.multi is not None and "no_multi" in command.flags:
            raise ReplyError("ERR Command not allowed inside a transaction")
        if session.db.tracking and evict_or_refuse(command, session):  # maxmemory is set
            raise ReplyError(OOM)
        if (session.channels or session.patterns) and session.protocol == 2 \
                and command.name not in SUBSCRIBED_CONTEXT:
            raise ReplyError("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                             "RESET are allowed in this context" % command.name)
    except ReplyError as error:
        if argv[0].lower() == b"exec":  # EXEC itself refused: Redis drops any transaction and WATCH
            session.discard_transaction()
            session.unwatch()
            reason = error.message[4:] if error.message.startswith("ERR ") else error.message
            return Error("EXECABORT Transaction discarded because of: " + reason)
        if session.multi is not None:
            session.multi_failed = True
        return Error(error.message)
    if session.multi is not None and command.name not in TRANSACTION_CONTROL:
        session.multi.append((command, arguments, argv))
        return "QUEUED"
    return run(session, command, arguments)


_UNFINISHED = Error("ERR the command did not finish")  # a handler left by an exception: nothing to log


def run(session, command, arguments):
    """call(), and what a plain session can do without (see is_plain): a write breaks the WATCHes on
    what it changed, the AOF logs it, maxmemory re-sizes it."""
    keyspace = session.server.keyspace
    watched = keyspace.fingerprints(arguments) if keyspace.watched and "write" in command.flags else None
    propagator = keyspace.propagator  # the AOF while it logs: a write that worked is logged (persistence/aof.py)
    if propagator is not None:
        propagator.begin()
    reply = _UNFINISHED
    try:
        reply = call(session, command, arguments)
    finally:
        if watched:
            keyspace.touch_changed(watched)
        if propagator is not None:
            propagator.end(session, "write" in command.flags and type(reply) is not Error)
    if session.db.tracking and "write" in command.flags and type(reply) is not Error:
        keyspace.memory.account(session.db, command, arguments)  # maxmemory is set: re-size what changed
    return reply


def call(session, command, arguments):
    """Call a command's handler: a ReplyError it raises becomes its Error reply, a failure is logged,
    and a write that worked counts as one change (what save points count).

    One or two arguments are passed spelled out: CPython calls that way several times faster
    than with *arguments, and most commands take one or two.
    """
    session.last_command = command.name
    try:
        count = len(arguments)
        if count == 2:
            reply = command.handler(session, arguments[0], arguments[1])
        elif count == 1:
            reply = command.handler(session, arguments[0])
        else:
            reply = command.handler(session, *arguments)
    except ReplyError as error:
        return Error(error.message)
    except Exception:
        log.exception("command %r failed", command.name)
        return Error("ERR internal error while running '%s'" % command.name)
    if "write" in command.flags and type(reply) is not Error:
        session.server.keyspace.dirty += 1
    return reply


# The families whose commands only read and write data, and never wait: run for a plain session
# (see is_plain), nothing execute() and run() check before and after a command can apply to them.
PLAIN_GROUPS = frozenset(("string", "list", "hash", "set", "sortedset", "keyspace"))


def plain_table(commands):
    """The plain commands by the names a client sends, in capitals too: a hit needs no lower()."""
    plain = {}
    for name, command in commands.items():
        if command.group in PLAIN_GROUPS and not command.subcommands and "blocking" not in command.flags:
            plain[name] = plain[name.upper()] = command
    return plain


def is_plain(session):
    """Whether a plain command may go straight to call() for this session: it is authenticated,
    neither queuing a transaction nor subscribed, and the server has no WATCHed key, no AOF being
    written and no maxmemory. Only a command that is not plain changes any of that, and a plain
    one never waits, so a batch checks once, and again after each command that is not plain."""
    keyspace = session.server.keyspace
    return (session.authenticated and session.multi is None and not session.db.tracking
            and not (session.channels or session.patterns) and not keyspace.watched
            and keyspace.propagator is None)


class Replayer:
    """Runs logged commands (the AOF's) as a client without a connection: each is looked up in a
    table, then run() as any client's, so persistence replays a log without importing commands."""

    def __init__(self, commands, session):
        self.commands = commands
        self.session = session

    def lookup(self, argv):
        """(command row, its arguments), or ReplyError for an unknown command or a wrong arity."""
        return lookup(self.commands, argv)

    def run(self, command, arguments, argv):
        self.session.argv = argv
        run(self.session, command, arguments)
