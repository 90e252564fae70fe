-- The scripts' world, built once per Lua state: Redis 7.0's globals, read-only, and the redis table.
-- Called with the Python bridges; returns what Python drives the state with (see scripting/lua.py).
local bridge = ...
local READONLY = "Attempt to modify a readonly table"
local INTERNAL = "=mini-redis"
local rawget0, rawset0, next0, pairs0, ipairs0, type0, error0 = rawget, rawset, next, pairs, ipairs, type, error
local setmetatable0, getmetatable0, setfenv0, loadstring0, load0 = setmetatable, getmetatable, setfenv, loadstring, load
local unpack0, maxn, tonumber = unpack, table.maxn, tonumber
local getinfo, tostring0, xpcall0, pcall0, select0 = debug.getinfo, tostring, xpcall, pcall, select

local underlying = setmetatable0({}, {__mode = "k"})  -- read-only proxy -> the table it shows

local function refuse_write()
  error0(READONLY, 2)
end

local function readonly(t, index)
  local proxy = {}
  underlying[proxy] = t
  setmetatable0(proxy, {__index = index or t, __newindex = refuse_write, __metatable = {__index = index or t}})
  return proxy
end

local function copy(t)
  local c = {}
  for k, v in pairs0(t) do c[k] = v end
  return c
end

