"""What the server knows about one connected client, apart from its socket.

Commands read and change it (SELECT, HELLO, CLIENT SETNAME, QUIT); the
connection loop in server.py owns the socket and consults the flags.
"""
import time


class Session:
    """One client: its id, addresses, database, protocol version and names."""

    __slots__ = ("server", "id", "address", "local_address", "fd", "created", "last_active",
                 "db", "protocol", "name", "lib_name", "lib_version", "last_command",
                 "close_after_reply", "kill_requested")

    def __init__(self, server, client_id, address, local_address, fd):
        self.server = server
        self.id = client_id
        self.address = address
        self.local_address = local_address
        self.fd = fd
        self.created = self.last_active = time.monotonic()
        self.db = server.keyspace[0]
        self.protocol = 2
        self.name = b""
        self.lib_name = b""
        self.lib_version = b""
        self.last_command = "NULL"
        self.close_after_reply = False  # QUIT: send the reply, then close
        self.kill_requested = False  # CLIENT KILL from another client

    def select(self, index):
        self.db = self.server.keyspace[index]

    def reset(self):
        """RESET: back to the state of a fresh connection (the id and addresses stay)."""
        self.db = self.server.keyspace[0]
        self.protocol = 2
        self.name = b""

    def describe(self):
        """The CLIENT LIST / CLIENT INFO line, with Redis's field names."""
        now = time.monotonic()
        return ("id=%d addr=%s laddr=%s fd=%d name=%s age=%d idle=%d flags=N db=%d sub=0 psub=0 "
                "ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 "
                "omem=0 tot-mem=0 events=r cmd=%s user=default redir=-1 resp=%d lib-name=%s lib-ver=%s"
                % (self.id, self.address, self.local_address, self.fd,
                   self.name.decode(errors="replace"), now - self.created, now - self.last_active,
                   self.db.index, self.last_command, self.protocol,
                   self.lib_name.decode(errors="replace"), self.lib_version.decode(errors="replace")))
