"""The two binary packers Redis bundles into its Lua: cmsgpack (lua-cmsgpack 0.4.0) and struct
(Roberto Ierusalimschy's struct library), in Python with their results and error texts.

Tables are read in next() order and made in the order the C code fills them, as in libraries.py.
"""
import struct as native

from scripting.libraries import LibraryError, bad_argument, check_integer
from scripting.values import is_table, number_text, type_name

MAX_NESTING = 16  # LUACMSGPACK_MAX_NESTING: deeper tables pack as nil
INT64 = 1 << 64


# ------------------------------------------------------------------ cmsgpack


def _is_int64(number):
    """IS_INT64_EQUIVALENT(): integral and within int64."""
    if type(number) is float and (number != number or abs(number) == float("inf") or number != int(number)):
        return False
    return -(1 << 63) <= int(number) < (1 << 63)


def _pack_int(value):
    value = int(value)
    if value >= 0:
        if value <= 0x7F:
            return bytes((value,))
        for limit, code, layout in ((0xFF, 0xCC, ">B"), (0xFFFF, 0xCD, ">H"), (0xFFFFFFFF, 0xCE, ">I")):
            if value <= limit:
                return bytes((code,)) + native.pack(layout, value)
        return b"\xcf" + native.pack(">Q", value)
    if value >= -32:
        return native.pack(">b", value)
    for limit, code, layout in ((-128, 0xD0, ">b"), (-32768, 0xD1, ">h"), (-2147483648, 0xD2, ">i")):
        if value >= limit:
            return bytes((code,)) + native.pack(layout, value)
    return b"\xd3" + native.pack(">q", value)


def _pack_double(value):
    try:
        single = native.unpack(">f", native.pack(">f", value))[0]
    except OverflowError:
        single = None
    if single == value:  # a NaN is never equal to itself: a double
        return b"\xca" + native.pack(">f", value)
    return b"\xcb" + native.pack(">d", value)


def _pack_length(length, small_code, small_limit, codes):
    if length < small_limit:
        return bytes((small_code | length,))
    code16, code32 = codes
    if length <= 0xFFFF:
        return bytes((code16,)) + native.pack(">H", length)
    return bytes((code32,)) + native.pack(">I", length)


def _pack_bytes(value):
    length = len(value)
    if length < 32:
        head = bytes((0xA0 | length,))
    elif length <= 0xFF:
        head = b"\xd9" + bytes((length,))
    else:
        head = b"\xda" + native.pack(">H", length) if length <= 0xFFFF else b"\xdb" + native.pack(">I", length)
    return head + value


def _table_is_an_array(table):
    count = largest = 0
    for key in table.keys():
        if type(key) not in (int, float) or type(key) is bool or key <= 0 or key != int(key):
            return False
        largest = max(largest, int(key))
        count += 1
    return largest == count


def _pack_value(value, level, out):
    kind = type(value)
    if kind is bytes:
        out.append(_pack_bytes(value))
    elif kind is bool:
        out.append(b"\xc3" if value else b"\xc2")
    elif kind is int or kind is float:
        out.append(_pack_int(value) if _is_int64(value) else _pack_double(float(value)))
    elif is_table(value) and level < MAX_NESTING:
        if _table_is_an_array(value):
            length = len(value)
            out.append(_pack_length(length, 0x90, 16, (0xDC, 0xDD)))
            for index in range(1, length + 1):
                _pack_value(value[index], level + 1, out)
        else:
            pairs = list(value.items())
            out.append(_pack_length(len(pairs), 0x80, 16, (0xDE, 0xDF)))
            for key, item in pairs:
                _pack_value(key, level + 1, out)
                _pack_value(item, level + 1, out)
    else:
        out.append(b"\xc0")


def pack(*values):
    if not values:
        raise bad_argument(0, "pack", "MessagePack pack needs input.")
    out = []
    for value in values:
        _pack_value(value, 0, out)
    return b"".join(out)


class _MissingBytes(Exception):
    pass


class _BadFormat(Exception):
    pass


