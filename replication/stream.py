"""The bytes between a replica and its master: a buffered socket, and the command stream cut into commands.

The master sends the stream as RESP multibulks; a replica counts its offset in
bytes of commands it has applied, so each command comes with its exact size
(Redis's reploff). The handshake's replies are single lines.
"""
import socket

READ_SIZE = 64 * 1024
MAX_LINE = 64 * 1024  # no handshake reply or length line comes near this


class LinkError(Exception):
    """The link is unusable: the reason goes to the log, and the replica connects again."""


class LinkTimeout(LinkError):
    """Nothing came from the master for repl-timeout seconds."""


class Channel:
    """A socket read through a buffer: lines for the handshake, exact byte counts for payloads."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = bytearray()
        self.stats = None  # once the master answered PSYNC: the server's, counting the RDB and stream in, ACKs out

    def send(self, *argv):
        """One command, as a multibulk."""
        parts = [b"*%d\r\n" % len(argv)]
        for argument in argv:
            argument = argument if isinstance(argument, bytes) else str(argument).encode()
            parts.append(b"$%d\r\n%b\r\n" % (len(argument), argument))
        data = b"".join(parts)
        self.sock.sendall(data)
        if self.stats is not None:  # Redis counts what its master client is sent (the ACKs), not the handshake
            self.stats.net_output_bytes += len(data)

    def receive(self):
        """Whatever arrives next (at least a byte); LinkError when the master hung up."""
        try:
            data = self.sock.recv(READ_SIZE)
        except socket.timeout:
            raise LinkTimeout() from None
        if not data:
            raise LinkError("connection lost")
        self.buffer += data
        if self.stats is not None:
            self.stats.net_repl_input_bytes += len(data)  # INFO's total_net_repl_input_bytes
        return len(data)

    def line(self):
        """The next line without its line end (a reply, or a payload's header)."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end]).rstrip(b"\r")
                del self.buffer[:end + 1]
                return line
            if len(self.buffer) > MAX_LINE:
                raise LinkError("line too long")
            self.receive()

    def command(self, *argv):
        """Send a command and return its one-line reply, as text."""
        self.send(*argv)
        return self.line().decode(errors="replace")

    def take(self, limit):
        """Up to limit bytes: what is buffered, or else what arrives next."""
        if not self.buffer:
            self.receive()
        data = bytes(self.buffer[:limit])
        del self.buffer[:limit]
        return data

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def next_command(buffer, start):
    """(argv, end) of the command at start of buffer, None if it is not all there yet.

    An empty line (a newline the master sends to keep the link alive) is a command without
    arguments: it takes up stream bytes like any other. LinkError if the bytes are not RESP.
    """
    if buffer[start:start + 1] != b"*":
        end = buffer.find(b"\n", start)
        if end < 0:
            return None
        if buffer[start:end].strip():
            raise LinkError("inline command in the replication stream")
        return [], end + 1
    end = buffer.find(b"\r\n", start)
    if end < 0:
        return None
    count = _number(buffer[start + 1:end])
    position, argv = end + 2, []
    for _ in range(count):
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None
        if buffer[position:position + 1] != b"$":
            raise LinkError("expected '$' in the replication stream")
        length = _number(buffer[position + 1:end])
        position = end + 2
        if len(buffer) < position + length + 2:
            return None
        argv.append(bytes(buffer[position:position + length]))
        position += length + 2
    return argv, position


def _number(digits):
    if not digits.isdigit() or len(digits) > 12:
        raise LinkError("bad length %r in the replication stream" % bytes(digits[:20]))
    return int(digits)
