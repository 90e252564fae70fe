"""The C libraries Redis bundles into its Lua, which lupa's Lua lacks: bit (LuaBitOp) and cjson
(lua-cjson 2.1.0 with Redis's defaults), in Python, with their results and error texts.

build(state) gives each library's functions for one LuaState: a library that returns tables
makes them in that state, in the order the C code fills them (so that next() walks them as in
Redis). A LibraryError's text reaches the script as a Lua error at the caller's line.
"""
import re
from math import floor, isfinite

from scripting.values import is_table, lupa, number_text, type_name


class LibraryError(Exception):
    """An error raised by a library function: Lua sees 'user_script:N: <text>'."""


def bad_argument(position, name, message):
    return LibraryError("bad argument #%d to '%s' (%s)" % (position, name, message))


# ------------------------------------------------------------------ bit (LuaBitOp 1.0.2)


def _tobit(value, position, name):
    """barg(): a number to int32, rounding as LuaBitOp's 2^52+2^51 trick does, then wrapping."""
    if type(value) is bytes:
        try:
            value = float(value)
        except ValueError:
            raise bad_argument(position, name, "number expected, got string") from None
    elif type(value) not in (int, float) or type(value) is bool:
        raise bad_argument(position, name, "number expected, got %s" % (
            "no value" if value is None else type_name(value)))
    if type(value) is float:
        if not isfinite(value):
            return 0
        value = round(value)  # round half to even, as the addition of 6755399441055744.0 does
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _signed(value):
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def _bitwise(name, operation):
    def apply(*args):
        result = _tobit(args[0] if args else None, 1, name)
        for position, arg in enumerate(args[1:], 2):
            result = operation(result, _tobit(arg, position, name))
        return _signed(result)
    return apply


def _shift(name, operation):
    def apply(value=None, count=None):
        return _signed(operation(_tobit(value, 1, name) & 0xFFFFFFFF, _tobit(count, 2, name) & 31))
    return apply


def _tohex(value=None, digits=8):
    number = _tobit(value, 1, "tohex") & 0xFFFFFFFF
    digits = _tobit(digits, 2, "tohex")
    upper = digits < 0
    digits = min(abs(digits), 8)
    text = "%08x" % number
    text = text[8 - digits:] if digits else ""
    return (text.upper() if upper else text).encode()


BIT = {
    "tobit": lambda value=None: _tobit(value, 1, "tobit"),
    "bnot": lambda value=None: _signed(~_tobit(value, 1, "bnot")),
    "band": _bitwise("band", lambda a, b: a & b),
    "bor": _bitwise("bor", lambda a, b: a | b),
    "bxor": _bitwise("bxor", lambda a, b: a ^ b),
    "lshift": _shift("lshift", lambda a, n: a << n),
    "rshift": _shift("rshift", lambda a, n: a >> n),
    "arshift": _shift("arshift", lambda a, n: _signed(a) >> n),
    "rol": _shift("rol", lambda a, n: (a << n) | (a >> (32 - n)) if n else a),
    "ror": _shift("ror", lambda a, n: (a >> n) | (a << (32 - n)) if n else a),
    "bswap": lambda value=None: _signed(int.from_bytes((_tobit(value, 1, "bswap") & 0xFFFFFFFF).to_bytes(4, "big"),
                                                      "little")),
    "tohex": _tohex,
}


# ------------------------------------------------------------------ cjson


_JSON_ESCAPES = {ord('"'): b'\\"', ord("\\"): b"\\\\", ord("/"): b"\\/", 8: b"\\b", 12: b"\\f", 10: b"\\n",
                 13: b"\\r", 9: b"\\t"}
_JSON_CHARS = [_JSON_ESCAPES.get(byte, b"\\u%04x" % byte if byte < 0x20 or byte == 0x7F else bytes((byte,)))
               for byte in range(256)]
MAX_DEPTH = 1000
_DONE = object()  # no value pending
TOKEN_NAMES = ("T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING", "T_NUMBER", "T_BOOLEAN",
               "T_NULL", "T_COLON", "T_COMMA", "T_END")
