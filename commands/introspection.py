"""COMMAND: what the server serves, described as Redis 7.0 describes it (server.c's commandCommand family).

COMMAND INFO and COMMAND DOCS print Redis 7.0's own metadata: flags, ACL
categories, tips, key specifications and documentation, which
tools/command_metadata.py copies from redis-server into metadata.json.
What only our table knows comes from its rows: which commands and
subcommands are served, under which names (rename-command), and their
order. COMMAND GETKEYS reads the key specifications the way Redis's
getKeysUsingKeySpecs does.
"""
import json
import os

from commands import Command, subcommand_table, table
from errors import SYNTAX, ReplyError
from protocol import SetReply
from storage.patterns import compile_pattern

with open(os.path.join(os.path.dirname(__file__), "metadata.json")) as _file:
    METADATA = json.load(_file)

SET_FIELDS = frozenset(("flags", "doc_flags", "history"))  # as tools/command_metadata.py reads them
FLAG_FIELDS = frozenset(("flags", "doc_flags"))  # their members are simple strings


def reply_of(value, field=None):
    """A metadata.json value as the reply Redis sends: objects are maps, strings bulk strings, and the
    sets of SET_FIELDS sets (flags of simple strings)."""
    if isinstance(value, dict):
        return {name.encode(): reply_of(member, name) for name, member in value.items()}
    if isinstance(value, list):
        members = [member if field in FLAG_FIELDS else reply_of(member) for member in value]
        return SetReply(members) if field in SET_FIELDS else members
    if isinstance(value, str):
        return value.encode()
    return value


def _info(command):
    """The metadata's info of a row; a row without metadata (a module's, or the tool not rerun yet) shows its
    own fields."""
    if command.group == "module":
        return module_info(command)
    found = METADATA.get(command.name)
    if found is not None:
        return found["info"]
    return {"arity": command.arity, "flags": list(command.flags), "first_key": command.first_key,
            "last_key": command.last_key, "step": command.step, "acl_categories": [], "tips": [],
            "key_specs": []}


# addReplyCommandFlags's order, without the flags it hides (may_replicate, protected).
SHOWN_FLAGS = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking", "loading", "stale",
               "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth", "no_mandatory_keys", "no_async_loading",
               "no_multi", "movablekeys", "allow_busy")


def module_info(command):
    """COMMAND INFO of a module's command as Redis 7.0's moduleCreateCommandProxy describes it: its flags and
    'module', no ACL categories (7.0 gives module commands none: only +@all or their names allow them), and
    one key specification of the legacy range when it has keys."""
    specs = []
    if command.first_key:
        last = command.last_key if command.last_key < 0 else command.last_key - command.first_key
        specs.append({"flags": ["RW", "access", "update", "variable_flags"],
                      "begin_search": {"type": "index", "spec": {"index": command.first_key}},
                      "find_keys": {"type": "range", "spec": {"lastkey": last, "keystep": command.step, "limit": 0}}})
    flags = [flag for flag in SHOWN_FLAGS if flag in command.flags]
    return {"arity": command.arity, "flags": flags, "first_key": command.first_key, "last_key": command.last_key,
            "step": command.step, "acl_categories": [], "tips": [], "key_specs": specs}


def info_row(command):
    """One entry of COMMAND INFO, Redis 7's ten fields, with the served subcommands."""
    info = _info(command)
    return [command.name.encode(), info["arity"], SetReply(info["flags"]), info["first_key"], info["last_key"],
            info["step"], SetReply(info["acl_categories"]), SetReply(tip.encode() for tip in info["tips"]),
            SetReply(reply_of(spec) for spec in info["key_specs"]),
            SetReply(info_row(sub) for sub in command.subcommands.values())]


def docs_entry(command):
    """One command's COMMAND DOCS map, with the served subcommands."""
    if command.group == "module":  # addReplyCommandDocs: the group, and the module's name
        return {b"group": b"module", b"module": command.handler.module.name.encode()}
    found = METADATA.get(command.name)
    handler_doc = (command.handler.__doc__ or "") if command.handler else ""
    docs = reply_of(found["docs"]) if found else {b"summary": handler_doc.strip().split("\n")[0].encode()}
    if command.subcommands:
        docs[b"subcommands"] = {sub.name.encode(): docs_entry(sub) for sub in command.subcommands.values()}
    return docs


def find(commands, name):
    """The row a name means ('get', 'config|get', a renamed 'xconfig'), or None: Redis's lookupCommandBySds."""
    parts = name.lower().split(b"|")
    command = commands.get(parts[0])
    if command is None or len(parts) == 1:
        return command
    if len(parts) > 2:
        return None
    return command.subcommands.get(parts[1])


def _every(commands):
    """Each served row, every subcommand after its container."""
    for command in commands.values():
        yield command
        yield from command.subcommands.values()


