"""Scripting: Lua 5.1 (lupa's lua51) as Redis 7.0 embeds it, for EVAL and FUNCTION.

lua.py holds one Lua state with the sandbox (sandbox.lua: read-only globals, the error handler,
the redis table); values.py the questions asked of lupa's values; conversions.py Redis's
conversions between replies and Lua values; libraries.py the bundled C libraries lupa's Lua
lacks (bit, cjson; packing.py cmsgpack and struct); random48.py Redis's math.random; engine.py
the script cache and the bridges; functions.py FUNCTION's libraries; busy.py the running script
and what other clients meet meanwhile.

The command table sits above: a script's redis.call reaches it through the call the caller
passes in (commands/scripting.py), as persistence replays through commands.Replayer.

Imports: errors, protocol, persistence, serving, storage.
"""
