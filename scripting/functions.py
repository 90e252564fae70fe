"""FUNCTION's libraries (Redis 7.0's functions.c and function_lua.c): load, list, delete, dump and
restore them, find a function for FCALL. They live in a Lua state of their own, which FUNCTION
FLUSH replaces.

A library's code starts with '#!lua name=<library>' and registers its functions with
redis.register_function while it runs (sandbox.lua checks each registration). DUMP's payload is
the RDB function opcode and the code per library, then the RDB version and a CRC-64, as Redis's.
"""
import struct

from errors import ReplyError
from persistence.codecs import crc64
from persistence.rdb import OP_FUNCTION2, RDB_VERSION, RDBError, encode_string, read_string
from protocol import SetReply, split_inline
from scripting.busy import SCRIPT_FLAGS, LibraryLoad
from storage.patterns import matches

NAME_ERROR = ("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one "
              "character long")
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"
CHUNK_NAME = b"@user_function"


class Function:
    __slots__ = ("name", "callback", "description", "flags", "library")

    def __init__(self, name, callback, description, flags, library):
        self.name = name
        self.callback = callback
        self.description = description
        self.flags = flags  # a frozenset of SCRIPT_FLAGS' names
        self.library = library


class Library:
    __slots__ = ("name", "code", "functions")

    def __init__(self, name, code):
        self.name = name
        self.code = code
        self.functions = {}  # name -> Function, in registration order


def library_metadata(code):
    """functionExtractLibMetaData(): (engine, library name, the offset of the code after the shebang)."""
    if not code.startswith(b"#!"):
        raise ReplyError("ERR Missing library metadata")
    end = code.find(b"\n")
    if end < 0:
        raise ReplyError("ERR Invalid library metadata")
    parts = split_inline(code[:end])
    if not parts:
        raise ReplyError("ERR Invalid library metadata")
    name = None
    for part in parts[1:]:
        if part[:5].lower() == b"name=":
            name = part[5:]
        else:
            raise ReplyError("ERR Invalid metadata value given: %s" % part.decode("utf-8", "replace"))
    if name is None:
        raise ReplyError("ERR Library name was not given")
    return parts[0][2:], name, end


def valid_name(name):
    return bool(name) and all(byte == 0x5F or 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A
                              for byte in name)