LUA_STACK_SLOTS = 8000  # LUAI_MAXCSTACK: what luaL_checkstack allows a C function
RETURN_VALUES = "too many return values at once; use unpack_one or unpack_limit instead."
IN_ARRAY = "in function mp_decode_to_lua_array"
_NO_KEY = object()  # a map waiting for its next key
_SIMPLE = {0xC0: None, 0xC2: False, 0xC3: True}
_LAYOUTS = {0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q",
            0xCA: ">f", 0xCB: ">d"}


class _Unpacker:
    """mp_decode_to_lua_type() over bytes, making tables in the given Lua state."""

    def __init__(self, state, data, position):
        self.state = state
        self.data = data
        self.position = position

    def take(self, count):
        end = self.position + count
        if end > len(self.data):
            raise _MissingBytes()
        chunk = self.data[self.position:end]
        self.position = end
        return chunk

    def number(self, layout):
        return native.unpack(layout, self.take(native.calcsize(layout)))[0]

    def value(self, used):
        """One value, tables decoded with a stack of our own. used is the Lua stack slots the C code has
        taken when it starts (arguments, values before); taken grows as Redis's would (a table and its
        next index for an array, a table and a pending key for a map) and runs out as it does."""
        taken = used
        open_tables = []  # per table being filled: [table, is_map, entries left, next index or pending key]
        while True:
            self._check_stack(taken, RETURN_VALUES)
            kind, item = self._one()
            if kind is not None:
                table = self.state.runtime.table()
                if kind == "array":
                    self._check_stack(taken + 1, IN_ARRAY)
                if item:
                    open_tables.append([table, kind == "map", item, _NO_KEY if kind == "map" else 1])
                    taken += 1 if kind == "map" else 2
                    continue
                item = table
            while True:  # a value is complete: into its table; a full table is a value in turn
                if not open_tables:
                    return item
                frame = open_tables[-1]
                if frame[1]:
                    if frame[3] is _NO_KEY:
                        frame[3] = item
                        taken += 1
                        break
                    if frame[3] is None:
                        raise LibraryError("table index is nil")
                    frame[0][frame[3]] = item
                    frame[3] = _NO_KEY
                    taken -= 1
                else:
                    if item is not None:
                        frame[0][frame[3]] = item
                    frame[3] += 1
                frame[2] -= 1
                if frame[2]:
                    break
                item = frame[0]
                open_tables.pop()
                taken -= 1 if frame[1] else 2

    @staticmethod
    def _check_stack(slots, message):
        """luaL_checkstack(L, 1, message) with slots already taken."""
        if slots + 1 > LUA_STACK_SLOTS:
            raise LibraryError("stack overflow (%s)" % message)

    def _one(self):
        """(None, a scalar), or ("array" or "map", its length) for a table to open."""
        code = self.take(1)[0]
        if code <= 0x7F:
            return None, code
        if code >= 0xE0:
            return None, code - 0x100
        if 0xA0 <= code <= 0xBF:
            return None, self.take(code & 0x1F)
        if 0x90 <= code <= 0x9F:
            return "array", code & 0x0F
        if 0x80 <= code <= 0x8F:
            return "map", code & 0x0F
        if code in _SIMPLE:
            return None, _SIMPLE[code]
        if code in _LAYOUTS:
            return None, self.number(_LAYOUTS[code])
        if code in (0xD9, 0xDA, 0xDB):
            return None, self.take(self.number({0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}[code]))
        if code in (0xDC, 0xDD):
            return "array", self.number(">H" if code == 0xDC else ">I")
        if code in (0xDE, 0xDF):
            return "map", self.number(">H" if code == 0xDE else ">I")
        raise _BadFormat()


def _unpack(state, data, limit, offset, arguments=1):
    """mp_unpack_full(): the values, with the next offset first when a limit or offset was given.
    arguments: how many the script passed, which stay on Lua's stack (unpack_one and unpack_limit keep one)."""
    if type(data) is not bytes:
        raise bad_argument(1, "unpack", "string expected, got %s" % ("no value" if data is None else type_name(data)))
    if offset < 0 or limit < 0:
        raise LibraryError("Invalid request to unpack with offset of %d and limit of %d." % (offset, len(data)))
    if offset > len(data):
        raise LibraryError("Start offset %d greater than input length %d." % (offset, len(data)))
    decode_all = not limit and not offset
    unpacker = _Unpacker(state, data, offset)
    values = []
    try:
        while unpacker.position < len(data) and (decode_all or len(values) < limit):
            values.append(unpacker.value(arguments + len(values)))
    except _MissingBytes:
        raise LibraryError("Missing bytes in input.") from None
    except _BadFormat:
        raise LibraryError("Bad data format in input.") from None
    if decode_all:
        return tuple(values)
    return (-1 if unpacker.position == len(data) else unpacker.position, *values)


