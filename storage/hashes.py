"""The hash value: a dict kept in insertion order, which is a listpack's order in Redis too."""


class Hash(dict):
    """A Redis hash: field -> value (bytes), with the encoding Redis would give it."""

    __slots__ = ("compact",)
    redis_type = "hash"

    def __init__(self, *args):
        super().__init__(*args)
        self.compact = True  # a listpack until a size limit is crossed; never goes back

    def encoding(self):
        return "listpack" if self.compact else "hashtable"

    def copy(self):
        twin = Hash(self)
        twin.compact = self.compact
        return twin
