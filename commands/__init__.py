"""The command table: every command the server knows, and the dispatcher that runs them.

Each family module (strings, keys, connection, admin) lists its commands as
Command rows, Redis's way: a positive arity is exact, a negative one a
minimum, both counting the command name. A handler is called as
handler(session, *arguments) and returns the reply; it raises ReplyError to
answer with an error. A container command (CLIENT, CONFIG, COMMAND) carries
its own table of subcommands, checked the same way. The families import
this module for their rows; commands/families.py imports the families and
builds the full table.

Imports: acl, errors, protocol, storage, persistence, serving, scripting, replication, modules.
"""
import logging
import sys
from collections import namedtuple
from time import perf_counter_ns
from types import MappingProxyType

from acl import check as check_permissions
from errors import (LOADING, MASTERDOWN, MISCONF_AOF, MISCONF_RDB, NOAUTH, NOREPLICAS, OOM, READONLY_REPLICA,
                    REPLICA_KEYSPACE, ReplyError, unknown_command, unknown_subcommand, wrong_arity)
from protocol import NULL_ARRAY, Error
from persistence.aof import OFF
from serving import access
from serving.monitors import feed_monitors
from serving.pause import SCRIPT_CALLS, wait_while_paused
from serving.session import NO_REPLY, REPLY_ON
from storage.eviction import evict_or_refuse

Command = namedtuple("Command", "name handler arity flags first_key last_key step subcommands group stats",
                     defaults=(MappingProxyType({}), "generic", None))
