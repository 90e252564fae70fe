"""A small example module for the tests: a 'ctr' type holding named counters (a dict of bytes to ints)."""
from modules.api import Null, ReplyError, Status

COUNTERS = None
EVENTS = []  # (event, key) the subscription saw: read back through CTR.EVENTS
SETTINGS = {}


def save(writer, value):
    writer.unsigned(len(value))
    for name, count in value.items():
        writer.string(name)
        writer.signed(count)
    writer.double(0.5)
    writer.float(0.25)


def load(reader, encoding_version):
    value = {}
    for _ in range(reader.unsigned()):
        name = reader.string()
        value[name] = reader.signed()
    if reader.double() != 0.5 or reader.float() != 0.25:
        return None
    return value


def rewrite(key, value):
    return [[b"CTR.INCRBY", key, name, b"%d" % count] for name, count in value.items()]


def memory_usage(value):
    return 64 + 48 * len(value)


def copy(value):
    return dict(value)


def ctr_incrby(ctx, key, name, amount):
    """CTR.INCRBY key name amount: the counter's new value."""
    try:
        amount = int(amount)
    except ValueError:
        raise ReplyError("ERR value is not an integer or out of range") from None
    value = ctx.get_value(key, COUNTERS)
    if value is None:
        value = {}
        ctx.set_value(key, COUNTERS, value)
    value[name] = value.get(name, 0) + amount
    ctx.notify("d", b"ctr.incrby", key)
    return value[name]


def ctr_get(ctx, key, name):
    value = ctx.get_value(key, COUNTERS)
    return None if value is None or name not in value else value[name]


def ctr_all(ctx, key):
    value = ctx.get_value(key, COUNTERS)
    return Null if value is None else {name.decode(): count for name, count in value.items()}


def ctr_shapes(ctx):
    return [1, b"bulk", "text", Status("FINE"), None, 1.5, True, [Null], {b"k": [1, 2]}, {b"member"},
            ctx.protocol]


def ctr_fail(ctx, *args):
    raise ZeroDivisionError("the module's bug")


def ctr_badreply(ctx):
    return object()


def ctr_events(ctx):
    return [[event, key] for event, key in EVENTS]


def ctr_setting(ctx, name):
    return SETTINGS[name.decode()].value


def ctr_plainset(ctx, key, value):
    """CTR.PLAINSET key value: a built-in string written through the storage API, logged as a SET."""
    ctx.db.set(key, value)
    ctx.notify("$", b"set", key)
    ctx.propagate([b"SET", key, value])
    return Status("OK")


def on_event(ctx, event, key):
    EVENTS.append((event, key))


def on_load(module, args):
    global COUNTERS
    module.identify("counters", 3)
    if b"fail" in args:
        raise RuntimeError("asked to fail")
    COUNTERS = module.data_type("counters1", 1, save=save, load=load, rewrite=rewrite, memory_usage=memory_usage,
                                copy=copy)
    module.command("ctr.incrby", ctr_incrby, 4, "write deny-oom", 1, 1, 1)
    module.command("ctr.get", ctr_get, 3, "readonly fast", 1, 1, 1)
    module.command("ctr.all", ctr_all, 2, "readonly", 1, 1, 1)
    module.command("ctr.shapes", ctr_shapes, 1, "")
    module.command("ctr.fail", ctr_fail, -1, "")
    module.command("ctr.badreply", ctr_badreply, 1, "")
    module.command("ctr.events", ctr_events, 1, "readonly")
    module.command("ctr.setting", ctr_setting, 2, "readonly deny-script")
    module.command("ctr.plainset", ctr_plainset, 3, "write deny-oom", 1, 1, 1)
    SETTINGS["limit"] = module.config("limit", 10, "numeric", min=0, max=100)
    SETTINGS["mode"] = module.config("mode", "fast", "enum", values=("fast", "slow"))
    SETTINGS["label"] = module.config("label", "none", "string", on_set=refuse_bad_label)
    SETTINGS["on"] = module.config("on", True, "bool")
    SETTINGS["fixed"] = module.config("fixed", "set at load", "string", mutable=False)
    module.subscribe("g$d", on_event)
    module.log("notice", "counters loaded with %d arguments" % len(args))


def refuse_bad_label(name, value):
    if value == "bad":
        raise ReplyError("label may not be bad")
