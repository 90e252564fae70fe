"""Write commands/metadata.json: Redis 7.0's COMMAND INFO and COMMAND DOCS of every command we serve.

Redis 7.0 builds its command table from JSON specs and COMMAND INFO and
COMMAND DOCS print them; rather than copy them by hand, this asks Debian's
redis-server 7.0.15 for each command and subcommand in our table and keeps
its replies, typed as the server needs them to answer byte for byte (see
commands/introspection.py). Run it from the repository root whenever the
table gains a command:

    python tools/command_metadata.py            # starts its own redis-server on a free port
    python tools/command_metadata.py --port N   # asks one already running on 127.0.0.1:N

The few commands Redis 7.0 does not have get the entries of EXTRA below.
"""
import argparse
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from commands.families import build_table  # noqa: E402  (needs the root on the path first)

OUTPUT = os.path.join(ROOT, "commands", "metadata.json")
CATALOG_OUTPUT = os.path.join(ROOT, "commands", "acl_catalog.json")  # every Redis 7.0 command's ACL categories
INFO_FIELDS = ("arity", "flags", "first_key", "last_key", "step", "acl_categories", "tips", "key_specs")
SET_FIELDS = frozenset(("flags", "doc_flags", "history"))  # RESP3 sets inside the maps; flags are simple strings


def _read_line(stream):
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise RuntimeError("redis-server closed the connection")
    return line[:1], line[1:-2]


def read_typed(stream):
    """One RESP3 reply as (kind, value): kinds bulk, simple, int, null, array, set, map, error."""
    kind, body = _read_line(stream)
    if kind == b"$":
        data = stream.read(int(body) + 2)
        return "bulk", data[:-2].decode()
    if kind == b"+":
        return "simple", body.decode()
    if kind == b"-":
        return "error", body.decode()
    if kind == b":":
        return "int", int(body)
    if kind == b"_":
        return "null", None
    if kind in (b"*", b"~"):
        return ("array" if kind == b"*" else "set"), [read_typed(stream) for _ in range(int(body))]
    if kind == b"%":
        return "map", [(read_typed(stream)[1], read_typed(stream)) for _ in range(int(body))]
    raise RuntimeError("unexpected reply type %r" % kind)


def to_json(node, field=None):
    """A typed reply as JSON: maps are objects, arrays and sets lists (a set only where SET_FIELDS says),
    bulk strings and simple strings (only in flag sets) strings, integers numbers."""
    kind, value = node
    if kind == "map":
        return {name: to_json(member, name) for name, member in value}
    if kind == "set" and field not in SET_FIELDS:
        raise RuntimeError("a set under %r: teach SET_FIELDS about it" % field)
    if kind in ("array", "set"):
        return [to_json(member) for member in value]
    if kind == "simple" and field is not None:
        raise RuntimeError("a simple string outside a flag set")
    return value


class Redis:
    """A RESP3 connection to a redis-server on 127.0.0.1."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.stream = self.sock.makefile("rb")
        self.call("HELLO", "3")

    def call(self, *argv):
        self.sock.sendall(b"*%d\r\n" % len(argv) + b"".join(
            b"$%d\r\n%b\r\n" % (len(arg.encode()), arg.encode()) for arg in argv))
        return read_typed(self.stream)


def entry(redis, name):
    """{'info': ..., 'docs': ...} of one command ('get', 'config|get'), without its subcommands; None if
    Redis 7.0 does not have it."""
    kind, rows = redis.call("COMMAND", "INFO", name)
    row = rows[0]
    if row[0] == "null":
        return None
    fields = row[1][1:]
    info = {"arity": fields[0][1], "flags": [flag for _, flag in fields[1][1]],
            "first_key": fields[2][1], "last_key": fields[3][1], "step": fields[4][1],
            "acl_categories": [category for _, category in fields[5][1]],
            "tips": [tip for _, tip in fields[6][1]],
            "key_specs": [to_json(spec) for spec in fields[7][1]]}
    _, docs = redis.call("COMMAND", "DOCS", name)
    (_, reply), = docs
    doc = to_json(("map", [pair for pair in reply[1] if pair[0] != "subcommands"]))
    return {"info": info, "docs": doc}


def _seed_name(base, summary, **info):
    """An entry for one of the seed design's commands, made from the Redis command it stands for."""
    def make(metadata):
        made = copy.deepcopy(metadata[base])
        made["info"].update(info)
        made["docs"]["summary"] = summary
        made["docs"].pop("history", None)
        if info.get("arity") == 1:
            made["docs"].pop("arguments", None)
        return made
    return make


