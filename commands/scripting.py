"""Scripting commands, as Redis 7.0's eval.c: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT; and the
path a script's redis.call takes into the command table (script.c's scriptCall).

The Lua side lives in scripting/ (the states, the sandbox, the conversions); this module owns
what needs the command table: the lookup and checks of each redis.call, and the ScriptRun
each script runs as.
"""
import acl
from commands import (Command, arity_ok, refuse_on_disk_error, refuse_without_replicas, run_in_script, subcommand_table,
                      table)
from errors import (BUSY_EVAL, BUSY_FUNCTION, MASTERDOWN, MISCONF_RDB, NOT_INTEGER, NOTBUSY, NUMKEYS_NEGATIVE,
                    NUMKEYS_TOO_MANY, OOM, READONLY_REPLICA, SCRIPT_MISCONF, SCRIPT_NOT_ALLOWED, SCRIPT_OOM,
                    SCRIPT_READ_ONLY, SCRIPT_STALE_REPLICA, SCRIPT_UNKNOWN_COMMAND, SCRIPT_WRITE_WITH_RO,
                    SCRIPT_WRONG_ARITY, UNKILLABLE, ReplyError)
from protocol import string_to_int
from scripting.busy import ScriptRun
from serving.monitors import feed_line


def split_keys(numkeys, rest):
    """(keys, arguments) after numkeys, with eval.c's checks in its order."""
    count = string_to_int(numkeys)
    if count is None:
        raise ReplyError(NOT_INTEGER)
    if count > len(rest):
        raise ReplyError(NUMKEYS_TOO_MANY)
    if count < 0:
        raise ReplyError(NUMKEYS_NEGATIVE)
    return list(rest[:count]), list(rest[count:])


# ------------------------------------------------------------------ a script's redis.call


def script_call(script_run, argv):
    """scriptCall(): look the command up, check it may run here, run it as the script's client. A refusal
    raises ReplyError; the command's own error is its reply."""
    server = script_run.server
    command = server.commands.get(argv[0].lower())
    arguments = argv[1:]
    if command is not None and command.subcommands and len(argv) > 1:
        command = command.subcommands.get(argv[1].lower())
        arguments = argv[2:]
    if command is None:
        raise ReplyError(SCRIPT_UNKNOWN_COMMAND)
    if not arity_ok(command.arity, len(argv)):
        raise ReplyError(SCRIPT_WRONG_ARITY)
    flags = command.flags
    if "noscript" in flags:
        raise ReplyError(SCRIPT_NOT_ALLOWED)
    link = server.replication.master
    if link is not None and "stale" not in flags and link.state != "connected" \
            and not server.config["replica-serve-stale-data"]:
        raise ReplyError(SCRIPT_STALE_REPLICA)
    refused = acl.check_in_script(script_run.caller, command, argv)  # scriptVerifyACL: the caller's rights
    if refused is not None:
        raise ReplyError(refused)
    writes = "write" in flags
    if script_run.read_only and (writes or "may_replicate" in flags):
        raise ReplyError(SCRIPT_READ_ONLY)
    if writes and not script_run.wrote:
        if link is not None and server.config["replica-read-only"] and script_run.caller is not link.session:
            raise ReplyError(READONLY_REPLICA)
        refuse_on_disk_error(server)
    if writes:
        refuse_without_replicas(server)  # checked at every write, as scriptVerifyWriteCommandAllow does
    if script_run.oom and not script_run.allow_oom and not script_run.wrote and "denyoom" in flags:
        raise ReplyError(OOM)
    if writes:
        script_run.wrote = True
    session = server.scripting.session
    session.argv = argv
    session.protocol = 3 if script_run.resp3 else 2
    keyspace = server.keyspace
    propagator = keyspace.propagator
    if propagator is not None:  # redis.set_repl: to the AOF, the replicas, both or neither
        held, propagator.targets = propagator.targets, script_run.propagation_targets
    try:
        return run_in_script(script_run.caller, session, command, arguments)
    finally:
        if propagator is not None:
            propagator.targets = held
        server.stats.commands_processed += 1  # as Redis's call() counts every command, a script's too


def start_run(session, name, is_eval, flags, read_only):
    """scriptPrepareForRun(): the run's flags, and the refusals a script with a shebang meets first. Sent
    on its own, the command is refused as processCommand refuses a write (its flags are the script's,
    scriptFlagsToCmdFlags); inside EXEC it reaches scriptPrepareForRun's own texts."""
    server = session.server
    oom = session.db.tracking and not server.keyspace.memory.perform_evictions()
    link = server.replication.master
    if flags is None and link is not None and link.state != "connected" \
            and not server.config["replica-serve-stale-data"]:
        raise ReplyError(MASTERDOWN)  # a script without a shebang runs nothing on a stale replica
    if flags is not None:
        if "allow-oom" not in flags and "no-writes" not in flags and oom:
            raise ReplyError(SCRIPT_OOM if session.in_exec else OOM)
        if "no-writes" not in flags:
            try:
                refuse_on_disk_error(server)
            except ReplyError as error:
                if session.in_exec and error.message == MISCONF_RDB:
                    raise ReplyError(SCRIPT_MISCONF) from None
                raise
            refuse_without_replicas(server)
            if read_only:
                raise ReplyError(SCRIPT_WRITE_WITH_RO)
    read_only = read_only or (flags is not None and "no-writes" in flags)
    allow_oom = flags is not None and "allow-oom" in flags
    script_session = server.scripting.session
    script_session.db = session.db
    script_run = ScriptRun(server, session, name, is_eval, read_only, allow_oom, oom, script_call)
    session.propagate()  # the script's commands are logged as it runs them, never the EVAL itself
    return script_run


