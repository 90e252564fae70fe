"""A command's wire-form synopsis turned into the `arguments` of COMMAND DOCS.

Redis 7 describes each command's arguments in COMMAND DOCS, and redis-cli 7
builds its help and its as-you-type hints from them, not from a table of its
own. Our handlers already document their wire form in the first line of the
docstring (`SET key value [NX|XX] [EX seconds|PX milliseconds]`), so rather
than keep a second, hand-written description beside every command, this
module parses that line into Redis's argument maps:

    synopsis     := alternatives            (the words after the command's name)
    alternatives := sequence ('|' sequence)*
    sequence     := (item ['...'])*
    item         := '[' alternatives ']'    optional
                  | '<' alternatives '>'    required group
                  | TOKEN value             an UPPERCASE word and its value: a lowercase name, a
                                            <group>, or a chain of words of one kind (TYPE
                                            NORMAL|MASTER, SKIPME yes|no) that is a oneof
                  | TOKEN | name            a lone token is a pure-token

`name ...` repeats the item before it; a `...` that closes a group of several
arguments repeats the whole group (`[key value ...]`), and `key [key ...]`
folds into one repeated argument, as Redis describes MGET and MSET. Text from
a word starting with '(' or a '--' on is commentary, and a restatement of the
command's name after a '|' (`CLIENT KILL ip:port | CLIENT KILL [ID client-id]`)
is dropped.
"""
import itertools
import re
from dataclasses import dataclass, field, replace

from protocol import SetReply

# Redis's argument types for names whose type the synopsis cannot show; the rest are strings.
TYPE_BY_NAME = {
    "key": "key", "source": "key", "destination": "key", "pattern": "pattern",
    "seconds": "integer", "milliseconds": "integer", "count": "integer", "index": "integer",
    "protover": "integer", "client-id": "integer", "numkeys": "integer", "limit": "integer",
    "cursor": "integer", "start": "integer", "stop": "integer", "end": "integer", "offset": "integer",
    "increment": "integer", "decrement": "integer", "timeout": "double", "score": "double",
    "unix-time-seconds": "unix-time", "unix-time-milliseconds": "unix-time",
}

_WORD = re.compile(r"\[|\]|<|>|\||\.\.\.|(?:(?!\.\.\.)[^\s\[\]<>|])+")
_TOKEN = re.compile(r"[A-Z][A-Z0-9_-]*")
FLAG_ORDER = ("optional", "multiple", "multiple_token")  # as Redis lists an argument's flags
_CLOSERS = ("]", ">")
_PUNCTUATION = ("[", "]", "<", ">", "|", "...")


class SynopsisError(ValueError):
    """A synopsis this grammar cannot read (unbalanced brackets, a stray '|' or '...')."""


@dataclass
class Argument:
    """One argument before it becomes a reply map; oneof and block types nest `arguments`."""
    name: str
    type: str
    token: str = None
    flags: set = field(default_factory=set)
    arguments: list = field(default_factory=list)


def arguments(synopsis, command_name):
    """COMMAND DOCS `arguments` for a command ('set', or 'client|kill') from its wire form."""
    parsed = _Parser(_words(synopsis, command_name)).synopsis()
    key_indexes = itertools.count()
    return [_reply(argument, key_indexes) for argument in parsed]


def _words(synopsis, command_name):
    """The synopsis split into words, without the command's name, restatements and commentary."""
    length = command_name.count("|") + 1
    parts = synopsis.split(None, length)
    leading = [word.upper() for word in parts[:length]]
    words = []
    for word in _WORD.findall(parts[length] if len(parts) > length else ""):
        if word == "--" or word.startswith("("):
            break
        words.append(word)
    for at in range(len(words) - length, -1, -1):
        if words[at] == "|" and [word.upper() for word in words[at + 1:at + 1 + length]] == leading:
            del words[at + 1:at + 1 + length]
    return words


