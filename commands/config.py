"""CONFIG: GET, SET, RESETSTAT, REWRITE, HELP, as Redis 7.0's config.c answers them.

CONFIG SET is atomic across its parameters, as in Redis 7: every value is
checked before any is taken, and if putting one into effect fails (AOF
cannot start, the OS refuses the file descriptors maxclients needs) all of
them go back to what they were.
"""
from commands import Command, subcommand_table, table
from errors import (LOADING, NO_CONFIG_FILE, SYNTAX, ReplyError, config_rewrite_failed, config_set_failed,
                    config_unknown_option, printed)
from serving import access, logs
from serving.config import ConfigError, DeniedWhileLoading, UnknownParameter
from serving.values import quoted
from serving.parameters import TLS_SWITCHES


def _text(raw):
    return raw.decode("utf-8", "surrogateescape")


def config_get(session, *patterns):
    """CONFIG GET parameter [parameter ...]"""
    found = {}  # by lowercased name, as Redis's case-insensitive dict: the first spelling asked wins
    for pattern in patterns:
        for name, value in session.server.config.get_matching(_text(pattern)):
            found.setdefault(name.lower(), (name.encode("utf-8", "surrogateescape"),
                                            value.encode("utf-8", "surrogateescape")))
    return dict(found.values())


def _protected_allowed(session):
    """enable-protected-configs: yes for everyone, local for clients on the loopback (Redis's islocalClient)."""
    config = session.server.config
    host = session.address.rsplit(":", 1)[0].strip("[]")
    local = host in access.LOOPBACK or (config["unixsocket"] and host == config["unixsocket"])
    return config["enable-protected-configs"] == "yes" or (config["enable-protected-configs"] == "local" and local)


def config_set(session, *arguments):
    """CONFIG SET parameter value [parameter value ...]"""
    if len(arguments) % 2:
        raise ReplyError(SYNTAX)
    config = session.server.config
    pairs = [(_text(name), _text(value)) for name, value in zip(arguments[::2], arguments[1::2])]
    before = dict(config.values)
    try:
        changed = config.set_many(pairs, _protected_allowed(session), session.server.loading.active)
    except DeniedWhileLoading:
        raise ReplyError(LOADING) from None
    except UnknownParameter as unknown:
        raise config_unknown_option(arguments[[name for name, _ in pairs].index(unknown.args[0]) * 2]) from None
    except ConfigError as error:
        name, reason = error.args
        raise config_set_failed(printed(name.encode("utf-8", "surrogateescape")), reason) from None
    failure = _put_into_effect(session.server, changed, session.in_exec)
    if failure is not None:
        config.values.update(before)
        _put_into_effect(session.server, [name for name in changed if name != failure[0]], session.in_exec)
        raise config_set_failed(*failure)
    return "OK"


def _put_into_effect(server, changed, in_exec):
    """What changed settings set off at once (in_exec: inside a transaction, which may not fork); (name, reason)
    for the first that could not take effect (which left its own part as it was)."""
    config = server.config
    server.keyspace.memory.configure(config)
    server.configure_stats()  # the slow log's and latency monitor's thresholds
    server.configure_notifications()
    logs.set_level(config["loglevel"])
    for name in TLS_SWITCHES:
        if name in changed and config[name]:  # TLS is not built: Redis's answer when it cannot be configured
            return name, "Unable to update TLS configuration. Check server logs."
    if "maxclients" in changed:
        possible = server.fit_open_files(config["maxclients"])
        if possible < config["maxclients"]:
            return "maxclients", ("The operating system is not able to handle the specified number of clients, "
                                  "try with %d" % possible)
    if "requirepass" in changed:
        server.acl.set_default_password(access.requirepass(config))
    if "repl-backlog-size" in changed:
        server.replication.resize_backlog()
    server.propagation.refresh()  # min-replicas-to-write may gate writes now, or no longer
    if "appendonly" in changed and not server.aof.switch(config["appendonly"], in_exec):
        return "appendonly", "Unable to turn on AOF. Check server logs."
    for name in changed:
        handle = server.modules.configs.get(name)
        if handle is not None:
            failure = _module_parameter_changed(handle, name, config[name])
            if failure is not None:
                return failure
    if ("port" in changed or "bind" in changed) and not server.listen_again():
        if "bind" in changed:
            return "bind", "Failed to bind to specified addresses."
        return "port", "Unable to listen on this port. Check server logs."
    return None


def _module_parameter_changed(handle, name, value):
    """A module's parameter set: its on_set callback may refuse the value (its error's text is the reason)."""
    if handle.on_set is not None:
        try:
            handle.on_set(name, value)
        except Exception as error:  # noqa: BLE001 (a module's refusal, or its bug: CONFIG SET fails either way)
            return name, (error.message if isinstance(error, ReplyError) else str(error)) or "module refused the value"
    handle.value = value
    return None


def config_resetstat(session):
    """CONFIG RESETSTAT"""
    session.server.reset_stats()
    return "OK"


def _word(text):
    """A loadmodule line's word as Redis writes it (as given), quoted where the file could not read it back."""
    plain = text and all(32 < ord(char) < 127 and char not in "\"'\\" for char in text)
    return text if plain else quoted(text)


def config_rewrite(session):
    """CONFIG REWRITE"""
    config = session.server.config
    if not config.config_file:
        raise ReplyError(NO_CONFIG_FILE)
    acl = session.server.acl
    users = [] if config["aclfile"] else [line.decode("utf-8", "surrogateescape") for line in acl.describe_all()]
    modules = [" ".join(["loadmodule"] + [_word(word) for word in (module.path, *map(_text, module.args))])
               for module in session.server.modules.loaded.values()]
    link = session.server.replication.master
    try:
        config.rewrite(users, modules, master=(link.host, link.port) if link is not None else None)
    except OSError as error:
        logs.log.warning("CONFIG REWRITE failed: %s", error.strerror)
        raise config_rewrite_failed(error.strerror) from None
    logs.log.warning("CONFIG REWRITE executed with success.")
    return "OK"


CONFIG_HELP = [
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
    "RESETSTAT", "    Reset statistics reported by the INFO command.",
    "REWRITE", "    Rewrite the configuration file.",
    "HELP", "    Prints this help.",
]


def config_help(session):
    """CONFIG HELP"""
    return CONFIG_HELP


CONFIG_SUBCOMMANDS = subcommand_table(
    "config",
    Command("get", config_get, -3, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("set", config_set, -4, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("resetstat", config_resetstat, 2, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("rewrite", config_rewrite, 2, ("admin", "noscript", "loading", "stale"), 0, 0, 0),
    Command("help", config_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("config", None, -2, (), 0, 0, 0, CONFIG_SUBCOMMANDS),
    group="server",
)
