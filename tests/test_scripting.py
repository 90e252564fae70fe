"""EVAL and friends against real Redis 7.0.15: the same scripts, the same bytes back.

Conversions both ways (RESP2 and RESP3), the sandbox, the error texts with their script and
line, the redis.* API, bit and cjson, EVALSHA and SCRIPT, shebang flags and EVAL_RO; then
what only our server can show: the AOF, MONITOR, WATCH, and redis-py's Lock and
register_script.
"""
import re

import pytest

from differential import Pair, WireClient, encode_command, same_on_both

# ------------------------------------------------------------------ Lua -> reply


LUA_VALUES = [
    "return 1", "return", "return nil", "return 'x'", "return ''", "return 3.99", "return -3.99", "return 1e20",
    "return 0/0", "return 1/0", "return -1/0", "return true", "return false", "return 2^53", "return 2^31",
    "return {1, 2, 3, nil, 4}", "return {1, 'a', 3.99, true, false, {1, {2}}}", "return {}",
    "return {[1]=1, [3]=3}", "return {a=1}", "return {1, a=2}",
    "return {err='My err'}", "return {err='-My err'}", "return {err='a\\nb'}", "return {err=12}",
    "return {ok='fine'}", "return {ok=1}", "return {1, 2, {err='E x'}, {ok='fine'}, {}}",
    "return {double=3.5}", "return {double='x'}", "return {double=1/0}", "return {double=0.1}",
    "return {big_number='123'}", "return {big_number=5}", "return {map={a=1}}", "return {set={a=true}}",
    "return {verbatim_string={format='txt', string='x'}}", "return {1, {double=2.5}, {map={b={1, 2}}}}",
    "return redis.error_reply('E1')", "return redis.error_reply('-E1 x')", "return redis.error_reply('E1 x')",
    "return redis.error_reply('E1\\nx')", "return redis.error_reply()", "return redis.status_reply('S')",
    "return redis.status_reply(1)", "return function() end", "return coroutine.create(function() end)",
    "return cjson.null", "return {1, cjson.null, 2}",
    "local t = {} local c = t for i = 1, 8000 do c[1] = {} c = c[1] end return t",
    "local t = {} local c = t for i = 1, 8000 do c[1] = {1, 2} c = c[1] end return t",
    "local t = {} local c = t for i = 1, 3000 do c[1] = {map={k={set={m=true}}}} c = c[1] end return t",
    "local t = {} local c = t for i = 1, 7994 do c[1] = {} c = c[1] end return t",
]


@pytest.mark.parametrize("script", LUA_VALUES)
def test_lua_values_become_redis_replies(pair, script):
    pair.check("EVAL", script, 0)


@pytest.mark.parametrize("script", [
    "redis.setresp(3) return {true, false, {double=0.1}}", "redis.setresp(3) return true",
    "redis.setresp(3) return false", "redis.setresp(3) return {map={a={set={b=true}}}}",
    "redis.setresp(3) return {big_number='1234567890123456789012'}", "redis.setresp(3) return nil",
    "redis.setresp(3) return {verbatim_string={format='txt', string='x'}}",
    "return {map={a=1, b={double=1.5}}}", "return {set={x=true}}", "return {double=-0.5}",
])
@pytest.mark.parametrize("protocol", ["2", "3"])
def test_lua_values_in_resp3_reach_each_protocol_as_redis_sends_them(pair, script, protocol):
    pair.check("HELLO", protocol, normalise=_mask_hello)
    pair.check("EVAL", script, 0)


def _mask_hello(reply):
    return re.sub(rb"id\r\n:\d+", b"id\r\n:0", reply)


# ------------------------------------------------------------------ reply -> Lua


def _prepare_types(pair):
    pair.check_sequence([
        ("SET", "s", "text"), ("SET", "n", "12"), ("RPUSH", "l", "a", "b"), ("HSET", "h", "f", "v", "g", "w"),
        ("SADD", "set", "m"), ("ZADD", "z", "1.5", "a", "2", "b"),
    ])


SHOW = ("local function show(v) if type(v) ~= 'table' then return {type(v), tostring(v)} end "
        "local out = {'table'} for k, x in pairs(v) do out[#out+1] = tostring(k) "
        "out[#out+1] = type(x) == 'table' and show(x) or type(x) .. ':' .. tostring(x) end return out end ")
