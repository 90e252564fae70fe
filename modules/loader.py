"""Loading a module file, and the registry of the loaded ones (Redis's moduleLoad and modules dict).

prepare() imports a .py file under a name of its own, calls its on_load(module, args) with a Module
that records what it registers, and checks it all (names free, flags known, types valid) before the
server takes any of it: a file that fails to import, an on_load that raises, or a registration that
clashes leaves the server as it was, and the reason goes to the log as Redis words it. The commands
layer (commands/module.py) then installs what a prepared Module holds, and removes it on unload.
"""
import importlib.util
import itertools
import logging
import os
import sys

from errors import ReplyError
from modules.api import Context, event_class, to_reply
from serving import parameters
from serving.logs import LEVELS
from storage.events import ALL
from storage.module_values import NAME_LENGTH, ModuleType, type_id

log = logging.getLogger("mini-redis")
_serial = itertools.count(1)  # each load imports the file under a new name: a reload never finds the old one

# Redis's module command flags (commandFlagsFromString) and the command-table flags they set here.
COMMAND_FLAGS = {"write": ("write",), "readonly": ("readonly",), "admin": ("admin",), "deny-oom": ("denyoom",),
                 "deny-script": ("noscript",), "allow-loading": ("loading",), "pubsub": ("pubsub",),
                 "random": (), "allow-stale": ("stale",), "no-monitor": ("skip_monitor",),
                 "no-slowlog": ("skip_slowlog",), "fast": ("fast",), "no-auth": ("no_auth",),
                 "may-replicate": ("may_replicate",), "no-mandatory-keys": ("no_mandatory_keys",),
                 "blocking": ("blocking",), "allow-busy": ("allow_busy",), "no-cluster": (),
                 "getkeys-api": ()}
CONFIG_KINDS = ("bool", "numeric", "string", "enum")


class LoadError(Exception):
    """A module that could not be loaded: the text is the server log's line."""


class ModuleCommand:
    """A command a module registered: the table row commands/module.py makes of it, and the handler it
    calls, which turns the module's reply into the protocol writer's and its failures into errors. A
    write command that worked is logged as sent and counts one change, as the modules' write commands
    call RedisModule_ReplicateVerbatim, unless it said what to log (Context.propagate): a change for each
    command logged, as RedisModule_Replicate counts them."""

    __slots__ = ("name", "function", "arity", "flags", "first_key", "last_key", "step", "module")

    def __init__(self, module, name, function, arity, flags, first_key, last_key, step):
        self.module = module
        self.name, self.function, self.arity, self.flags = name, function, arity, flags
        self.first_key, self.last_key, self.step = first_key, last_key, step

    def __call__(self, session, *arguments):
        ctx = Context(session.db, session.protocol, session)
        try:
            reply = to_reply(self.function(ctx, *arguments))
        except ReplyError:
            raise
        except (Exception, SystemExit, KeyboardInterrupt) as error:  # a module's bug must not end the server
            log.warning("<%s> command '%s' failed: %s: %s", self.module.name, self.name, type(error).__name__, error,
                        exc_info=True)
            raise ReplyError("ERR internal error while running '%s'" % self.name) from None
        if "write" in self.flags:
            session.server.keyspace.dirty += 1 if ctx.logged is None else ctx.logged
        return reply


class ModuleConfig:
    """A module's configuration parameter: the serving.parameters row CONFIG reads it by, its running
    value (.value), and the module's on_set(name, value) called after CONFIG SET changed it."""

    __slots__ = ("parameter", "value", "on_set")

    def __init__(self, parameter, on_set):
        self.parameter = parameter
        self.value = parameter.parse([parameter.default])
        self.on_set = on_set