def _client_setinfo(metadata):
    """CLIENT SETINFO as Redis 7.2 describes it (we accept it as 7.2 does)."""
    return {"info": {"arity": 4, "flags": ["noscript", "loading", "stale"], "first_key": 0, "last_key": 0,
                     "step": 0, "acl_categories": ["@slow", "@connection"], "tips": [], "key_specs": []},
            "docs": {"summary": "Sets information specific to the client or connection.", "since": "7.2.0",
                     "group": "connection", "complexity": "O(1)",
                     "arguments": [{"name": "attr", "type": "oneof", "arguments": [
                         {"name": "libname", "type": "string", "token": "LIB-NAME"},
                         {"name": "libver", "type": "string", "token": "LIB-VER"}]}]}}


EXTRA = {
    "delete": _seed_name("del", "Deletes one or more keys (the seed design's name for DEL)"),
    "flush": _seed_name("flushdb", "Removes all keys from the current database (the seed design's FLUSH)",
                        arity=1),
    "client|setinfo": _client_setinfo,
}


def served_names():
    """Every command and subcommand of our table, by its full name ('config|get')."""
    names = []
    for command in build_table().values():
        names.append(command.name)
        names.extend(sub.name for sub in command.subcommands.values())
    return names


def collect(port):
    redis = Redis(port)
    metadata, missing = {}, []
    for name in served_names():
        found = entry(redis, name)
        if found is None:
            missing.append(name)
        else:
            metadata[name] = found
    for name in missing:
        if name not in EXTRA:
            raise SystemExit("Redis 7.0 has no %r: give it an entry in EXTRA" % name)
        metadata[name] = EXTRA[name](metadata)
    return dict(sorted(metadata.items()))


def _catalog_row(row):
    """[name, categories, no_auth, subcommands] of one COMMAND row (typed), subcommands alike."""
    fields = [value for _, value in row[1]]
    name, flags, categories, subcommands = fields[0], fields[2], fields[6], fields[9]
    return [name, [category[1:] for _, category in categories], any(flag == "no_auth" for _, flag in flags),
            sorted(_catalog_row(sub) for sub in subcommands)]


def collect_catalog(port):
    """Every command Redis 7.0 has, with its ACL categories and subcommands: what ACL rules, ACL CAT
    and the rule strings ACL LIST writes are computed over (acl.c walks Redis's whole table)."""
    _, rows = Redis(port).call("COMMAND")
    return sorted(_catalog_row(row) for row in rows)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def with_redis_server(work):
    """Run work(port) against a fresh redis-server on a free loopback port."""
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no", "--dir", directory],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            return work(port)
        finally:
            process.terminate()
            process.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="a redis-server 7.0 already listening on 127.0.0.1")
    options = parser.parse_args()
    both = (lambda port: (collect(port), collect_catalog(port)))
    metadata, catalog = both(options.port) if options.port else with_redis_server(both)
    with open(OUTPUT, "w") as out:
        json.dump(metadata, out, indent=1, sort_keys=False)
        out.write("\n")
    with open(CATALOG_OUTPUT, "w") as out:
        json.dump(catalog, out, indent=None, separators=(",", ":"))
        out.write("\n")
    print("wrote %d commands to %s and Redis's %d to %s" % (len(metadata), os.path.relpath(OUTPUT, ROOT),
                                                          len(catalog), os.path.relpath(CATALOG_OUTPUT, ROOT)))


if __name__ == "__main__":
    main()