REPLIES = [
    ("get", "s"), ("get", "missing"), ("incr", "n"), ("set", "k", "v"), ("ping",), ("lrange", "l", "0", "-1"),
    ("hgetall", "h"), ("hgetall", "missing"), ("smembers", "set"), ("zrange", "z", "0", "-1", "withscores"),
    ("zscore", "z", "a"), ("lpop", "missing", "1"), ("exists", "s"), ("hmget", "h", "f", "missing"),
    ("lpush", "s", "x"), ("zrange", "z", "0", "-1", "byscore", "rev"), ("type", "s"), ("object", "encoding", "l"),
]


@pytest.mark.parametrize("command", REPLIES, ids=" ".join)
@pytest.mark.parametrize("resp", ["2", "3"])
def test_command_replies_reach_lua_as_redis_converts_them(pair, command, resp):
    _prepare_types(pair)
    arguments = ", ".join("'%s'" % word for word in command)
    script = SHOW + "redis.setresp(%s) return show(redis.pcall(%s))" % (resp, arguments)
    pair.check("EVAL", script, 0)


def test_arrays_with_nils_and_arguments_as_lua_prints_numbers(pair):
    pair.check_sequence([
        ("EVAL", "return redis.call('mget', 'a', 'missing', 'b')", 0),
        ("EVAL", "redis.call('set', 'a', 1.5) redis.call('set', 'b', 10) redis.call('set', 'c', 2^53) "
                 "redis.call('set', 'd', 1e20) redis.call('set', 'e', -0.25) "
                 "return redis.call('mget', 'a', 'b', 'c', 'd', 'e')", 0),
        ("EVAL", "return {KEYS[1], ARGV[1], #KEYS, #ARGV}", 1, "k", "a"),
        ("EVAL", "return {KEYS, ARGV}", 2, "k1", "k2", "a1", "a2", "a3"),
    ])


# ------------------------------------------------------------------ errors and the sandbox


ERRORS = [
    "return x", "x = 1", "return redis.call('nosuch')", "return redis.call('get')", "return redis.call('get', 'a', 'b')",
    "return redis.call()", "return redis.call({})", "return redis.call('set', {})", "return redis.call('set', 'k', true)",
    "return redis.call(nil)", "error('boom')", "error({err='X boom'})", "error('x', 0)", "error(12)",
    "error({err=12})", "local function f() return f() + 1 end return f()", "syntax error here",
    "return redis.call('eval', 'return 1', 0)", "return redis.call('multi')", "return redis.call('blpop', 'x', 0)",
    "return redis.call('subscribe', 'x')", "return redis.call('client')", "return redis.call('client', 'nosuch')",
    "redis.setresp(4)", "redis.setresp()", "return redis.log(99, 'hi')", "return redis.log()",
    "return redis.set_repl(99)", "return redis.sha1hex()", "\nlocal a = 1\nredis.call('lpush', 's', 'x')",
    "local function f()\n redis.call('lpush', 's', 'x')\nend\n\nf()", "local function f()\n error('deep')\nend\n\nf()",
    "local function f()\n local x = nil + 1\nend\n\nf()", "return redis.pcall('nosuch')",
    "return redis.pcall('set', 'a', 'b', 'c')", "return type(redis.pcall('nosuch'))",
    "local e = redis.pcall('nosuch') return e.err",
    "local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), type(e), e}",
    "local ok, e = pcall(error, 'x') return {tostring(ok), type(e), e}",
    "local ok, e = pcall(redis.call, 'lpush', 's', 'x') return {tostring(ok), type(e), tostring(e)}",
    "local ok, e = pcall(function() error({err='X y'}) end) return {tostring(ok), type(e), e}",
    "local ok, e = pcall(function() return x end) return {tostring(ok), type(e), tostring(e)}",
    "local ok, e = xpcall(function() return redis.call('lpush', 's', 'x') end, function(e) return type(e) end) "
    "return {tostring(ok), e}",
    "local ok, e = pcall(function() return redis.call('lpush', 's', 'x') end) return {e.err}",
    "return math.random(0)", "return math.random(1, 2, 3)", "return math.random('x')",
]


@pytest.mark.parametrize("script", ERRORS)
def test_errors_carry_redis_texts_script_and_line(pair, script):
    pair.check("SET", "s", "x")
    pair.check("EVAL", script, 0)


