"""MODULE LOAD/LOADEX/LIST/UNLOAD/HELP and loadmodule, as Redis 7.0's module.c answers them.

A module is a Python file (modules/api.py documents what it may do). Loading is all or nothing:
modules/loader.py imports the file and runs its on_load, then everything it registered is checked
against the server (command, type and parameter names free, LOADEX's parameters known and valid)
before any of it is installed; a failure is a log line and Redis's one error reply. Installed, its
commands are rows of the server's table like any other (group "module": COMMAND, ACL, MULTI,
scripts, MONITOR, the slow log and the statistics see them), its types are the keyspace's, its
parameters CONFIG's, its event callbacks the notifications'. LOAD, LOADEX and UNLOAD are protected
by enable-module-command, as in Redis 7.0 (LIST and HELP are not).
"""
import logging

from commands import Command, subcommand_table, table
from errors import ReplyError
from modules.loader import LoadError
from serving.config import ConfigError
from serving.stats import CommandStats
from storage.module_values import ModuleValue

log = logging.getLogger("mini-redis")
LOAD_FAILED = "ERR Error loading the extension. Please check the server logs."
UNLOAD_FAILED = "ERR Error unloading module: %s"
NO_SUCH_MODULE = "no such module with that name"
TYPES_IN_USE = "the module exports one or more module-side data types, can't unload"


# ------------------------------------------------------------------ loading and unloading


def load(server, path, args, configs=None):
    """moduleLoad: import, check, install; LoadError (already logged) if anything fails. configs are
    LOADEX's CONFIG pairs (name -> text), or None to take the config file's '<module>.<name>' lines."""
    try:
        module = server.modules.prepare(path, args)
        try:
            values = _checked(server, module, configs)
        except LoadError:
            server.modules.forget(module)
            raise
    except LoadError as error:
        log.warning("%s", error)
        raise
    _install(server, module, values)
    log.info("Module '%s' loaded from %s", module.name, path)
    return module


def _checked(server, module, configs):
    """The parameters' starting values once everything the module registered is known free; LoadError if not."""
    for command in module.commands:  # served, or a Redis command ACL rules name (renamed away, or not served)
        if command.name.encode() in server.commands or command.name in server.acl.catalog.checked:
            raise LoadError("Module %s: command '%s' already exists. Module not loaded" % (module.path, command.name))
    for module_type in module.types:
        if module_type.name in server.keyspace.module_types.by_name:
            raise LoadError("Module %s: data type '%s' already exists. Module not loaded"
                            % (module.path, module_type.name))
    for name in module.configs:
        if server.config.find(name) is not None:
            raise LoadError("Module %s: config '%s' already exists. Module not loaded" % (module.path, name))
    given = server.config.module_lines if configs is None else configs
    values = {}
    for name, handle in module.configs.items():
        text = given.get(name)
        if text is None:
            values[name] = handle.value
            continue
        try:
            values[name] = handle.parameter.parse([text])
        except ConfigError as error:
            raise LoadError("Issue during loading of configuration %s : %s" % (name, error)) from None
    if configs is not None and set(configs) - set(module.configs):
        raise LoadError("Loadex configurations were not applied, likely due to invalid arguments. "
                        "Unloading the module.")
    return values


def _install(server, module, values):
    """Everything the module registered goes live; nothing here can fail."""
    for command in module.commands:
        stats = CommandStats(server.stats.fast_usec)
        server.commands[command.name.encode()] = Command(
            command.name, command, command.arity, command.flags, command.first_key, command.last_key, command.step,
            group="module", stats=stats)
        server.acl.add_module_command(command.name)
    for module_type in module.types:
        server.keyspace.module_types.add(module_type)
    for name, handle in module.configs.items():
        handle.value = values[name]
        server.config.module_lines.pop(name, None)
        server.config.add_module_parameter(handle.parameter, values[name])
        server.modules.configs[name] = handle
    server.notifications.subscribers.extend(module.subscriptions)
    server.configure_notifications()
    server.modules.loaded[module.name] = module