Command.__doc__ = ("One row of the command table: flags is a tuple of Redis's flag names; stats the server's "
                   "serving.stats.CommandStats for it (see families.build_table).")

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
SUBSCRIBED_CONTEXT = frozenset(("subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe",
                                "sunsubscribe", "ping", "quit", "reset"))


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
        session.last_command = command  # CLIENT LIST's cmd: set when looked up, queued or refused too
        if not session.authenticated and "no_auth" not in command.flags and session.server.acl.auth_required:
            raise ReplyError(NOAUTH)
        if session.multi is not None and "no_multi" in command.flags:
            raise ReplyError("ERR Command not allowed inside a transaction")
        if not session.user.unrestricted:
            refused = check_permissions(session, command, argv, "toplevel" if session.multi is None else "multi")
            if refused is not None:
                raise ReplyError(refused)
        if session.db.tracking and evict_or_refuse(command, session):  # maxmemory is set
            raise ReplyError(OOM)
        if "write" in command.flags or command.name == "ping":
            refuse_on_disk_error(session.server)
        if session.server.replication.gates_writes() and _writes(session, command):
            refuse_without_replicas(session.server)
        link = session.server.replication.master
        if link is not None and session is not link.session:  # we are a replica: what its clients may not do
            refuse_on_replica(session, command, link)
        if session.monitoring and _touches_keyspace(command):  # Redis's monitor is a replica
            raise ReplyError(REPLICA_KEYSPACE)
        if (session.channels or session.patterns or session.shard_channels) and session.protocol == 2 \
                and command.name not in SUBSCRIBED_CONTEXT:
            raise ReplyError("ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                             "RESET are allowed in this context" % command.name)
        if session.server.loading.active:
            refuse_while_loading(session, command)
        # CLIENT PAUSE, or a script running (which refuses with -BUSY once busy): see serving/pause.py
        if session.server.pause is not None:
            if not wait_while_paused(session, command):
                session.close_after_reply = True  # the client left while its command waited: drop it
                return NO_REPLY
            link = session.server.replication.master
            if link is not None and session is not link.session:  # a FAILOVER's pause ended: we may be a replica now
                refuse_on_replica(session, command, link)
    except ReplyError as error:
        _count_rejection(commands, session, argv, error.message)
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


def refuse_on_disk_error(server):
    """Redis's writeCommandsDeniedByDiskError: after a failed background save (with save points and
    stop-writes-on-bgsave-error) or a failed AOF write, writes and PING answer MISCONF."""
    config = server.config
    if not server.snapshots.last_status_ok and config["stop-writes-on-bgsave-error"] and config["save"]:
        raise ReplyError(MISCONF_RDB)
    aof = server.aof
    if aof.state != OFF and not aof.last_write_ok:
        raise ReplyError(MISCONF_AOF % aof.last_write_error)


def refuse_without_replicas(server):
    """min-replicas-to-write: fewer replicas than that acknowledged within min-replicas-max-lag seconds."""
    if server.replication.too_few_replicas():
        raise ReplyError(NOREPLICAS)


def refuse_on_replica(session, command, link):
    """Redis's processCommand on a replica: no writes with replica-read-only (READONLY), and while the link
    is down with replica-serve-stale-data no, only the commands flagged stale (MASTERDOWN)."""
    config = session.server.config
    effective = _effective_flags(session, command)
    if config["replica-read-only"] and any(write for write, _ in effective):
        raise ReplyError(READONLY_REPLICA)
    if link.state != "connected" and not config["replica-serve-stale-data"] and (
            "stale" not in command.flags or not all(stale for _, stale in effective)):
        if not (session.channels or session.patterns or session.shard_channels) or session.protocol != 2 \
                or command.name in SUBSCRIBED_CONTEXT:  # else the subscribed context's error comes first
            raise ReplyError(MASTERDOWN)


def refuse_while_loading(session, command):
    """Redis's processCommand while a dataset loads (persistence/progress.py): only the commands flagged
    loading run, an EXEC only if all it queued are; during an async load, all but the ones flagged
    no_async_loading (an EXEC of one included)."""
    queued = session.multi if command.name == "exec" and session.multi else ()
    if session.server.loading.asynchronous:
        refused = "no_async_loading" in command.flags or any("no_async_loading" in row.flags for row, _, _ in queued)
    else:
        refused = "loading" not in command.flags or any("loading" not in row.flags for row, _, _ in queued)
    if refused:
        raise ReplyError(LOADING)


def _writes(session, command):
    """Redis's is_write_command: a write, or an EXEC of a transaction holding one."""
    return any(write for write, _ in _effective_flags(session, command))


def _effective_flags(session, command):
    """[(writes, allowed on a stale replica)] for the command as sent, or for each command an EXEC would
    run; a script's declared flags stand for its command's (evalGetCommandFlags)."""
    if command.name == "exec" and session.multi:
        return [_flags_as_sent(session, row, argv) for row, _, argv in session.multi]
    return [_flags_as_sent(session, command, session.argv)]


def _flags_as_sent(session, command, argv):
    if command.name in SCRIPT_CALLS:
        declared = session.server.scripting.declared_flags(argv)
        if declared is not None:
            return "no-writes" not in declared, "allow-stale" in declared
    return "write" in command.flags, "stale" in command.flags


def _touches_keyspace(command):
    flags = command.flags
    return "readonly" in flags or "write" in flags or "may_replicate" in flags


def _count_rejection(commands, session, argv, message):
    """A command refused before it ran: its error counts, and so does the row's rejected_calls if the
    name (and subcommand) were known, as Redis's rejectCommand counts them."""
    session.server.stats.count_error(message)
    command = commands.get(argv[0].lower())
    if command is not None and command.subcommands and len(argv) > 1:
        command = command.subcommands.get(argv[1].lower())
    if command is not None and command.stats is not None:
        command.stats.rejected += 1


_UNFINISHED = Error("ERR the command did not finish")  # a handler left by an exception: nothing to log


def run(session, command, arguments):
    """call(), and what a plain session can do without (see is_plain): a write breaks the WATCHes on
    what it changed, the AOF logs it, maxmemory re-sizes it, MONITOR shows it; while clients track keys,
    serving/tracking.py remembers what they read."""
    tracking = session.server.tracking
    if tracking.clients:
        return tracking.run(session, command, arguments, _run)
    return _run(session, command, arguments)


def run_in_script(caller, session, command, arguments):
    """run() for a command of caller's script, run by the script's own client (session): while clients
    track keys, the caller is the one whose reads are remembered (serving/tracking.py)."""
    tracking = session.server.tracking
    if tracking.clients:
        return tracking.run_in_script(caller, session, command, arguments, _run)
    return _run(session, command, arguments)


def _run(session, command, arguments):
    keyspace = session.server.keyspace
    monitored = session.server.monitors and session.argv
    if monitored and "blocking" in command.flags:  # shown as it starts, since it may wait (Redis: as it blocks)
        feed_monitors(session, command, monitored)
    watched = keyspace.fingerprints(arguments) if keyspace.watched and "write" in command.flags else None
    propagator = keyspace.propagator  # the AOF or replicas listen: a command that changed something is logged
    if propagator is not None:
        propagator.begin()
    reply = _UNFINISHED
    try:
        reply = call(session, command, arguments)
    finally:
        if watched:
            keyspace.touch_changed(watched)
        if propagator is not None:
            propagator.end(session)
    if session.db.tracking and "write" in command.flags and type(reply) is not Error:
        keyspace.memory.account(session.db, command, arguments)  # maxmemory is set: re-size what changed
    if monitored and "blocking" not in command.flags:  # after it ran: SELECT shows its new database
        feed_monitors(session, command, monitored)
    return reply


def call(session, command, arguments):
    """Call a command's handler: a ReplyError it raises becomes its Error reply, a failure is logged.
    Each handler adds the changes it made to keyspace.dirty itself, as Redis's add to server.dirty
    (what save points count, and what tells the propagator to log the command). Its whole microseconds
    are counted in the row's stats, and its failure; a call past the fast span, or the row's first
    (an IndexError there, which costs nothing until it happens), goes to slow_call().

    One or two arguments are passed spelled out: CPython calls that way several times faster
    than with *arguments, and most commands take one or two.
    """
    session.last_command = command
    stats = command.stats
    start = perf_counter_ns()
    try:
        count = len(arguments)
        if count == 2:
            reply = command.handler(session, arguments[0], arguments[1])
        elif count == 1:
            reply = command.handler(session, arguments[0])
        else:
            reply = command.handler(session, *arguments)
    except ReplyError as error:
        reply = Error(error.message)
    except Exception:
        log.exception("command %r failed", command.name)
        reply = Error("ERR internal error while running '%s'" % command.name)
    duration = perf_counter_ns() - start
    try:
        stats.fast[duration // 1000] += 1  # see serving/stats.py
    except IndexError:
        slow_call(session, command, duration, reply)
    if type(reply) is Error:
        stats.failed += 1
        session.server.stats.count_error(reply.message)
    return reply


def slow_call(session, command, duration, reply):
    """A call past its row's fast span (serving/stats.py): count it without the time it spent blocked, then log it
    to the slow log and the latency monitor if it is over their thresholds. As in Redis, a blocking
    command that timed out (a null reply after a wait) is counted but not logged."""
    timed_out = False
    if "blocking" in command.flags:
        timed_out = session.blocked_ns > 0 and (reply is None or reply is NULL_ARRAY)
        duration = max(1, duration - session.blocked_ns)  # a call takes time: used() reads ns
        session.blocked_ns = 0
    command.stats.count_slow(duration)
    if timed_out:
        return
    server = session.server
    settings = server.config.values
    usec = duration // 1000
    if 0 <= settings["slowlog-log-slower-than"] <= usec and "skip_slowlog" not in command.flags:
        server.slowlog.push(session, session.argv, usec, settings["slowlog-max-len"])
    threshold = settings["latency-monitor-threshold"]
    if threshold and usec // 1000 >= threshold:
        server.latency.add("fast-command" if "fast" in command.flags else "command", usec // 1000)


# The families whose commands only read and write data, and never wait: run for a plain session
# (see is_plain), nothing execute() and run() check before and after a command can apply to them.
PLAIN_GROUPS = frozenset(("string", "list", "hash", "set", "sortedset", "keyspace", "hyperloglog", "stream"))


def plain_table(commands):
    """The plain commands by the names a client sends, in capitals too (a hit needs no lower()), each as
    (row, fewest, most arguments counting the name): the lane checks the arity with two comparisons,
    where reading the row's arity field and calling arity_ok() would cost more than the rest of a GET."""
    plain = {}
    for name, command in commands.items():
        if command.group in PLAIN_GROUPS and not command.subcommands and "blocking" not in command.flags:
            arity = command.arity
            entry = (command, arity, arity) if arity > 0 else (command, -arity, sys.maxsize)
            plain[name] = plain[name.upper()] = entry
    return plain


def is_plain(session):
    """What runs a plain command for this session straight from the table, or None when it must go through
    execute(): call(), or checked_call() for a user not allowed everything. Plain means authenticated,
    neither queuing a transaction, subscribed nor tracking keys, getting its replies (CLIENT REPLY), and
    the server has no WATCHed key, no AOF being written nor replication stream (or min-replicas-to-write:
    each installs the propagator), no maxmemory, no MONITOR, no CLIENT PAUSE or running script that
    yielded (both in server.pause), no failed background save (see refuse_on_disk_error), no dataset
    loading (see refuse_while_loading) and we are not a replica (see refuse_on_replica). Only a command
    that is not plain, the cron or a load's turns between two batches changes any of that, and a plain
    one never waits, so a batch checks once, and again after each command that is not plain."""
    server = session.server
    keyspace = server.keyspace
    if (session.authenticated and session.multi is None and not session.db.tracking
            and not (session.channels or session.patterns or session.shard_channels) and session.tracking is None
            and not keyspace.watched and not server.loading.active
            and keyspace.propagator is None and session.replies is REPLY_ON and not server.monitors
            and server.pause is None and server.snapshots.last_status_ok and server.replication.master is None):
        return call if session.user.unrestricted else checked_call
    return None


def checked_call(session, command, arguments):
    """call() for a plain command of a user not allowed everything: its ACL check first, refused as
    execute() refuses (the error counted, the row's rejected_calls, the ACL log)."""
    refused = check_permissions(session, command, session.argv)
    if refused is None:
        return call(session, command, arguments)
    session.last_command = command
    session.server.stats.count_error(refused)
    command.stats.rejected += 1
    return Error(refused)


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
