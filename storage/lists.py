"""The list value: a deque, O(1) at both ends like Redis's quicklist."""
from collections import deque


class List(deque):
    """A Redis list."""

    __slots__ = ()
    redis_type = "list"

    def encoding(self):
        return "quicklist"  # Redis 7.0 keeps every list in a quicklist, however small

    def copy(self):
        return List(self)
