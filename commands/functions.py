"""Function commands, as Redis 7.0's functions.c: FUNCTION (LOAD, LIST, DELETE, DUMP, RESTORE, FLUSH,
STATS, KILL, HELP), FCALL and FCALL_RO. The libraries live in scripting/functions.py; a function
runs as an EVAL script does (commands/scripting.py), with its own name in its errors."""
from commands import Command, subcommand_table, table
from commands.scripting import kill_running, show_to_monitors, start_run
from errors import BUSY_EVAL, NUMKEYS_NEGATIVE, NUMKEYS_TOO_MANY, ReplyError, subcommand_syntax
from protocol import string_to_int


def _fcall(session, name, numkeys, rest, read_only):
    show_to_monitors(session)
    functions = session.server.scripting.functions
    function = functions.find(name)
    count = string_to_int(numkeys)
    if count is None:
        raise ReplyError("ERR Bad number of keys provided")
    if count > len(rest):
        raise ReplyError(NUMKEYS_TOO_MANY)
    if count < 0:
        raise ReplyError(NUMKEYS_NEGATIVE)
    script_run = start_run(session, function.name, False, function.flags, read_only)
    return session.server.scripting.run_function(function, list(rest[:count]), list(rest[count:]), script_run)


def fcall(session, name, numkeys, *rest):
    """FCALL function numkeys [key ...] [arg ...]"""
    return _fcall(session, name, numkeys, rest, False)


def fcall_ro(session, name, numkeys, *rest):
    """FCALL_RO function numkeys [key ...] [arg ...]"""
    return _fcall(session, name, numkeys, rest, True)


def function_load(session, *arguments):
    """FUNCTION LOAD [REPLACE] function-code"""
    if len(arguments) == 2 and arguments[0].lower() == b"replace":
        name = session.server.scripting.functions.load(arguments[1], replace=True)
    elif len(arguments) != 1:
        raise ReplyError("ERR Unknown option given: %s" % arguments[0].decode("utf-8", "replace"))
    else:
        name = session.server.scripting.functions.load(arguments[0])
    _changed_functions(session)
    return name


def _changed_functions(session):
    """The libraries changed: one change, as Redis counts it (and so the command is logged)."""
    session.server.keyspace.dirty += 1


def function_list(session, *arguments):
    """FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]"""
    pattern, with_code = None, False
    index = 0
    while index < len(arguments):
        argument = arguments[index].lower()
        if not with_code and argument == b"withcode":
            with_code = True
        elif pattern is None and argument == b"libraryname":
            if index >= len(arguments) - 1:
                raise ReplyError("ERR library name argument was not given")
            index += 1
            pattern = arguments[index]
        else:
            raise ReplyError("ERR Unknown argument %s" % arguments[index].decode("utf-8", "replace"))
        index += 1
    return session.server.scripting.functions.listing(pattern, with_code)


def function_delete(session, name):
    """FUNCTION DELETE library-name"""
    session.server.scripting.functions.delete(name)
    _changed_functions(session)
    return "OK"


def function_dump(session):
    """FUNCTION DUMP"""
    return session.server.scripting.functions.dump()


def function_restore(session, payload, *policy):
    """FUNCTION RESTORE serialized-value [FLUSH|APPEND|REPLACE]"""
    if len(policy) > 1:
        raise subcommand_syntax(session.argv)
    chosen = policy[0].lower() if policy else b"append"
    if chosen not in (b"flush", b"append", b"replace"):
        raise ReplyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    session.server.scripting.functions.restore(payload, chosen)
    _changed_functions(session)
    return "OK"


def function_flush(session, *mode):
    """FUNCTION FLUSH [ASYNC|SYNC]"""
    if len(mode) > 1 or mode and mode[0].lower() not in (b"async", b"sync"):
        raise ReplyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    session.server.scripting.functions.flush()
    _changed_functions(session)
    return "OK"


def function_stats(session):
    """FUNCTION STATS"""
    scripting = session.server.scripting
    running = scripting.running()
    if running is not None and running.is_eval:  # an EVAL is busy: Redis answers as to any other command
        raise ReplyError(BUSY_EVAL)
    return scripting.functions.stats(running)


def function_kill(session):
    """FUNCTION KILL"""
    return kill_running(session, False)


FUNCTION_HELP = [
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE "
    "command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
]


def function_help(session):
    """FUNCTION HELP"""
    return FUNCTION_HELP


FUNCTION_SUBCOMMANDS = subcommand_table(
    "function",
    Command("load", function_load, -3, ("write", "denyoom", "noscript"), 0, 0, 0),
    Command("list", function_list, -2, ("noscript",), 0, 0, 0),
    Command("delete", function_delete, 3, ("write", "noscript"), 0, 0, 0),
    Command("dump", function_dump, 2, ("noscript",), 0, 0, 0),
    Command("restore", function_restore, -3, ("write", "denyoom", "noscript"), 0, 0, 0),
    Command("flush", function_flush, -2, ("write", "noscript"), 0, 0, 0),
    Command("stats", function_stats, 2, ("noscript", "allow_busy"), 0, 0, 0),
    Command("kill", function_kill, 2, ("noscript", "allow_busy"), 0, 0, 0),
    Command("help", function_help, 2, ("loading", "stale"), 0, 0, 0),
)

_FCALL_FLAGS = ("noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys")
COMMANDS = table(
    Command("function", None, -2, (), 0, 0, 0, FUNCTION_SUBCOMMANDS),
    Command("fcall", fcall, -3, _FCALL_FLAGS, 0, 0, 0),
    Command("fcall_ro", fcall_ro, -3, ("readonly",) + _FCALL_FLAGS, 0, 0, 0),
    group="scripting",
)