-- The error handler: a string error becomes {err='ERR ...'}; the source and line are the script's own
-- (the first frame that is neither C nor this file), as Redis's __redis__err__handler reports them.
-- What a failed redis.call raises: its error text after a mark (\1: the command's own error reply).
local CALL_ERROR, COUNTED_CALL_ERROR = "\0redis.call\0", "\0redis.call\1"
local sub, find = string.sub, string.find

-- An error raised in Python reaches Lua as a userdata (lupa's wrapped exception): its text is the
-- error. A failed redis.call's is an error table in Redis; any other is a string.
local function lua_error_of(err)
  if type0(err) ~= "userdata" then return err end
  local message = tostring0(err)
  if find(message, CALL_ERROR, 1, true) == 1 then
    return {err = sub(message, #CALL_ERROR + 1)}
  elseif find(message, COUNTED_CALL_ERROR, 1, true) == 1 then
    return {err = sub(message, #COUNTED_CALL_ERROR + 1), ignore_error_stats_update = true}
  end
  return message
end

local function error_table_of(err)
  err = lua_error_of(err)
  if type0(err) == "table" then return err end
  return {err = "ERR " .. tostring0(err)}
end

local function error_handler(err)
  err = error_table_of(err)
  local level = 2
  while true do
    local i = getinfo(level, "Sl")
    if not i then break end
    if i.what ~= "C" and i.source ~= INTERNAL then
      err.source = i.source
      err.line = i.currentline
      break
    end
    level = level + 1
  end
  return err
end

-- pcall as Redis 7.0 wraps it: an error table's err field is what the script sees.
local function user_pcall(...)
  local result = {pcall0(...)}
  if not result[1] then
    local err = lua_error_of(result[2])
    if type0(err) == "table" and type0(rawget0(err, "err")) == "string" then
      err = rawget0(err, "err")
    end
    result[2] = err
  end
  return unpack0(result, 1, maxn(result))
end

-- The globals a script sees: EVAL's (globals), a library's functions' as they run (no KEYS and
-- ARGV, a smaller redis table), or a library's code's while it loads (only redis.register_function,
-- redis.log and the constants). One proxy shows whichever is active, as Redis swaps __index.
local globals, function_globals, loading_globals = {}, {}, {}
local active = globals

local function nonexistent(name)
  error0("Script attempted to access nonexistent global variable '" .. tostring0(name) .. "'", 3)
end

local env = readonly(globals, function(_, name)
  local value = rawget0(active, name)
  if value == nil then nonexistent(name) end
  return value
end)

local function shown(t)
  if t == env then return active end
  return underlying[t]
end

local function with_env(f, message)
  if f then setfenv0(f, env) end
  return f, message
end

for _, name in ipairs0({"assert", "collectgarbage", "error", "gcinfo", "ipairs", "rawequal", "select",
                        "tonumber", "tostring", "type", "unpack", "_VERSION"}) do
  globals[name] = _G[name]
end
globals.pcall = user_pcall
globals.xpcall = function(f, handler)
  return xpcall0(f, function(err) return handler(lua_error_of(err)) end)
end
-- Chunks are always read as text, as Redis's Lua reads them: a precompiled (binary) chunk, which
-- Lua 5.1 would load unverified, fails as text does (a space before it changes no line number).
local byte = string.byte
local function load_text(s, name)
  if byte(s, 1) == 27 then return loadstring0(" " .. s, name or s) end
  return loadstring0(s, name)
end

local function bad_argument(name, expected, count, value)
  local got = count == 0 and "no value" or type0(value)
  error0("bad argument #1 to '" .. name .. "' (" .. expected .. " expected, got " .. got .. ")", 3)
end

globals.loadstring = function(...)
  local s, name = ...
  if type0(s) == "number" then s = tostring0(s) end
  if type0(s) ~= "string" then bad_argument("loadstring", "string", select0("#", ...), s) end
  return with_env(load_text(s, name))
end
globals.load = function(...)
  local f, name = ...
  if type0(f) ~= "function" then bad_argument("load", "function", select0("#", ...), f) end
  local pieces = {}
  while true do
    local piece = f()
    if piece == nil or piece == "" then break end
    if type0(piece) == "number" then piece = tostring0(piece) end
    if type0(piece) ~= "string" then return nil, "reader function must return a string" end
    pieces[#pieces + 1] = piece
  end
  return with_env(load_text(table.concat(pieces), name or "=(load)"))
end
globals.next = function(t, k) return next0(shown(t) or t, k) end
globals.pairs = function(t)
  local contents = shown(t)
  if contents then return next0, contents, nil end
  return pairs0(t)
end
globals.rawget = function(t, k) return rawget0(shown(t) or t, k) end
globals.rawset = function(t, k, v)
  if underlying[t] then error0(READONLY, 0) end
  return rawset0(t, k, v)
end
globals.setmetatable = function(t, mt)
  if underlying[t] then error0(READONLY, 0) end
  return setmetatable0(t, mt)
end
globals.getmetatable = getmetatable0
globals.__redis__err__handler = error_handler
globals._G = env

local string_proxy = readonly(copy(string))
globals.string = string_proxy
globals.table = readonly(copy(table))
globals.coroutine = readonly(copy(coroutine))
local math_copy = copy(math)

getmetatable0("").__index = string_proxy
getmetatable0("").__metatable = readonly({__index = string_proxy})

-- Library and redis.* functions are Python callables, C functions to Lua as Redis's are (a tail
-- call to them keeps the script's frame, which its errors name); their metatable is locked.
getmetatable0(bridge.call).__metatable = false
for name, library in pairs0(bridge.libraries) do
  local t = name == "math" and math_copy or {}  -- math.random and math.randomseed are Redis's
  for key, f in pairs0(library.functions) do t[key] = f end
  for key, value in pairs0(library.values) do t[key] = value end
  globals[name] = readonly(t)
end

local function error_table(message)
  return {err = message}
end

local redis = {
  call = bridge.call, pcall = bridge.pcall,
  sha1hex = bridge.sha1hex, log = bridge.log, setresp = bridge.setresp,
  set_repl = bridge.set_repl, replicate_commands = function() return true end,
  breakpoint = function() return false end, debug = function() end,
  acl_check_cmd = bridge.acl_check_cmd, error_reply = bridge.error_reply, status_reply = bridge.status_reply,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = bridge.version, REDIS_VERSION_NUM = bridge.version_num,
}
globals.redis = readonly(redis)
for name, value in pairs0(globals) do function_globals[name] = value end
local function_redis = copy(redis)
function_redis.breakpoint, function_redis.debug, function_redis.replicate_commands = nil, nil, nil
function_globals.redis = readonly(function_redis)

-- FUNCTION LOAD: redis.register_function, with luaRegisterFunction's checks and texts.
local FLAGS = {["no-writes"] = true, ["allow-oom"] = true, ["allow-stale"] = true, ["no-cluster"] = true,
               ["allow-cross-slot-keys"] = true}
local NAME_ERROR = "Library names can only contain letters, numbers, or underscores(_) and must be at least " ..
                   "one character long"
local registering  -- the functions the loading library registered, in order

local function refuse(message)
  error0({err = "ERR " .. message}, 0)
end

local function is_text(value)
  return type0(value) == "string" or type0(value) == "number"
end

local function named_arguments(named)
  local name, callback, description, flags
  for key, value in next0, named do
    if type0(key) ~= "string" then refuse("named argument key given to redis.register_function is not a string") end
    if key == "function_name" then
      if not is_text(value) then refuse("function_name argument given to redis.register_function must be a string") end
      name = tostring0(value)
    elseif key == "description" then
      if not is_text(value) then refuse("description argument given to redis.register_function must be a string") end
      description = tostring0(value)
    elseif key == "callback" then
      if type0(value) ~= "function" then refuse("callback argument given to redis.register_function must be a function") end
      callback = value
    elseif key == "flags" then
      if type0(value) ~= "table" then
        refuse("flags argument to redis.register_function must be a table representing function flags")
      end
      flags = {}
      for _, flag in next0, value do
        if type0(flag) ~= "string" or not FLAGS[flag] then refuse("unknown flag given") end
        flags[#flags + 1] = flag
      end
    else
      refuse("unknown argument given to redis.register_function")
    end
  end
  if not name then refuse("redis.register_function must get a function name argument") end
  if not callback then refuse("redis.register_function must get a callback argument") end
  return name, callback, description, flags
end

local function register_function(...)
  local count = select0("#", ...)
  if count < 1 or count > 2 then refuse("wrong number of arguments to redis.register_function") end
  local name, callback, description, flags
  if count == 1 then
    if type0((...)) ~= "table" then
      refuse("calling redis.register_function with a single argument is only applicable to Lua table " ..
             "(representing named arguments).")
    end
    name, callback, description, flags = named_arguments((...))
  else
    name, callback = ...
    if not is_text(name) then refuse("first argument to redis.register_function must be a string") end
    name = tostring0(name)
    if type0(callback) ~= "function" then refuse("second argument to redis.register_function must be a function") end
  end
  if not find(name, "^[%w_]+$") then refuse(NAME_ERROR) end
  for _, registered in ipairs0(registering) do
    if registered.name == name then refuse("Function already exists in the library") end
  end
  registering[#registering + 1] = {name = name, callback = callback, description = description, flags = flags or {}}
end

local loading_redis = {
  register_function = register_function, log = redis.log, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2,
  LOG_WARNING = 3, REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
}
loading_globals.redis = readonly(loading_redis, function(_, name)
  local value = rawget0(loading_redis, name)
  if value == nil then nonexistent(name) end
  return value
end)

-- What Python drives the state with.
local hook_count = bridge.hook_count
local tick = bridge.tick
local function hook()
  local killed = tick()
  if killed then error0(killed, 0) end
end

local controls = {}

function controls.compile(source, chunkname)
  return with_env(load_text(source, chunkname))
end

function controls.run(f, keys, args)
  active = globals
  rawset0(globals, "KEYS", keys)
  rawset0(globals, "ARGV", args)
  debug.sethook(hook, "", hook_count)
  local ok, result = xpcall0(f, error_handler)
  debug.sethook()
  return ok, result
end

-- Calls a function of a library: KEYS and ARGV are its arguments, not globals.
function controls.run_function(f, keys, args)
  active = function_globals
  debug.sethook(hook, "", hook_count)
  local ok, result = xpcall0(function() return f(keys, args) end, error_handler)
  debug.sethook()
  return ok, result
end

-- Runs a library's code: (true, the functions it registered) or (false, its error table).
function controls.load_library(f)
  registering, active = {}, loading_globals
  debug.sethook(hook, "", hook_count)
  local ok, err = pcall0(f)
  debug.sethook()
  local registered = registering
  registering, active = nil, function_globals
  if not ok then return false, error_table_of(err) end
  return true, registered
end

controls.error_table = error_table
-- Where a library function was called from, as luaL_error's prefix: 'user_script:1: '.
function controls.where()
  local i = getinfo(3, "Sl")
  if i and i.currentline > 0 then return i.short_src .. ":" .. i.currentline .. ": " end
  return ""
end
return controls
