"""ACL and the permission checks around every command, as Redis 7.0's acl.c and processCommand.

The registry itself is the acl package's; this module gives it the command table (a Catalog of
names and categories from COMMAND INFO's metadata, and the key finder COMMAND GETKEYS uses), and
serves ACL's subcommands. check() is what the dispatcher, EXEC and scripts ask before a command
of a user who is not allowed everything.
"""
import json
import os
import time

import acl
from acl import DENIED_COMMAND, REASONS, RuleError, Users, has_spaces
from commands import Command, lookup, subcommand_table, table
from commands.introspection import METADATA, VARIABLE_FLAG_KEYS, keys_of
from errors import NOT_INTEGER, ReplyError, printed, subcommand_syntax
from protocol import SetReply, string_to_int

CONTEXTS = {"toplevel": b"toplevel", "multi": b"multi", "lua": b"lua"}
NO_ACL_FILE = ("ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
               "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file "
               "set) in order to store users in the Redis configuration.")
GENPASS_MAX_BITS = 4096


with open(os.path.join(os.path.dirname(__file__), "acl_catalog.json")) as _file:
    REDIS_COMMANDS = json.load(_file)  # Redis 7.0's whole table: [name, categories, no_auth, subcommands]


# Ours that Redis 7.0 has not, and the command whose permission each shares: Redis counts its own table
# only when it writes rule strings, and so do we.
ALIASES = (("delete", "del"), ("flush", "flushdb"), ("client|setinfo", "client|setname"))


def catalog_rows():
    """What ACL rules are about: every command Redis 7.0 has (acl.c walks its whole table, so rule strings
    and ACL CAT name commands not served here too)."""
    return [(name, categories, [(sub.split("|", 1)[1], sub_categories, sub_no_auth)
                                for sub, sub_categories, sub_no_auth, _ in subcommands], no_auth)
            for name, categories, no_auth, subcommands in REDIS_COMMANDS]


def access_bits(flags):
    """ACLSelectorCheckKey's wanted permission for a key spec's flags: read for access, write for
    insert, delete or update (neither: any pattern will do)."""
    bits = acl.rules.READ if "access" in flags else 0
    if "insert" in flags or "delete" in flags or "update" in flags:
        bits |= acl.rules.WRITE
    return bits


def _one_fixed_key(info):
    """[(position, access bits)] for a command whose only key sits at a fixed position (GET, SET...), else None."""
    specs = info["key_specs"]
    if len(specs) != 1 or specs[0]["begin_search"]["type"] != "index" or specs[0]["find_keys"]["type"] != "range":
        return None
    found = specs[0]["find_keys"]["spec"]
    if found["lastkey"] != 0 or "not_key" in specs[0]["flags"]:
        return None
    return [(specs[0]["begin_search"]["spec"]["index"], access_bits(specs[0]["flags"]))]


# Commands with one key at a fixed position: a check needs no walk through their key specs.
FIXED_KEYS = {name: found for name, entry in METADATA.items() if name not in VARIABLE_FLAG_KEYS
              for found in [_one_fixed_key(entry["info"])] if found}


# SET key value, without options: its key is only written (setGetKeys reads GET among the options).
BARE_SET = [(1, acl.rules.WRITE)]


def access_of(command, argv):
    """[(position, access bits)] of the keys in argv, as getKeysFromCommandWithSpecs finds them."""
    fixed = FIXED_KEYS.get(command.name)
    if fixed is not None and len(argv) > fixed[0][0]:
        return fixed
    if len(argv) == 3 and command.name == "set":
        return BARE_SET
    return [(position, access_bits(flags)) for position, flags in keys_of(command, argv)]


def new_users(config):
    """The server's registry of users, over catalog_rows() and ALIASES."""
    return Users(acl.Catalog(catalog_rows(), ALIASES), access_of, config)


