"""Persistence commands, as Redis's rdb.c, aof.c and server.c: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE, SHUTDOWN.

The snapshot machinery is persistence/snapshots.py; these only check
arguments and state, and answer as Redis does.
"""
from commands import Command, table
from errors import NO_SHUTDOWN, SHUTDOWN_FAILED, SYNTAX, ReplyError
from protocol import Frames

SAVE_IN_PROGRESS = "ERR Background save already in progress"
CHILD_ACTIVE = ("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order "
                "to schedule a BGSAVE whenever possible.")
REWRITE_IN_PROGRESS = "ERR Background append only file rewriting already in progress"
REWRITE_FAILED = ("ERR Can't execute an AOF background rewriting. Please check the server logs for more "
                  "information.")


def save(session):
    """SAVE"""
    snapshots = session.server.snapshots
    if snapshots.in_progress:
        raise ReplyError(SAVE_IN_PROGRESS)
    if not snapshots.save():
        raise ReplyError("ERR")
    return "OK"


def bgsave(session, *options):
    """BGSAVE [SCHEDULE]"""
    if options and (len(options) > 1 or options[0].lower() != b"schedule"):
        raise ReplyError(SYNTAX)
    snapshots = session.server.snapshots
    if snapshots.in_progress:
        raise ReplyError(SAVE_IN_PROGRESS)
    if session.server.aof.child_pid is not None and not options:  # one child at a time, as in Redis
        raise ReplyError(CHILD_ACTIVE)
    if session.in_exec or session.server.aof.child_pid is not None:  # the cron starts it when it may
        snapshots.scheduled = True
        return "Background saving scheduled"
    if not snapshots.background_save():
        raise ReplyError("ERR")
    return "Background saving started"


def bgrewriteaof(session):
    """BGREWRITEAOF"""
    server = session.server
    aof = server.aof
    if aof.child_pid is not None:
        raise ReplyError(REWRITE_IN_PROGRESS)
    if server.snapshots.in_progress or session.in_exec:  # the cron starts it once it may fork
        aof.rewrite_scheduled = True
        aof.consecutive_failures = 0  # asked for: not held back by earlier failures
        return "Background append only file rewriting scheduled"
    if not aof.rewrite_in_background():
        raise ReplyError(REWRITE_FAILED)
    return "Background append only file rewriting started"


def lastsave(session):
    """LASTSAVE"""
    return session.server.snapshots.last_save


_SHUTDOWN_FLAGS = {b"nosave": "nosave", b"save": "save", b"now": "now", b"force": "force"}


def shutdown(session, *options):
    """SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]

    With replicas behind, the caller waits for them (serving/shutdown.py) while others are served."""
    words = {option.lower() for option in options}
    flags = {_SHUTDOWN_FLAGS[word] for word in words if word in _SHUTDOWN_FLAGS}
    abort = b"abort" in words
    if not words <= _SHUTDOWN_FLAGS.keys() | {b"abort"} or abort and flags or {"save", "nosave"} <= flags:
        raise ReplyError(SYNTAX)
    server = session.server
    if abort:
        if not server.shutdown.abort():
            raise ReplyError(NO_SHUTDOWN)
        return "OK"
    running = server.scripting.running()
    if running is not None and running.busy and "nosave" not in flags:  # only SHUTDOWN NOSAVE stops a busy script
        raise ReplyError(running.busy_error())
    if not server.shutdown.command(session, flags):
        raise ReplyError(SHUTDOWN_FAILED)
    session.close_after_reply = True
    return Frames()  # no reply: the connection closes as the server exits


COMMANDS = table(
    Command("save", save, 1, ("admin", "noscript", "no_async_loading", "no_multi"), 0, 0, 0),
    Command("bgsave", bgsave, -1, ("admin", "noscript", "no_async_loading"), 0, 0, 0),
    Command("bgrewriteaof", bgrewriteaof, 1, ("admin", "noscript", "no_async_loading"), 0, 0, 0),
    Command("lastsave", lastsave, 1, ("loading", "stale", "fast"), 0, 0, 0),
    Command("shutdown", shutdown, -1, ("admin", "noscript", "loading", "stale", "no_multi", "allow_busy"),
            0, 0, 0),
    group="server",
)
