"""Users and their permissions, as Redis 7.0's acl.c: the registry, the permission check, the ACL log,
the aclfile and the `user` lines of the config file.

The registry knows commands only through a Catalog (names, categories, subcommands) and a keys_of
function that finds a command's keys, both given by the commands layer, so nothing here imports it.
A session holds a User; Users.check() is what execute(), EXEC and the script runner ask.

Imports: errors, protocol, storage.
"""
import logging
import os
import time

from errors import WRONG_PASS, ReplyError
from acl.rules import UNKNOWN, Catalog, RuleError, User, has_spaces, merge_selector_arguments

log = logging.getLogger("mini-redis")
DEFAULT = b"default"
# Why a command was refused (server.h's ACL_DENIED_*: the larger wins between selectors).
DENIED_COMMAND, DENIED_KEY, DENIED_AUTH, DENIED_CHANNEL = 1, 2, 3, 4
REASONS = {DENIED_COMMAND: b"command", DENIED_KEY: b"key", DENIED_CHANNEL: b"channel", DENIED_AUTH: b"auth"}
NOPERM_KEY = "NOPERM this user has no permissions to access one of the keys used as arguments"
EXEC_REASONS = {DENIED_COMMAND: "no permission to execute the command or subcommand",
                DENIED_KEY: "no permission to touch the specified keys",
                DENIED_CHANNEL: "no permission to access one of the channels used as arguments"}
NOPERM_CHANNEL = "NOPERM this user has no permissions to access one of the channels used as arguments"
SCRIPT_REFUSALS = {
    DENIED_COMMAND: "ERR The user executing the script can't run this command or subcommand",
    DENIED_KEY: "ERR The user executing the script can't access at least one of the keys mentioned in the command "
                "arguments",
    DENIED_CHANNEL: "ERR The user executing the script can't publish to the channel mentioned in the command"}
GROUPING_MS = 60000  # ACL_LOG_GROUPING_MAX_TIME_DELTA
CHANNEL_ARGUMENTS = {"publish": (False, 1), "subscribe": (False, None), "psubscribe": (True, None),
                     "spublish": (False, 1), "ssubscribe": (False, None)}


def noperm(reason, command_name):
    """processCommand's NOPERM error text for a refusal."""
    if reason == DENIED_COMMAND:
        return "NOPERM this user has no permissions to run the '%s' command" % command_name
    return NOPERM_KEY if reason == DENIED_KEY else NOPERM_CHANNEL


def check(session, command, argv, context="toplevel"):
    """Whether the session's user may run command (a table row) with argv (its name first): None, or the
    NOPERM error text, the refusal logged in the ACL log. What the script runner calls for redis.call
    (context 'lua')."""
    refused = session.server.acl.check(session.user, command, argv)
    if refused is None:
        return None
    reason, position = refused
    log_refusal(session, reason, context, command.name.encode() if reason == DENIED_COMMAND else argv[position])
    return noperm(reason, command.name)


def check_in_script(session, command, argv):
    """scriptVerifyACL, for redis.call and redis.pcall: None if the script's caller (session) may run command
    (a table row) with argv (its name first), else the error reply's text (the runner adds ' script: <sha>,
    on @user_script:<line>.' for redis.call); the refusal is logged with context 'lua'."""
    refused = session.server.acl.check(session.user, command, argv)
    if refused is None:
        return None
    reason, position = refused
    log_refusal(session, reason, "lua", command.name.encode() if reason == DENIED_COMMAND else argv[position])
    return SCRIPT_REFUSALS[reason]


def check_at_exec(session, command, argv):
    """execCommand's second check, for rules changed since the command was queued: None or the error."""
    refused = session.server.acl.check(session.user, command, argv)
    if refused is None:
        return None
    reason, position = refused
    log_refusal(session, reason, "multi", command.name.encode() if reason == DENIED_COMMAND else argv[position])
    return ("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. "
            "This command is no longer allowed for the following reason: " + EXEC_REASONS[reason])


def log_refusal(session, reason, context, object_, username=None):
    session.server.acl.add_log_entry(reason, context, object_, session.user.name if username is None else username,
                                     session.describe(session).encode())