def disconnect_users_clients(session, users):
    """ACLFreeUserAndKillClients: every client of these users goes (the caller after its reply)."""
    victims = [other for other in session.server.sessions.values() if other.user in users]
    for victim in victims:
        victim.user = session.server.acl.default
        victim.authenticated = False
    if session in victims:
        session.close_after_reply = True
    session.server.kill([other for other in victims if other is not session])


def _kill_revoked_subscribers(session, user, staged):
    """ACLKillPubsubClientsIfNeeded: the user's subscribers to a channel or pattern no longer allowed go."""
    if any(selector.all_channels for selector in staged.selectors):
        return
    upcoming = [channel for selector in staged.selectors for channel in selector.channels]
    if all(channel in upcoming for selector in user.selectors for channel in selector.channels):
        return
    registry = session.server.acl
    victims = [other for other in session.server.sessions.values()
               if other.user is user and other.subscribed()
               and (any(not registry.check_channel(staged, pattern, True) for pattern in other.patterns)
                    or any(not registry.check_channel(staged, channel, False)
                           for channel in (*other.channels, *other.shard_channels)))]
    if session in victims:
        session.close_after_reply = True
    session.server.kill([other for other in victims if other is not session])


def acl_setuser(session, username, *ops):
    """ACL SETUSER username [rule [rule ...]]"""
    if has_spaces(username):
        raise ReplyError("ERR Usernames can't contain spaces or null characters")
    merged, start = acl.merge_selector_arguments(ops)
    if merged is None:
        raise ReplyError("ERR Unmatched parenthesis in acl selector starting at '%s'." % printed(ops[start]))
    registry = session.server.acl
    try:
        staged = registry.staged(username, merged)
    except RuleError as error:
        raise ReplyError("ERR Error in ACL SETUSER modifier '%s': %s" % (printed(error.rule), error.message))
    existing = registry.get(username)
    if existing is not None:
        _kill_revoked_subscribers(session, existing, staged)
    registry.commit(username, staged)
    return "OK"


def acl_deluser(session, *usernames):
    """ACL DELUSER username [username ...]"""
    if acl.DEFAULT in usernames:
        raise ReplyError("ERR The 'default' user cannot be removed")
    registry = session.server.acl
    removed = [user for user in map(registry.delete, usernames) if user is not None]
    disconnect_users_clients(session, removed)
    return len(removed)


def _selector_fields(selector):
    return {b"commands": selector.describe_commands(), b"keys": selector.describe_keys(),
            b"channels": selector.describe_channels()}


def acl_getuser(session, username):
    """ACL GETUSER username"""
    user = session.server.acl.get(username)
    if user is None:
        return None
    reply = {b"flags": SetReply(flag.encode() for flag in acl.rules.USER_FLAGS if flag in user.flags),
             b"passwords": list(user.passwords)}
    reply.update(_selector_fields(user.selectors[0]))
    reply[b"selectors"] = [_selector_fields(selector) for selector in user.selectors[1:]]
    return reply


def acl_list(session):
    """ACL LIST"""
    return session.server.acl.describe_all()


def acl_users(session):
    """ACL USERS"""
    return session.server.acl.names()


def acl_whoami(session):
    """ACL WHOAMI"""
    return session.user.name


def _aclfile(session):
    path = session.server.config["aclfile"]
    if not path:
        raise ReplyError(NO_ACL_FILE)
    return path


def acl_load(session):
    """ACL LOAD"""
    registry = session.server.acl
    before = [user for user in registry.users.values() if user is not registry.default]
    errors = registry.load_file(_aclfile(session))
    if errors is not None:
        raise ReplyError("ERR " + errors)
    disconnect_users_clients(session, before)  # every user but the default one was replaced
    return "OK"


def acl_save(session):
    """ACL SAVE"""
    if not session.server.acl.save_file(_aclfile(session)):
        raise ReplyError("ERR There was an error trying to save the ACLs. Please check the server logs for more "
                         "information")
    return "OK"


