"""Key-space commands: DEL, EXISTS, DBSIZE, FLUSHDB, FLUSHALL, and the seed's DELETE and FLUSH."""
from commands import Command, table
from errors import SYNTAX, ReplyError


def delete(session, *keys):
    """DEL key [key ...]"""
    db = session.db
    return sum(db.delete(key) for key in keys)


def exists(session, *keys):
    """EXISTS key [key ...]"""
    db = session.db
    return sum(db.exists(key) for key in keys)


def dbsize(session):
    """DBSIZE"""
    return len(session.db)


def _check_flush_mode(mode):
    """FLUSHDB/FLUSHALL take ASYNC or SYNC; both empty the data at once here."""
    if len(mode) > 1 or (mode and mode[0].lower() not in (b"async", b"sync")):
        raise ReplyError(SYNTAX)


def flushdb(session, *mode):
    """FLUSHDB [ASYNC|SYNC]"""
    _check_flush_mode(mode)
    session.db.flush()
    return "OK"


def flushall(session, *mode):
    """FLUSHALL [ASYNC|SYNC]"""
    _check_flush_mode(mode)
    session.server.keyspace.flush_all()
    return "OK"


def flush(session):
    """FLUSH

    The seed design's command: empty the current database, reply with how many keys it held.
    """
    return session.db.flush()


COMMANDS = table(
    Command("del", delete, -2, ("write",), 1, -1, 1),
    Command("delete", delete, -2, ("write",), 1, -1, 1),
    Command("exists", exists, -2, ("readonly", "fast"), 1, -1, 1),
    Command("dbsize", dbsize, 1, ("readonly", "fast"), 0, 0, 0),
    Command("flushdb", flushdb, -1, ("write",), 0, 0, 0),
    Command("flushall", flushall, -1, ("write",), 0, 0, 0),
    Command("flush", flush, 1, ("write",), 0, 0, 0),
    group="keyspace",
)
