"""Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

The dispatcher queues commands while a session is in MULTI (and marks the
transaction failed when one is refused at queuing time); EXEC runs the queue
in one go. Greenlets only switch on I/O, so no other client's command can
run in between.
"""
import acl
from commands import Command, run, table
from errors import ReplyError
from protocol import NULL_ARRAY, Error

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


def multi(session):
    """MULTI"""
    if session.multi is not None:
        raise ReplyError("ERR MULTI calls can not be nested")
    session.multi = []
    return "OK"


def exec_(session):
    """EXEC"""
    if session.multi is None:
        raise ReplyError("ERR EXEC without MULTI")
    queued, failed = session.multi, session.multi_failed
    session.discard_transaction()
    aborted = session.watch_broken()
    session.unwatch()
    if failed:
        raise ReplyError(EXECABORT)
    if aborted:
        return NULL_ARRAY
    session.in_exec = True
    session.propagate()  # its commands that change something log themselves, wrapped in MULTI/EXEC
    try:
        replies = []
        for command, arguments, argv in queued:
            session.argv = argv
            refused = None if session.user.unrestricted else acl.check_at_exec(session, command, argv)
            replies.append(Error(refused) if refused else _as_read(run(session, command, arguments)))
        return replies
    finally:
        session.in_exec = False


def _as_read(reply):
    """A string reply as it was when read: a later command of the transaction may edit the same
    bytearray in place (APPEND, SETRANGE, PFADD) before the replies are written."""
    if type(reply) is bytearray:
        return bytes(reply)
    if type(reply) is list and any(type(item) is bytearray for item in reply):
        return [bytes(item) if type(item) is bytearray else item for item in reply]
    return reply


def discard(session):
    """DISCARD"""
    if session.multi is None:
        raise ReplyError("ERR DISCARD without MULTI")
    session.discard_transaction()
    session.unwatch()
    return "OK"


def watch(session, *keys):
    """WATCH key [key ...]"""
    if session.multi is not None:
        raise ReplyError("ERR WATCH inside MULTI is not allowed")
    for key in keys:
        session.watch(key)
    return "OK"


def unwatch(session):
    """UNWATCH"""
    session.unwatch()
    return "OK"


COMMANDS = table(
    Command("multi", multi, 1, ("noscript", "loading", "stale", "fast", "allow_busy"), 0, 0, 0),
    Command("exec", exec_, 1, ("noscript", "loading", "stale", "skip_slowlog"), 0, 0, 0),
    Command("discard", discard, 1, ("noscript", "loading", "stale", "fast", "allow_busy"), 0, 0, 0),
    Command("watch", watch, -2, ("noscript", "loading", "stale", "fast", "allow_busy"), 1, -1, 1),
    Command("unwatch", unwatch, 1, ("noscript", "loading", "stale", "fast", "allow_busy"), 0, 0, 0),
    group="transactions",
)