SANDBOX = [
    "return os", "return io", "return loadfile", "return dofile", "return require", "return print",
    "return setfenv", "return getfenv", "return module", "return newproxy", "return debug",
    "return type(loadstring)", "return type(loadstring('return 1'))", "redis.call = nil", "string.x = 1",
    "setmetatable(_G, nil)", "rawset(_G, 'x', 1)", "return rawget(_G, 'x')", "getmetatable('').__index = nil",
    "return getmetatable('').__index == string", "return type(getmetatable(_G))", "math.floor = nil",
    "table.insert = nil", "cjson.encode = nil", "bit.band = nil", "redis.REDIS_VERSION = 1",
    "local t = {} for k in pairs(redis) do t[#t+1] = k end table.sort(t) return t",
    "local t = {} for k in pairs(string) do t[#t+1] = k end table.sort(t) return t",
    "local t = {} for k in pairs(math) do t[#t+1] = k end table.sort(t) return t",
    "local t = {} for k in pairs(table) do t[#t+1] = k end table.sort(t) return t",
    "local t = {} for k in pairs(bit) do t[#t+1] = k end table.sort(t) return t",
    "return _VERSION", "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}", "return #KEYS",
    "KEYS[1] = 'x' return KEYS[1]", "local s = loadstring('return x') return s()",
    "local s = loadstring('y = 1') return s()",
    "return gcinfo() > 0", "return coroutine.running()", "return next(_G) ~= nil", "return select('#', 1, 2)",
    "local co = coroutine.wrap(function() coroutine.yield(1) end) return co()",
    "return string.rep('x', 3)", "return string.format('%5.2f|%d|%s', 3.14159, 42, 'a')", "return ('x'):upper()",
    "return tostring(cjson.null)", "return redis.sha1hex('')", "return redis.sha1hex(12)",
    "return redis.log(redis.LOG_WARNING, 'hi')", "return redis.set_repl(redis.REPL_ALL)",
    "return redis.replicate_commands()", "return redis.breakpoint()", "return redis.debug('x')",
    "return redis.acl_check_cmd('get')", "return redis.acl_check_cmd('nosuch')",
    "local t = {} for k in pairs(_G) do t[#t+1] = k end table.sort(t) return t",
    "local f, e = loadstring(string.dump(function() return 1 end)) return {tostring(f), tostring(e)}",
    "local f, e = loadstring('\\27Lua') return {tostring(f), tostring(e)}",
    "local f, e = load(function() return nil end) return {type(f), tostring(e)}",
    "local done = false local f, e = load(function() if done then return nil end done = true "
    "return string.dump(function() return 1 end) end) return {tostring(f), tostring(e)}",
    "local n = 0 local f = load(function() n = n + 1 if n == 1 then return 'return ' elseif n == 2 then return 5 end end) "
    "return f()", "local f, e = loadstring('return +') return {tostring(f), tostring(e)}",
    "local f = loadstring('return 1', 'name') return f()", "local f, e = loadstring(12) return {tostring(f), tostring(e)}",
    "local f = loadstring() return f", "local f = load(5) return f",
]


@pytest.mark.parametrize("script", SANDBOX)
def test_the_sandbox_matches_redis(pair, script):
    pair.check("EVAL", script, 0)


def test_a_precompiled_chunk_is_read_as_text(pair):
    """Lua 5.1 loads bytecode unverified: Redis's Lua reads every chunk as text, and so does ours."""
    pair.check("EVAL", b"\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00", 0)


def test_math_random_draws_redis_numbers(fresh):
    """redisLrand48 from the state Redis starts in, carried across scripts (and SCRIPT FLUSH), reseedable."""
    from differential import Pair
    ours, redis = fresh
    with Pair(ours, redis) as pair:
        pair.check_sequence([
            ("EVAL", "return math.random(100)", 0), ("EVAL", "return math.random(100)", 0),
            ("EVAL", "return {math.random(1, 10), tostring(math.random())}", 0), ("SCRIPT", "FLUSH"),
            ("EVAL", "return math.random(1000000)", 0), ("EVAL", "math.randomseed(42) return math.random(1000)", 0),
            ("EVAL", "return math.random(-5, 5)", 0),
        ])


# ------------------------------------------------------------------ libraries


