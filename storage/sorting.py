"""What SORT computes apart from the keyspace: scores read as C's strtod reads them, the keys that BY
and GET patterns name, and the orders of Redis's sortCompare as sort keys.

Redis sorts with glibc's qsort, a stable merge sort, so elements that compare equal keep the order
they were loaded in; Python's sort is stable too (also with reverse=True, as Redis's negated
comparison is), which makes the same order here.
"""
import re
from fractions import Fraction

DBL_MIN = 2.2250738585072014e-308
INFINITY = float("inf")

# strtod's longest prefix: white space, a sign, then a hex float, a decimal, inf[inity] or nan[(chars)].
_STRTOD = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:"
    rb"0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+))(?:[pP]([+-]?[0-9]+))?"
    rb"|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)"
    rb"|([iI][nN][fF](?:[iI][nN][iI][tT][yY])?)"
    rb"|([nN][aA][nN](?:\([0-9A-Za-z_]*\))?))")


_PLAIN = re.compile(rb"[+-]?[0-9]{1,15}(?:\.[0-9]{0,15})?")


def c_string(raw):
    """What C sees of a string: up to its first NUL."""
    return raw.split(b"\0", 1)[0]


def parse_score(raw):
    """A value as SORT reads it (strtod, then a check that it read up to the end of the C string
    and neither overflowed, underflowed, nor made a NaN): a float, or None when Redis refuses it.
    An empty string reads as 0, as strtod leaves it."""
    if _PLAIN.fullmatch(raw):  # the common case: too few digits to overflow or underflow
        return float(raw)
    text = c_string(raw)
    match = _STRTOD.match(text)
    if match is None:
        return None if text else 0.0
    if match.end() != len(text):
        return None
    sign, hex_digits, hex_exponent, decimal, infinity, nan = match.groups()
    if nan is not None:
        return None
    if infinity is not None:
        value = INFINITY
    elif hex_digits is not None:
        value = _hex_value(hex_digits, int(hex_exponent or b"0"))
    else:
        value = _decimal_value(decimal)
    if value is None:
        return None
    return -value if sign == b"-" else value


def strtod(raw):
    """What C's strtod(raw, NULL) returns: the value of the longest prefix that reads as a number (0.0
    when none does), overflow as infinity, underflow as the nearest denormal or zero."""
    match = _STRTOD.match(c_string(raw))
    if match is None:
        return 0.0
    sign, hex_digits, hex_exponent, decimal, infinity, nan = match.groups()
    if hex_digits is not None:
        mantissa = hex_digits.replace(b".", b"") or b"0"
        exponent = int(hex_exponent or b"0") - 4 * len(hex_digits.partition(b".")[2])
        try:
            value = float.fromhex("0x%sp%d" % (mantissa.decode(), exponent))
        except OverflowError:
            value = INFINITY
    else:
        value = float(decimal or (b"nan" if nan is not None else b"inf"))
    return -value if sign == b"-" else value


def _hex_value(digits, exponent):
    """A hex float's magnitude, None where glibc sets ERANGE (overflow, or an inexact result below DBL_MIN)."""
    whole, _, fraction = digits.partition(b".")
    mantissa = int(whole + fraction or b"0", 16)
    exponent -= 4 * len(fraction)
    try:
        value = float.fromhex("0x%xp%d" % (mantissa, exponent)) if mantissa else 0.0
    except OverflowError:
        return None
    if mantissa and value < DBL_MIN:  # exact only if no bit falls below 2**-1074
        trailing_zeros = (mantissa & -mantissa).bit_length() - 1
        if exponent + trailing_zeros < -1074:
            return None
    return value


def _decimal_value(text):
    value = float(text)
    if value == INFINITY:
        return None
    if value < DBL_MIN:
        mantissa = text.lower().split(b"e")[0]
        if value == 0:
            return None if mantissa.strip(b"0.") else 0.0
        if (Fraction(text.decode()) * 2**1074).denominator != 1:  # inexact: glibc's underflow
            return None
    return value


ELEMENT = object()  # what the pattern "#" names: the element itself


def pattern_target(pattern, element):
    """What a BY or GET pattern names for an element, as Redis's lookupKeyByPattern reads it: ELEMENT
    for "#", None without a '*', else (key, hash field or None). The first '*' takes the element;
    a "->" after it followed by something names a hash field (C sees the pattern up to a NUL)."""
    seen = c_string(pattern)
    if seen == b"#":
        return ELEMENT
    star = seen.find(b"*")
    if star < 0:
        return None
    arrow = seen.find(b"->", star + 1)
    if 0 <= arrow and arrow + 2 < len(seen):
        return pattern[:star] + element + pattern[star + 1:arrow], pattern[arrow + 2:]
    return pattern[:star] + element + pattern[star + 1:], None


def alpha_key(value, binary):
    """ALPHA order of a value (an element, or what BY named for it; None, a missing one, comes first):
    bytes as memcmp compares them when the result is stored, else as strcoll in the C locale
    (strcmp, which stops at a NUL)."""
    if value is None:
        return (0, b"")
    value = bytes(value)  # a bitmap's bytearray is no key for the set of keys that finds ties
    return (1, value if binary else c_string(value))
