"""What the server knows about one connected client, apart from its socket.

Commands read and change it (SELECT, HELLO, CLIENT SETNAME, QUIT); the
connection loop in server.py owns the socket and consults the flags.
"""
import time

from blocking import Waiter, wait_without_connection


class Session:
    """One client: its id, addresses, database, protocol version and names."""

    __slots__ = ("server", "id", "address", "local_address", "fd", "created", "last_active",
                 "db", "protocol", "name", "lib_name", "lib_version", "last_command",
                 "close_after_reply", "in_exec", "wait_for")

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
        self.in_exec = False  # inside EXEC, blocking commands answer at once instead of blocking
        self.wait_for = wait_without_connection  # server.py swaps in one that also notices a hang-up

    def select(self, index):
        self.db = self.server.keyspace[index]

    def block_on(self, keys, serve, timeout):
        """Block this client until serve(key) gives a reply for one of keys; None on timeout (seconds, 0 = forever).

        serve runs in the writer's greenlet, right after its command, as Redis serves
        blocked clients; this greenlet only sleeps on the result.
        """
        if self.in_exec:
            return None
        blocking = self.server.keyspace.blocking
        waiter = Waiter(self.db, keys, serve)
        blocking.block(waiter)
        try:
            return self.wait_for(waiter.result, timeout or None)
        finally:
            blocking.unblock(waiter)

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
