"""The server's scripting: the EVAL scripts' Lua state and cache, the function libraries, and the
one script running at a time (script.c's curr_run_ctx).

Both Lua states get the same bridges: redis.call and redis.pcall hand the command to the running
ScriptRun's call (commands/scripting.py: the command table lives above this package) and convert
the reply back.
"""
import logging

from errors import NOSCRIPT, SCRIPT_BAD_ARGUMENT, SCRIPT_NO_ARGUMENTS, AlreadyCounted, ReplyError
from protocol import Error, split_inline
from scripting.busy import SCRIPT_FLAGS
from scripting.conversions import error_text, lua_to_reply, reply_to_lua
from scripting.functions import Libraries
from scripting.lua import LuaMemoryError, LuaState, sha1hex
from scripting.random48 import Rand48
from scripting.values import number_text
from serving.logs import VERBOSE
from serving.session import Session

log = logging.getLogger("mini-redis")
LOG_LEVELS = {0: logging.DEBUG, 1: VERBOSE, 2: logging.INFO, 3: logging.WARNING}  # redis.LOG_DEBUG ... LOG_WARNING
SCRIPT_OVERHEAD = 104  # a cached script's entry beside its body (its sha, its dict entry, the objects)
FUNCTIONS_OVERHEAD = 200  # Redis's functionsMemoryOverhead() with no library
LIBRARY_OVERHEAD = 96


class BridgeError(Exception):
    """Raised in a bridge: Lua sees its text as the error message (lupa passes it on)."""


CALL_ERROR = "\0redis.call\0"  # sandbox.lua's marks: a failed redis.call's error text follows them
COUNTED_CALL_ERROR = "\0redis.call\1"


class Script:
    """A compiled EVAL script: its body, Lua function and shebang flags (None: no shebang)."""

    __slots__ = ("sha", "body", "function", "flags")

    def __init__(self, sha, body, function, flags):
        self.sha = sha
        self.body = body
        self.function = function
        self.flags = flags


def shebang_flags(body):
    """evalExtractShebangFlags(): (flags, the body's offset past the shebang line), or ReplyError.
    No shebang: (None, 0), EVAL's compatibility mode."""
    if not body.startswith(b"#!"):
        return None, 0
    end = body.find(b"\n")
    if end < 0:
        raise ReplyError("ERR Invalid script shebang")
    parts = split_inline(body[:end])
    if not parts:
        raise ReplyError("ERR Invalid engine in script shebang")
    if parts[0] != b"#!lua":
        raise ReplyError("ERR Unexpected engine in script shebang: %s" % parts[0].decode("utf-8", "replace"))
    return parse_flags(parts[1:]), end


def parse_flags(options):
    flags = set()
    for option in options:
        if not option.startswith(b"flags="):
            raise ReplyError("ERR Unknown lua shebang option: %s" % option.decode("utf-8", "replace"))
        for flag in option[6:].split(b",") if option[6:] else ():
            name = flag.decode("utf-8", "replace")
            if name not in SCRIPT_FLAGS:
                raise ReplyError("ERR Unexpected flag in script shebang: %s" % name)
            flags.add(name)
    return frozenset(flags)


