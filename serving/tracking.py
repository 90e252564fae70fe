"""Client-side caching: CLIENT TRACKING's table of who read which key, and the invalidations, as tracking.c.

A tracking client's reads are remembered key by key (the keys its read-only commands name); a
change to a key (any keyspace event but a key miss: storage's Database.notify, see
serving/notifications.py) sends an "invalidate" to every client that read it and forgets them, so
the next read is remembered again. In BCAST mode nothing is remembered: a changed key that starts
with one of the client's prefixes is collected, and every prefix's keys go out, sorted, when the
event loop next turns (gevent's run_callback, as Redis's beforeSleep): after the batch that changed
them and its replies. Messages go as RESP3 pushes on the tracking connection, or to the
REDIRECT client: pushes if it speaks RESP3, else __redis__:invalidate messages if it is subscribed.

Invalidations for the client whose command is running wait until its reply is written (inside
EXEC, until the whole EXEC's), as Redis 7.0.15 sends them. Only the tracking clients leave the
plain lane (commands.is_plain): another client's write reaches the table through its keyspace
event whichever lane it took.
"""
import random
from itertools import islice

import gevent

from protocol import Frames, Push, ReplyWriter

INVALIDATE_CHANNEL = b"__redis__:invalidate"
LIMIT_EFFORT = 100  # keys dropped per call of limit() while over tracking-table-max-keys, times the misses


