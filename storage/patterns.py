"""Redis glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET) without exponential blow-up.

``*`` any run, ``?`` one byte, ``[abc]`` ``[^a]`` ``[a-z]`` classes, ``\\x``
a literal x: the rules of Redis's stringmatchlen(). Everything but ``*``
matches exactly one byte, so a pattern is fixed-length segments between
stars; placing each segment at its leftmost fit, left to right, finds a
match whenever one exists, in O(len(pattern) * len(subject)) time, where a
backtracking matcher can take exponential time on ``a*a*a*a*b``.
"""
import re
from functools import lru_cache

_ANY = None
_STAR = "*"


def _lower(byte):
    return byte + 32 if 65 <= byte <= 90 else byte


def _byte_set(matches, nocase):
    members = set(matches)
    if nocase:
        members = {b for b in range(256) if _lower(b) in {_lower(m) for m in members}}
    return frozenset(members)


def _parse_class(pattern, pos, nocase):
    """The class starting after '[' at pos: (set of bytes it matches, position after it)."""
    negate = pos < len(pattern) and pattern[pos] == 0x5E  # ^
    if negate:
        pos += 1
    members = set()
    while pos < len(pattern):
        char = pattern[pos]
        if char == 0x5C and pos + 1 < len(pattern):  # \ escapes the next byte
            members.add(pattern[pos + 1])
            pos += 2
        elif char == 0x5D:  # ]
            pos += 1
            break
        elif pos + 2 < len(pattern) and pattern[pos + 1] == 0x2D:  # a-z
            start, end = pattern[pos], pattern[pos + 2]
            if nocase:
                start, end = _lower(start), _lower(end)
            start, end = min(start, end), max(start, end)
            if nocase:
                members.update(b for b in range(256) if start <= _lower(b) <= end)
            else:
                members.update(range(start, end + 1))
            pos += 3
        else:
            members.add(char)
            pos += 1
    members = _byte_set(members, nocase)
    if negate:
        members = frozenset(range(256)) - members
    return members, pos


def _tokens(pattern, nocase):
    """The pattern as a list of _STAR and one-byte matchers (_ANY or a frozenset of bytes)."""
    tokens, pos = [], 0
    while pos < len(pattern):
        char = pattern[pos]
        if char == 0x2A:
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
            pos += 1
        elif char == 0x3F:
            tokens.append(_ANY)
            pos += 1
        elif char == 0x5B:
            members, pos = _parse_class(pattern, pos + 1, nocase)
            tokens.append(members)
        else:
            if char == 0x5C and pos + 1 < len(pattern):
                pos += 1
                char = pattern[pos]
            tokens.append(_byte_set((char,), nocase))
            pos += 1
    return tokens


def _segment_regex(segment):
    parts = []
    for matcher in segment:
        if matcher is _ANY:
            parts.append(b".")
        elif not matcher:
            parts.append(b"(?!)")
        else:
            parts.append(b"[" + b"".join(re.escape(bytes((b,))) for b in sorted(matcher)) + b"]")
    return re.compile(b"".join(parts), re.DOTALL), len(segment)


@lru_cache(maxsize=256)
def compile_pattern(pattern, nocase=False):
    """A predicate subject -> bool for a glob pattern (bytes)."""
    tokens = _tokens(pattern, nocase)
    segments, current = [], []
    for token in tokens:
        if token is _STAR:
            segments.append(current)
            current = []
        else:
            current.append(token)
    segments.append(current)
    compiled = [_segment_regex(segment) for segment in segments]
    if len(compiled) == 1:
        regex, _ = compiled[0]
        return lambda subject: regex.fullmatch(subject) is not None
    (head, head_len), middle, (tail, tail_len) = compiled[0], compiled[1:-1], compiled[-1]

    def match(subject):
        end = len(subject) - tail_len
        if end < head_len or not head.match(subject) or not tail.fullmatch(subject, end):
            return False
        pos = head_len
        for regex, _ in middle:
            found = regex.search(subject, pos, end)
            if found is None:
                return False
            pos = found.end()
        return True

    return match


def matches(pattern, subject, nocase=False):
    return compile_pattern(pattern, nocase)(subject)
