"""SORT and SORT_RO, as Redis's sort.c: the elements of a list, set or sorted set, ordered by their
numeric value, ALPHA by their bytes, or by what a BY pattern names for each (BY nosort keeps a
list's or a sorted set's own order), cut by LIMIT, shown through GET patterns, or STOREd as a list.

A module of its own, as sort.c is in Redis: SORT reads three types and writes a fourth, so it belongs
to none of their families. Scores, patterns and orders are storage/sorting.py's.
"""
from itertools import islice

from commands import Command, table
from commands.arguments import keyword
from errors import SORT_NOT_DOUBLE, SYNTAX, WRONGTYPE, ReplyError
from storage.events import GENERIC, LIST as LIST_EVENTS
from storage.keyspace import STRING, type_name
from storage.lists import List
from storage.numeric import to_int
from storage.pqsort import pqsort
from storage.sorting import ELEMENT, alpha_key, c_string, parse_score, pattern_target

SORTABLE = ("list", "set", "zset")


class _Options:
    """SORT's options as sortCommandGeneric reads them, left to right (a later one wins)."""

    __slots__ = ("desc", "alpha", "offset", "count", "store", "by", "dontsort", "gets")

    def __init__(self, arguments, read_only):
        self.desc = self.alpha = self.dontsort = False
        self.offset, self.count = 0, -1
        self.store = self.by = None
        self.gets = []
        index = 0
        while index < len(arguments):
            word, left = keyword(arguments[index]), len(arguments) - index - 1
            if word == b"asc":
                self.desc = False
            elif word == b"desc":
                self.desc = True
            elif word == b"alpha":
                self.alpha = True
            elif word == b"limit" and left >= 2:
                self.offset, self.count = to_int(arguments[index + 1]), to_int(arguments[index + 2])
                index += 2
            elif word == b"store" and left >= 1 and not read_only:
                self.store = arguments[index + 1]
                index += 1
            elif word == b"by" and left >= 1:
                self.by = arguments[index + 1]
                if b"*" not in c_string(self.by):  # "nosort", or any constant: no sorting, and it sticks
                    self.dontsort = True
                index += 1
            elif word == b"get" and left >= 1:
                self.gets.append(arguments[index + 1])
                index += 1
            else:
                raise ReplyError(SYNTAX)
            index += 1


def _lookup(db, pattern, element):
    """The value a pattern names for an element (lookupKeyByPattern): a string, a hash's field, or
    None when there is no such key or field, or the key holds another type."""
    target = pattern_target(pattern, element)
    if target is None or target is ELEMENT:
        return element if target is ELEMENT else None
    key, field = target
    value = db.lookup_read(key)
    if field is None:
        return value if isinstance(value, STRING) else None
    if value is None or isinstance(value, STRING) or value.redis_type != "hash":
        return None
    return value.get(field)


def _span(size, options):
    """LIMIT's [start, end] over size elements, sanitised as Redis does (end < start when empty)."""
    start = max(options.offset, 0)
    end = size - 1 if options.count < 0 else start + options.count - 1
    if start >= size:
        start, end = size - 1, size - 2
    return start, min(end, size - 1)


def _in_own_order(value, kind, start, end, desc):
    """BY nosort on a list or sorted set: its elements start..end in its own order (reversed by DESC)."""
    if end < start:
        return []
    if kind == "list":
        ordered = reversed(value) if desc else iter(value)
    else:
        ordered = (member for _, member in value.order.islice(reverse=desc))
    return list(islice(ordered, start, end + 1))


def _sorted(db, elements, options, start, end):
    """The elements in SORT's order (at least at positions start..end); ReplyError when a score is not
    a number. Numeric order is total (equal scores go by the elements' bytes), so any sort gives it."""
    if options.alpha:
        return _alpha_sorted(db, elements, options, start, end)
    by = options.by
    pairs = []
    failed = False
    for element in elements:
        value = element if by is None else _lookup(db, by, element)
        score = 0.0 if value is None else parse_score(value)
        if score is None:
            failed, score = True, 0.0
        pairs.append((score, element))
    if failed:
        raise ReplyError(SORT_NOT_DOUBLE)
    pairs.sort(reverse=options.desc)
    return [element for _, element in pairs]


def _alpha_sorted(db, elements, options, start, end):
    """ALPHA order, where keys may tie: Redis's merge sort keeps tied elements in their loading order,
    and so does Python's; under BY with LIMIT Redis runs its partial quicksort, which does not."""
    by = options.by
    binary = options.store is not None  # a STOREd result compares bytes, a reply collates them
    values = elements if by is None else [_lookup(db, by, element) for element in elements]
    keys = [alpha_key(value, binary) for value in values]
    if by is not None and (start, end) != (0, len(elements) - 1) and len(set(keys)) < len(keys):
        order = list(range(len(elements)))
        sign = -1 if options.desc else 1
        pqsort(order, lambda a, b: sign * ((keys[a] > keys[b]) - (keys[a] < keys[b])), start, end)
    else:
        order = sorted(range(len(elements)), key=keys.__getitem__, reverse=options.desc)
    return [elements[index] for index in order]


def _chosen(db, value, options):
    """The elements SORT answers with, before GET: (sorted and) cut by LIMIT."""
    kind = "list" if value is None else type_name(value)
    if kind not in SORTABLE:
        raise ReplyError(WRONGTYPE)
    if options.dontsort and kind == "set" and options.store is not None:
        options.dontsort, options.alpha, options.by = False, True, None  # a stored set must not depend on hash order
    if value is None:
        return []
    if kind == "zset":
        value.skiplist = True  # Redis converts a listpack sorted set for SORT, for good
    start, end = _span(len(value), options)
    if options.dontsort and kind != "set":
        return _in_own_order(value, kind, start, end, options.desc)
    elements = value.ordered() if kind == "set" else list(value)
    if not options.dontsort:
        elements = _sorted(db, elements, options, start, end)
    return elements[start:end + 1]


def _sort(session, key, arguments, read_only):
    options = _Options(arguments, read_only)
    db = session.db
    chosen = _chosen(db, db.lookup_read(key), options)
    gets = options.gets
    store = options.store
    if not gets:
        results = chosen
    else:
        results = [_lookup(db, pattern, element) for element in chosen for pattern in gets]
    if store is None:
        return results
    if results:
        db.set(store, List(b"" if result is None else bytes(result) for result in results))  # no shared bytearray
        db.keyspace.dirty += len(results)  # a change per element stored, as Redis counts
        db.notify(LIST_EVENTS, b"sortstore", store)
    elif db.delete(store):
        db.keyspace.dirty += 1
        db.notify(GENERIC, b"del", store)
    return len(results)


def sort(session, key, *arguments):
    """SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA] [STORE destination]"""
    return _sort(session, key, arguments, False)


def sort_ro(session, key, *arguments):
    """SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]"""
    return _sort(session, key, arguments, True)


COMMANDS = table(
    #       name       handler  arity flags                             first last step
    Command("sort", sort, -2, ("write", "denyoom", "movablekeys"), 1, 1, 1),
    Command("sort_ro", sort_ro, -2, ("readonly", "movablekeys"), 1, 1, 1),
    group="keyspace",  # Redis's "generic" group, as keys.py's; plain (commands/__init__.py): it never waits
)