class ClientTracking:
    """One client's CLIENT TRACKING settings (Redis's CLIENT_TRACKING_* flags)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken_redirect", "prefixes")

    def __init__(self):
        self.redirect = 0
        self.bcast = self.optin = self.optout = self.noloop = self.caching = self.broken_redirect = False
        self.prefixes = set()

    def flags(self):
        """CLIENT TRACKINGINFO's flags, in Redis's order."""
        flags = ["on"]
        for name, on in (("bcast", self.bcast), ("optin", self.optin), ("caching-yes", self.optin and self.caching),
                         ("optout", self.optout), ("caching-no", self.optout and self.caching),
                         ("noloop", self.noloop), ("broken_redirect", self.broken_redirect)):
            if on:
                flags.append(name)
        return [flag.encode() for flag in flags]


class _Prefix:
    """A BCAST prefix: its clients, and the keys changed since the last broadcast (key -> who changed it)."""

    __slots__ = ("sessions", "keys")

    def __init__(self):
        self.sessions = {}
        self.keys = {}


class Tracking:
    """The tracking table of one server: keys to the ids of the clients that read them, and the prefixes."""

    def __init__(self, sessions, keys_of, on_active_changed):
        self.sessions = sessions  # client id -> Session, the server's: a redirect may name any client
        self.keys_of = keys_of  # (command row, argv) -> [(position, flags)]: COMMAND GETKEYS's key finder
        self.on_active_changed = on_active_changed  # whether anything is tracked changed: see active()
        self.clients = 0  # INFO's tracking_clients
        self.table = {}  # key -> {client id: None}, the ids in the order they read it
        self.items = 0  # INFO's tracking_total_items: the ids in the table
        self.prefixes = {}  # prefix -> _Prefix
        self.broadcast_due = False  # a BCAST prefix has keys to send, and broadcast() is scheduled
        self.max_keys = 1_000_000  # tracking-table-max-keys (0: no limit)
        self.current = None  # the client whose command is running (NOLOOP, and the wait for its reply)
        self._pending = []  # (session, key or None) held until that client's reply is written
        self._over_limit = 0  # limit() calls that could not get under max_keys

    # -- CLIENT TRACKING

    def enable(self, session, redirect, options, prefixes):
        """CLIENT TRACKING ON with checked options (a set of bcast, optin, optout, noloop) and prefixes."""
        state = session.tracking
        if state is None:
            state = session.tracking = ClientTracking()
            self.clients += 1
            if self.clients == 1:
                self.on_active_changed()
        state.redirect = redirect
        state.broken_redirect = False
        state.bcast, state.optin, state.optout, state.noloop = (name in options for name in
                                                                ("bcast", "optin", "optout", "noloop"))
        if state.bcast:
            for prefix in prefixes or [b""]:
                self.prefixes.setdefault(prefix, _Prefix()).sessions[session.id] = session
                state.prefixes.add(prefix)

    def disable(self, session):
        """CLIENT TRACKING OFF, RESET, a hang-up: its ids stay in the table until their keys change, as in
        Redis (they are skipped then)."""
        state = session.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes[prefix]
            entry.sessions.pop(session.id, None)
            if not entry.sessions:
                del self.prefixes[prefix]
        session.tracking = None
        self.clients -= 1
        if not self.active():
            self.on_active_changed()

    def active(self):
        """Whether keys must be watched: a client tracks, or the table still holds keys read by clients that
        stopped (Redis keeps them until they change, and INFO counts them)."""
        return self.clients > 0 or bool(self.table)

    # -- reads and writes

    def run(self, session, command, arguments, run):
        """commands.run() for a client while any client tracks: the read keys remembered after a read-only
        command, CLIENT CACHING's one-command flag spent, invalidations of its own keys sent after its reply."""
        self.current = session
        try:
            reply = run(session, command, arguments)
        finally:
            self.current = None
        state = session.tracking
        if state is not None and not state.bcast and "readonly" in command.flags:
            self._remember(session, state, command, session.argv)
        if session.in_exec:
            return reply
        if state is not None and session.multi is None and not command.name.startswith("client|"):
            state.caching = False
        if self.max_keys and len(self.table) > self.max_keys:
            self.limit()
        if self._pending:
            reply = self._after_reply(session, reply)
        return reply

    def run_in_script(self, caller, session, command, arguments, run):
        """A script's command, run by its own client (session) for caller, who stays the client that acts
        (Redis's script_caller), so NOLOOP and the caller's own invalidations go by the caller. A read
        remembers what Redis 7.0's call() remembers for the caller: the keys of the caller's command (the
        script's declared KEYS), not those the script read."""
        reply = run(session, command, arguments)
        state = caller.tracking
        if state is not None and not state.bcast and "readonly" in command.flags:
            self._remember(caller, state, caller.last_command, caller.argv)
        return reply

    def _remember(self, session, state, command, argv):
        """Redis's trackingRememberKeys: OPTIN needs CLIENT CACHING YES before, OPTOUT skips after CACHING NO."""
        if (state.optin and not state.caching) or (state.optout and state.caching):
            return
        for position, _ in self.keys_of(command, argv):
            readers = self.table.setdefault(bytes(argv[position]), {})
            if session.id not in readers:
                readers[session.id] = None
                self.items += 1

    def invalidate(self, key, broadcast=True):
        """Redis's trackingInvalidateKey: key changed (or left the table, broadcast False)."""
        if broadcast and self.prefixes:
            for prefix, entry in self.prefixes.items():
                if key.startswith(prefix):
                    entry.keys[key] = self.current
                    if not self.broadcast_due:
                        self.broadcast_due = True
                        gevent.get_hub().loop.run_callback(self.broadcast)
        readers = self.table.pop(key, None)
        if readers is None:
            return
        self.items -= len(readers)
        if not self.table and not self.clients:
            self.on_active_changed()  # nothing left to watch
        for client_id in readers:
            target = self.sessions.get(client_id)
            state = target.tracking if target is not None else None
            if state is None or state.bcast or (state.noloop and target is self.current):
                continue
            if target is self.current:
                self._pending.append((target, key))
            else:
                self._send(target, [key])

    def invalidate_all(self):
        """FLUSHDB, FLUSHALL: a null invalidation to every tracking client, and the table emptied."""
        for session in list(self.sessions.values()):
            if session.tracking is not None:
                if session is self.current:
                    self._pending.append((session, None))
                else:
                    self._send(session, None)
        self.table = {}
        self.items = 0
        if not self.clients:
            self.on_active_changed()

    def broadcast(self):
        """Send each BCAST prefix's changed keys (sorted) to its clients; a NOLOOP client's own changes left out."""
        self.broadcast_due = False
        for prefix in sorted(self.prefixes):
            entry = self.prefixes[prefix]
            if not entry.keys:
                continue
            changed, entry.keys = entry.keys, {}
            keys = sorted(changed)
            for session in list(entry.sessions.values()):
                if session.tracking.noloop:
                    own = [key for key in keys if changed[key] is not session]
                    if own:
                        self._send(session, own)
                else:
                    self._send(session, keys)

    def limit(self):
        """tracking-table-max-keys: drop random keys (invalidating them) until the table fits, with an
        effort that grows while it does not, as trackingLimitUsedSlots."""
        effort = LIMIT_EFFORT * (self._over_limit + 1)
        while effort and self.table:
            effort -= 1
            key = next(islice(self.table, random.randrange(len(self.table)), None))
            self.invalidate(key, broadcast=False)
            if len(self.table) <= self.max_keys:
                self._over_limit = 0
                return
        self._over_limit += 1

    # -- delivery

    def _after_reply(self, session, reply):
        """The reply with the invalidations held for this client after it (others' go out as they are)."""
        held, self._pending = [item for item in self._pending if item[0] is session], \
            [item for item in self._pending if item[0] is not session]
        pushes = []
        for target, key in held:
            receiver, message = self._message(target, None if key is None else [key])
            if receiver is session:
                pushes.append(message)
            elif receiver is not None:
                _deliver(receiver, message, target.protocol)
        return Frames([reply, *pushes]) if pushes else reply

    def _send(self, session, keys):
        receiver, message = self._message(session, keys)
        if receiver is not None:
            _deliver(receiver, message, session.protocol)

    def _message(self, session, keys):
        """Redis's sendTrackingMessage: (who gets it, the push) for these keys (None: the flush's null), or
        (None, None) when nobody can: a RESP2 client without a subscribed REDIRECT gets nothing."""
        state = session.tracking
        receiver = session
        if state.redirect:
            receiver = self.sessions.get(state.redirect)
            if receiver is None:
                state.broken_redirect = True
                if session.protocol > 2:
                    return session, Push([b"tracking-redir-broken", state.redirect])
                return None, None
        if receiver.protocol > 2:
            return receiver, Push([b"invalidate", keys])
        if state.redirect and receiver.subscribed():
            return receiver, Push([b"message", INVALIDATE_CHANNEL, keys])
        return None, None


_NULLS = {2: b"$-1\r\n", 3: b"_\r\n"}


def _deliver(receiver, message, protocol):
    """Encode the push for the receiver; a flush's null, last in it, is the tracking client's protocol's
    (protocol), as Redis writes shared.null[c->resp] whoever receives it."""
    writer = ReplyWriter(receiver.protocol)
    writer.write(message)
    data = writer.take()
    if message[-1] is None and protocol != receiver.protocol:
        data = data[:-len(_NULLS[receiver.protocol])] + _NULLS[protocol]
    receiver.deliver(data)