def authenticate(session, username, password):
    """ACLAuthenticateUser: the session becomes the user's, or WRONGPASS (logged, without saying why)."""
    user = session.server.acl.authenticate(username, password)
    if user is None:
        in_transaction = session.multi is not None or session.in_exec  # Redis's CLIENT_MULTI lasts through EXEC
        log_refusal(session, DENIED_AUTH, "multi" if in_transaction else "toplevel", session.argv[0], username)
        raise ReplyError(WRONG_PASS)
    session.user = user
    session.authenticated = True


class LogEntry:
    __slots__ = ("count", "reason", "context", "object", "username", "created_ms", "client_info")

    def __init__(self, reason, context, object_, username, client_info):
        self.count, self.reason, self.context = 1, reason, context
        self.object, self.username = object_, username
        self.created_ms, self.client_info = int(time.time() * 1000), client_info

    def same_event(self, other):
        """ACLLogMatchEntry: the same refusal within a minute is counted, not logged again."""
        return (self.reason == other.reason and self.context == other.context
                and abs(self.created_ms - other.created_ms) <= GROUPING_MS
                and self.object == other.object and self.username == other.username)


class Users:
    """Every user of one server, by name, with the ACL log."""

    def __init__(self, catalog, keys_of, config):
        self.catalog = catalog
        self.keys_of = keys_of  # keys_of(command row, argv) -> [(position, rules.READ | rules.WRITE wanted)]
        self.config = config
        self.users = {}
        self.log = []  # newest first
        self.default = self._create_default()
        self.users[DEFAULT] = self.default
        self.auth_required = False  # the default user has a password or is off: new clients must AUTH

    def _create_default(self):
        """ACLCreateDefaultUser: on, nopass, every key, channel and command."""
        return self._allowed_everything(DEFAULT)

    def superuser(self):
        """The user of the clients Redis gives a NULL user, allowed everything: our master's client shows
        as user=(superuser)."""
        return self._allowed_everything(b"(superuser)")

    def _allowed_everything(self, name):
        user = User(name, self.catalog)
        for rule in (b"+@all", b"~*", b"&*", b"on", b"nopass"):
            user.apply(rule)
        return user

    def pubsub_default(self):
        return self.config["acl-pubsub-default"] == "allchannels"

    def refresh_default(self):
        """authRequired(): a client needs AUTH unless the default user is on and nopass."""
        default = self.default
        self.auth_required = not default.nopass or not default.enabled

    def get(self, name):
        return self.users.get(name)

    def names(self):
        return sorted(self.users)

    def new_user(self, name):
        return User(name, self.catalog, self.pubsub_default())

    def staged(self, name, ops):
        """ACL SETUSER's all-or-nothing step: a copy of the user (or a new one) with every rule applied;
        RuleError(rule, reason) for the first that does not apply, and nothing changed."""
        existing = self.users.get(name)
        user = existing.copy() if existing is not None else self.new_user(name)
        all_channels = self.pubsub_default()
        for op in ops:
            try:
                user.apply(op, all_channels)
            except RuleError as error:
                error.rule = op
                raise
        return user

    def commit(self, name, staged):
        """Store a staged user; the existing User object keeps serving its clients with the new rules."""
        existing = self.users.get(name)
        if existing is None:
            self.users[name] = staged
        else:
            existing.take_rules_of(staged)
        if name == DEFAULT:
            self.refresh_default()
        return self.users[name]

    def delete(self, name):
        return self.users.pop(name, None)

    def add_module_command(self, name):
        """A module's command joins the catalog: a selector allowed commands to come (+@all, even with others
        taken away since) may run it, as Redis's selectors keep the bits of ids not yet given out."""
        bit = self.catalog.add_module_command(name)
        for selector in self._selectors():
            if selector.commands & self.catalog.future_bit:
                selector.commands |= bit

    def remove_module_command(self, name):
        """MODULE UNLOAD: the command's bit goes from every selector (a later command gets a new one)."""
        bit = self.catalog.remove_module_command(name)
        for selector in self._selectors():
            selector.commands &= ~bit
            selector.first_args.pop(bit.bit_length() - 1, None)

    def _selectors(self):
        return [selector for user in self.users.values() for selector in user.selectors]

    def set_default_password(self, password):
        """ACLUpdateDefaultUserPassword (requirepass): resetpass, then >password or nopass."""
        self.default.apply(b"resetpass")
        self.default.apply(b">" + password if password else b"nopass")
        self.refresh_default()

    def authenticate(self, name, password):
        """ACLCheckUserCredentials: the user if it exists, is on, and the password matches (any, if nopass)."""
        user = self.users.get(name)
        if user is None or not user.enabled:
            return None
        if user.nopass or user.password_matches(password):
            return user
        return None

    # -- permissions

    def check(self, user, command, argv):
        """ACLCheckAllUserCommandPerm: None if user may run command (a table row) with argv (its name
        first), else (reason, argv index of the refused key or channel, 0 for the command)."""
        entry = self.catalog.checked[command.name]
        relevant, last_index = DENIED_COMMAND, 0
        keys = None
        for selector in user.selectors:
            reason, index = DENIED_COMMAND, 0
            if selector.all_commands or entry.no_auth or selector.commands >> entry.id & 1 \
                    or _first_arg_allowed(selector, entry, argv):
                if not selector.all_keys:
                    if keys is None:
                        keys = self.keys_of(command, argv)
                    index = _refused_key(selector, argv, keys)
                if not index and not selector.all_channels and command.name in CHANNEL_ARGUMENTS:
                    index = _refused_channel(selector, command.name, argv)
                    if not index:
                        return None
                    reason = DENIED_CHANNEL
                elif not index:
                    return None
                else:
                    reason = DENIED_KEY
            if reason > relevant or (reason == relevant and index > last_index):
                relevant, last_index = reason, index
        return relevant, last_index

    def check_channel(self, user, channel, literal):
        """ACLUserCheckChannelPerm, for a user's existing subscriptions."""
        for selector in user.selectors:
            if selector.all_channels or _channel_allowed(selector, channel, literal):
                return True
        return False

    # -- the log

    def add_log_entry(self, reason, context, object_, username, client_info):
        """addACLLogEntry: a new entry first, or the count of a recent one of the same event raised."""
        entry = LogEntry(reason, context, object_, username, client_info)
        for index, current in enumerate(self.log[:10]):
            if current.same_event(entry):
                del self.log[index]
                current.count += 1
                current.created_ms, current.client_info = entry.created_ms, entry.client_info
                self.log.insert(0, current)
                return
        self.log.insert(0, entry)
        del self.log[self.config["acllog-max-len"]:]

    # -- files

    def describe_all(self):
        """ACL LIST's lines, also the aclfile's: 'user <name> <rules>' by name."""
        return [b"user " + name + b" " + self.users[name].describe() for name in self.names()]

    def save_file(self, path):
        """ACLSaveToFile: every user, written to a temporary file renamed over the aclfile."""
        temporary = "%s.tmp-%d-%d" % (path, os.getpid(), int(time.time() * 1000))
        try:
            with open(temporary, "wb") as f:
                f.write(b"".join(line + b"\n" for line in self.describe_all()))
            os.replace(temporary, path)
        except OSError:
            if os.path.exists(temporary):
                os.unlink(temporary)
            return False
        return True

    def load_file(self, path):
        """ACLLoadFromFile: every user of the file, or (with any bad line) none: the errors' text, else
        None. The default user keeps its object, with the file's rules (or the default ones)."""
        try:
            with open(path, "rb") as f:
                text = f.read()
        except OSError as error:
            return "Error loading ACLs, opening file '%s': %s" % (path, error.strerror)
        users, errors = {}, []
        filename = self.config["aclfile"]
        for number, line in enumerate(text.split(b"\n"), 1):
            line = line.strip(b" \t\r\n")
            if not line:
                continue
            words = [word for word in line.split(b" ") if word]  # sdssplitlen on single spaces
            if words[0] != b"user" or len(words) < 2:
                errors.append("%s:%d should start with user keyword followed by the username. " % (filename, number))
                continue
            if has_spaces(words[1]):
                errors.append("'%s:%d: username '%s' contains invalid characters. "
                              % (filename, number, words[1].decode(errors="replace")))
                continue
            if words[1] in users:
                errors.append("WARNING: Duplicate user '%s' found on line %d. "
                              % (words[1].decode(errors="replace"), number))
                continue
            user = users[words[1]] = self.new_user(words[1])
            ops, _ = merge_selector_arguments(words[2:])
            if ops is None:
                errors.append("%s:%d: Unmatched parenthesis in selector definition." % (filename, number))
                continue
            syntax_error = False
            for op in ops:
                op = op.strip(b"\t\r\n")
                try:
                    user.apply(op, self.pubsub_default())
                except RuleError as error:  # a command's name is shown; another rule may hold a password
                    if error.message == UNKNOWN:
                        errors.append("%s:%d: Error in applying operation '%s': %s. "
                                      % (filename, number, op.decode(errors="replace"), error.message))
                    elif not syntax_error:
                        errors.append("%s:%d: %s. " % (filename, number, error.message))
                        syntax_error = True
        if errors:
            return "".join(errors) + ("WARNING: ACL errors detected, no change to the previously active ACL rules "
                                      "was performed")
        default = users.pop(DEFAULT, None) or self._create_default()
        self.default.take_rules_of(default)
        users[DEFAULT] = self.default
        self.users = users
        self.refresh_default()
        return None

    def load_config_users(self, lines):
        """ACLAppendUserForLoading and ACLLoadConfiguredUsers: the config file's `user name rules...`
        lines (word lists without 'user'); raise RuleError(message) for the first bad one."""
        for words in lines:
            name = words[0]
            if has_spaces(name):
                raise RuleError("Spaces not allowed in ACL usernames")
            ops, _ = merge_selector_arguments(words[1:])
            if ops is None:
                raise RuleError("Unmatched parenthesis in acl selector")
            user = self.users.get(name)
            if user is None:
                user = self.users[name] = self.new_user(name)
            elif name == DEFAULT:
                user.apply(b"reset", self.pubsub_default())
            else:
                raise RuleError("Duplicate user found. A user can only be defined once in config files")
            for op in ops:
                try:
                    user.apply(op, self.pubsub_default())
                except RuleError as error:
                    raise RuleError("Error loading ACL rule '%s' for the user named '%s': %s"
                                    % (op.decode(errors="replace"), name.decode(errors="replace"),
                                       error.message)) from None
            if not user.enabled:
                log.info("The user '%s' is disabled (there is no 'on' modifier in the user description). Make "
                         "sure this is not a configuration error.", name.decode(errors="replace"))
        self.refresh_default()