CJSON = [
    "return cjson.encode({1,2,3})", "return cjson.encode({a=1})", "return cjson.encode({})",
    "return cjson.encode({1.5, 0.1, 1e20, 123456789012345678, 1/3})", "return cjson.encode('a/b\"\\\\\\n\\1\\127\\200')",
    "return cjson.encode({[1]=1,[3]=3})", "return cjson.encode({[1]=1,[20]=3})", "return cjson.encode({[1]=1,a=2})",
    "return cjson.encode({true,false,cjson.null})", "return cjson.encode(nil)", "return cjson.encode()",
    "return cjson.encode(1/0)", "return cjson.encode(0/0)", "return cjson.encode(function() end)",
    "return cjson.encode({[2.5]=1})", "return cjson.encode({[true]=1})", "return cjson.encode({{{}}})",
    "local t = {} local c = t for i=1,1100 do c[1] = {} c = c[1] end return cjson.encode(t)",
    "local t = {} local c = t for i=1,999 do c[1] = {} c = c[1] end return #cjson.encode(t)",
    "return cjson.encode({b=1,a=2,c=3,d=4,e=5})", "return cjson.decode('[1,2,3]')",
    "return cjson.decode('{\"a\":[1,{\"b\":2}]}').a[2].b", "return cjson.decode('1.5')",
    "return cjson.decode('\"x\\\\u00e9\"')", "return cjson.decode('[1,2')", "return cjson.decode('')",
    "return cjson.decode('nul')", "return cjson.decode('{1:2}')", "return cjson.decode('[1,]')",
    "return cjson.decode('{\"a\":1,}')", "return cjson.decode('[1] x')", "return cjson.decode()",
    "return cjson.decode(12)", "return type(cjson.decode('null'))", "return cjson.decode('[null, 1]')[2]",
    "return cjson.decode('\"\\\\ud83d\\\\ude00\"')", "return cjson.decode('1e400')", "return cjson.decode('0x10')",
    "return cjson.decode('\"\\\\q\"')", "return cjson.decode('[\"a\\tb\"]')", "return cjson.decode('{\"a\" 1}')",
    "return cjson.encode(cjson.decode('{\"b\":1,\"a\":2,\"c\":{\"d\":[1,2]}}'))",
    "return cjson.decode('123456789012345678')", "return cjson.decode('true')", "return cjson.decode(' [ ] ')[1]",
    "return cjson.encode(cjson.decode('{}'))", "return cjson.encode(cjson.decode('[]'))",
    "return cjson.decode('\"abc')", "return cjson.decode('-')", "return cjson.decode('+5')", "return cjson.decode('.5')",
    "return cjson.decode('Infinity')", "return tostring(cjson.decode('nan'))", "return cjson.decode('\"\\\\ud800\"')",
    "return #cjson.decode(string.rep('[', 1001))", "return {cjson._NAME, cjson._VERSION}", "return cjson.decode({})",
    "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}",
    "return {cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}",
    "local c = cjson.new() c.encode_number_precision(3) return {c.encode(math.pi), cjson.encode(math.pi)}",
    "local c = cjson.new() c.encode_invalid_numbers(true) return {c.encode(1/0), c.encode(-1/0), c.encode(0/0)}",
    "local c = cjson.new() c.encode_invalid_numbers('null') return {c.encode({1/0}), c.encode_invalid_numbers()}",
    "local c = cjson.new() c.encode_sparse_array(true) return c.encode({[1]=1,[20]=2})",
    "local c = cjson.new() return {c.encode_sparse_array(true, 3, 5)}",
    "local c = cjson.new() c.encode_max_depth(2) return c.encode({{{1}}})",
    "local c = cjson.new() c.decode_max_depth(2) return c.decode('[[[1]]]')",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('0x10')",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('inf')",
    "local c = cjson.new() return c.encode_max_depth(0)", "local c = cjson.new() return c.encode_max_depth('x')",
    "local c = cjson.new() return c.encode_max_depth(1, 2)", "local c = cjson.new() return c.encode_keep_buffer('maybe')",
    "local c = cjson.new() return c.encode_keep_buffer(1)", "local c = cjson.new() return c.encode_number_precision(15)",
    "local c = cjson.new() return {c.encode_sparse_array(true, -1)}", "return type(cjson.new())",
    "local c = cjson.new() c.x = 1 return c.x", "return cjson.new()._NAME", "return cjson.encode_invalid_numbers({})",
    "local t = {} for k in pairs(cjson) do t[#t+1] = k end table.sort(t) return t",
]


@pytest.mark.parametrize("script", CJSON)
def test_cjson_matches_redis(pair, script):
    pair.check("EVAL", script, 0)


