"""Who may talk to the server, and with which commands: requirepass, protected mode, rename-command, DEBUG.

Redis 7.0's rules: with a password set (the default ACL user's), a new connection is not
authenticated and may only run the commands flagged no_auth (AUTH, HELLO,
QUIT, RESET) until AUTH or HELLO AUTH succeeds; with no password and
protected mode on, only 127.0.0.1 and ::1 may connect at all, whatever the
bind addresses.
"""
from acl import RuleError
from errors import protected_command
from serving.config import ConfigError

LOOPBACK = frozenset(("127.0.0.1", "::1"))  # Redis compares the peer's address as text with exactly these
# The commands flagged protected, and the setting that allows each: 'no', 'local' (loopback clients) or 'yes'.
PROTECTED_COMMANDS = {"debug": "enable-debug-command", "module": "enable-module-command"}


def requirepass(config):
    """requirepass as bytes (kept as text), the default user's password; b'' for none."""
    return config["requirepass"].encode("utf-8", "surrogateescape")


def load_users(users, config):
    """ACLLoadUsersAtStartup: the config file's `user` lines, then the aclfile; the reason the server
    must not start, or None."""
    if config["aclfile"] and config.users:
        return ("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is "
                "invalid. This setup is very likely to lead to configuration errors and security holes, please "
                "define either an ACL file or declare users directly in your redis.conf, but not both.")
    try:
        users.load_config_users(config.users)
    except RuleError as error:
        return "%s\nCritical error while loading ACLs. Exiting." % error.message
    if config["aclfile"]:
        errors = users.load_file(config["aclfile"])
        if errors:
            return "Aborting Redis startup because of ACL errors: %s" % errors
    return None


def is_authenticated(session):
    """Whether a client may run any command: it authenticated, or the default user needs no password."""
    return session.authenticated or not session.server.acl.auth_required


def protected_mode_denies(config, users, peer_host):
    """Protected mode refuses a client that is not on loopback while the default user is nopass."""
    return config["protected-mode"] and users.default.nopass and peer_host not in LOOPBACK


def check_protected(session, name):
    """Redis's allowProtectedAction for DEBUG and MODULE (its LOAD, LOADEX, UNLOAD); raise its error when the
    setting refuses the client."""
    name = name.split("|", 1)[0]
    setting = session.server.config[PROTECTED_COMMANDS[name]]
    host = session.address.rsplit(":", 1)[0].strip("[]")
    if setting != "yes" and not (setting == "local" and host in LOOPBACK):
        raise protected_command(name.upper(), PROTECTED_COMMANDS[name])


def apply_renames(commands, renames):
    """rename-command OLD NEW from the config, in order, on a server's table; NEW '' removes the command.

    Like Redis, the row keeps its own name (errors still say 'config'), only
    the name a client types changes.
    """
    for old, new, where in renames:
        command = commands.pop(old.lower(), None)
        if command is None:
            raise ConfigError("%s\nNo such command in rename-command" % where)
        if new:
            if new.lower() in commands:
                raise ConfigError("%s\nTarget command name already exists" % where)
            commands[new.lower()] = command