class Scripting:
    """EVAL's script cache and Lua state, FUNCTION's libraries, and the run in progress."""

    def __init__(self, server):
        self.server = server
        self.current = None  # the ScriptRun in progress
        self.session = Session(server, 0, "lua", "", -1)  # the client redis.call's commands run as
        self.session.authenticated = True
        self.session.in_exec = True
        self.scripts = {}  # sha (hex bytes) -> Script
        self.random = Rand48()  # math.random's, shared by every Lua state
        self.state = self.new_state()
        self.functions = Libraries(self)

    def new_state(self):
        return LuaState({
            "call": self.call, "pcall": self.pcall, "sha1hex": _sha1hex, "log": _log, "setresp": self.setresp,
            "set_repl": self.set_repl, "error_reply": self.error_reply, "status_reply": self.status_reply,
            "acl_check_cmd": self.acl_check_cmd, "tick": self.tick,
        }, self.random)

    # ------------------------------------------------------------------ the script cache

    def load(self, body):
        """luaCreateFunction(): the cached script for this body, compiled and cached if new."""
        sha = sha1hex(body)
        script = self.scripts.get(sha)
        if script is not None:
            return script
        flags, offset = shebang_flags(body)
        function, message = self.state.compile(body[offset:])
        if function is None:
            raise ReplyError("ERR Error compiling script (new function): %s" % message.decode("utf-8", "replace"))
        script = self.scripts[sha] = Script(sha, body, function, flags)
        return script

    def declared_flags(self, argv):
        """The flags the script or function of an EVAL, EVALSHA or FCALL declares, or None for a script without
        a shebang or one not known yet (evalGetCommandFlags: then the command's own flags apply)."""
        name = argv[0].lower()
        if name in (b"fcall", b"fcall_ro"):
            function = self.functions.functions.get(argv[1].lower()) if len(argv) > 1 else None
            return None if function is None else function.flags
        if len(argv) < 2:
            return None
        script = self.scripts.get(argv[1].lower() if name in (b"evalsha", b"evalsha_ro") else sha1hex(argv[1]))
        if script is not None:
            return script.flags
        if name in (b"evalsha", b"evalsha_ro"):
            return None
        try:
            flags, _ = shebang_flags(argv[1])
        except ReplyError:
            return None
        return flags

    def may_write(self, argv):
        """Whether an EVAL, EVALSHA or FCALL may write: unless its script or function declares no-writes."""
        flags = self.declared_flags(argv)
        return flags is None or "no-writes" not in flags

    def find(self, sha):
        script = self.scripts.get(sha.lower()) if len(sha) == 40 else None
        if script is None:
            raise ReplyError(NOSCRIPT)
        return script

    def flush(self):
        """SCRIPT FLUSH: the cache goes, and the Lua state with it (a new one, as Redis resets)."""
        self.scripts = {}
        self.state = self.new_state()

    def memory(self):
        """(the EVAL state's Lua memory, the script cache's, the functions' state, the libraries') in bytes:
        the Lua figures are lupa's allocator's counts, the caches our estimate of what Redis counts."""
        scripts = sum(len(script.body) + SCRIPT_OVERHEAD for script in self.scripts.values())
        libraries = FUNCTIONS_OVERHEAD + sum(len(code) + LIBRARY_OVERHEAD for code in self.functions.codes())
        return self.state.memory_used(), scripts, self.functions.state.memory_used(), libraries

    # ------------------------------------------------------------------ running

    def run_script(self, script, keys, args, run):
        state = self.state
        return self._execute(run, state.run_script, state, script.function, keys, args)

    def run_function(self, function, keys, args, run):
        state = self.functions.state
        return self._execute(run, state.run_function, state, function.callback, keys, args)

    def _execute(self, run, runner, state, function, keys, args):
        """luaCallFunction(): run it, then its value (or its error) as the reply. One at a time: the
        commands that run scripts are noscript, and other clients' wait at the gate (busy.py)."""
        self.current = run
        run.state = state
        keyspace = self.server.keyspace
        clock = keyspace.clock
        started = clock()
        keyspace.clock = lambda: started  # time stands still for the script's keys, as Redis's keyIsExpired sees it
        try:
            ok, result = runner(function, state.table(keys), state.table(args))
        except LuaMemoryError:
            ok, result = False, b"not enough memory"
        finally:
            keyspace.clock = clock
            self.current = None
            run.finish()
        if ok:
            return lua_to_reply(result, run.resp3)
        return script_error(result, run.name)

    def running(self):
        return self.current

    # ------------------------------------------------------------------ the bridges (called from Lua)

    def call(self, *args):
        """redis.call: the reply as Lua sees it; an error is raised (see CALL_ERROR), marked as
        already counted (ignore_error_stats_update) when it is the command's own reply."""
        reply, counted = self._command_reply(args)
        if type(reply) is Error:
            raise BridgeError((COUNTED_CALL_ERROR if counted else CALL_ERROR) + reply.message)
        return reply_to_lua(self.current.state, reply, self.current.resp3)

    def pcall(self, *args):
        """redis.pcall: the reply as Lua sees it, an error as an error table."""
        reply, counted = self._command_reply(args)
        run = self.current
        if type(reply) is Error:
            table = run.state.error_table(reply.message.encode("utf-8", "surrogateescape"))
            if counted:
                table[b"ignore_error_stats_update"] = True
            return table
        return reply_to_lua(run.state, reply, run.resp3)

    def _command_reply(self, args):
        """(the command's reply, whether an error reply came from the command itself)."""
        run = self.current
        if not args:
            return Error(SCRIPT_NO_ARGUMENTS), False
        argv = lua_argv(args)
        if argv is None:
            return Error(SCRIPT_BAD_ARGUMENT), False
        try:
            return run.call(run, argv), True
        except ReplyError as refusal:
            return Error(refusal.message), False

    def tick(self):
        """The count hook's: an error table when the running script must stop."""
        run = self.current
        stop = run.tick() if run is not None else None
        return run.state.error_table(stop.encode()) if stop else None

    def setresp(self, *args):
        if len(args) != 1:
            raise BridgeError("redis.setresp() requires one argument.")
        version = args[0]
        if version not in (2, 3) or type(version) is bool:
            raise BridgeError("RESP version must be 2 or 3.")
        self.current.resp3 = version == 3

    def set_repl(self, *args):
        if len(args) != 1:
            raise BridgeError("redis.set_repl() requires one argument.")
        flags = args[0]
        if type(flags) not in (int, float) or flags != int(flags) or not 0 <= flags <= 3:
            raise BridgeError("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.")
        self.current.propagation_targets = int(flags)  # Redis's PROPAGATE_AOF (1) and PROPAGATE_REPL (2) bits

    def error_reply(self, *args):
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.current.state.error_table(b"ERR wrong number or type of arguments")
        raw = args[0][1:] if args[0].startswith(b"-") else args[0]  # luaPushErrorBuff() after the '-' it adds
        code, space, message = raw.partition(b" ")
        if not space:
            code, message = b"ERR", raw
        return self.current.state.error_table(code + b" " + message.strip(b"\r\n"))

    def status_reply(self, *args):
        if len(args) != 1 or type(args[0]) is not bytes:
            return self.current.state.error_table(b"ERR wrong number or type of arguments")
        return self.current.state.single(b"ok", args[0])

    def acl_check_cmd(self, *args):
        """redis.acl_check_cmd: whether the script's caller may run the command with these arguments
        (false when its user may not, nothing logged), as luaRedisAclCheckCmdPermissionsCommand."""
        if not args:
            raise BridgeError("Please specify at least one argument for this redis lib call")
        argv = lua_argv(args)
        if argv is None:
            raise BridgeError(SCRIPT_BAD_ARGUMENT)
        command = self.server.commands.get(argv[0].lower())
        if command is not None and command.subcommands and len(argv) > 1:
            command = command.subcommands.get(argv[1].lower())
        if command is None:
            raise BridgeError("Invalid command passed to redis.acl_check_cmd()")
        return self.server.acl.check(self.current.caller.user, command, argv) is None


