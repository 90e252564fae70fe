"""Who may talk to the server, and with which commands: requirepass, protected mode, rename-command, DEBUG.

Redis 7.0's rules: with a password set, a new connection is not
authenticated and may only run the commands flagged no_auth (AUTH, HELLO,
QUIT, RESET) until AUTH or HELLO AUTH succeeds; with no password and
protected mode on, only 127.0.0.1 and ::1 may connect at all, whatever the
bind addresses.
"""
import hmac

from errors import WRONG_PASS, ReplyError, protected_command
from serving.config import ConfigError

LOOPBACK = frozenset(("127.0.0.1", "::1"))  # Redis compares the peer's address as text with exactly these
# The commands flagged protected, and the setting that allows each: 'no', 'local' (loopback clients) or 'yes'.
PROTECTED_COMMANDS = {"debug": "enable-debug-command", "module": "enable-module-command"}
DEFAULT_USER = b"default"


def password(config):
    """The default user's password as bytes, b'' for none (requirepass is kept as text)."""
    return config["requirepass"].encode("utf-8", "surrogateescape")


def authenticate(config, username, attempt):
    """AUTH's check; raise WRONGPASS unless the default user's password matches (any, when there is none)."""
    expected = password(config)
    matches = hmac.compare_digest(attempt, expected) if expected else True
    if username != DEFAULT_USER or not matches:
        raise ReplyError(WRONG_PASS)


def is_authenticated(session):
    """Whether a client may run any command: it authenticated, or connected (or RESET) without a password set."""
    return session.authenticated or not session.server.config["requirepass"]


def protected_mode_denies(config, peer_host):
    """Protected mode refuses a client that is not on loopback while the default user has no password."""
    return config["protected-mode"] and not config["requirepass"] and peer_host not in LOOPBACK


def check_protected(session, name):
    """Redis's allowProtectedAction for DEBUG and MODULE; raise its error when the setting refuses the client."""
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
