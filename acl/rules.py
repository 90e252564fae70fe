"""Selectors and users as Redis 7.0's acl.c keeps them: the rules ACL SETUSER applies, one at a time,
and the rule strings ACL LIST and GETUSER write back.

Commands are bits in a Python integer, one per command or subcommand of the Catalog (the command
table before any rename-command, as Redis's orig_commands), plus Redis's reserved bit that only
+@all sets: whether the selector may run commands it has never heard of.
"""
import hashlib
import hmac
from collections import namedtuple

from protocol import split_inline
from storage.patterns import compile_pattern

CATEGORIES = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
              "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
              "transaction", "scripting")
USER_FLAGS = ("on", "off", "nopass", "skip-sanitize-payload", "sanitize-payload")  # the order ACL LIST writes
READ, WRITE = 1, 2
ALL_ACCESS = READ | WRITE
HASH_LENGTH = 64
HEX_DIGITS = frozenset(b"0123456789abcdef")

# Why a rule was refused: acl.c's errno values, and ACLSetUserStringError's texts.
SYNTAX = "Syntax error"
UNKNOWN = "Unknown command or category name in ACL"
KEYS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any "
                  "effect. Try 'resetkeys' to start with an empty list of patterns")
CHANNELS_AFTER_ALL = ("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
                      "have any effect. Try 'resetchannels' to start with an empty list of channels")
NO_SUCH_PASSWORD = "The password you are trying to remove from the user does not exist"
BAD_HASH = "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters"
SUBCOMMAND_FIRST_ARG = "Allowing first-arg of a subcommand is not supported"


class RuleError(Exception):
    """A rule that does not apply; the message is ACLSetUserStringError's."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


Entry = namedtuple("Entry", "name id categories subcommands parent no_auth")
Entry.__doc__ = "One command or subcommand: its full name ('client|list'), bit, category names and subcommand names."


class Catalog:
    """Every command and subcommand by full name, in table order (a container then its subcommands)."""

    def __init__(self, rows, aliases=()):
        """rows: (name, categories, [(subname, categories, no_auth)...], no_auth) per command; aliases:
        (name, the entry it shares) for commands Redis has not, which rules cannot name."""
        self.entries = {}
        self.order = []
        for name, categories, subcommands, no_auth in rows:
            children = tuple("%s|%s" % (name, sub) for sub, _, _ in subcommands)
            self._add(Entry(name, len(self.order), frozenset(categories), children, None, no_auth))
            for (_, sub_categories, sub_no_auth), child in zip(subcommands, children):
                self._add(Entry(child, len(self.order), frozenset(sub_categories), (), name, sub_no_auth))
        self.checked = dict(self.entries)  # what a permission check looks a table row's name up in
        self.checked.update((alias, self.entries[name]) for alias, name in aliases)
        self.future_bit = 1 << len(self.order)
        self.everything = (self.future_bit << 1) - 1
        self._next_id = len(self.order) + 1  # modules' commands take bits past the future bit, never reused

    def _add(self, entry):
        self.entries[entry.name] = entry
        self.order.append(entry)

    def add_module_command(self, name):
        """A module's command (ACLGetCommandID): an entry in no category, its own bit; returns the bit."""
        entry = Entry(name, self._next_id, frozenset(), (), None, False)
        self._next_id += 1
        self._add(entry)
        self.checked[name] = entry
        self.everything |= 1 << entry.id
        return 1 << entry.id

    def remove_module_command(self, name):
        entry = self.entries.pop(name)
        self.order.remove(entry)
        del self.checked[name]
        self.everything &= ~(1 << entry.id)
        return 1 << entry.id

    def find(self, name):
        """lookupCommandBySdsLogic: 'get' or 'client|list' (case-insensitive), else None."""
        parts = name.lower().split("|")
        if len(parts) > 2:
            return None
        entry = self.entries.get(parts[0])
        if entry is None or len(parts) == 1:
            return entry
        if not entry.subcommands:
            return None
        return self.entries.get(name.lower())

    def mask(self, entry):
        """The bits a command rule changes: the command's and, for a container, its subcommands'."""
        bits = 1 << entry.id
        for child in entry.subcommands:
            bits |= 1 << self.entries[child].id
        return bits

    def category_mask(self, category):
        """ACLSetSelectorCommandBitsForCategory's bits: each command in the category, with its subcommands."""
        bits = 0
        for entry in self.order:
            if category in entry.categories:
                bits |= self.mask(entry)
        return bits

    def in_category(self, category):
        return [entry for entry in self.order if category in entry.categories]