# ------------------------------------------------------------------ EVAL and EVALSHA


def show_to_monitors(session):
    """evalCommand(): the script's own line goes to MONITOR first, then its commands' lines."""
    if session.server.monitors:
        feed_line(session, session.argv)


def eval_(session, body, numkeys, *rest):
    """EVAL script numkeys [key ...] [arg ...]"""
    return _eval(session, body, numkeys, rest, False)


def eval_ro(session, body, numkeys, *rest):
    """EVAL_RO script numkeys [key ...] [arg ...]"""
    return _eval(session, body, numkeys, rest, True)


def _eval(session, body, numkeys, rest, read_only):
    show_to_monitors(session)
    keys, args = split_keys(numkeys, rest)
    scripting = session.server.scripting
    script = scripting.load(body)
    return scripting.run_script(script, keys, args, start_run(session, script.sha, True, script.flags, read_only))


def evalsha(session, sha, numkeys, *rest):
    """EVALSHA sha1 numkeys [key ...] [arg ...]"""
    return _evalsha(session, sha, numkeys, rest, False)


def evalsha_ro(session, sha, numkeys, *rest):
    """EVALSHA_RO sha1 numkeys [key ...] [arg ...]"""
    return _evalsha(session, sha, numkeys, rest, True)


def _evalsha(session, sha, numkeys, rest, read_only):
    show_to_monitors(session)
    scripting = session.server.scripting
    if len(sha) != 40:
        scripting.find(sha)  # NOSCRIPT before anything else, as evalShaCommand checks the length first
    keys, args = split_keys(numkeys, rest)
    script = scripting.find(sha)
    return scripting.run_script(script, keys, args, start_run(session, script.sha, True, script.flags, read_only))


# ------------------------------------------------------------------ SCRIPT


def script_load(session, body):
    """SCRIPT LOAD script"""
    return session.server.scripting.load(body).sha


def script_exists(session, *shas):
    """SCRIPT EXISTS sha1 [sha1 ...]"""
    scripts = session.server.scripting.scripts
    return [int(sha.lower() in scripts) for sha in shas]


def script_flush(session, *mode):
    """SCRIPT FLUSH [ASYNC|SYNC]"""
    if len(mode) > 1 or mode and mode[0].lower() not in (b"async", b"sync"):
        raise ReplyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    session.server.scripting.flush()
    return "OK"


def kill_running(session, is_eval):
    """scriptKill(): stop the running script unless it has written; SCRIPT KILL only stops an EVAL
    and FUNCTION KILL only a function."""
    script_run = session.server.scripting.running()
    if script_run is None:
        raise ReplyError(NOTBUSY)
    if script_run.wrote:
        raise ReplyError(UNKILLABLE)
    if is_eval and not script_run.is_eval:
        raise ReplyError(BUSY_FUNCTION)
    if not is_eval and script_run.is_eval:
        raise ReplyError(BUSY_EVAL)
    script_run.killed = True
    return "OK"


def script_kill(session):
    """SCRIPT KILL"""
    return kill_running(session, True)


SCRIPT_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
]


def script_help(session):
    """SCRIPT HELP"""
    return SCRIPT_HELP


_EVAL_FLAGS = ("noscript", "stale", "skip_monitor", "no_mandatory_keys", "movablekeys")
SCRIPT_SUBCOMMANDS = subcommand_table(
    "script",
    Command("load", script_load, 3, ("noscript", "stale"), 0, 0, 0),
    Command("exists", script_exists, -3, ("noscript",), 0, 0, 0),
    Command("flush", script_flush, -2, ("noscript",), 0, 0, 0),
    Command("kill", script_kill, 2, ("noscript", "allow_busy"), 0, 0, 0),
    Command("help", script_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("eval", eval_, -3, _EVAL_FLAGS, 0, 0, 0),
    Command("evalsha", evalsha, -3, _EVAL_FLAGS, 0, 0, 0),
    Command("eval_ro", eval_ro, -3, ("readonly",) + _EVAL_FLAGS, 0, 0, 0),
    Command("evalsha_ro", evalsha_ro, -3, ("readonly",) + _EVAL_FLAGS, 0, 0, 0),
    Command("script", None, -2, (), 0, 0, 0, SCRIPT_SUBCOMMANDS),
    group="scripting",
)