class Subscription:
    """A module's callback for keyspace events of some classes; not called again while it runs (as
    Redis's moduleNotifyKeyspaceEvent skips an active subscriber)."""

    __slots__ = ("module", "classes", "callback", "active")

    def __init__(self, module, classes, callback):
        self.module, self.classes, self.callback, self.active = module, classes, callback, False

    def __call__(self, db, kind, event, key):
        if not kind & self.classes or self.active:
            return
        self.active = True
        try:
            self.callback(Context(db), event, key)
        except (Exception, SystemExit, KeyboardInterrupt) as error:
            log.warning("<%s> keyspace event callback failed: %s: %s", self.module.name, type(error).__name__, error,
                        exc_info=True)
        finally:
            self.active = False


class Module:
    """A module file being loaded, then loaded: what on_load registered through it (see modules/api.py)."""

    def __init__(self, path, args):
        self.path = path
        self.args = list(args)
        self.name = None
        self.version = 0
        self.commands = []
        self.types = []
        self.configs = {}  # full name ('bf.error-rate') -> ModuleConfig
        self.subscriptions = []
        self.python_module = None

    def identify(self, name, version):
        """RedisModule_Init: the module's name and version (MODULE LIST); first, before anything else."""
        if self.name is not None:
            raise LoadError("Module %s called identify() twice" % self.path)
        if not isinstance(name, str) or not name or " " in name:
            raise LoadError("Module %s: invalid module name %r" % (self.path, name))
        self.name, self.version = name, int(version)

    def _identified(self):
        if self.name is None:
            raise LoadError("Module %s registered something before identify()" % self.path)

    def data_type(self, name, encoding_version, save=None, load=None, rewrite=None, memory_usage=None, copy=None):
        """RedisModule_CreateDataType: a new type, returned for get_value and set_value."""
        self._identified()
        if type_id(name, encoding_version) is None:
            raise LoadError("Module %s: invalid data type name %r or encoding version %r (%d characters of "
                            "A-Z a-z 0-9 - _, version 0 to 1023)" % (self.path, name, encoding_version, NAME_LENGTH))
        if any(existing.name == name for existing in self.types):
            raise LoadError("Module %s: data type %s registered twice" % (self.path, name))
        module_type = ModuleType(name, encoding_version, self.name, save, load, rewrite, memory_usage, copy)
        self.types.append(module_type)
        return module_type

    def command(self, name, handler, arity, flags="", first_key=0, last_key=0, step=0):
        """RedisModule_CreateCommand: a command in the server's table, handler(ctx, *arguments)."""
        self._identified()
        lowered = name.lower()
        if not lowered or any(char.isspace() for char in lowered) or "|" in lowered:
            raise LoadError("Module %s: invalid command name %r" % (self.path, name))
        if any(command.name == lowered for command in self.commands):
            raise LoadError("Module %s: command %s registered twice" % (self.path, name))
        table_flags = []
        for word in flags.split():
            if word.lower() not in COMMAND_FLAGS:
                raise LoadError("Module %s: unknown flag %r for command %s" % (self.path, word, name))
            table_flags.extend(COMMAND_FLAGS[word.lower()])
        if first_key < 0 or step < 0 or (first_key and (step == 0 or (0 <= last_key < first_key))) \
                or (not first_key and (last_key or step)):
            raise LoadError("Module %s: invalid key positions for command %s" % (self.path, name))
        table_flags.append("module")
        self.commands.append(ModuleCommand(self, lowered, handler, int(arity), tuple(dict.fromkeys(table_flags)),
                                           first_key, last_key, step))

    def config(self, name, default, kind, on_set=None, min=None, max=None, values=None,  # noqa: A002 (the API's words)
               mutable=True):
        """RedisModule_Register*Config: CONFIG GET/SET '<module>.<name>' (CONFIG SET refuses it unless mutable,
        as REDISMODULE_CONFIG_IMMUTABLE); returns a handle with .value."""
        self._identified()
        full = "%s.%s" % (self.name, name)
        if not name or not all(char.isalnum() or char in "-_" for char in name):
            raise LoadError("Module %s: invalid config name %r" % (self.path, name))
        if full.lower() in self.configs:
            raise LoadError("Module %s: config %s registered twice" % (self.path, full))
        if kind == "bool":
            parameter = parameters.yes_no(full.lower(), "yes" if default else "no")
        elif kind == "numeric":  # a long long, as RedisModule_RegisterNumericConfig's
            low = -parameters.LONG - 1 if min is None else int(min)
            high = parameters.LONG if max is None else int(max)
            parameter = parameters.number(full.lower(), str(default), low, high)
        elif kind == "string":
            parameter = parameters.text(full.lower(), default)
        elif kind == "enum":
            parameter = parameters.enum(full.lower(), default, tuple(values or ()))
        else:
            raise LoadError("Module %s: config kind %r is not one of %s" % (self.path, kind, ", ".join(CONFIG_KINDS)))
        try:
            handle = ModuleConfig(parameter._replace(mutable=bool(mutable)), on_set)
        except Exception as error:
            raise LoadError("Module %s: bad default for config %s: %s" % (self.path, full, error)) from None
        self.configs[full.lower()] = handle
        return handle

    def subscribe(self, classes, callback):
        """RedisModule_SubscribeToKeyspaceEvents: callback(ctx, event, key) for events of these classes
        (notify-keyspace-events' letters), whatever notify-keyspace-events says."""
        self._identified()
        bits = 0
        for letter in classes:
            bits |= ALL if letter == "A" else event_class(letter)
        self.subscriptions.append(Subscription(self, bits, callback))

    def log(self, level, text):
        """RedisModule_Log: a line '<module> text' at Redis's level name."""
        log.log(LEVELS.get(level, LEVELS["notice"]), "<%s> %s", self.name or "module", text)