def acl_cat(session, *category):
    """ACL CAT [category]"""
    if len(category) > 1:
        raise subcommand_syntax(session.argv)
    if not category:
        return [name.encode() for name in acl.rules.CATEGORIES]
    name = category[0].decode("latin-1").lower()
    if name not in acl.rules.CATEGORIES:
        raise ReplyError("ERR Unknown category '%s'" % printed(category[0][:128]))
    return [entry.name.encode() for entry in session.server.acl.catalog.in_category(name)]


def acl_genpass(session, *bits):
    """ACL GENPASS [bits]"""
    if len(bits) > 1:
        raise subcommand_syntax(session.argv)
    count = 256
    if bits:
        count = string_to_int(bits[0])
        if count is None:
            raise ReplyError(NOT_INTEGER)
    if count <= 0 or count > GENPASS_MAX_BITS:
        raise ReplyError("ERR ACL GENPASS argument must be the number of bits for the output password, a positive "
                         "number up to %d" % GENPASS_MAX_BITS)
    return os.urandom((count + 7) // 8).hex()[:(count + 3) // 4].encode()


def acl_log(session, *argument):
    """ACL LOG [count | RESET]"""
    if len(argument) > 1:
        raise subcommand_syntax(session.argv)
    registry = session.server.acl
    count = 10
    if argument:
        if argument[0].lower() == b"reset":
            registry.log.clear()
            return "OK"
        count = string_to_int(argument[0])
        if count is None:
            raise ReplyError(NOT_INTEGER)
        count = max(count, 0)
    now = int(time.time() * 1000)
    return [{b"count": entry.count, b"reason": REASONS[entry.reason], b"context": CONTEXTS[entry.context],
             b"object": entry.object, b"username": entry.username, b"age-seconds": (now - entry.created_ms) / 1000,
             b"client-info": entry.client_info} for entry in registry.log[:count]]


def acl_dryrun(session, username, *argv):
    """ACL DRYRUN username command [arg [arg ...]]"""
    user = session.server.acl.get(username)
    if user is None:
        raise ReplyError("ERR User '%s' not found" % printed(username))
    command = session.server.commands.get(argv[0].lower())
    if command is None:
        raise ReplyError("ERR Command '%s' not found" % printed(argv[0]))
    command, _ = lookup(session.server.commands, list(argv))
    refused = session.server.acl.check(user, command, list(argv))
    if refused is None:
        return "OK"
    reason, position = refused
    if reason == DENIED_COMMAND:
        return b"This user has no permissions to run the '%s' command" % command.name.encode()
    return b"This user has no permissions to access the '%s' %s" % (argv[position], REASONS[reason])


ACL_HELP = [
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
]


def acl_help(session):
    """ACL HELP"""
    return ACL_HELP


ADMIN = ("admin", "noscript", "loading", "stale")
ACL_SUBCOMMANDS = subcommand_table(
    "acl",
    Command("cat", acl_cat, -2, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("deluser", acl_deluser, -3, ADMIN, 0, 0, 0),
    Command("dryrun", acl_dryrun, -4, ADMIN, 0, 0, 0),
    Command("genpass", acl_genpass, -2, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("getuser", acl_getuser, 3, ADMIN, 0, 0, 0),
    Command("list", acl_list, 2, ADMIN, 0, 0, 0),
    Command("load", acl_load, 2, ADMIN, 0, 0, 0),
    Command("log", acl_log, -2, ADMIN, 0, 0, 0),
    Command("save", acl_save, 2, ADMIN, 0, 0, 0),
    Command("setuser", acl_setuser, -3, ADMIN, 0, 0, 0),
    Command("users", acl_users, 2, ADMIN, 0, 0, 0),
    Command("whoami", acl_whoami, 2, ("noscript", "loading", "stale"), 0, 0, 0),
    Command("help", acl_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("acl", None, -2, (), 0, 0, 0, ACL_SUBCOMMANDS),
    group="server",
)