def password_hash(password):
    """ACLHashPassword: the SHA-256 of the password, as lowercase hex (bytes)."""
    return hashlib.sha256(password).hexdigest().encode()


def has_spaces(text):
    """ACLStringHasSpaces: C's isspace() or a NUL anywhere."""
    return any(byte in b" \t\n\v\f\r\0" for byte in text)


class Selector:
    """One selector: the commands it allows (bits and first arguments), its key and channel patterns."""

    def __init__(self, catalog, root=False, all_channels=False):
        self.catalog = catalog
        self.root = root
        self.all_keys = False
        self.all_channels = all_channels  # acl-pubsub-default allchannels starts a selector with &*
        self.all_commands = False
        self.commands = 0
        self.first_args = {}  # entry id -> [allowed first argument, ...] (the deprecated +select|0)
        self.keys = []  # [pattern, READ|WRITE] in order added
        self.channels = []
        self._matchers = {}
        self._key_checks = None  # key_checks(), dropped by any rule applied

    def copy(self):
        other = Selector(self.catalog, self.root, self.all_channels)
        other.all_keys, other.all_commands, other.commands = self.all_keys, self.all_commands, self.commands
        other.first_args = {id_: list(args) for id_, args in self.first_args.items()}
        other.keys = [list(pattern) for pattern in self.keys]
        other.channels = list(self.channels)
        return other

    def same_commands(self, other):
        return self.commands == other.commands and self.first_args == other.first_args

    def key_checks(self):
        """((READ|WRITE flags, compiled glob), ...) of the key patterns, built once per set of patterns."""
        if self._key_checks is None:
            self._key_checks = tuple((flags, self.matcher(pattern)) for pattern, flags in self.keys)
        return self._key_checks

    def matcher(self, pattern):
        found = self._matchers.get(pattern)
        if found is None:
            found = self._matchers[pattern] = compile_pattern(pattern)
        return found

    # -- rules

    def apply(self, op):
        """ACLSetSelector: one rule (bytes); raise RuleError when it does not apply."""
        self._key_checks = None
        lowered = op.lower()
        if lowered in (b"allkeys", b"~*"):
            self.all_keys, self.keys = True, []
        elif lowered == b"resetkeys":
            self.all_keys, self.keys = False, []
        elif lowered in (b"allchannels", b"&*"):
            self.all_channels, self.channels = True, []
        elif lowered == b"resetchannels":
            self.all_channels, self.channels = False, []
        elif lowered in (b"allcommands", b"+@all"):
            self.commands, self.all_commands, self.first_args = self.catalog.everything, True, {}
        elif lowered in (b"nocommands", b"-@all"):
            self.commands, self.all_commands, self.first_args = 0, False, {}
        elif op[:1] in (b"~", b"%"):
            self._add_key_pattern(op)
        elif op[:1] == b"&":
            if self.all_channels:
                raise RuleError(CHANNELS_AFTER_ALL)
            if has_spaces(op[1:]):
                raise RuleError(SYNTAX)
            if op[1:] not in self.channels:
                self.channels.append(op[1:])
        elif op[:1] == b"+" and op[1:2] != b"@":
            self._allow_command(op[1:])
        elif op[:1] == b"-" and op[1:2] != b"@":
            self.change(self._entry(op[1:]), False)
        elif op[:1] in (b"+", b"-"):
            category = op[2:].decode("latin-1").lower()
            if category not in CATEGORIES:
                raise RuleError(UNKNOWN)
            self.set_bits(self.catalog.category_mask(category), op[:1] == b"+")
        else:
            raise RuleError(SYNTAX)

    def _add_key_pattern(self, op):
        if self.all_keys:
            raise RuleError(KEYS_AFTER_ALL)
        flags, offset = 0, 1
        if op[:1] == b"%":
            while offset < len(op):
                char = op[offset:offset + 1].upper()
                if char == b"R" and not flags & READ:
                    flags |= READ
                elif char == b"W" and not flags & WRITE:
                    flags |= WRITE
                elif char == b"~":
                    offset += 1
                    break
                else:
                    raise RuleError(SYNTAX)
                offset += 1
            if not flags:
                raise RuleError(SYNTAX)
        else:
            flags = ALL_ACCESS
        pattern = op[offset:]
        if has_spaces(pattern):
            raise RuleError(SYNTAX)
        for existing in self.keys:
            if existing[0] == pattern:
                existing[1] |= flags
                break
        else:
            self.keys.append([pattern, flags])
        self.all_keys = False

    def _entry(self, name):
        entry = self.catalog.find(name.decode("latin-1"))
        if entry is None:
            raise RuleError(UNKNOWN)
        return entry

    def _allow_command(self, name):
        if b"|" not in name:
            self.change(self._entry(name), True)
            return
        base, _, first_arg = name.rpartition(b"|")
        entry = self._entry(base)
        if entry.parent is not None:
            raise RuleError(SUBCOMMAND_FIRST_ARG)
        if not first_arg:
            raise RuleError(SYNTAX)
        if entry.subcommands:
            self.change(self._entry(name), True)
            return
        allowed = self.first_args.setdefault(entry.id, [])
        if first_arg.lower() not in (arg.lower() for arg in allowed):
            allowed.append(first_arg)

    def change(self, entry, allow):
        """ACLChangeSelectorPerm: a command (with its subcommands) on or off; its first arguments go."""
        self.set_bits(self.catalog.mask(entry), allow)
        self.first_args.pop(entry.id, None)

    def set_bits(self, bits, allow):
        if allow:
            self.commands |= bits
        elif bits:  # ACLSetSelectorCommandBit: clearing any bit ends allcommands
            self.commands &= ~bits
            self.all_commands = False

    # -- description

    def describe_commands(self):
        """ACLDescribeSelectorCommandRules: +@all or -@all, then the best-fitting categories one by one,
        then the single commands (and first arguments) still different."""
        catalog = self.catalog
        additive = not self.commands & catalog.future_bit
        fake = Selector(catalog)
        rules = [b"-@all" if additive else b"+@all"]
        fake.apply(rules[0])
        remaining = self.commands  # the temporary selector: categories applied are undone in it
        applied = set()
        while True:
            best, fewest_different, most_same = None, None, 0
            for category in CATEGORIES:
                if category in applied:
                    continue
                on = off = 0
                for entry in catalog.in_category(category):
                    if remaining >> entry.id & 1:
                        on += 1
                    else:
                        off += 1
                different, same = (off, on) if additive else (on, off)
                if same > different and (fewest_different is None or different < fewest_different
                                         or different == fewest_different and same > most_same):
                    best, fewest_different, most_same = category, different, same
            if best is None:
                break
            bits = catalog.category_mask(best)
            fake.set_bits(bits, additive)
            remaining = remaining & ~bits if additive else remaining | bits
            rules.append((b"+@" if additive else b"-@") + best.encode())
            applied.add(best)
        for entry in catalog.order:
            mine = self.commands >> entry.id & 1
            if mine != fake.commands >> entry.id & 1:
                rules.append((b"+" if mine else b"-") + entry.name.encode())
                fake.change(entry, mine)
            if not mine:
                rules.extend(b"+%s|%s" % (entry.name.encode(), arg) for arg in self.first_args.get(entry.id, ()))
        return b" ".join(rules)

    def describe_keys(self):
        """The key patterns as GETUSER shows them: ~* for allkeys, else each with its %R~/%W~/~ prefix."""
        if self.all_keys:
            return b"~*"
        return b" ".join(_key_rule(pattern, flags) for pattern, flags in self.keys)

    def describe_channels(self):
        if self.all_channels:
            return b"&*"
        return b" ".join(b"&" + channel for channel in self.channels)

    def describe(self):
        """ACLDescribeSelector: keys, channels (resetchannels first unless &*), then commands."""
        parts = [b"~*"] if self.all_keys else [_key_rule(pattern, flags) for pattern, flags in self.keys]
        parts += [b"&*"] if self.all_channels else [b"resetchannels"] + [b"&" + ch for ch in self.channels]
        parts.append(self.describe_commands())
        return b" ".join(parts)

    def unrestricted(self):
        return self.all_commands and self.all_keys and self.all_channels