def _first_arg_allowed(selector, entry, argv):
    """The deprecated first-argument rule (+select|0): argv's first argument (after a subcommand) allowed."""
    allowed = selector.first_args.get(entry.id)
    if not allowed or len(argv) < 2:
        return False
    position = 2 if entry.parent else 1
    if position >= len(argv):
        return False
    wanted = argv[position].lower()
    return any(arg.lower() == wanted for arg in allowed)


def _refused_key(selector, argv, keys):
    """ACLSelectorCheckKey over the command's keys: the position of the first refused, else 0."""
    checks = selector.key_checks()
    for position, wanted in keys:
        key = argv[position]
        for flags, matches in checks:
            if flags & wanted == wanted and matches(key):
                break
        else:
            return position
    return 0


def _channel_allowed(selector, channel, literal):
    if literal:
        return channel in selector.channels
    return any(selector.matcher(pattern)(channel) for pattern in selector.channels)


def _refused_channel(selector, name, argv):
    """ACLSelectorCheckPubsubArguments: PUBLISH's or SPUBLISH's channel, or each SUBSCRIBE or SSUBSCRIBE
    channel (matched against the patterns) or PSUBSCRIBE pattern (equal to one): the position of the first
    refused, else 0."""
    literal, count = CHANNEL_ARGUMENTS[name]
    last = len(argv) if count is None else 1 + count
    for position in range(1, last):
        if not _channel_allowed(selector, argv[position], literal):
            return position
    return 0