def _integer_argument(value, position, name, default=None):
    if value is None and default is not None:
        return default
    return check_integer(value, position, name, "no value")


def cmsgpack_functions(state):
    def unpack(data=None, *ignored):
        return _unpack(state, data, 0, 0, 1 + len(ignored))

    def unpack_one(data=None, offset=None, *ignored):
        return _unpack(state, data, 1, _integer_argument(offset, 2, "unpack_one", 0))

    def unpack_limit(data=None, limit=None, offset=None, *ignored):
        count = _integer_argument(limit, 2, "unpack_limit")
        return _unpack(state, data, count, _integer_argument(offset, 3, "unpack_limit", 0))
    return {"pack": pack, "unpack": unpack, "unpack_one": unpack_one, "unpack_limit": unpack_limit}


CMSGPACK_FIELDS = {"_NAME": b"cmsgpack", "_VERSION": b"lua-cmsgpack 0.4.0",
                   "_COPYRIGHT": b"Copyright (C) 2012, Salvatore Sanfilippo",
                   "_DESCRIPTION": b"MessagePack C implementation for Lua"}


# ------------------------------------------------------------------ struct


MAX_INT_SIZE = 32
MAX_ALIGN = 8
_FIXED_SIZES = {"b": 1, "B": 1, "h": 2, "H": 2, "l": 8, "L": 8, "T": 8, "f": 4, "d": 8, "x": 1}


class _Format:
    """A format string read as struct.c reads it: options, their sizes, endianness and alignment."""

    def __init__(self, text, function):
        self.text = text.decode("latin-1")
        self.position = 0
        self.function = function
        self.little = True
        self.align = 1

    def options(self):
        """(option, size) for each option; control options are applied as they come."""
        while self.position < len(self.text):
            option = self.text[self.position]
            self.position += 1
            yield option, self._size(option)

    def _number(self, default):
        start = self.position
        while self.position < len(self.text) and self.text[self.position].isdigit():
            self.position += 1
        return int(self.text[start:self.position]) if self.position > start else default

    def _size(self, option):
        if option in _FIXED_SIZES:
            return _FIXED_SIZES[option]
        if option == "c":
            return self._number(1)
        if option in "iI":
            size = self._number(4)
            if size > MAX_INT_SIZE:
                raise LibraryError("integral size %d is larger than limit of %d" % (size, MAX_INT_SIZE))
            return size
        return 0

    def padding(self, length, option, size):
        """gettoalign()"""
        if size == 0 or option == "c":
            return 0
        size = min(size, self.align)
        return (size - (length & (size - 1))) & (size - 1)

    def control(self, option):
        """controloptions()"""
        if option == " ":
            return
        if option in "><=":
            self.little = option != ">"
        elif option == "!":
            alignment = self._number(MAX_ALIGN)
            if alignment & (alignment - 1) or not alignment:
                raise LibraryError("alignment %d is not a power of 2" % alignment)
            self.align = alignment
        else:
            raise bad_argument(1, self.function, "invalid format option '%s'" % option)


def _check_number(arguments, index, function):
    """luaL_checknumber() of argument index (1-based); past the arguments Lua sees pack's nil mark, then none."""
    value = arguments[index - 1] if index <= len(arguments) else None
    if type(value) is bytes:
        try:
            return float(value)
        except ValueError:
            pass
    elif type(value) in (int, float) and type(value) is not bool:
        return value
    raise bad_argument(index, function, "number expected, got %s" % _shown_type(arguments, index, function))


def _check_string(arguments, index, function):
    value = arguments[index - 1] if index <= len(arguments) else None
    if type(value) in (int, float) and type(value) is not bool:
        return number_text(value)
    if type(value) is bytes:
        return value
    raise bad_argument(index, function, "string expected, got %s" % _shown_type(arguments, index, function))