BIT = [
    "return bit.tohex(255)", "return bit.tohex(-1, -4)", "return bit.tohex(255, 2)", "return bit.tohex(255, 20)",
    "return {bit.band(7,3,1), bit.bor(1,2), bit.bxor(3,1), bit.bnot(0)}",
    "return {bit.lshift(1,31), bit.rshift(-1,28), bit.arshift(-256,4), bit.rol(1,33), bit.ror(1,1), "
    "bit.bswap(0x12345678), bit.tobit(2^32+5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5)}",
    "return bit.band()", "return bit.band('x')", "return bit.tohex('12')", "return bit.tobit(2^53)",
    "return bit.tohex(0, 0)", "return {bit.lshift(1, 32), bit.rshift(1, -1)}",
]


@pytest.mark.parametrize("script", BIT)
def test_bit_matches_redis(pair, script):
    pair.check("EVAL", script, 0)


HEX = "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end "
PACKED = [
    "1", "-1", "127", "128", "255", "256", "65536", "2^32", "-33", "-129", "-32769", "-2^31-1", "1.5", "0.1", "1e300",
    "-0.0", "1/0", "0/0", "2^63", "-2^63", "2^64", "2^63*1.5", "-2^63-2048", "1e19", "'abc'", "string.rep('x', 40)",
    "string.rep('x', 300)", "string.rep('x', 70000)", "{}", "{1,2,3}", "{a=1}", "{1,nil,3}", "{[1]=1,[3]=3}",
    "true, false, nil", "{a={b={c=1}}}", "1, 2, 'x'", "cjson.null", "function() end", "{b=1,a=2,c=3}",
    "string.rep('x',16)", "(function() local t = {} for i=1,20 do t[i]=i end return t end)()",
    "(function() local t = {} local c = t for i=1,20 do c[1] = {} c = c[1] end return t end)()",
]


@pytest.mark.parametrize("values", PACKED)
def test_cmsgpack_packs_as_redis(pair, values):
    pair.check("EVAL", HEX + "return hex(cmsgpack.pack(%s))" % values, 0)


UNPACKED = [
    "cmsgpack.pack()", "cmsgpack.unpack()", "cmsgpack.unpack('')", "cmsgpack.unpack('\\196')", "cmsgpack.unpack('\\145')",
    "cmsgpack.unpack('\\193')", "{cmsgpack.unpack(cmsgpack.pack(1, 'a', {1,2}, {a=1}))}",
    "cmsgpack.unpack(cmsgpack.pack(1.5))", "tostring(cmsgpack.unpack(cmsgpack.pack(0.1)))",
    "{cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}", "{cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
    "{cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}", "{cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 2)}",
    "cmsgpack.unpack('\\192') == nil", "{cmsgpack.unpack('\\202\\63\\192\\0\\0')}", "{cmsgpack.unpack('\\217\\3abc')}",
    "{cmsgpack.unpack('\\220\\0\\2\\1\\2')}", "{cmsgpack.unpack('\\207\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "{cmsgpack.unpack('\\196\\3abc')}", "{cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}",
    "{cmsgpack.unpack('\\1\\2')}", "{cmsgpack.unpack_one('')}", "cmsgpack.unpack_limit('\\1\\2', -1)",
    "{cmsgpack.unpack_one('\\1\\2', 5)}", "type(cmsgpack.unpack('\\128'))", "{cmsgpack.unpack('\\199\\1\\1x')}",
    "cjson.encode(cmsgpack.unpack(cmsgpack.pack({b=1,a={2,3},c='x'})))", "{cmsgpack.unpack_limit('\\1\\2\\3', 0)}",
    "type(cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1'))", "type(cmsgpack.unpack(string.rep('\\145', 4000) .. '\\1'))",
    "type(cmsgpack.unpack(string.rep('\\129\\1', 4000) .. '\\1'))",
    "type(cmsgpack.unpack(string.rep('\\145', 3999) .. '\\1', 1))",
    "#{cmsgpack.unpack(string.rep('\\1', 7999))}", "#{cmsgpack.unpack(string.rep('\\1', 8000))}",
    "{cmsgpack.unpack(string.rep('\\1', 3000) .. string.rep('\\145', 3000) .. '\\1')}",
    "{cmsgpack.unpack(cmsgpack.pack({1,{},{a={}}}, 'x', {[1]=1,[3]=3}))}",
]


@pytest.mark.parametrize("expression", UNPACKED)
def test_cmsgpack_unpacks_as_redis(pair, expression):
    pair.check("EVAL", "return " + expression, 0)


