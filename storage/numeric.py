"""Numbers as Redis reads and writes them.

Integers are exact base-10 int64 (protocol.string_to_int). INCRBYFLOAT and
HINCRBYFLOAT compute in C's long double (x87 80-bit: a 64-bit significand)
and print with "%.17Lf" minus trailing zeros, which is why 10.5 + 0.1 shows
as 10.6 there and not 10.599999999999999. Python has no long double, so
values here are exact Fractions rounded to that format after every step.
"""
import math
import re
import sys
from fractions import Fraction

from errors import NOT_INTEGER, ReplyError
from protocol import string_to_int

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
NOT_FLOAT = "ERR value is not a valid float"
NAN_OR_INFINITY = "ERR increment would produce NaN or Infinity"

_SIGNIFICAND_BITS = 64
_MIN_EXPONENT = -16382  # of a normal long double; subnormals reach 2**-16445
_OVERFLOW = 2**16384
_MAX_CHARS = 5 * 1024  # Redis's MAX_LONG_DOUBLE_CHARS

# A long double near its limit prints as ~4950 digits, past Python's default cap of 4300 for
# int <-> str conversion; inputs are capped at _MAX_CHARS, so a slightly higher cap is safe.
if 0 < sys.get_int_max_str_digits() < 2 * _MAX_CHARS:
    sys.set_int_max_str_digits(2 * _MAX_CHARS)

_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?")
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.IGNORECASE)


_STRTOD_DECIMAL = re.compile(rb"[+-]?(\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_STRTOD_HEX = re.compile(rb"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?")
_NONZERO = re.compile(rb"[1-9a-fA-F]")
_SPACES = b" \t\n\v\f\r"


def strtod(text):
    """C's strtod when it must consume all of text: (value, out of range), or None.

    Out of range is strtod's ERANGE that Redis refuses: a finite number too
    big (HUGE_VAL) or a nonzero one too small (zero).
    """
    infinity = _INFINITY.fullmatch(text)
    if infinity:
        return (-math.inf if infinity.group(1) == b"-" else math.inf), False
    number = _STRTOD_DECIMAL.fullmatch(text) or _STRTOD_HEX.fullmatch(text)
    if number is None:
        return None
    try:
        value = float(text) if number.re is _STRTOD_DECIMAL else float.fromhex(text.decode())
    except OverflowError:
        return (-math.inf if text[:1] == b"-" else math.inf), True
    out_of_range = math.isinf(value) or (value == 0 and _NONZERO.search(number.group(1)) is not None)
    return value, out_of_range


def parse_double(raw):
    """A double as Redis's string2d reads it (whole string, no leading space, no NaN, no ERANGE); None if
    invalid. Scores, and RedisModule_StringToDouble."""
    if not raw or raw[:1] in _SPACES:
        return None
    parsed = strtod(raw)
    if parsed is None or parsed[1]:
        return None
    return parsed[0]


class Infinite(Exception):
    """The value is (or rounds to) an infinity."""


def to_int(raw):
    """An argument that must be an int64, else Redis's error."""
    value = string_to_int(raw)
    if value is None:
        raise ReplyError(NOT_INTEGER)
    return value


def to_int_in_range(raw, low, high, message=None):
    """Redis's getRangeLongFromObjectOrReply: an integer argument within [low, high].

    message, when given, replaces both of Redis's default errors, as the C function's msg does.
    """
    value = string_to_int(raw)
    if value is None:
        raise ReplyError(message or NOT_INTEGER)
    if not low <= value <= high:
        raise ReplyError(message or "ERR value is out of range, value must between %d and %d" % (low, high))
    return value


def to_int32(raw, message=None):
    """Redis's getIntFromObjectOrReply: a C int argument."""
    return to_int_in_range(raw, INT32_MIN, INT32_MAX, message)


def round_long_double(value):
    """The long double nearest to an exact Fraction (ties to even); Infinite on overflow."""
    if value == 0:
        return Fraction(0)
    magnitude = abs(value)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1
    quantum = max(exponent, _MIN_EXPONENT) - (_SIGNIFICAND_BITS - 1)
    scaled = magnitude / Fraction(2) ** quantum
    units = round(scaled)  # Fraction rounds half to even
    result = units * Fraction(2) ** quantum
    if result >= _OVERFLOW:
        raise Infinite
    return result if value > 0 else -result


def _parse_hex(match):
    sign, whole, fraction, exponent = match.groups()
    if not whole and not fraction:
        return None
    digits = int((whole + fraction) or b"0", 16)
    value = Fraction(digits) * Fraction(2) ** (int(exponent or 0) - 4 * len(fraction))
    return -value if sign == b"-" else value


def parse_long_double(raw):
    """An argument as Redis's string2ld reads it (strtold, whole string, no NaN, no under/overflow).

    Returns a Fraction, or float('inf') / float('-inf') for an infinity; None when invalid.
    """
    if not raw or len(raw) >= _MAX_CHARS:
        return None
    infinity = _INFINITY.fullmatch(raw)
    if infinity:
        return float("-inf") if infinity.group(1) == b"-" else float("inf")
    hex_match = _HEX.fullmatch(raw)
    if hex_match:
        exact = _parse_hex(hex_match)
    elif _DECIMAL.fullmatch(raw):
        exact = Fraction(raw.decode())
    else:
        return None
    if exact is None:
        return None
    try:
        value = round_long_double(exact)
    except Infinite:
        return None  # strtold: ERANGE with HUGE_VAL
    if value == 0 and exact != 0:
        return None  # strtold: ERANGE underflow to zero
    return value


def format_long_double(value):
    """Redis's ld2string in human mode: "%.17Lf", then trailing zeros and a bare '.' dropped."""
    scaled = round(value * 10**17)  # half to even, as glibc printf rounds the exact value
    negative = scaled < 0 or (scaled == 0 and value < 0)
    digits = str(abs(scaled)).rjust(18, "0")
    text = ("-" if negative else "") + digits[:-17] + "." + digits[-17:]
    text = text.rstrip("0").rstrip(".")
    return b"0" if text == "-0" else text.encode()


def increment_long_double(current, increment):
    """current + increment (both raw strings, current may be None) as the stored result text."""
    base = Fraction(0) if current is None else parse_long_double(current)
    delta = parse_long_double(increment)
    if base is None or delta is None:
        raise ReplyError(NOT_FLOAT)
    if isinstance(base, float) or isinstance(delta, float):
        raise ReplyError(NAN_OR_INFINITY)
    try:
        total = round_long_double(base + delta)
    except Infinite:
        raise ReplyError(NAN_OR_INFINITY) from None
    return format_long_double(total)