def _shown_type(arguments, index, function):
    """The type a luaL_check* error names: pack pushes a nil after its arguments, read as one more."""
    if index <= len(arguments) or function == "pack" and index == len(arguments) + 1 and index > 1:
        return type_name(arguments[index - 1] if index <= len(arguments) else None)
    return "no value"


def _integer_bytes(number, size, little):
    value = int(number) & (INT64 - 1)  # (Uinttype)(Itype)n, or (Uinttype)n: 64 bits, then zeros
    raw = value.to_bytes(8, "little") + bytes(max(0, size - 8))
    raw = raw[:size]
    return raw if little else raw[::-1]


def struct_pack(*arguments):
    fmt = _Format(_check_string(arguments, 1, "pack"), "pack")
    out = bytearray()
    index = 2
    for option, size in fmt.options():
        out += bytes(fmt.padding(len(out), option, size))
        if option in "bBhHlLTiI":
            out += _integer_bytes(_check_number(arguments, index, "pack"), size, fmt.little)
            index += 1
        elif option == "x":
            out += b"\0"
        elif option in "fd":
            layout = ("<" if fmt.little else ">") + option
            number = _check_number(arguments, index, "pack")
            index += 1
            try:
                out += native.pack(layout, number)
            except OverflowError:
                out += native.pack(layout, float("inf") if number > 0 else float("-inf"))
        elif option in "cs":
            text = _check_string(arguments, index, "pack")
            index += 1
            if size == 0:
                size = len(text)
            if len(text) < size:
                raise bad_argument(index, "pack", "string too short")
            out += text[:size]
            if option == "s":
                out += b"\0"
        else:
            fmt.control(option)
    return bytes(out)


def _integer_value(raw, little, signed):
    data = raw if not little else raw[::-1]
    value = 0
    for byte in data:
        value = ((value << 8) | byte) & (INT64 - 1)
    if signed:
        mask = ((INT64 - 1) << ((len(raw) * 8 - 1) % 64)) & (INT64 - 1)
        if value & mask:
            value |= mask
        if value >= 1 << 63:
            value -= INT64
    return value


def struct_unpack(*arguments):
    fmt = _Format(_check_string(arguments, 1, "unpack"), "unpack")
    data = _check_string(arguments, 2, "unpack")
    position = (_integer_argument(arguments[2] if len(arguments) > 2 else None, 3, "unpack", 1)) - 1
    if position == -1:
        raise bad_argument(3, "unpack", "offset must be 1 or greater")
    values = []
    for option, size in fmt.options():
        position += fmt.padding(position, option, size)
        if position < 0 or position + size > len(data):  # below 0: a size_t that wrapped round
            raise bad_argument(2, "unpack", "data string too short")
        if option in "bBhHlLTiI":
            values.append(_integer_value(data[position:position + size], fmt.little, option.islower()))
        elif option in "fd":
            values.append(native.unpack(("<" if fmt.little else ">") + option, data[position:position + size])[0])
        elif option == "c":
            if size == 0:
                if not values or type(values[-1]) not in (int, float):
                    raise LibraryError("format 'c0' needs a previous size")
                size = int(values.pop())
                if position + size > len(data):
                    raise bad_argument(2, "unpack", "data string too short")
            values.append(data[position:position + size])
        elif option == "s":
            end = data.find(b"\0", position)
            if end < 0:
                raise LibraryError("unfinished string in data")
            size = end - position + 1
            values.append(data[position:end])
        elif option != "x":
            fmt.control(option)
        position += size
    return (*values, position + 1)


def struct_size(*arguments):
    fmt = _Format(_check_string(arguments, 1, "size"), "size")
    position = 0
    for option, size in fmt.options():
        position += fmt.padding(position, option, size)
        if option == "s":
            raise bad_argument(1, "size", "option 's' has no fixed size")
        if option == "c" and size == 0:
            raise bad_argument(1, "size", "option 'c0' has no fixed size")
        if not option.isalnum():
            fmt.control(option)
        position += size
    return position


STRUCT = {"pack": struct_pack, "unpack": struct_unpack, "size": struct_size}
