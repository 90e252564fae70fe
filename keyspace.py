"""The databases: what the keys hold, kept apart from any protocol.

A Database maps keys (bytes) to values; the Keyspace is the numbered set of
them that SELECT chooses from.
"""


class Database:
    """One numbered database."""

    __slots__ = ("index", "data")

    def __init__(self, index):
        self.index = index
        self.data = {}

    def __len__(self):
        return len(self.data)

    def get(self, key):
        return self.data.get(key)

    def set(self, key, value):
        self.data[key] = value

    def delete(self, key):
        """True if the key existed."""
        return self.data.pop(key, None) is not None

    def exists(self, key):
        return key in self.data

    def flush(self):
        """Empty the database; return how many keys it held."""
        count = len(self.data)
        self.data = {}
        return count


class Keyspace:
    """All databases of one server."""

    def __init__(self, count=16):
        self.databases = [Database(index) for index in range(count)]

    def __getitem__(self, index):
        return self.databases[index]

    def __len__(self):
        return len(self.databases)

    def flush_all(self):
        for database in self.databases:
            database.flush()
