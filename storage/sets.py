"""The set value: members, and whether Redis would hold them as an intset or a hash table."""
import random
from itertools import islice

from protocol import string_to_int

INTSET_CAP = 1 << 30  # Redis caps set-max-intset-entries here (intset internals)


class RedisSet(set):
    """A Redis set: byte-string members, and whether Redis would hold it as an intset or a hash table."""

    __slots__ = ("hashtable",)
    redis_type = "set"

    def __init__(self, members=()):
        super().__init__(members)
        self.hashtable = False

    @classmethod
    def built(cls, members, limit):
        """A new set made by adding members one by one, as Redis builds its results from an intset."""
        new = cls(members)
        new.reset_encoding(limit)
        return new

    def reset_encoding(self, limit):
        """The encoding a set with these members gets when built afresh from an empty intset."""
        self.hashtable = len(self) > limit or not all_integers(self)

    def add_member(self, member, limit):
        """SADD's add of one member; True if it was new. An intset turns into a hash table for good."""
        if member in self:
            return False
        set.add(self, member)
        if not self.hashtable and (len(self) > limit or string_to_int(member) is None):
            self.hashtable = True
        return True

    def encoding(self):
        return "hashtable" if self.hashtable else "intset"

    def ordered(self):
        """The members in the order Redis walks them: ascending numbers in an intset."""
        return list(self) if self.hashtable else sorted(self, key=int)

    def random_member(self):
        # A Python set has no random access: skip a random distance into it (C speed, no copy).
        return next(islice(self, random.randrange(len(self)), None))

    def copy(self):
        new = RedisSet(self)
        new.hashtable = self.hashtable
        return new


def all_integers(members):
    return all(string_to_int(member) is not None for member in members)