(OBJ_BEGIN, OBJ_END, ARR_BEGIN, ARR_END, STRING, NUMBER, BOOLEAN, NULL, COLON, COMMA, END, ERROR) = range(12)
_PUNCTUATION = {ord("{"): OBJ_BEGIN, ord("}"): OBJ_END, ord("["): ARR_BEGIN, ord("]"): ARR_END,
                ord(":"): COLON, ord(","): COMMA}
_UNESCAPE = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b", ord("f"): b"\f",
             ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}
# C's strtod(): hex (with a binary exponent), inf/infinity, nan, or a decimal with an exponent.
_STRTOD = re.compile(rb"[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
                     rb"|(?i:infinity|inf|nan)|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")


def strtod(data, position):
    """(value, end) of the longest number C's strtod reads at position, or (None, position)."""
    match = _STRTOD.match(data, position)
    if match is None:
        return None, position
    text = match.group()
    if b"x" in text[:3].lower():
        sign = -1 if text.startswith(b"-") else 1
        return sign * float.fromhex(text.lstrip(b"+-").decode()), match.end()
    return float(text), match.end()


def check_integer(value, position, name, none_is="nil"):
    """luaL_checkinteger(): a number, or a string that reads as one, truncated; a None argument is
    named none_is in the error ("nil", or "no value" where it means the argument is missing)."""
    number = value
    if type(value) is bytes:
        try:
            number = float(value)
        except ValueError:
            number = None
    if type(number) not in (int, float) or type(number) is bool:
        raise bad_argument(position, name, "number expected, got %s" % (
            none_is if value is None else type_name(value)))
    return int(number)


