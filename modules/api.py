"""What a module file imports: the reply types, the errors, and the context its handlers get.

A module is a .py file with an on_load(module, args) function (args: the load arguments, as bytes).
on_load registers what the module adds through the `module` object (modules/loader.py's Module):

    module.identify(name, version)                  the name and version MODULE LIST shows
    T = module.data_type(name, encoding_version, save=, load=, rewrite=, memory_usage=, copy=)
                                                    a type: 9 characters of A-Z a-z 0-9 - _, version 0..1023
    module.command(name, handler, arity=, flags="", first_key=0, last_key=0, step=0)
                                                    flags: Redis's module flag words ("write deny-oom", "readonly fast")
    module.config(name, default, kind, on_set=None, min=, max=, values=, mutable=True)
                                                    CONFIG GET/SET "<module name>.<name>"; kind "bool", "numeric"
                                                    (an integer from min to max), "string" or "enum" (one of values);
                                                    returns a handle whose .value is the running value; on_set(name,
                                                    value) runs after CONFIG SET and may raise to refuse the value
    module.subscribe(classes, callback)             keyspace events of notify-keyspace-events' class letters
                                                    ("g$lshzxetdnm", "A"): callback(ctx, event, key)
    module.log(level, text)                         "debug", "verbose", "notice" or "warning", in the server's log

A command's handler is handler(ctx, *arguments), the arguments the bytes after the command's name
(the arity is checked before, as for built-in commands). It returns the reply, or raises ReplyError:

    int -> integer          bytes, bytearray, str -> bulk string (str as UTF-8)      None -> null
    float -> double (a bulk string in RESP2)    bool -> boolean (integer 1/0 in RESP2)
    list, tuple -> array    dict -> map (a flat array in RESP2)    set, frozenset -> set (array in RESP2)
    Status("OK") -> simple string    Null -> null array (*-1 in RESP2)    Error("ERR ...") -> an error inside an array
    raise ReplyError("ERR ...")      the whole reply is an error (the text starts with its code: ERR, WRONGTYPE...)

Any other exception a handler raises is logged and answered with an error; the server goes on.

A data type's callbacks, called by the server, never by the module: save(writer, value) writes the value
into RDB files and DUMP payloads through writer.unsigned(n), .signed(n), .double(x), .float(x), .string(b)
(Redis's RedisModule_Save*, as RDB_TYPE_MODULE_2 opcodes, so Redis reads what we write); load(reader,
encoding_version) reads them back in the same order with reader.unsigned(), .signed(), .double(), .float(),
.string() and returns the value (the encoding version is the one the file was written with); rewrite(key,
value) returns the commands (lists of bytes) that rebuild the value in a rewritten AOF; memory_usage(value)
its size in bytes (MEMORY USAGE); copy(value) an independent copy (COPY; without it COPY answers Redis's
"not supported for this module key"). A type whose value no commands rebuild exactly can rewrite itself as
restore_command(key, T, value): RESTORE of its DUMP payload, as RedisBloom's RMUtil_DefaultAofRewrite does.
"""
import logging

from errors import WRONGTYPE, ReplyError
from persistence.objects import dump_payload
from protocol import NULL_ARRAY, Error, SetReply
from storage import events
from storage.events import MODIFIED
from storage.module_values import ModuleValue

__all__ = ["ReplyError", "Status", "Null", "Error", "Context", "INT64_MIN", "INT64_MAX", "restore_command"]

log = logging.getLogger("mini-redis")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
Null = NULL_ARRAY  # a null array: *-1 in RESP2, _ in RESP3
EVENT_CLASSES = {"generic": events.GENERIC, "g": events.GENERIC, "$": events.STRING, "l": events.LIST,
                 "s": events.SET, "h": events.HASH, "z": events.ZSET, "x": events.EXPIRED, "e": events.EVICTED,
                 "t": events.STREAM, "d": events.MODULE, "m": events.KEY_MISS, "n": events.NEW,
                 "module": events.MODULE}


class Status:
    """A simple-string reply (+OK): a handler's str is a bulk string, as RedisModule_ReplyWithCString's."""

    __slots__ = ("text",)

    def __init__(self, text):
        if "\r" in text or "\n" in text:
            raise ValueError("a status reply cannot hold a line break")
        self.text = text

    def __repr__(self):
        return "Status(%r)" % self.text


def event_class(kind):
    """A class name or letter ("generic", "g", "$", "d"...) or a storage.events constant, as its bits."""
    if isinstance(kind, int):
        return kind
    bits = EVENT_CLASSES.get(kind)
    if bits is None:
        raise ValueError("unknown keyspace event class %r" % (kind,))
    return bits


class Context:
    """What a handler (or an event callback) works with: the client's database and protocol, typed access to
    module values, keyspace events and what the AOF logs for the command."""

    __slots__ = ("db", "protocol", "_session", "logged")

    def __init__(self, db, protocol=2, session=None):
        self.db = db  # storage.keyspace.Database: the API the built-in commands use (lookup, set, remove...)
        self.protocol = protocol
        self._session = session
        self.logged = None  # how many commands propagate() logged, None if it was not called

    def get_value(self, key, module_type):
        """The module value the key holds (counted as a read: a hit or a miss), None if it is missing;
        ReplyError WRONGTYPE if it holds something else."""
        stored = self.db.lookup_read(key)
        if stored is None:
            return None
        if type(stored) is not ModuleValue or stored.module_type is not module_type:
            raise ReplyError(WRONGTYPE)
        return stored.value

    def set_value(self, key, module_type, value):
        """Store a module value, a new key or over what the key held (its TTL dropped, as
        RedisModule_ModuleTypeSetValue replaces the key)."""
        self.db.set(key, ModuleValue(module_type, value))
        self.db.notify(MODIFIED, b"", key)

    def notify(self, kind, event, key):
        """A keyspace event (RedisModule_NotifyKeyspaceEvent): kind a class name or letter ("generic",
        "d" for module events...); clients tracking the key are told it changed."""
        self.db.notify(event_class(kind), event, key)

    def propagate(self, *commands):
        """Log these commands (lists of bytes) to the AOF in place of the command as it was sent; called
        more than once, they accumulate (several are wrapped in MULTI/EXEC)."""
        self.logged = (self.logged or 0) + len(commands)
        if self._session is not None:
            self._session.propagate(*commands)
        else:
            self.db.keyspace.propagate(self.db.index, *commands)


def restore_command(key, module_type, value):
    """The rewrite that rebuilds any value of module_type exactly: RESTORE key 0 with its DUMP payload
    (the save callback's items; compressed as with rdbcompression yes)."""
    return [[b"RESTORE", key, b"0", dump_payload(ModuleValue(module_type, value), True, None)]]


def to_reply(reply):
    """A handler's reply as the protocol writer takes it; TypeError for what has no RESP form."""
    kind = type(reply)
    if kind is bytes or reply is None:
        return reply
    if kind is int:
        if not INT64_MIN <= reply <= INT64_MAX:
            raise TypeError("integer reply out of the 64-bit range: %d" % reply)
        return reply
    if kind is str:
        return reply.encode("utf-8", "surrogateescape")
    if kind is Status:
        return reply.text
    if kind is list or kind is tuple:
        return [to_reply(item) for item in reply]
    if kind is dict:
        return {to_reply(name): to_reply(item) for name, item in reply.items()}
    if kind in (set, frozenset, SetReply):
        return SetReply(to_reply(item) for item in reply)
    if kind in (float, bool, bytearray, Error) or reply is NULL_ARRAY:
        return reply
    raise TypeError("a module reply cannot be a %s" % kind.__name__)