def _key_rule(pattern, flags):
    return {ALL_ACCESS: b"~", READ: b"%R~", WRITE: b"%W~"}[flags] + pattern


class User:
    """A user: its flags, password hashes, and selectors (the root one first)."""

    def __init__(self, name, catalog, all_channels=False):
        self.name = name
        self.catalog = catalog
        self.flags = {"off"}
        self.passwords = []  # SHA-256 hex digests (bytes), in order added
        self.selectors = [Selector(catalog, root=True, all_channels=all_channels)]
        self.unrestricted = False  # some selector allows every command, key and channel: nothing to check

    @property
    def enabled(self):
        return "on" in self.flags

    @property
    def nopass(self):
        return "nopass" in self.flags

    def copy(self, name=None):
        other = User(self.name if name is None else name, self.catalog)
        other.flags = set(self.flags)
        other.passwords = list(self.passwords)
        other.selectors = [selector.copy() for selector in self.selectors]
        other.unrestricted = self.unrestricted
        return other

    def take_rules_of(self, other):
        """ACLCopyUser: this user gets other's rules, keeping its name (clients keep referring to it)."""
        self.flags, self.passwords, self.selectors = other.flags, other.passwords, other.selectors
        self.refresh()

    def refresh(self):
        self.unrestricted = any(selector.unrestricted() for selector in self.selectors)

    def apply(self, op, all_channels=False):
        """ACLSetUser: one rule (bytes); raise RuleError when it does not apply. all_channels is
        whether acl-pubsub-default is allchannels (new selectors and reset start with &*)."""
        lowered = op.lower()
        if not op:
            return
        if lowered in (b"on", b"off"):
            self.flags.discard("off" if lowered == b"on" else "on")
            self.flags.add(lowered.decode())
        elif lowered in (b"skip-sanitize-payload", b"sanitize-payload"):
            self.flags.discard("sanitize-payload" if lowered == b"skip-sanitize-payload" else "skip-sanitize-payload")
            self.flags.add(lowered.decode())
        elif lowered in (b"nopass", b"resetpass"):
            self.passwords = []
            (self.flags.add if lowered == b"nopass" else self.flags.discard)("nopass")
        elif op[:1] in (b">", b"#"):
            digest = password_hash(op[1:]) if op[:1] == b">" else _checked_hash(op[1:])
            if digest not in self.passwords:
                self.passwords.append(digest)
            self.flags.discard("nopass")
        elif op[:1] in (b"<", b"!"):
            digest = password_hash(op[1:]) if op[:1] == b"<" else _checked_hash(op[1:])
            if digest not in self.passwords:
                raise RuleError(NO_SUCH_PASSWORD)
            self.passwords.remove(digest)
        elif op[:1] == b"(" and op[-1:] == b")":
            self.selectors.append(selector_from(op, self.catalog, all_channels))
        elif lowered == b"clearselectors":
            del self.selectors[1:]
        elif lowered == b"reset":
            for rule in (b"resetpass", b"resetkeys", b"resetchannels") + ((b"allchannels",) if all_channels else ()) \
                    + (b"off", b"sanitize-payload", b"clearselectors", b"-@all"):
                self.apply(rule, all_channels)
        else:
            self.selectors[0].apply(op)
        self.refresh()

    def describe(self):
        """ACLDescribeUser: flags, #hashes, the root selector's rules, then each other selector in parentheses."""
        parts = [flag.encode() for flag in USER_FLAGS if flag in self.flags]
        parts += [b"#" + digest for digest in self.passwords]
        text = b"".join(part + b" " for part in parts) + self.selectors[0].describe()
        return text + b"".join(b" (" + selector.describe() + b")" for selector in self.selectors[1:])

    def password_matches(self, password):
        """Whether any stored digest is the password's; compared in constant time, every one of them."""
        attempt = password_hash(password)
        found = False
        for digest in self.passwords:
            found |= hmac.compare_digest(attempt, digest)
        return found


def _checked_hash(digest):
    if len(digest) != HASH_LENGTH or not set(digest) <= HEX_DIGITS:
        raise RuleError(BAD_HASH)
    return bytes(digest)


def selector_from(op, catalog, all_channels):
    """aclCreateSelectorFromOpSet: '(rule rule ...)' split as sdssplitargs splits, each applied in turn."""
    selector = Selector(catalog, all_channels=all_channels)
    for rule in split_inline(op[1:-1]) or ():
        selector.apply(rule)
    return selector


def merge_selector_arguments(ops):
    """ACLMergeSelectorArguments: '(' ... ')' spread over several arguments joined into one with spaces.
    Returns (merged, None), or (None, index of the argument an unclosed selector starts at)."""
    merged, opened, start = [], None, None
    for index, op in enumerate(ops):
        if op[:1] == b"(" and op[-1:] != b")":
            opened, start = op, index
            continue
        if opened is not None:
            opened += b" " + op
            if op[-1:] == b")":
                merged.append(opened)
                opened = None
            continue
        merged.append(op)
    if opened is not None:
        return None, start
    return merged, None