class CJson:
    """One cjson module: encode, decode and the configuration lua-cjson 2.1.0 keeps for them (Redis's
    defaults); cjson.new() makes another with a configuration of its own. null is the state's cjson.null."""

    FIELDS = {"_NAME": b"cjson", "_VERSION": b"2.1.0"}
    _BOOLEAN = ("off", "on")

    def __init__(self, state, null):
        self.state = state
        self.null = null
        self.sparse_convert, self.sparse_ratio, self.sparse_safe = 0, 2, 10
        self.encode_depth = self.decode_depth = MAX_DEPTH
        self.precision = 14
        self.keep_buffer = 1
        self.encode_invalid = 0  # off, on (as %g prints them: inf, nan), null
        self.decode_invalid = 1

    def functions(self):
        return {"encode": self.encode, "decode": self.decode, "new": self.new,
                "encode_sparse_array": self.encode_sparse_array, "encode_max_depth": self.encode_max_depth,
                "decode_max_depth": self.decode_max_depth, "encode_number_precision": self.encode_number_precision,
                "encode_keep_buffer": self.encode_keep_buffer, "encode_invalid_numbers": self.encode_invalid_numbers,
                "decode_invalid_numbers": self.decode_invalid_numbers}

    def new(self, *ignored):
        """cjson.new(): a module of its own, a plain table."""
        module = CJson(self.state, self.null)
        return self.state.library_table(module.functions(), {**self.FIELDS, "null": self.null})

    # -- configuration (json_cfg_*)

    @staticmethod
    def _at_most(args, count, name):
        if len(args) > count:
            raise bad_argument(count + 1, name, "found too many arguments")

    def _integer_option(self, args, index, name, attribute, low, high):
        value = args[index] if index < len(args) else None
        if value is not None:
            number = check_integer(value, index + 1, name)
            if not low <= number <= high:
                raise bad_argument(1, name, "expected integer between %d and %d" % (low, high))
            setattr(self, attribute, number)
        return getattr(self, attribute)

    def _enum_option(self, args, name, attribute, options=_BOOLEAN):
        value = args[0] if args else None
        if value is not None:
            if type(value) is bool:
                setattr(self, attribute, int(value))
            else:
                text = value if type(value) is bytes else number_text(value) if type(value) in (int, float) else None
                if text is None:
                    raise bad_argument(1, name, "string expected, got %s" % type_name(value))
                if text.decode("latin-1") not in options:
                    raise bad_argument(1, name, "invalid option '%s'" % text.decode("latin-1"))
                setattr(self, attribute, options.index(text.decode("latin-1")))
        setting = getattr(self, attribute)
        return bool(setting) if setting in (0, 1) else options[setting].encode()

    def encode_sparse_array(self, *args):
        self._at_most(args, 3, "encode_sparse_array")
        convert = self._enum_option(args[:1], "encode_sparse_array", "sparse_convert")
        ratio = self._integer_option(args, 1, "encode_sparse_array", "sparse_ratio", 0, 2**31 - 1)
        return convert, ratio, self._integer_option(args, 2, "encode_sparse_array", "sparse_safe", 0, 2**31 - 1)

    def encode_max_depth(self, *args):
        self._at_most(args, 1, "encode_max_depth")
        return self._integer_option(args, 0, "encode_max_depth", "encode_depth", 1, 2**31 - 1)

    def decode_max_depth(self, *args):
        self._at_most(args, 1, "decode_max_depth")
        return self._integer_option(args, 0, "decode_max_depth", "decode_depth", 1, 2**31 - 1)

    def encode_number_precision(self, *args):
        self._at_most(args, 1, "encode_number_precision")
        return self._integer_option(args, 0, "encode_number_precision", "precision", 1, 14)

    def encode_keep_buffer(self, *args):
        self._at_most(args, 1, "encode_keep_buffer")
        return self._enum_option(args, "encode_keep_buffer", "keep_buffer")

    def encode_invalid_numbers(self, *args):
        self._at_most(args, 1, "encode_invalid_numbers")
        return self._enum_option(args, "encode_invalid_numbers", "encode_invalid", ("off", "on", "null"))

    def decode_invalid_numbers(self, *args):
        self._at_most(args, 1, "decode_invalid_numbers")
        return self._enum_option(args, "decode_invalid_numbers", "decode_invalid")

    # -- encode

    def encode(self, *args):
        """json_append_data(), with its own stack instead of recursion: tables nest 1000 deep."""
        if len(args) != 1:
            raise bad_argument(1, "encode", "expected 1 argument")
        out, stack, pending = [], [], args[0]
        while True:
            if pending is not _DONE:
                if is_table(pending):
                    stack.append(self._open_table(pending, out, len(stack) + 1))
                else:
                    out.append(self._scalar(pending))
                pending = _DONE
            if not stack:
                return b"".join(out)
            frame = stack[-1]
            entry = next(frame[0], _DONE)
            if entry is _DONE:
                out.append(frame[1])
                stack.pop()
                continue
            if frame[2]:
                out.append(b",")
            frame[2] = True
            key, pending = entry
            if frame[1] == b"}":
                out.append(self._key(key))

    def _open_table(self, table, out, depth):
        """Start a table: [entries iterator, its closing bracket, whether an entry came yet]."""
        if depth > self.encode_depth:
            raise LibraryError("Cannot serialise, excessive nesting (%d)" % depth)
        length = self._array_length(table)
        if length > 0:
            out.append(b"[")
            return [((None, table[index]) for index in range(1, length + 1)), b"]", False]
        out.append(b"{")
        return [iter(table.items()), b"}", False]

    def _scalar(self, value):
        kind = type(value)
        if kind is bytes:
            return b'"' + b"".join(_JSON_CHARS[byte] for byte in value) + b'"'
        if kind is bool:
            return b"true" if value else b"false"
        if kind is int or kind is float:
            if kind is float and not isfinite(value):
                if self.encode_invalid == 0:
                    raise LibraryError("Cannot serialise number: must not be NaN or Inf")
                if self.encode_invalid == 2:
                    return b"null"
                return b"nan" if value != value else b"-inf" if value < 0 else b"inf"
            return b"%.*g" % (self.precision, value)
        if value is None or lupa.lua_type(value) == "userdata":
            return b"null"
        raise LibraryError("Cannot serialise %s: type not supported" % type_name(value))

    def _key(self, key):
        if type(key) is bytes:
            return self._scalar(key) + b":"
        if type(key) in (int, float):
            return b'"' + (b"%.14g" % key) + b'":'
        raise LibraryError("Cannot serialise %s: table key must be a number or string" % type_name(key))

    def _array_length(self, table):
        """lua_array_length(): the array's length, 0 for an empty table, -1 for an object."""
        largest = count = 0
        for key in table.keys():
            if type(key) in (int, float) and type(key) is not bool and key >= 1 and key == int(key):
                largest = max(largest, int(key))
                count += 1
            else:
                return -1
        if self.sparse_ratio > 0 and largest > count * self.sparse_ratio and largest > self.sparse_safe:
            if not self.sparse_convert:
                raise LibraryError("Cannot serialise table: excessively sparse array")
            return -1
        return largest

    # -- decode

    def decode(self, *args):
        if len(args) != 1:
            raise bad_argument(1, "decode", "expected 1 argument")
        data = args[0]
        if type(data) in (int, float) and type(data) is not bool:
            data = number_text(data)
        if type(data) is not bytes:
            raise bad_argument(1, "decode", "string expected, got %s" % type_name(data))
        if len(data) >= 2 and (not data[0] or not data[1]):
            raise LibraryError("JSON parser does not support UTF-16 or UTF-32")
        nul = data.find(b"\0")
        return _JsonParser(data if nul < 0 else data[:nul], self).parse()


