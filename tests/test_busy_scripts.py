"""A long script with other clients around, on ours and on real Redis (each a fresh server): until
busy-reply-threshold they wait, then they get -BUSY except for what Redis allows; SCRIPT KILL and
FUNCTION KILL stop a script that has not written; SHUTDOWN NOSAVE stops the server under it."""
import re
import time

from differential import WireClient, encode_command, same_on_both

THRESHOLD_MS = 200
SPIN = "local i = 0 while true do i = i + 1 end"


def _busy(port, command, *arguments):
    """Start a script on one connection, and return it and a second connection once the first is busy."""
    runner, other = WireClient(port), WireClient(port)
    assert other.call("CONFIG", "SET", "busy-reply-threshold", THRESHOLD_MS) == b"+OK\r\n"
    runner.send_raw(encode_command([command, *arguments]))
    deadline = time.monotonic() + 10
    while other.call("PING") == b"+PONG\r\n" and time.monotonic() < deadline:  # answered once the script ends
        time.sleep(0.05)
    return runner, other


def test_other_clients_get_busy_and_script_kill_stops_the_script(fresh):
    def scenario(port):
        runner, other = _busy(port, "EVAL", SPIN, 0)
        seen = [other.call(*command) for command in (
            ("GET", "x"), ("FUNCTION", "KILL"), ("FUNCTION", "STATS"), ("SHUTDOWN",), ("MULTI",), ("GET", "x"),
            ("EXEC",), ("DISCARD",), ("WATCH", "x"), ("UNWATCH",), ("SCRIPT", "KILL"))]
        seen.append(runner.read_reply())
        seen.append(other.call("PING"))
        seen.append(runner.call("PING"))
        return seen
    same_on_both(fresh, scenario)


def test_a_script_that_wrote_cannot_be_killed(fresh):
    def scenario(port):
        runner, other = _busy(port, "EVAL", "redis.call('incr', 'counter') " + SPIN, 0)
        seen = [other.call("SCRIPT", "KILL"), other.call("FUNCTION", "KILL"), other.call("GET", "counter")]
        other.send_raw(encode_command(["SHUTDOWN", "NOSAVE"]))
        return seen + [other.read_until_closed(), runner.read_until_closed()]
    same_on_both(fresh, scenario)


def test_function_kill_stops_a_function(fresh):
    def scenario(port):
        with WireClient(port) as setup:
            code = "#!lua name=spin\nredis.register_function('spin', function() %s end)" % SPIN
            assert setup.call("FUNCTION", "LOAD", code) == b"$4\r\nspin\r\n"
        runner, other = _busy(port, "FCALL", "spin", 0)
        stats = re.sub(rb"duration_ms\r\n:\d+", b"duration_ms\r\n:N", other.call("FUNCTION", "STATS"))
        return [stats, other.call("SCRIPT", "KILL"), other.call("GET", "x"), other.call("FUNCTION", "KILL"),
                runner.read_reply(), other.call("PING")]
    same_on_both(fresh, scenario)


def test_commands_wait_for_a_script_before_the_threshold(fresh):
    """Before busy-reply-threshold a script is atomic: another client's command is answered after it."""
    def scenario(port):
        runner, other = WireClient(port), WireClient(port)
        assert other.call("CONFIG", "SET", "busy-reply-threshold", 60000) == b"+OK\r\n"
        runner.send_raw(encode_command(["EVAL", "redis.call('set', 'k', 'before') local i = 0 while i < 5e7 do "
                                                "i = i + 1 end redis.call('set', 'k', 'after') return i", 0]))
        time.sleep(0.05)
        reply = other.call("GET", "k")
        return [reply, runner.read_reply()]
    assert same_on_both(fresh, scenario)[0] == b"$5\r\nafter\r\n"


def test_shutdown_nosave_stops_the_server_under_a_busy_script(fresh):
    def scenario(port):
        runner, other = _busy(port, "EVAL", SPIN, 0)
        other.send_raw(encode_command(["SHUTDOWN", "NOSAVE"]))
        return [other.read_until_closed(), runner.read_until_closed()]
    same_on_both(fresh, scenario)
