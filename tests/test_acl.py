"""ACL against real Redis 7.0.15: SETUSER's rules and errors, GETUSER and LIST as Redis writes them,
CAT, DRYRUN, WHOAMI, GENPASS, LOG, and what a restricted user is refused (NOPERM) and allowed.

Redis writes the single-command rules that end a rule string (after the categories) in the order of
its command dict, a hash table seeded at random on every start; `sorted_rules` sorts those words on
both sides, leaving everything else as sent.
"""
import re

import hiredis
import pytest

from differential import Pair, WireClient, mask_client_id, parse_reply

RULE_LINE = re.compile(rb"(?<=\r\n)[^\r\n]*[+-]@all[^\r\n]*(?=\r\n)")


def _sort_part(part):
    words = part.split(b" ")
    categories = [index for index, word in enumerate(words) if word.startswith((b"+@", b"-@"))]
    if not categories:
        return part
    start = categories[-1] + 1
    return b" ".join(words[:start] + sorted(words[start:]))


def _sort_tail(match):
    """One rule string; each selector's part ('... (selector) (selector)') sorted on its own."""
    line = match.group(0)
    closing = line.endswith(b")")
    parts = (line[:-1] if closing else line).split(b" (")
    parts = [part[:-1] if part.endswith(b")") else part for part in parts]
    return b" (".join(_sort_part(part) + (b")" if index else b"") for index, part in enumerate(parts)) \
        if len(parts) > 1 else _sort_part(line)


def sorted_rules(reply):
    """Every line holding a command rule string, with its trailing single-command rules sorted."""
    return RULE_LINE.sub(_sort_tail, reply)


_AGE = re.compile(rb"(\$11\r\nage-seconds\r\n)(\$\d+\r\n[^\r\n]*|,[^\r\n]*)\r\n")
_CLIENT_INFO = re.compile(rb"(\$11\r\nclient-info\r\n)\$\d+\r\n[^\r\n]*\r\n")


def masked_log(reply):
    """ACL LOG with each entry's age and client line masked (times, ids and buffer sizes differ)."""
    return _CLIENT_INFO.sub(rb"\1<client>\r\n", _AGE.sub(rb"\1<age>\r\n", reply))


