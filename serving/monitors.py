"""MONITOR: every command a client runs, shown to the monitoring clients as Redis's
replicationFeedMonitors() prints it, with AUTH's, HELLO AUTH's and MIGRATE's secrets redacted.

The server keeps its monitors in a list; while it is empty no session is plain-lane-free of
it, so feeding costs nothing when nobody watches.
"""
import time

from serving.session import REPLY_ON
from serving.slowlog import migrate_secrets

REDACTED = b'"(redacted)"'
_ESCAPES = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r", ord("\t"): b"\\t",
            0x07: b"\\a", 0x08: b"\\b"}
_QUOTED = [_ESCAPES.get(byte, bytes((byte,)) if 0x20 <= byte < 0x7F else b"\\x%02x" % byte) for byte in range(256)]


def quoted(arg):
    """sdscatrepr(): the argument in double quotes, escaped."""
    return b'"' + b"".join(_QUOTED[byte] for byte in arg) + b'"'


def _redacted_positions(argv):
    """Which arguments Redis replaces with (redacted): AUTH's, the two after HELLO's AUTH, MIGRATE's secrets."""
    name = argv[0].lower()
    if name == b"auth":
        return range(1, len(argv))
    if name == b"migrate":
        return migrate_secrets(argv)
    if name == b"hello":  # its options read in turn, as helloCommand() reads them
        position = 2
        while position < len(argv):
            option, remaining = argv[position].lower(), len(argv) - position - 1
            if option == b"auth" and remaining >= 2:
                return (position + 1, position + 2)
            position += 2 if option == b"setname" and remaining >= 1 else len(argv)
    return ()


def monitor_line(session, argv, now=None):
    """One line, as the status reply's text: '1701234567.123456 [0 127.0.0.1:5000] "SET" "k" "v"'."""
    now = time.time() if now is None else now
    hidden = _redacted_positions(argv)
    words = b" ".join(REDACTED if index in hidden else quoted(arg) for index, arg in enumerate(argv))
    return b"%.6f [%d %b] %b" % (now, session.db.index, session.address.encode(), words)


def feed_monitors(session, command, argv):
    """After a command ran (or blocked): show it to every monitor, unless it is an admin command.

    A monitor's own command is shown after its reply, as in Redis: it waits in own_monitor_lines
    until the connection writes the reply (Session.outgoing)."""
    if "admin" in command.flags or "skip_monitor" in command.flags:
        return
    feed_line(session, argv)


def feed_line(session, argv):
    """Show one command to every monitor (EVAL feeds its own line as it starts, before its script's)."""
    line = monitor_line(session, argv)
    pushed = b"+%b\r\n" % line
    for monitor in session.server.monitors:
        if monitor is session:
            session.own_monitor_lines.append(line.decode("ascii"))  # escaped: ASCII only
        elif monitor.replies is REPLY_ON:  # CLIENT REPLY OFF or SKIP drops the lines too, as in Redis
            monitor.deliver(pushed)