STRUCT = [
    "hex(struct.pack('>I2', 258))", "hex(struct.pack('<i4', -2))", "hex(struct.pack('b', -1))", "hex(struct.pack('B', 255))",
    "hex(struct.pack('h', 1))", "hex(struct.pack('>l', 1))", "hex(struct.pack('d', 1.5))", "hex(struct.pack('f', 1.5))",
    "hex(struct.pack('s', 'ab'))", "hex(struct.pack('c3', 'abcdef'))", "hex(struct.pack('c0', 'abc'))",
    "hex(struct.pack('!4 b i4', 1, 2))", "hex(struct.pack('x'))", "hex(struct.pack('>I3', 65536 * 3 + 5))",
    "hex(struct.pack('i16', 1))", "hex(struct.pack('i17', -1))", "hex(struct.pack('z', 1))", "hex(struct.pack('B', 256))",
    "hex(struct.pack('T', 5))", "hex(struct.pack('L', -1))", "hex(struct.pack('i33', 1))", "hex(struct.pack('!3 i4', 1))",
    "hex(struct.pack('c5', 'ab'))", "hex(struct.pack('i4 i4', 1))",
    "{struct.unpack('>I2', '\\1\\2')}", "{struct.unpack('<i4', struct.pack('<i4', -2))}", "{struct.unpack('s', 'ab\\0cd')}",
    "{struct.unpack('c2', 'abcd')}", "{struct.unpack('c0', '\\3abc')}", "{struct.unpack('b c0', '\\3abc')}",
    "{struct.unpack('b', '\\255', 1)}", "{struct.unpack('B', 'x', 2)}", "{struct.unpack('B', 'x', 3)}",
    "{struct.unpack('d', struct.pack('d', 1.5))}", "struct.size('i4 d b')", "struct.size('s')", "struct.size('!8 b d')",
    "{struct.unpack('>I4', '\\1\\2')}", "struct.pack()", "struct.unpack()", "{struct.unpack('i8', struct.pack('i8', 2^53))}",
    "{struct.unpack('c', 'ab')}", "struct.pack('c', 'ab')", "struct.size('c0')", "struct.size('x c')",
    "{struct.unpack('!4 b i4', struct.pack('!4 b i4', 1, 2))}", "hex(struct.pack('i4', '12'))", "struct.pack('i4', 'x')",
    "struct.pack('s')", "{struct.unpack('f', struct.pack('f', 0.1))}", "{struct.unpack('s', 'abc')}",
    "{struct.unpack('<h >h', '\\1\\2\\1\\2')}",
]


@pytest.mark.parametrize("expression", STRUCT)
def test_struct_matches_redis(pair, expression):
    pair.check("EVAL", HEX + "return " + expression, 0)


def test_a_script_that_allocates_without_bound_is_stopped(server):
    with WireClient(server.port, timeout=60) as client:
        reply = client.call("EVAL", "local t = {} while true do t[#t+1] = string.rep('x', 1e6) .. #t end", 0)
        assert reply.startswith(b"-ERR Error running script ") and reply.endswith(b", not enough memory\r\n")
        assert client.call("EVAL", "return #string.rep('x', 1000)", 0) == b":1000\r\n"


# ------------------------------------------------------------------ EVAL, EVALSHA, SCRIPT, flags


def test_evalsha_and_the_script_cache(pair):
    pair.check_sequence([
        ("SCRIPT", "FLUSH"), ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "x"),
        ("EVAL", "return 1", 0), ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", 0),
        ("EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", 0), ("EVALSHA", "abc", 0), ("EVALSHA", "abc", -1),
        ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8dc", 0),
        ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", -1),
        ("SCRIPT", "LOAD", "return 2"), ("SCRIPT", "LOAD", "return +"), ("SCRIPT", "EXISTS"),
        ("SCRIPT", "FLUSH", "x"), ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "SYNC"), ("SCRIPT", "FLUSH", "a", "b"),
        ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"), ("SCRIPT", "FOO"), ("SCRIPT", "HELP"),
        ("SCRIPT", "KILL"), ("SCRIPT",), ("SCRIPT", "LOAD"), ("EVALSHA_RO", "abc", 0),
        ("EVAL", "return 1", -1), ("EVAL", "return 1", 2, "a"), ("EVAL", "return 1", "x"), ("EVAL", "return 1"),
        ("EVAL", "bad syntax", -1), ("EVAL", "return 1", "1.0", "k"),
    ])


