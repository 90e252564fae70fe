"""String commands: GET, SET, MGET, MSET."""
from commands import Command, table
from errors import SYNTAX, ReplyError, wrong_arity


def get(session, key):
    """GET key"""
    return session.db.get(key)


def set_(session, key, value, *options):
    """SET key value"""
    if options:
        raise ReplyError(SYNTAX)
    session.db.set(key, value)
    return "OK"


def mget(session, *keys):
    """MGET key [key ...]"""
    db = session.db
    return [db.get(key) for key in keys]


def mset(session, *pairs):
    """MSET key value [key value ...]"""
    if len(pairs) % 2:
        raise wrong_arity("mset")
    db = session.db
    for index in range(0, len(pairs), 2):
        db.set(pairs[index], pairs[index + 1])
    return "OK"


COMMANDS = table(
    #       name    handler arity flags                  first last step
    Command("get", get, 2, ("readonly", "fast"), 1, 1, 1),
    Command("set", set_, -3, ("write", "denyoom"), 1, 1, 1),
    Command("mget", mget, -2, ("readonly", "fast"), 1, -1, 1),
    Command("mset", mset, -3, ("write", "denyoom"), 1, -1, 2),
    group="string",
)
