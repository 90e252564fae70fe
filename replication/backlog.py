"""The replication backlog: the last repl-backlog-size bytes of the stream, addressed by stream offset.

A replica whose link dropped asks PSYNC <replid> <offset+1>; it can continue
without a full sync while the bytes from that offset on are still here.
"""


class Backlog:
    """A bounded window onto the replication stream: the bytes [start, start + len(data)) of it."""

    def __init__(self, size, start):
        self.size = size
        self.start = start  # stream offset of the first byte held (Redis's repl_backlog_off, 1-based there)
        self._data = bytearray()

    @property
    def histlen(self):
        return len(self._data)

    def append(self, data):
        self._data += data
        excess = len(self._data) - self.size
        if excess > 0:
            del self._data[:excess]
            self.start += excess

    def resize(self, size):
        """CONFIG SET repl-backlog-size: keep the newest bytes that fit."""
        self.size = size
        self.append(b"")

    def holds(self, offset):
        """Whether every byte from stream offset on (up to the end) is still held."""
        return self.start <= offset <= self.start + len(self._data)

    def since(self, offset):
        """The bytes from stream offset to the end; holds(offset) must be true."""
        return bytes(self._data[offset - self.start:])