class _Parser:
    """Recursive descent over the words of one synopsis, following the grammar above."""

    def __init__(self, words):
        self.words = words
        self.at = 0

    def peek(self, ahead=0):
        at = self.at + ahead
        return self.words[at] if at < len(self.words) else None

    def take(self):
        word = self.peek()
        self.at += 1
        return word

    def fail(self, why):
        raise SynopsisError("%s at word %d of %r" % (why, self.at + 1, " ".join(self.words)))

    def synopsis(self):
        found = self.alternatives()
        if self.peek() is not None:
            self.fail("unexpected %r" % self.peek())
        return found

    def alternatives(self):
        """A list of arguments: the sequence itself, or one oneof when '|' separates sequences."""
        choices = [self.sequence()]
        while self.peek() == "|":
            self.take()
            choices.append(self.sequence())
        if len(choices) == 1:
            return choices[0]
        if not all(choices):
            self.fail("empty alternative")
        members = [choice[0] if len(choice) == 1 else _block(choice) for choice in choices]
        return [_group("oneof", members)]

    def sequence(self):
        found = []
        while self.peek() not in (None, "|") + _CLOSERS:
            if self.peek() != "...":
                found.append(self.item())
                _fold_repetition(found)
                continue
            self.take()
            if not found:
                self.fail("'...' repeats nothing")
            if len(found) > 1 and self.peek() in _CLOSERS:
                found = [_block(found)]
            found[-1].flags.add("multiple")
        return found

    def item(self):
        word = self.take()
        if word in ("[", "<"):
            return self.group(word)
        if word in _CLOSERS:
            self.fail("unbalanced %r" % word)
        if not _TOKEN.fullmatch(word):
            return _single(word)
        return self.tokened(word)

    def group(self, opener):
        members = self.alternatives()
        closer = "]" if opener == "[" else ">"
        if self.take() != closer:
            self.fail("missing %r" % closer)
        if not members:
            self.fail("empty %s%s" % (opener, closer))
        argument = members[0] if len(members) == 1 else _block(members)
        if opener == "[":
            argument.flags.add("optional")
        return argument

    def tokened(self, token):
        """A TOKEN and what it introduces: a value, a <group>, a chain of words, or nothing."""
        following = self.peek()
        if following == "<":
            self.take()
            argument = self.group("<")
        elif self.peek(1) == "|" and _same_kind(following, self.peek(2)):
            argument = self.value_chain()
        elif _is_word(following) and not _TOKEN.fullmatch(following):
            argument = self.item()
        else:
            return Argument(token.lower(), "pure-token", token)
        argument.token = token
        return argument

    def value_chain(self):
        """NORMAL|MASTER|REPLICA or yes|no after a token: a oneof of single words."""
        first = self.take()
        members = [_single(first)]
        while self.peek() == "|" and _same_kind(first, self.peek(1)):
            self.take()
            members.append(_single(self.take()))
        return _group("oneof", members)


def _is_word(word):
    return word is not None and word not in _PUNCTUATION


def _same_kind(word, other):
    """Both tokens or both names: `yes|no` is a chain, `seconds|PX milliseconds` is not."""
    return _is_word(word) and _is_word(other) and bool(_TOKEN.fullmatch(word)) == bool(_TOKEN.fullmatch(other))


def _single(word):
    """A word standing alone: a pure-token if UPPERCASE, else a name."""
    if _TOKEN.fullmatch(word):
        return Argument(word.lower(), "pure-token", word)
    return Argument(word, TYPE_BY_NAME.get(word, "string"))


def _group(kind, members):
    """A oneof or block, named by joining its members' names as Redis names `key_value`."""
    return Argument("_".join(member.name for member in members), kind, arguments=members)


def _block(members):
    """Several arguments as one; `AUTH username password` lifts AUTH onto the block, as Redis does."""
    block = _group("block", members)
    first = members[0]
    if first.token and first.type != "pure-token" and not first.flags:
        block.token, first.token = first.token, None
    return block


def _fold_repetition(found):
    """`key [key ...]` and `key value [key value ...]` are one repeated, required argument; so are
    `ID id [id ...]` (the token said once) and `GET pattern [GET pattern ...]` (multiple_token)."""
    repeated = found[-1]
    if repeated.flags != {"optional", "multiple"}:
        return
    single = repeated.type != "block"
    body = [replace(repeated, flags=set())] if single else repeated.arguments
    if len(found) <= len(body):
        return
    before = found[-1 - len(body):-1]
    if before == body:
        if single and repeated.token:
            repeated.flags.add("multiple_token")
    elif single and before[0].token and replace(before[0], token=None) == body[0]:
        repeated.token = before[0].token
    else:
        return
    repeated.flags.discard("optional")
    found[-1 - len(body):] = [repeated]


def _reply(argument, key_indexes):
    """One argument as Redis 7.0 writes it: bulk-string fields, in Redis's order; flags a set in Redis's order."""
    reply = {b"name": argument.name.encode(), b"type": argument.type.encode()}
    if argument.type == "key":
        reply[b"key_spec_index"] = next(key_indexes)
    if argument.token:
        reply[b"token"] = argument.token.encode()
    if argument.flags:
        reply[b"flags"] = SetReply(flag for flag in FLAG_ORDER if flag in argument.flags)
    if argument.arguments:
        reply[b"arguments"] = [_reply(member, key_indexes) for member in argument.arguments]
    return reply
