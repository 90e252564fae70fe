"""One Lua 5.1 state (lupa's lua51) with Redis 7.0's sandbox: what EVAL's scripts, or FUNCTION's
libraries, run in. SCRIPT FLUSH and FUNCTION FLUSH throw a state away and build a new one.

The sandbox itself is Lua (sandbox.lua): read-only globals and library tables, the error handler
that adds the script's source and line, chunks read only as text. redis.* and the libraries are
Python callables, C functions to Lua as Redis's are; a script cannot climb from one into the
interpreter: lupa's attribute access is refused and their metatable is locked.

A count hook calls tick() every HOOK_INSTRUCTIONS instructions: the running script's owner
(scripting.ScriptRun) yields to gevent there and may answer with a kill error.
"""
import hashlib
import os

from scripting import packing
from scripting.libraries import BIT, CJson, LibraryError, math_functions
from scripting.values import lupa
from serving.version import REDIS_VERSION

HOOK_INSTRUCTIONS = 100_000  # as Redis's luaMaskCountHook
MEMORY_LIMIT = 256 * 1024 * 1024  # a script that allocates without bound fails with "not enough memory"
CHUNK_NAME = b"@user_script"
_SANDBOX = os.path.join(os.path.dirname(__file__), "sandbox.lua")
# cjson.null: a userdata, as Redis's lightuserdata NULL, which tostring() shows as "userdata: (nil)".
_NULL = b"""local null = newproxy(true)
local mt = getmetatable(null)
mt.__tostring = function() return "userdata: (nil)" end
mt.__metatable = false
return null"""
LuaMemoryError = lupa.LuaMemoryError


def _refuse_attribute(obj, name, is_setting):
    raise AttributeError(name)


def version_number(version=REDIS_VERSION):
    major, minor, patch = (int(part) for part in version.split("."))
    return (major << 16) | (minor << 8) | patch


def sha1hex(data):
    return hashlib.sha1(data).hexdigest().encode()


class LuaState:
    """A runtime with the sandbox loaded; the caller supplies the bridges (dispatch, log, libraries...)."""

    def __init__(self, bridges, generator):
        self.runtime = lupa.LuaRuntime(encoding=None, unpack_returned_tuples=True, register_eval=False,
                                       register_builtins=False, attribute_filter=_refuse_attribute,
                                       max_memory=MEMORY_LIMIT)
        bridge = self.runtime.table_from({
            b"hook_count": HOOK_INSTRUCTIONS, b"version": REDIS_VERSION.encode(),
            b"version_num": version_number(),
            **{name.encode(): function for name, function in bridges.items()},
        })
        self.null = self.runtime.execute(_NULL)
        bridge[b"libraries"] = self.runtime.table_from({
            name.encode(): self.table_from_map({b"functions": self.table_from_map(functions),
                                                b"values": self.table_from_map(values)})
            for name, (functions, values) in self.libraries(generator).items()})
        with open(_SANDBOX, "rb") as file:
            build = self.runtime.compile(file.read(), name=b"=mini-redis")
        self.controls = build(bridge)
        self.error_table = self.controls[b"error_table"]
        self.where = lambda: self.controls[b"where"]().decode("utf-8", "replace")
        self.run_script = self.controls[b"run"]
        self.run_function = self.controls[b"run_function"]

    def libraries(self, generator):
        """{library name: (its functions, its other fields)}: the C libraries Redis bundles, and math.random."""
        libraries = {
            "math": (math_functions(generator), {}),
            "bit": (BIT, {}),
            "cjson": (CJson(self, self.null).functions(), {"null": self.null, **CJson.FIELDS}),
            "cmsgpack": (packing.cmsgpack_functions(self), packing.CMSGPACK_FIELDS),
            "struct": (packing.STRUCT, {}),
        }
        return {name: ({key: self.positioned(function) for key, function in functions.items()}, values)
                for name, (functions, values) in libraries.items()}

    def positioned(self, function):
        """The function, its LibraryError prefixed with the caller's position, as luaL_error prefixes it."""
        def call(*args):
            try:
                return function(*args)
            except LibraryError as error:
                raise LibraryError(self.where() + str(error)) from None
        return call

    def library_table(self, functions, values):
        """A plain table of positioned functions and fields (cjson.new()'s module)."""
        return self.table_from_map({**{name: self.positioned(function) for name, function in functions.items()},
                                    **values})

    def table_from_map(self, items):
        table = self.runtime.table()
        for name, value in items.items():
            table[name.encode() if type(name) is str else name] = value
        return table

    def table(self, items):
        return self.runtime.table_from(items)

    def single(self, key, value):
        """{key=value}: the tables of one field replies become ({ok=...}, {double=...}...)."""
        return self.runtime.table_from({key: value})

    def mapping(self, pairs):
        """A table filled pair by pair, in order, as Redis's C code fills one."""
        table = self.runtime.table()
        for key, value in pairs:
            table[key] = value
        return table

    def compile(self, source, chunkname=CHUNK_NAME):
        """(function, None), or (None, Lua's message) for a syntax error."""
        function, message = self.controls[b"compile"](source, chunkname)
        return function, message

    def memory_used(self):
        return self.runtime.get_memory_used() or 0