class _JsonParser:
    def __init__(self, data, module):
        self.data = data
        self.position = 0
        self.state = module.state
        self.null = module.null
        self.max_depth = module.decode_depth
        self.invalid_numbers = module.decode_invalid

    def fail(self, expected, token):
        kind, value, at = token
        found = value if kind == ERROR else TOKEN_NAMES[kind]
        raise LibraryError("Expected %s but found %s at character %d" % (expected, found, at + 1))

    def token(self):
        """(kind, value, index): json_next_token()."""
        data, position = self.data, self.position
        while position < len(data) and data[position] in b" \t\n\r":
            position += 1
        self.position = position
        if position >= len(data):
            return END, None, position
        byte = data[position]
        kind = _PUNCTUATION.get(byte)
        if kind is not None:
            self.position = position + 1
            return kind, None, position
        if byte == 0x22:
            return self._string(position)
        if byte == 0x2D or 0x30 <= byte <= 0x39:
            if not self.invalid_numbers and self._invalid_number(position):
                return ERROR, "invalid number", position
            return self._number(position)
        for word, kind, value in ((b"true", BOOLEAN, True), (b"false", BOOLEAN, False), (b"null", NULL, None)):
            if data.startswith(word, position):
                self.position = position + len(word)
                return kind, value, position
        if self.invalid_numbers and self._invalid_number(position):
            return self._number(position)
        return ERROR, "invalid token", position

    def _invalid_number(self, position):
        rest = self.data[position:]
        if rest[:1] == b"+":
            return True
        if rest[:1] == b"-":
            rest = rest[1:]
        if rest[:1] == b"0":
            return rest[1:2].lower() == b"x" or rest[1:2].isdigit()
        if rest[:1] and rest[0] <= 0x39:
            return False
        return rest[:3].lower() in (b"inf", b"nan")

    def _number(self, position):
        value, end = strtod(self.data, position)
        if value is None:
            return ERROR, "invalid number", position
        self.position = end
        return NUMBER, value, position

    def _string(self, start):
        data, position = self.data, start + 1
        out = bytearray()
        while True:
            if position >= len(data):
                return ERROR, "unexpected end of string", position
            byte = data[position]
            if byte == 0x22:
                break
            if byte != 0x5C:
                out.append(byte)
                position += 1
                continue
            code = data[position + 1] if position + 1 < len(data) else 0
            if code == ord("u"):
                decoded, position_after = self._unicode_escape(position)
                if decoded is None:
                    return ERROR, "invalid unicode escape code", position
                out += decoded
                position = position_after
                continue
            replacement = _UNESCAPE.get(code)
            if replacement is None:
                return ERROR, "invalid escape code", position
            out += replacement
            position += 2
        self.position = position + 1
        return STRING, bytes(out), start

    def _unicode_escape(self, position):
        def hex_at(at):
            digits = self.data[at:at + 4]
            if len(digits) != 4 or not all(chr(d) in "0123456789abcdefABCDEF" for d in digits):
                return None
            return int(digits, 16)
        code = hex_at(position + 2)
        if code is None:
            return None, position
        end = position + 6
        if 0xDC00 <= code <= 0xDFFF:
            return None, position
        if 0xD800 <= code <= 0xDBFF:
            if self.data[end:end + 2] != b"\\u":
                return None, position
            low = hex_at(end + 2)
            if low is None or not 0xDC00 <= low <= 0xDFFF:
                return None, position
            code = 0x10000 + ((code & 0x3FF) << 10) + (low & 0x3FF)
            end += 6
        return chr(code).encode("utf-8", "surrogatepass"), end

    def parse(self):
        """json_decode(): one value and the end, with its own stack instead of recursion."""
        stack = []  # per open table: [table, OBJ_BEGIN or ARR_BEGIN, the key or index its next value takes]
        token = self.token()
        while True:
            kind = token[0]
            if kind == OBJ_BEGIN or kind == ARR_BEGIN:
                self._descend(len(stack) + 1)
                value = self.state.runtime.table()
                token = self.token()
                if kind == OBJ_BEGIN and token[0] != OBJ_END:
                    stack.append([value, OBJ_BEGIN, self._key(token)])
                    token = self.token()
                    continue
                if kind == ARR_BEGIN and token[0] != ARR_END:
                    stack.append([value, ARR_BEGIN, 1])
                    continue
            elif kind in (STRING, BOOLEAN, NUMBER):
                value = token[1]
            elif kind == NULL:
                value = self.null
            else:
                self.fail("value", token)
            while True:  # a value is complete: into its table, then on to the next
                if not stack:
                    token = self.token()
                    if token[0] != END:
                        self.fail("the end", token)
                    return value
                frame = stack[-1]
                frame[0][frame[2]] = value
                token = self.token()
                closing, expected = (OBJ_END, "comma or object end") if frame[1] == OBJ_BEGIN else \
                    (ARR_END, "comma or array end")
                if token[0] == closing:
                    value = frame[0]
                    stack.pop()
                    continue
                if token[0] != COMMA:
                    self.fail(expected, token)
                token = self.token()
                if frame[1] == OBJ_BEGIN:
                    frame[2] = self._key(token)
                    token = self.token()
                else:
                    frame[2] += 1
                break

    def _key(self, token):
        """An object's key, and the colon after it."""
        if token[0] != STRING:
            self.fail("object key string", token)
        colon = self.token()
        if colon[0] != COLON:
            self.fail("colon", colon)
        return token[1]

    def _descend(self, depth):
        if depth > self.max_depth:
            raise LibraryError("Found too many nested data structures (%d) at character %d" % (depth, self.position))


# ------------------------------------------------------------------ math.random (Lua 5.1's, over redisLrand48)


def math_functions(generator):
    def random(*args):
        r = generator.fraction()
        if not args:
            return r
        if len(args) > 2:
            raise LibraryError("wrong number of arguments")
        bounds = [check_integer(arg, position, "random", "no value") for position, arg in enumerate(args, 1)]
        lower, upper = (1, bounds[0]) if len(bounds) == 1 else bounds
        if lower > upper:
            raise bad_argument(len(args), "random", "interval is empty")
        return floor(r * (upper - lower + 1)) + lower

    def randomseed(*args):
        generator.seed(check_integer(args[0] if args else None, 1, "randomseed", "no value"))
    return {"random": random, "randomseed": randomseed}