def command_(session):
    """COMMAND"""
    return [info_row(command) for command in session.server.commands.values()]


def command_count(session):
    """COMMAND COUNT"""
    return len(session.server.commands)


def command_list(session, *filters):
    """COMMAND LIST [FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]"""
    rows = _every(session.server.commands)
    if not filters:
        return [command.name.encode() for command in rows]
    if len(filters) != 3 or filters[0].lower() != b"filterby":
        raise ReplyError(SYNTAX)
    kind, argument = filters[1].lower(), filters[2]
    if kind == b"module":
        return [command.name.encode() for command in rows
                if command.group == "module" and command.handler.module.name.encode() == argument]
    if kind == b"aclcat":
        category = "@" + argument.decode("utf-8", "surrogateescape").lower()
        return [command.name.encode() for command in rows if category in _info(command)["acl_categories"]]
    if kind == b"pattern":
        matches = compile_pattern(argument, True)
        return [command.name.encode() for command in rows if matches(command.name.encode())]
    raise ReplyError(SYNTAX)


def command_info(session, *names):
    """COMMAND INFO [command-name ...]"""
    if not names:
        return command_(session)
    commands = session.server.commands
    rows = [find(commands, name) for name in names]
    return [None if row is None else info_row(row) for row in rows]


def command_docs(session, *names):
    """COMMAND DOCS [command-name ...]"""
    commands = session.server.commands
    rows = [find(commands, name) for name in names] if names else commands.values()
    return {row.name.encode(): docs_entry(row) for row in rows if row is not None}


# ------------------------------------------------------------------ GETKEYS

INVALID_COMMAND = "ERR Invalid command specified"
NO_KEY_ARGUMENTS = "ERR The command has no key arguments"
INVALID_ARGUMENT_COUNT = "ERR Invalid number of arguments specified for command"
INVALID_ARGUMENTS = "ERR Invalid arguments specified for command"


class InvalidSpec(Exception):
    """A key specification that does not fit the arguments: Redis gives no keys at all."""


