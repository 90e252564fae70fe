"""The replication backlog: the last repl-backlog-size bytes of the stream, addressed by stream offset.

A replica whose link dropped asks PSYNC <replid> <offset+1>; it can continue
without a full sync while the bytes from that offset on are still here.
"""


class Backlog:
    """A bounded window onto the replication stream: its last `size` bytes, the first at offset `start`.

    The buffer may hold up to twice that before the oldest bytes are cut, so an append costs a memmove
    of the window once per `size` bytes appended rather than at every write.
    """

    def __init__(self, size, start):
        self.size = size
        self._first = start  # stream offset of the buffer's first byte (Redis's repl_backlog_off, 1-based there)
        self._data = bytearray()

    @property
    def histlen(self):
        return min(len(self._data), self.size)

    @property
    def start(self):
        """The stream offset of the first byte held."""
        return self._first + len(self._data) - self.histlen

    def append(self, data):
        self._data += data
        if len(self._data) > 2 * self.size:
            self._trim()

    def _trim(self):
        excess = len(self._data) - self.size
        if excess > 0:
            del self._data[:excess]
            self._first += excess

    def resize(self, size):
        """CONFIG SET repl-backlog-size: keep the newest bytes that fit."""
        self.size = size
        self._trim()

    def holds(self, offset):
        """Whether every byte from stream offset on (up to the end) is still held."""
        return self.start <= offset <= self._first + len(self._data)

    def since(self, offset):
        """The bytes from stream offset to the end; holds(offset) must be true."""
        return bytes(self._data[offset - self._first:])
