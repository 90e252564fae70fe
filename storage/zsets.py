"""The sorted-set value and the spans of it that ranges select: what the sorted-set commands work on.

A ZSet is a dict of member -> score, for O(1) ZSCORE and membership, beside a
SortedList of (score, member) pairs, which is Redis's skiplist order (score,
then member bytes). Ranks, score ranges and lex ranges are bisections of that
list and reading the k-th pair is O(log n). Reading the ranges from a
command's arguments is commands/zset_ranges.py's.
"""
from sortedcontainers import SortedList


class ZSet(dict):
    """A sorted set: member -> score, plus `order`, the (score, member) pairs in Redis's order.

    Only add(), rescore() and discard() may change it, so that both views
    agree. `skiplist` records Redis's encoding: a set starts as a listpack
    and turns into a skiplist for good once it outgrows the
    zset-max-listpack-* limits.
    """

    __slots__ = ("order", "skiplist")
    redis_type = "zset"

    def __init__(self):
        super().__init__()
        self.order = SortedList()
        self.skiplist = False

    @classmethod
    def from_scores(cls, scores, limits):
        """A new set of the member -> score pairs, encoded as Redis encodes a stored result."""
        zset = cls()
        entries, value = limits
        zset.skiplist = len(scores) > entries or any(len(member) > value for member in scores)
        if not zset.skiplist:
            scores = {member: zset._stored(score) for member, score in scores.items()}
        dict.update(zset, scores)
        zset.order.update((score, member) for member, score in scores.items())
        return zset

    def encoding(self):
        return "skiplist" if self.skiplist else "listpack"

    def copy(self):
        other = ZSet()
        dict.update(other, self)
        other.order = self.order.copy()
        other.skiplist = self.skiplist
        return other

    def add(self, member, score, limits):
        """Insert a new member, converting to a skiplist first if it would not fit a listpack."""
        if not self.skiplist and (len(self) + 1 > limits[0] or len(member) > limits[1]):
            self.skiplist = True
        score = self._stored(score)
        self[member] = score
        self.order.add((score, member))

    def rescore(self, member, score):
        score = self._stored(score)
        self.order.remove((self[member], member))
        self[member] = score
        self.order.add((score, member))

    def _stored(self, score):
        """The score as the encoding keeps it: a listpack writes -0 as the integer 0, losing its sign."""
        return 0.0 if score == 0 and not self.skiplist else score

    def remove_span(self, start, stop):
        """Remove the members at ranks [start, stop); how many there were."""
        pairs = self.order[start:stop]
        del self.order[start:stop]
        for _, member in pairs:
            del self[member]
        return len(pairs)

    def discard(self, member):
        """Remove a member; True if it was there."""
        score = self.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def rank(self, member):
        return self.order.index((self[member], member))


class _Above:
    """Sorts after every member: (score, ABOVE) is past all pairs with that score."""

    __slots__ = ()

    def __lt__(self, other):
        return False

    def __gt__(self, other):
        return True


ABOVE = _Above()


# ------------------------------------------------------------------ ranges


# The ends of a lex range that '-' and '+' name: below and above every member.
LEX_MIN, LEX_MAX = object(), object()


def _compare_lex(a, b):
    """sdscmplex: - below and + above everything."""
    if a is b:
        return 0
    if a is LEX_MIN or b is LEX_MAX:
        return -1
    if a is LEX_MAX or b is LEX_MIN:
        return 1
    return (a > b) - (a < b)


def _above_min(member, bound):
    value, exclusive = bound
    cmp = _compare_lex(member, value)
    return cmp > 0 if exclusive else cmp >= 0


def _below_max(member, bound):
    value, exclusive = bound
    cmp = _compare_lex(member, value)
    return cmp < 0 if exclusive else cmp <= 0


def score_span(zset, low, high):
    """The [start, stop) indexes of zset.order whose scores are within the range."""
    (minimum, min_exclusive), (maximum, max_exclusive) = low, high
    order = zset.order
    start = order.bisect_left((minimum, ABOVE) if min_exclusive else (minimum,))
    stop = order.bisect_left((maximum,) if max_exclusive else (maximum, ABOVE))
    return start, max(start, stop)


def lex_span(zset, low, high, reverse=False):
    """The [start, stop) indexes of the run of members within a lex range, found as Redis finds it.

    Lex ranges assume that every score is the same. When they differ,
    Redis's listpack walks from one end to the first member in range and
    stops at the first one out of it; a small set here does just that, so
    the answers agree. A big one bisects, as a skiplist descends.
    """
    order, size = zset.order, len(zset)
    cmp = _compare_lex(low[0], high[0])
    if (not size or cmp > 0 or (cmp == 0 and (low[1] or high[1]))
            or not _above_min(order[-1][1], low) or not _below_max(order[0][1], high)):
        return 0, 0
    if not zset.skiplist:
        return _walk_lex(order, low, high, reverse)
    if reverse:
        stop = _first(order, 0, size, lambda member: not _below_max(member, high))
        if stop == 0 or not _above_min(order[stop - 1][1], low):
            return 0, 0
        return _first(order, 0, stop, lambda member: _above_min(member, low)), stop
    start = _first(order, 0, size, lambda member: _above_min(member, low))
    if start == size or not _below_max(order[start][1], high):
        return 0, 0
    return start, _first(order, start, size, lambda member: not _below_max(member, high))


def _walk_lex(order, low, high, reverse):
    members = [member for _, member in order]
    indexes = range(len(members) - 1, -1, -1) if reverse else range(len(members))
    enters, stays = (_below_max, _above_min) if reverse else (_above_min, _below_max)
    bound_in, bound_stay = (high, low) if reverse else (low, high)
    run = []
    for index in indexes:
        if run:
            if not stays(members[index], bound_stay):
                break
            run.append(index)
        elif enters(members[index], bound_in):
            if not stays(members[index], bound_stay):
                return 0, 0
            run.append(index)
    if not run:
        return 0, 0
    return min(run), max(run) + 1


def _first(order, start, stop, predicate):
    """The first index in [start, stop) whose member satisfies a predicate that is monotonic there."""
    while start < stop:
        middle = (start + stop) // 2
        if predicate(order[middle][1]):
            stop = middle
        else:
            start = middle + 1
    return start


def rank_span(size, start, end):
    """Redis's rank sanitising: (start, stop) indexes, empty when out of range."""
    if start < 0:
        start += size
    if end < 0:
        end += size
    start = max(start, 0)
    if start > end or start >= size:
        return 0, 0
    return start, min(end, size - 1) + 1


def limited(order, start, stop, reverse, offset, limit):
    """The pairs of order[start:stop] (backwards if reverse), after LIMIT offset count."""
    if offset < 0 or start >= stop:
        return []
    count = stop - start - offset
    if limit >= 0:
        count = min(count, limit)
    if count <= 0:
        return []
    if reverse:
        return list(order.islice(stop - offset - count, stop - offset, reverse=True))
    return list(order.islice(start + offset, start + offset + count))