def test_shebang_flags_and_read_only_scripts(pair):
    pair.check_sequence([
        ("EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')", 0),
        ("EVAL", "#!lua flags=bad\nreturn 1", 0), ("EVAL", "#!lua\nreturn 1", 0), ("EVAL", "#!lua name=x\nreturn 1", 0),
        ("EVAL", "#!luax\nreturn 1", 0), ("EVAL", "#!lua", 0), ("EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1", 0),
        ("EVAL", "#!lua flags=\nreturn 1", 0), ("EVAL", "#!lua \"x\nreturn 1", 0),
        ("EVAL_RO", "return redis.call('set', 'a', 'b')", 0), ("EVAL_RO", "return redis.call('get', 'a')", 0),
        ("EVAL_RO", "return redis.call('publish', 'c', 'm')", 0), ("EVAL_RO", "#!lua\nreturn 1", 0),
        ("EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", 0),
        ("EVAL", "#!lua\nreturn redis.call('get', KEYS[1])", 1, "a"),
        ("EVAL", "#!lua\nerror('line two')", 0),
        ("EVAL", "redis.call('set', 'x', '1') redis.call('select', '1') redis.call('set', 'x', '2') "
                 "return redis.call('get', 'x')", 0),
        ("GET", "x"), ("SELECT", "1"), ("GET", "x"), ("SELECT", "0"),
    ])


def test_scripts_inside_multi(pair):
    pair.check_sequence([
        ("MULTI",), ("EVAL", "return redis.call('incr', 'c')", 0), ("EVAL", "return x", 0), ("INCR", "c"), ("EXEC",),
        ("GET", "c"),
    ])


# ------------------------------------------------------------------ what only ours can show


def test_script_writes_reach_the_aof_wrapped_in_multi(tmp_path):
    from conftest import aof_file, start_ours
    running = start_ours(tmp_path, "--appendonly", "yes", "--appendfsync", "always")
    try:
        with WireClient(running.port) as client:
            script = "redis.call('set', 'a', '1') redis.call('incr', 'a') return redis.call('get', 'a')"
            assert client.call("EVAL", script, 0) == b"$1\r\n2\r\n"
            assert client.call("EVAL", "redis.call('set', 'b', 'x')", 0) == b"$-1\r\n"
            assert client.call("EVAL", "return redis.call('get', 'a')", 0) == b"$1\r\n2\r\n"
            script = "redis.set_repl(redis.REPL_NONE) redis.call('set', 'hidden', '1')"
            assert client.call("EVAL", script, 0) == b"$-1\r\n"
        log = aof_file(tmp_path).read_bytes()
        assert (b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nincr\r\n$1\r\na\r\n"
                b"*1\r\n$4\r\nEXEC\r\n*3\r\n$3\r\nset\r\n$1\r\nb\r\n$1\r\nx\r\n") in log
        assert b"EVAL" not in log and b"hidden" not in log
    finally:
        running.stop()


def _monitor_line(line):
    """A MONITOR line without its clock and the client's port: '[0 client] "EVAL" ...' or '[0 lua] "set" ...'."""
    line = re.sub(rb"^\+[0-9.]+ \[0 lua\]", b"[0 lua]", line)
    return re.sub(rb"^\+[0-9.]+ \[([0-9]+) [0-9.]+:[0-9]+\]", rb"[\1 client]", line)


def test_monitor_shows_the_script_and_its_commands(pair):
    seen = []
    for port in (pair.redis.port, pair.ours.port):
        with WireClient(port) as monitor, WireClient(port) as client:
            assert monitor.call("MONITOR") == b"+OK\r\n"
            assert client.call("EVAL", "return redis.call('set', KEYS[1], ARGV[1])", 1, "k", "v") == b"+OK\r\n"
            seen.append([_monitor_line(monitor.read_reply()), _monitor_line(monitor.read_reply())])
    assert seen[0] == seen[1]


def test_a_script_that_writes_a_watched_key_fails_the_transaction(pair):
    other_ours, other_redis = WireClient(pair.ours.port), WireClient(pair.redis.port)
    try:
        pair.check_sequence([("SET", "w", "1"), ("WATCH", "w"), ("MULTI",), ("GET", "w")])
        for client in (other_redis, other_ours):
            assert client.call("EVAL", "return redis.call('incr', KEYS[1])", 1, "w") == b":2\r\n"
        pair.check("EXEC")
    finally:
        other_ours.close()
        other_redis.close()