def lua_argv(args):
    """luaArgsToRedisArgv(): a command's arguments as bytes, numbers as Redis 7.0 formats them
    (lua_tolstring would lose precision); None if one is neither a string nor a number."""
    argv = []
    for arg in args:
        kind = type(arg)
        if kind is bytes:
            argv.append(arg)
        elif kind is int or kind is float:
            argv.append(b"%.17g" % arg)
        else:
            return None
    return argv


def script_error(error, name):
    """The reply for a script that failed: its error table as Redis 7.0 words it."""
    if type(error) is bytes or error is None or type(error) in (int, float):
        message = error if type(error) is bytes else b"execution failure" if error is None else number_text(error)
        return Error(error_text(b"ERR Error running script %b, %b" % (name, message[:100])))
    text = error[b"err"]
    if type(text) in (int, float):
        text = number_text(text)
    if type(text) is not bytes:
        return Error(error_text(b"ERR Error running script %b, execution failure" % name))
    source, line = error[b"source"], error[b"line"]
    if type(line) in (int, float):
        line = number_text(line)
    if type(source) is bytes and type(line) is bytes:
        text += b" script: %b, on %b:%b." % (name, source, line)
    message = text.decode("utf-8", "surrogateescape")
    return Error(AlreadyCounted(message) if error[b"ignore_error_stats_update"] else message)


def _sha1hex(*args):
    if len(args) != 1:
        raise BridgeError("wrong number of arguments")
    value = args[0]
    if type(value) in (int, float) and type(value) is not bool:
        value = number_text(value)
    if type(value) is not bytes:
        return sha1hex(b"")
    return sha1hex(value)


def _log(*args):
    if len(args) < 2:
        raise BridgeError("redis.log() requires two arguments or more.")
    level = args[0]
    if type(level) not in (int, float) or type(level) is bool:
        raise BridgeError("First argument must be a number")
    if level not in LOG_LEVELS:
        raise BridgeError("Invalid debug level.")
    words = [arg if type(arg) is bytes else number_text(arg) for arg in args[1:]
             if type(arg) is bytes or type(arg) in (int, float) and type(arg) is not bool]
    log.log(LOG_LEVELS[int(level)], "%s", b" ".join(words).decode("utf-8", "replace"))