def _spec_keys(spec, argv):
    """The (position, flags) one key specification finds in argv; [] when its keyword is absent."""
    begin, find_keys = spec["begin_search"], spec["find_keys"]
    argc = len(argv)
    if begin["type"] == "index":
        first = begin["spec"]["index"]
    elif begin["type"] == "keyword":
        first = _keyword_position(begin["spec"], argv)
        if not first:
            return []
    else:
        raise InvalidSpec()
    if find_keys["type"] == "range":
        step, lastkey, limit = (find_keys["spec"][name] for name in ("keystep", "lastkey", "limit"))
        if lastkey >= 0:
            last = first + lastkey
        elif not limit:
            last = argc + lastkey
        else:
            last = first + ((argc - first) // limit + lastkey)
    elif find_keys["type"] == "keynum":
        spec_ = find_keys["spec"]
        step = spec_["keystep"]
        if spec_["keynumidx"] >= argc or first + spec_["keynumidx"] >= argc:
            raise InvalidSpec()
        numkeys = _c_integer(argv[first + spec_["keynumidx"]])
        if numkeys is None or numkeys < 0:
            raise InvalidSpec()
        first += spec_["firstkey"]
        last = first + numkeys - 1
    else:
        raise InvalidSpec()
    if last >= argc or last < first or first >= argc:
        raise InvalidSpec()
    return [(position, spec["flags"]) for position in range(first, last + 1, step)]


def _keyword_position(spec, argv):
    """Just past the keyword, searched from startfrom (backwards when negative) up to, not including, the
    last place Redis's loop stops at; 0 if it is absent."""
    startfrom, keyword, argc = spec["startfrom"], spec["keyword"].lower().encode(), len(argv)
    position = startfrom if startfrom > 0 else argc + startfrom
    end = argc - 1 if startfrom > 0 else 1
    step = 1 if position <= end else -1
    while position != end and 1 <= position < argc:
        if argv[position].split(b"\0", 1)[0].lower() == keyword:
            return position + 1
        position += step
    return 0


def _c_integer(raw):
    """string2ll: a canonical 64-bit integer, or None."""
    try:
        number = int(raw)
    except ValueError:
        return None
    if b"%d" % number != raw or not -2**63 <= number < 2**63:
        return None
    return number


def _set_keys(argv):
    """setGetKeys: SET's key is read as well as written when GET is among its options."""
    has_get = any(arg.split(b"\0", 1)[0].lower() == b"get" for arg in argv[3:])
    return [(1, ["RW", "access", "update"] if has_get else ["OW", "update"])]


def _sort_keys(argv):
    """sortGetKeys: the sorted key, and the destination of the last STORE, skipping the arguments of
    LIMIT, GET and BY as Redis's loop skips them."""
    keys = [(1, ["RO", "access"])]
    skips = {b"limit": 2, b"get": 1, b"by": 1}
    position = 2
    while position < len(argv):
        word = argv[position].split(b"\0", 1)[0].lower()
        if word in skips:
            position += skips[word]
        elif word == b"store" and position + 1 < len(argv):
            keys[1:] = [(position + 1, ["OW", "update"])]
        position += 1
    return keys


def _bitfield_keys(argv):
    """bitfieldGetKeys: the key is only read when every operation is a GET (a syntax error counts as a write)."""
    position = 2
    while position < len(argv):
        word, left = argv[position].split(b"\0", 1)[0].lower(), len(argv) - position - 1
        if word == b"get" and left >= 2:
            position += 3
        elif word == b"overflow" and left >= 1:
            position += 2
        else:
            return [(1, ["RW", "access", "update"])]
    return [(1, ["RO", "access"])]


def _migrate_keys(argv):
    """migrateGetKeys (MIGRATE's first key specification is incomplete): the key argument, or the keys after
    KEYS, stepping over the arguments of AUTH and AUTH2 on the way."""
    first, skips = 3, {b"auth": 1, b"auth2": 2}
    position = 6
    while position < len(argv):
        word = argv[position].lower()
        if word == b"keys":
            first = position + 1
            break
        position += skips.get(word, 0) + 1
    names = range(first, len(argv)) if first > 3 else (3,) if len(argv) > 3 else ()
    return [(index, ["RW", "access", "delete"]) for index in names]


# Commands whose key flags depend on their arguments, or whose keys the specifications cannot find.
VARIABLE_FLAG_KEYS = {"set": _set_keys, "sort": _sort_keys, "sort_ro": lambda argv: [(1, ["RO", "access"])],
                      "bitfield": _bitfield_keys, "migrate": _migrate_keys}


def keys_of(command, argv):
    """(position, flags) of each key in argv (the command's name first), as Redis's
    getKeysFromCommandWithSpecs finds them; [] when the arguments do not fit the specifications."""
    special = VARIABLE_FLAG_KEYS.get(command.name)
    if special is not None:
        return special(argv)
    found = []
    for spec in _info(command)["key_specs"]:
        if "not_key" in spec["flags"]:
            continue
        try:
            found.extend(_spec_keys(spec, argv))
        except InvalidSpec:
            return []
    return found


def _keys_and_flags(session, argv):
    """Redis's getKeysSubcommandImpl: the command argv names (a container's subcommand by its second
    word), checked, then its keys."""
    command = session.server.commands.get(argv[0].lower())
    if command is not None and command.subcommands and len(argv) > 1:
        command = command.subcommands.get(argv[1].lower())
    if command is None:
        raise ReplyError(INVALID_COMMAND)
    info = _info(command)
    if not any("not_key" not in spec["flags"] for spec in info["key_specs"]):  # doesCommandHaveKeys
        raise ReplyError(NO_KEY_ARGUMENTS)
    arity = info["arity"]
    if (arity > 0 and arity != len(argv)) or len(argv) < -arity:
        raise ReplyError(INVALID_ARGUMENT_COUNT)
    keys = keys_of(command, argv)
    if not keys and "no_mandatory_keys" not in info["flags"]:
        raise ReplyError(INVALID_ARGUMENTS)
    return [(argv[position], flags) for position, flags in keys]


def command_getkeys(session, *argv):
    """COMMAND GETKEYS command [arg ...]"""
    return [key for key, _ in _keys_and_flags(session, argv)]


def command_getkeysandflags(session, *argv):
    """COMMAND GETKEYSANDFLAGS command [arg ...]"""
    return [[key, SetReply(flags)] for key, flags in _keys_and_flags(session, argv)]


COMMAND_HELP = [
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)", "    Return details about all Redis commands.",
    "COUNT", "    Return the total number of commands in this Redis server.",
    "LIST", "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all", "    commands are returned.",
    "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all", "    commands are returned.",
    "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
    "HELP", "    Prints this help.",
]


def command_help(session):
    """COMMAND HELP"""
    return COMMAND_HELP


COMMAND_SUBCOMMANDS = subcommand_table(
    "command",
    Command("count", command_count, 2, ("loading", "stale"), 0, 0, 0),
    Command("list", command_list, -2, ("loading", "stale"), 0, 0, 0),
    Command("info", command_info, -2, ("loading", "stale"), 0, 0, 0),
    Command("docs", command_docs, -2, ("loading", "stale"), 0, 0, 0),
    Command("getkeys", command_getkeys, -4, ("loading", "stale"), 0, 0, 0),
    Command("getkeysandflags", command_getkeysandflags, -4, ("loading", "stale"), 0, 0, 0),
    Command("help", command_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("command", command_, -1, ("loading", "stale"), 0, 0, 0, COMMAND_SUBCOMMANDS),
    group="server",
)
