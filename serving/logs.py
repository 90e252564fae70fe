"""The log as Redis writes it: 'pid:role dd Mon yyyy hh:mm:ss.mmm mark message', to stdout or the logfile.

The role is C before the server is up and in a child process (a background
save), M in the server; the mark tells the level: '.' debug, '-' verbose,
'*' notice, '#' warning. loglevel picks what is written; logfile names a
file opened for each line, as Redis does, so that a rotated log is picked up.
"""
import logging
import os
import sys
import time

VERBOSE = 15  # Redis's level between debug and notice
LEVELS = {"debug": logging.DEBUG, "verbose": VERBOSE, "notice": logging.INFO, "warning": logging.WARNING}
MARKS = ((logging.WARNING, "#"), (logging.INFO, "*"), (VERBOSE, "-"), (0, "."))

log = logging.getLogger("mini-redis")


class RedisFormatter(logging.Formatter):
    """One line per record in Redis's layout."""

    def __init__(self):
        super().__init__()
        self.server_pid = None  # set once the server is initialized: its lines say M (S as a replica), others C
        self.server_role = "M"

    def format(self, record):
        mark = next(mark for level, mark in MARKS if record.levelno >= level)
        role = self.server_role if record.process == self.server_pid else "C"
        stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(record.created))
        return "%d:%s %s.%03d %s %s" % (record.process, role, stamp, int(record.msecs), mark, record.getMessage())


class LineHandler(logging.Handler):
    """Append each line to the log file, opening it each time as Redis's serverLogRaw does; '' is stdout."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def emit(self, record):
        self.write_line(self.format(record))

    def write_line(self, text):
        try:
            if self.path:
                with open(self.path, "a") as f:
                    f.write(text + "\n")
            else:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
        except (OSError, ValueError):
            pass  # as Redis: a line that cannot be written is lost (a full disk, a closed terminal), the server goes on


_formatter = RedisFormatter()


def configure(logfile, level):
    """Send the log to logfile ('' is stdout) at Redis's loglevel name."""
    handler = LineHandler(logfile)
    handler.setFormatter(_formatter)
    log.handlers[:] = [handler]
    log.propagate = False
    set_level(level)


def set_level(level):
    log.setLevel(LEVELS[level])


def server_started():
    """From here on this process's lines are the server's (role M)."""
    _formatter.server_pid = os.getpid()


def set_replica(replica):
    """The server's lines say S while it is a replica, M while it is a master, as Redis's do."""
    _formatter.server_role = "S" if replica else "M"


def signal_line(message):
    """A line as Redis's signal handler writes it: 'pid:signal-handler (unix time) message'."""
    for handler in log.handlers:
        if isinstance(handler, LineHandler):
            handler.write_line("%d:signal-handler (%d) %s" % (os.getpid(), int(time.time()), message))