def test_redis_py_lock_and_register_script(server):
    redis = pytest.importorskip("redis")
    client = redis.Redis(port=server.port)
    client.flushall()
    lock = client.lock("resource", timeout=5)
    assert lock.acquire(blocking=False)
    assert not client.lock("resource", timeout=5).acquire(blocking=False)
    assert lock.extend(10)
    assert 5000 < client.pttl("resource") <= 15000
    assert lock.reacquire()
    lock.release()
    assert client.get("resource") is None
    assert lock.acquire(blocking=False)
    client.set("resource", "someone else")
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        lock.release()
    assert client.get("resource") == b"someone else"
    multiply = client.register_script("return tonumber(redis.call('get', KEYS[1]) or 1) * tonumber(ARGV[1])")
    client.set("x", 6)
    assert multiply(keys=["x"], args=[7]) == 42
    client.script_flush()
    assert multiply(keys=["x"], args=[2]) == 12  # NOSCRIPT, then redis-py loads it again
    pipe = client.pipeline()
    multiply(keys=["x"], args=[3], client=pipe)
    assert pipe.execute() == [18]


def test_scripts_under_maxmemory(fresh):
    """Over maxmemory (noeviction), a script with flags that may write is refused as a write command is,
    one without flags at its first write; no-writes and allow-oom scripts run."""
    with Pair(*fresh) as pair:
        pair.check_sequence([
            ("SET", "a", "1"), ("CONFIG", "SET", "maxmemory", "1"), ("EVAL", "#!lua\nreturn 1", 0),
            ("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'b')", 0),
            ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'a')", 0), ("EVAL", "return 1", 0),
            ("EVAL", "return redis.call('set', 'a', 'c')", 0), ("EVAL", "return redis.call('get', 'a')", 0),
            ("EVAL", "return redis.pcall('incr', 'n')", 0), ("FCALL", "nosuch", 0), ("MULTI",),
            ("EVAL", "#!lua\nreturn 1", 0), ("EXEC",), ("CONFIG", "SET", "maxmemory", "0"),
        ])


def test_client_pause_write_holds_scripts_that_may_write(fresh):
    """CLIENT PAUSE WRITE holds EVAL, EVALSHA and FCALL unless their flags say no-writes, as Redis does."""
    def scenario(port):
        with WireClient(port) as pauser, WireClient(port) as client:
            seen = [pauser.call("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn 2")]
            pauser.call("CLIENT", "PAUSE", "60000", "WRITE")
            seen += [client.call("EVAL", "#!lua flags=no-writes\nreturn 1", 0), client.call("EVAL_RO", "return 1", 0),
                     client.call("EVALSHA", seen[0][5:-2], 0)]
            client.send_raw(encode_command(["EVAL", "return redis.call('incr', 'held')", 0]))
            seen.append(pauser.call("GET", "held"))
            pauser.call("CLIENT", "UNPAUSE")
            seen += [client.read_reply(), pauser.call("GET", "held")]
            return seen
    same_on_both(fresh, scenario)


def test_statistics_count_a_script_and_its_commands_as_redis(fresh):
    """A command's error inside a script counts once (where it happened), the script's own errors once;
    the commands a script ran count as processed and in their own commandstats."""
    def scenario(port):
        with WireClient(port) as client:
            for script in ("return redis.call('lpush', 's', 'x')", "return redis.pcall('lpush', 's', 'x')",
                           "return redis.call('nosuch')", "error('x')", "return {err='MYERR x'}",
                           "return redis.error_reply('E2 y')", "return redis.call('get', 'nokey')"):
                client.call("SET", "s", "x")
                client.call("EVAL", script, 0)
            info = client.call("INFO", "everything").decode()
        fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
        wanted = {name: re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", value) for name, value in fields.items()
                  if name.startswith(("errorstat_", "cmdstat_eval", "cmdstat_lpush", "cmdstat_get", "cmdstat_set"))}
        return wanted, fields["total_error_replies"], fields["total_commands_processed"]
    same_on_both(fresh, scenario)


def test_keys_do_not_expire_while_a_script_runs(fresh):
    """Redis stops the clock for a script's keys at its start: a key that expires meanwhile still exists."""
    script = ("redis.call('set', 'k', 'v', 'px', 1) local i = 0 while i < 2e7 do i = i + 1 end "
              "return {redis.call('exists', 'k'), redis.call('get', 'k')}")
    def scenario(port):
        with WireClient(port, timeout=60) as client:
            return [client.call("EVAL", script, 0), client.call("EXISTS", "k")]
    assert same_on_both(fresh, scenario)[0] == b"*2\r\n:1\r\n$1\r\nv\r\n"
