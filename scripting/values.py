"""Lua values as lupa hands them to Python (lua51, strings as bytes), and the few questions every
module here asks of them."""
import lupa.lua51 as lupa


def is_table(value):
    return lupa.lua_type(value) == "table"


def number_text(value):
    """A Lua number as lua_tolstring prints it (%.14g), as redis.call passes it on."""
    if type(value) is int and -10**14 < value < 10**14:
        return b"%d" % value
    return b"%.14g" % value


def type_name(value):
    """Lua's type() of a value."""
    if value is None:
        return "nil"
    if type(value) is bool:
        return "boolean"
    if type(value) in (int, float):
        return "number"
    if type(value) is bytes:
        return "string"
    return lupa.lua_type(value) or "userdata"