class Libraries:
    """The libraries and their functions (by lowercase name, as Redis's functions are case-insensitive)."""

    def __init__(self, scripting):
        self.scripting = scripting
        self.state = scripting.new_state()
        self.libraries = {}  # name -> Library
        self.functions = {}  # lowercase name -> Function

    # ------------------------------------------------------------------ loading

    def load(self, code, replace=False):
        """FUNCTION LOAD: the library's name once it is linked in; ReplyError with Redis's text otherwise."""
        library = self.build(code, self.libraries, replace)
        old = self.libraries.get(library.name)
        if old is not None:
            self._unlink(old)
        clash = next((name for name in library.functions if name.lower() in self.functions), None)
        if clash is not None:
            if old is not None:
                self._link(old)
            raise ReplyError("ERR Function %s already exists" % clash.decode("utf-8", "replace"))
        self._link(library)
        return library.name

    def build(self, code, existing, replace):
        """Check the metadata, run the code, collect what it registered (functionsCreateWithLibraryCtx)."""
        engine, name, offset = library_metadata(code)
        if not valid_name(name):
            raise ReplyError(NAME_ERROR)
        if engine.lower() != b"lua":
            raise ReplyError("ERR Engine '%s' not found" % engine.decode("utf-8", "replace"))
        if name in existing and not replace:
            raise ReplyError("ERR Library '%s' already exists" % name.decode("utf-8", "replace"))
        function, message = self.state.compile(code[offset:], CHUNK_NAME)
        if function is None:
            raise ReplyError("ERR Error compiling function: %s" % message.decode("utf-8", "replace"))
        loading = LibraryLoad()
        loading.state = self.state
        scripting = self.scripting
        previous, scripting.current = scripting.current, loading
        try:
            ok, result = self.state.controls[b"load_library"](function)
        finally:
            scripting.current = previous
        if not ok:
            message = result[b"err"]
            text = message.decode("utf-8", "replace") if type(message) is bytes else str(message)
            raise ReplyError("ERR Error registering functions: %s" % text)
        library = Library(name, code)
        for index in range(1, len(result) + 1):
            entry = result[index]
            flags = {entry[b"flags"][position] for position in range(1, len(entry[b"flags"]) + 1)}
            function_name = entry[b"name"]
            library.functions[function_name] = Function(
                function_name, entry[b"callback"], entry[b"description"],
                frozenset(flag.decode() for flag in flags), library)
        if not library.functions:
            raise ReplyError("ERR No functions registered")
        return library

    def _link(self, library):
        """Into the libraries, its functions into the case-insensitive function table (a library may hold
        both 'f' and 'F': the first one answers to either name, as in Redis)."""
        self.libraries[library.name] = library
        for name, function in library.functions.items():
            self.functions.setdefault(name.lower(), function)

    def _unlink(self, library):
        del self.libraries[library.name]
        for name in library.functions:
            if self.functions.get(name.lower()) in library.functions.values():
                del self.functions[name.lower()]

    # ------------------------------------------------------------------ the other subcommands

    def find(self, name):
        function = self.functions.get(name.lower())
        if function is None:
            raise ReplyError("ERR Function not found")
        return function

    def delete(self, name):
        library = self.libraries.get(name)
        if library is None:
            raise ReplyError("ERR Library not found")
        self._unlink(library)

    def flush(self):
        self.libraries = {}
        self.functions = {}
        self.state = self.scripting.new_state()

    def codes(self):
        """Every library's code, as the RDB and the AOF keep them."""
        return [library.code for library in self.libraries.values()]

    def listing(self, pattern=None, with_code=False):
        """FUNCTION LIST's reply: a map per library."""
        reply = []
        for library in self.libraries.values():
            if pattern is not None and not matches(pattern, library.name, nocase=True):
                continue
            entry = {b"library_name": library.name, b"engine": b"LUA", b"functions": [
                {b"name": function.name, b"description": function.description,
                 b"flags": SetReply(flag for flag in SCRIPT_FLAGS if flag in function.flags)}
                for function in library.functions.values()]}
            if with_code:
                entry[b"library_code"] = library.code
            reply.append(entry)
        return reply

    def dump(self):
        """FUNCTION DUMP: the payload FUNCTION RESTORE reads."""
        body = b"".join(bytes((OP_FUNCTION2,)) + encode_string(code, compress=True) for code in self.codes())
        body += struct.pack("<H", RDB_VERSION)
        return body + struct.pack("<Q", crc64(0, body))

    def restore(self, payload, policy):
        """FUNCTION RESTORE: the payload's libraries, then FLUSH, APPEND or REPLACE (libraryJoin)."""
        loaded = {}
        for code in payload_codes(payload):
            library = self.build(code, loaded, False)
            loaded[library.name] = library
        if policy == b"append":
            for name in loaded:
                if name in self.libraries:
                    raise ReplyError("ERR Library %s already exists" % name.decode("utf-8", "replace"))
        staying = [] if policy == b"flush" else [library for name, library in self.libraries.items()
                                                  if name not in loaded]
        taken = {name.lower() for library in staying for name in library.functions}
        for library in loaded.values():
            for name in library.functions:
                if name.lower() in taken:
                    raise ReplyError("ERR Function %s already exists" % name.decode("utf-8", "replace"))
        self.libraries, self.functions = {}, {}
        for library in (*staying, *loaded.values()):
            self._link(library)

    def stats(self, running):
        """FUNCTION STATS' reply."""
        script = None
        if running is not None:
            script = {b"name": running.name, b"command": list(running.caller.argv),
                      b"duration_ms": running.elapsed_ms()}
        return {b"running_script": script, b"engines": {b"LUA": {
            b"libraries_count": len(self.libraries),
            b"functions_count": sum(len(library.functions) for library in self.libraries.values())}}}


def payload_codes(payload):
    """The libraries' codes in a FUNCTION DUMP payload, after checking its version and CRC-64."""
    if len(payload) < 10:
        raise ReplyError(BAD_PAYLOAD)
    body, footer = payload[:-8], payload[-8:]
    version = struct.unpack("<H", payload[-10:-8])[0]
    checksum = struct.unpack("<Q", footer)[0]
    if version > RDB_VERSION or (checksum and crc64(0, body) != checksum):
        raise ReplyError(BAD_PAYLOAD)
    data = memoryview(payload[:-10])
    codes, position = [], 0
    while position < len(data):
        if data[position] != OP_FUNCTION2:
            raise ReplyError("ERR given type is not a function")
        try:
            code, position = read_string(data, position + 1)
        except RDBError:
            raise ReplyError(BAD_PAYLOAD) from None
        codes.append(code)
    return codes