def _import(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError("Module %s failed to load: not a Python file" % path)
    python_module = importlib.util.module_from_spec(spec)
    sys.modules[name] = python_module  # dataclasses and pickling look a module's classes up there
    try:
        spec.loader.exec_module(python_module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return python_module


def resolve_path(path, fallback_root):
    """A module path as given, else (relative and not found from the working directory) from fallback_root."""
    if os.path.isabs(path) or os.path.exists(path) or fallback_root is None:
        return path
    candidate = os.path.join(fallback_root, path)
    return candidate if os.path.exists(candidate) else path


class Modules:
    """The loaded modules by name, in load order (MODULE LIST)."""

    def __init__(self, root=None):
        self.loaded = {}
        self.configs = {}  # every loaded module's parameters by full lowercase name: ModuleConfig
        self.root = root  # where a relative path is looked for when the working directory lacks it

    def prepare(self, path, args):
        """Import the file and run its on_load: a Module not yet installed, or LoadError (logged by the caller)."""
        module = Module(path, args)
        name = "mini_redis_module_%d_%s" % (next(_serial), os.path.splitext(os.path.basename(path))[0])
        file_path = resolve_path(path, self.root)
        if not os.path.isfile(file_path):
            raise LoadError("Module %s failed to load: %s: No such file" % (path, path))
        try:
            python_module = _import(file_path, name)
        except (Exception, SystemExit, KeyboardInterrupt) as error:
            raise LoadError("Module %s failed to load: %s: %s" % (path, type(error).__name__, error)) from None
        try:
            on_load = getattr(python_module, "on_load", None)
            if not callable(on_load):
                raise LoadError("Module %s does not export on_load(module, args): Module not loaded" % path)
            try:
                on_load(module, list(args))
            except LoadError:
                raise
            except (Exception, SystemExit, KeyboardInterrupt) as error:
                log.warning("Module %s: on_load raised %s: %s", path, type(error).__name__, error, exc_info=True)
                raise LoadError("Module %s initialization failed. Module not loaded" % path) from None
            if module.name is None:
                raise LoadError("Module %s initialization failed. Module not loaded" % path)
            if module.name in self.loaded:
                raise LoadError("Module %s initialization failed. Module not loaded (a module named %s is loaded)"
                                % (path, module.name))
        except LoadError:
            sys.modules.pop(name, None)
            raise
        module.python_module = python_module
        return module

    def forget(self, module):
        """The module's Python module leaves sys.modules (its code goes once nothing holds it)."""
        if module.python_module is not None:
            sys.modules.pop(module.python_module.__name__, None)