@pytest.fixture
def both(servers):
    """Both servers with only the default user (on, nopass, everything) and an empty ACL log."""
    ours, redis = servers
    with Pair(ours.port, redis.port) as pair:
        yield pair
    for port in (ours.port, redis.port):
        client = WireClient(port)
        names = hiredis.Reader()
        names.feed(client.call("ACL", "USERS"))
        others = [name for name in names.gets() if name != b"default"]
        if others:
            client.call("ACL", "DELUSER", *others)
        client.call("ACL", "SETUSER", "default", "reset", "on", "nopass", "~*", "&*", "+@all")
        client.call("CONFIG", "SET", "requirepass", "")
        client.call("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
        client.call("ACL", "LOG", "RESET")
        client.close()


RULE_SETS = [
    (), ("on",), ("off",), ("on", "nopass"), ("reset",), ("on", ">secret"), ("on", ">a", ">b", "<a"),
    ("#" + "a" * 64,), (">x", "resetpass"), ("nopass", ">x"), ("skip-sanitize-payload",), ("sanitize-payload",),
    ("~*",), ("allkeys",), ("~app:*", "~user:*"), ("%R~read:*", "%W~write:*", "%RW~both:*"), ("%R~x", "%W~x"),
    ("~a", "resetkeys", "~b"), ("&*",), ("allchannels",), ("&news.*", "&chat"), ("&a", "resetchannels", "&b"),
    ("+@all",), ("allcommands",), ("-@all",), ("nocommands",), ("+get",), ("+GET", "+set"),
    ("+@read",), ("+@write",), ("+@read", "+@write"), ("+@all", "-@dangerous"), ("+@all", "-@write"),
    ("+@string", "-set"), ("+@hash", "-hget", "+client|list"), ("+@all", "-client|kill"), ("+client", "-client|kill"),
    ("+@keyspace",), ("+@list", "+@set", "+@sortedset"), ("+@all", "-@admin", "+config|get"), ("+select|0",),
    ("+select|0", "+select|1"), ("+select|0", "+select"), ("+@fast",), ("+@pubsub",),
    ("+@slow", "-@admin"), ("+@connection",), ("+@transaction",), ("+@bitmap", "+@hyperloglog"), ("+@blocking",),
    ("+@read", "+@write", "-del"), ("+@all", "-@dangerous", "+flushdb", "-@string", "+get"), ("+geoadd", "+xadd"),
    ("+@geo", "+@stream", "+@scripting"), ("+@all", "-@scripting"), ("+eval", "+function|list"),
    ("on", ">p", "~k*", "&c*", "+@read", "(~other* +set)"), ("(+get ~a*)", "(%R~b* +@read)"),
    ("(+get ~a*)", "clearselectors"), ("(", "+get", "~x", ")"), ("(&ch* +publish)",), ("reset", "on", "+@all", "~*"),
]


@pytest.mark.parametrize("rules", RULE_SETS, ids=lambda rules: " ".join(rules) or "none")
def test_setuser_getuser_list(both, rules):
    both.check("ACL", "SETUSER", "alice", *rules)
    both.check("ACL", "GETUSER", "alice", normalise=sorted_rules)
    both.check("ACL", "LIST", normalise=sorted_rules)
    both.check("ACL", "USERS")


@pytest.mark.parametrize("rules", [
    ("+nosuch",), ("-nosuch",), ("+@nosuch",), ("-@nosuch",), ("@x",), ("x",), ("~a b",), ("%~x",), ("%Rx",),
    ("%RR~x",), ("%X~y",), ("allkeys", "~x"), ("allchannels", "&x"), ("<nope",), ("!" + "0" * 64,),
    ("#abc",), ("#" + "A" * 64,), ("+config|get|x",), ("+get|",), ("+client|nosuch",), ("-get|x",), ("(",),
    ("(~x",), ("(~x", "+get"), ("(+nosuch)",), ("on", "+get", "+nosuch"), ("+",), ("-",),
], ids=lambda rules: " ".join(rules))
def test_bad_rules_change_nothing(both, rules):
    both.check("ACL", "SETUSER", "bob", "on", ">pw", "~k", "+get")
    both.check("ACL", "SETUSER", "bob", *rules)
    both.check("ACL", "LIST", normalise=sorted_rules)


def test_user_errors(both):
    for command in [("ACL", "SETUSER", "bad name"), ("ACL", "SETUSER", "nul\0name"), ("ACL", "GETUSER", "nobody"),
                    ("ACL", "DELUSER", "default"), ("ACL", "DELUSER", "nobody"), ("ACL", "DELUSER", "a", "default"),
                    ("ACL", "GETUSER"), ("ACL", "GETUSER", "a", "b"), ("ACL", "LIST", "x"), ("ACL", "USERS", "x"),
                    ("ACL", "WHOAMI", "x"), ("ACL",), ("ACL", "NOSUCH"), ("ACL", "HELP"), ("ACL", "SAVE"),
                    ("ACL", "LOAD"), ("ACL", "CAT", "a", "b"), ("ACL", "CAT", "nosuch"), ("ACL", "LOG", "x"),
                    ("ACL", "LOG", "1", "2"), ("ACL", "GENPASS", "0"), ("ACL", "GENPASS", "4097"),
                    ("ACL", "GENPASS", "x"), ("ACL", "GENPASS", "1", "2"), ("ACL", "DRYRUN", "default"),
                    ("ACL", "DRYRUN", "nobody", "get", "x"), ("ACL", "DRYRUN", "default", "nosuch", "x"),
                    ("ACL", "DRYRUN", "default", "get"), ("ACL", "WHOAMI")]:
        both.check(*command)
    both.check("ACL", "SETUSER", "a")
    both.check("ACL", "DELUSER", "a", "a", "nobody")


def test_cat(both):
    """ACL CAT: the categories, then each one's commands: Redis 7.0's whole table (acl.c's rules are about
    every command Redis has, served here or not)."""
    categories = both.check("ACL", "CAT")
    for category in parse_reply(categories):
        mine, theirs = set(parse_reply(both.ours.call("ACL", "CAT", category))), set(parse_reply(both.redis.call(
            "ACL", "CAT", category.upper())))
        assert mine == theirs, category


def test_genpass(both):
    for bits in (None, "1", "4", "5", "255", "4096"):
        arguments = ("ACL", "GENPASS") + ((bits,) if bits else ())
        ours, redis = both.ours.call(*arguments), both.redis.call(*arguments)
        assert ours.split(b"\r\n")[0] == redis.split(b"\r\n")[0]
        assert re.fullmatch(rb"\$\d+\r\n[0-9a-f]+\r\n", ours)


def test_dryrun(both):
    both.check("ACL", "SETUSER", "u", "on", "~app:*", "%R~ro:*", "&ch*", "+@read", "+@write", "+publish",
               "+subscribe", "+psubscribe", "+client|id", "+select|0")
    for command in [("get", "app:1"), ("get", "x"), ("set", "app:1", "v"), ("set", "ro:1", "v"), ("get", "ro:1"),
                    ("mset", "app:1", "a", "x", "b"), ("copy", "ro:1", "app:2"), ("copy", "app:1", "ro:2"),
                    ("publish", "chat", "m"), ("publish", "x", "m"), ("subscribe", "ch1", "x", "ch2"),
                    ("psubscribe", "ch*"), ("psubscribe", "ch1*"), ("client", "id"), ("client", "list"),
                    ("select", "0"), ("select", "1"), ("flushall",), ("ping",), ("auth", "a"),
                    ("set", "app:1", "v", "get"), ("sort", "app:1", "store", "x"), ("lmove", "app:a", "x", "left", "right"),
                    ("config", "get", "x"), ("acl", "whoami"), ("getex", "ro:1"), ("zunionstore", "app:d", "2", "app:a", "ro:b")]:
        both.check("ACL", "DRYRUN", "u", *command)


def test_noperm_texts_and_log(both):
    both.check("ACL", "SETUSER", "u", "on", ">p", "~app:*", "%R~ro:*", "&ch*", "+@read", "+@write", "+publish",
               "+subscribe", "+psubscribe", "+multi", "+exec", "+acl|log")
    both.check("AUTH", "u", "p")
    for command in [("GET", "app:1"), ("GET", "x"), ("SET", "app:1", "v"), ("SET", "ro:1", "v"), ("GET", "ro:1"),
                    ("FLUSHALL",), ("CLIENT", "LIST"), ("PUBLISH", "x", "m"), ("PUBLISH", "chat", "m"),
                    ("MGET", "app:1", "x"), ("SET", "x", "v"), ("ACL", "WHOAMI"), ("CONFIG", "GET", "x"),
                    ("PSUBSCRIBE", "ch1*"), ("GET", "x")]:
        both.check(*command)
    both.check("AUTH", "u", "wrong")
    both.check("AUTH", "nobody", "p")
    both.check("HELLO", "2", "AUTH", "u", "bad")
    both.check("ACL", "LOG", normalise=masked_log)
    both.check("ACL", "LOG", "2", normalise=masked_log)
    both.check("ACL", "LOG", "-1")
    both.check("ACL", "LOG", "RESET")
    both.check("ACL", "LOG")


def test_multi_checked_when_queued_and_at_exec(both, servers):
    both.check("ACL", "SETUSER", "u", "on", ">p", "~app:*", "+@all")
    both.check("AUTH", "u", "p")
    both.check_sequence([("MULTI",), ("GET", "x"), ("GET", "app:1"), ("EXEC",)])
    both.check_sequence([("MULTI",), ("SET", "app:1", "v"), ("GET", "app:1"), ("PING",)])
    for port in (servers[0].port, servers[1].port):
        admin = WireClient(port)
        admin.call("ACL", "SETUSER", "u", "resetkeys", "-ping")
        admin.close()
    both.check("EXEC")
    both.check_sequence([("MULTI",), ("AUTH", "u", "wrong"), ("EXEC",)])
    both.check("ACL", "LOG", normalise=masked_log)


def test_auth_and_whoami(both):
    both.check("AUTH", "x")
    both.check("AUTH", "default", "anything")
    both.check("ACL", "SETUSER", "carol", ">pw", "+@all", "~*")
    both.check("AUTH", "carol", "pw")  # off: refused like a wrong password
    both.check("ACL", "SETUSER", "carol", "on")
    both.check("AUTH", "carol", "nope")
    both.check("AUTH", "carol", "pw")
    both.check("ACL", "WHOAMI")
    both.check("AUTH", "a", "b", "c")
    both.reconnect()
    both.check("HELLO", "2", "AUTH", "carol", "pw", "SETNAME", "n", normalise=mask_client_id)
    both.check("ACL", "WHOAMI")
    both.check("RESET")
    both.check("ACL", "WHOAMI")


def test_requirepass_is_the_default_users_password(both):
    both.check("CONFIG", "SET", "requirepass", "s3cret")
    both.check("ACL", "GETUSER", "default", normalise=sorted_rules)
    both.reconnect()
    both.check("GET", "x")
    both.check("ACL", "WHOAMI")
    both.check("AUTH", "wrong")
    both.check("AUTH", "s3cret")
    both.check("ACL", "SETUSER", "default", ">other")
    both.check("CONFIG", "GET", "requirepass")
    both.check("AUTH", "other")
    both.check("CONFIG", "SET", "requirepass", "")
    both.check("ACL", "LIST")
    both.check("AUTH", "x")


def test_acl_pubsub_default(both):
    both.check("CONFIG", "SET", "acl-pubsub-default", "allchannels")
    both.check("ACL", "SETUSER", "p1", "(+get)")
    both.check("ACL", "SETUSER", "p2", "reset")
    both.check("ACL", "LIST", normalise=sorted_rules)
    both.check("CONFIG", "SET", "acl-pubsub-default", "resetchannels")
    both.check("ACL", "SETUSER", "p3")
    both.check("ACL", "LIST", normalise=sorted_rules)


def test_every_served_command_has_acl_rules():
    """Each row of the table (and subcommand) is one of Redis's commands or an alias of one (ALIASES):
    a permission check must find it."""
    from commands.acl import new_users
    from commands.families import build_table
    from serving.config import Config
    checked = new_users(Config()).catalog.checked
    for command in build_table().values():
        assert command.name in checked
        for sub in command.subcommands.values():
            assert sub.name in checked


def test_scripts_run_with_the_callers_rights(both):
    """redis.call and redis.pcall check the caller's user as scriptVerifyACL does (logged with context
    lua), and redis.acl_check_cmd answers for it without logging."""
    both.check("ACL", "SETUSER", "lua", "on", ">p", "~app:*", "&c", "+eval", "+get", "+publish")
    both.check("AUTH", "lua", "p")
    for script in ("return redis.pcall('get','x')", "return redis.pcall('set','app:1','v')",
                   "return redis.pcall('publish','zz','m')", "return redis.pcall('get','app:1')",
                   "return redis.call('get','x')", "return redis.call('set','app:1','v')",
                   "return redis.acl_check_cmd('get','x')", "return redis.acl_check_cmd('get','app:1')",
                   "return redis.acl_check_cmd('set','app:1','v')", "return redis.acl_check_cmd('client','list')",
                   "return redis.acl_check_cmd('nosuch')", "return redis.acl_check_cmd()"):
        both.check("EVAL", script, "0")
    both.check("AUTH", "default", "anything")
    both.check("ACL", "LOG", normalise=masked_log)


def test_shard_channels_are_checked_and_revoked_like_channels(both, servers):
    """SPUBLISH and SSUBSCRIBE are held to the user's channel patterns as PUBLISH and SUBSCRIBE are, and a
    shard subscriber whose channel is revoked is disconnected."""
    both.check("ACL", "SETUSER", "sh", "on", ">p", "&chat*", "+@pubsub", "+acl")
    both.check("AUTH", "sh", "p")
    both.check("SPUBLISH", "chat1", "m")
    both.check("SPUBLISH", "other", "m")
    both.check("SSUBSCRIBE", "other")
    both.check("ACL", "LOG", normalise=masked_log)
    subscribers = [WireClient(server.port) for server in servers]
    for subscriber in subscribers:
        assert subscriber.call("AUTH", "sh", "p") == b"+OK\r\n"
    assert subscribers[0].call("SSUBSCRIBE", "chat1") == subscribers[1].call("SSUBSCRIBE", "chat1")
    both.check("AUTH", "default", "x")
    both.check("ACL", "SETUSER", "sh", "resetchannels", "&news")
    for subscriber in subscribers:
        assert subscriber.read_until_closed() == b""
        subscriber.close()