def unload(server, name):
    """moduleUnload: refused for an unknown name and while a key holds one of the module's types."""
    module = server.modules.loaded.get(name)
    if module is None:
        raise ReplyError(UNLOAD_FAILED % NO_SUCH_MODULE)
    types = set(module.types)
    if types and any(type(value) is ModuleValue and value.module_type in types
                     for db in server.keyspace.databases for value in db.data.values()):
        raise ReplyError(UNLOAD_FAILED % TYPES_IN_USE)
    for command in module.commands:
        server.commands.pop(command.name.encode(), None)
        server.acl.remove_module_command(command.name)
    for module_type in module.types:
        server.keyspace.module_types.remove(module_type)
    for config_name in module.configs:
        server.config.remove_module_parameter(config_name)
        del server.modules.configs[config_name]
    subscribers = server.notifications.subscribers
    subscribers[:] = [subscriber for subscriber in subscribers if subscriber.module is not module]
    server.configure_notifications()
    del server.modules.loaded[name]
    server.modules.forget(module)
    log.info("Module %s unloaded", name)


def load_at_start(server):
    """The config file's and command line's loadmodule lines, in order: the reason start-up stops, or None."""
    for path, args in server.config.modules:
        try:
            load(server, path, args)
        except LoadError:
            return "Can't load module from %s: server aborting" % path
    if server.config.module_lines:
        return "Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"
    return None


# ------------------------------------------------------------------ MODULE


def module_list(session):
    """MODULE LIST"""
    return [{b"name": module.name.encode(), b"ver": module.version, b"path": module.path.encode(),
             b"args": list(module.args)} for module in session.server.modules.loaded.values()]


def _text(raw):
    return raw.decode("utf-8", "surrogateescape")


def module_load(session, path, *args):
    """MODULE LOAD path [arg [arg ...]]"""
    try:
        load(session.server, _text(path), args)
    except LoadError:
        raise ReplyError(LOAD_FAILED) from None
    return "OK"


def module_loadex(session, path, *options):
    """MODULE LOADEX path [CONFIG name value [CONFIG name value ...]] [ARGS args [args ...]]"""
    configs, args, position = {}, [], 0
    while position < len(options):
        word = options[position].lower()
        if word == b"config":
            if position + 2 >= len(options):
                log.info("CONFIG specified without name value pair")
                raise ReplyError(LOAD_FAILED)
            configs[_text(options[position + 1]).lower()] = _text(options[position + 2])
            position += 3
        elif word == b"args":
            args = list(options[position + 1:])
            break
        else:
            log.info("Syntax Error from arguments to loadex around %s.", _text(options[position]))
            raise ReplyError(LOAD_FAILED)
    try:
        load(session.server, _text(path), args, configs)
    except LoadError:
        raise ReplyError(LOAD_FAILED) from None
    return "OK"


def module_unload(session, name):
    """MODULE UNLOAD name"""
    unload(session.server, _text(name))
    return "OK"


MODULE_HELP = [
    "MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LIST", "    Return a list of loaded modules.",
    "LOAD <path> [<arg> ...]", "    Load a module library from <path>, passing to it any optional arguments.",
    "LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
    "    Load a module library from <path>, while passing it module configurations and optional arguments.",
    "UNLOAD <name>", "    Unload a module.",
    "HELP", "    Prints this help.",
]


def module_help(session):
    """MODULE HELP"""
    return MODULE_HELP


MODULE_SUBCOMMANDS = subcommand_table(
    "module",
    Command("help", module_help, 2, ("loading", "stale"), 0, 0, 0),
    Command("list", module_list, 2, ("admin", "noscript"), 0, 0, 0),
    Command("load", module_load, -3, ("admin", "noscript", "no_async_loading", "protected"), 0, 0, 0),
    Command("loadex", module_loadex, -3, ("admin", "noscript", "no_async_loading", "protected"), 0, 0, 0),
    Command("unload", module_unload, 3, ("admin", "noscript", "no_async_loading", "protected"), 0, 0, 0),
)

COMMANDS = table(
    Command("module", None, -2, (), 0, 0, 0, MODULE_SUBCOMMANDS),
    group="server",
)
