"""The process around the server: detaching (daemonize), the pid file, the open-files limit.

Each is Redis's own step of the same name (server.c), with its log lines.
"""
import logging
import os
import resource

import gevent

RESERVED_FDS = 32  # Redis's CONFIG_MIN_RESERVED_FDS: descriptors kept for files and listeners, beyond maxclients
log = logging.getLogger("mini-redis")


def fit_open_files(maxclients):
    """Redis's adjustOpenFilesLimit: raise the descriptor limit to serve maxclients (plus a few of our own).

    Returns how many clients the limit allows: maxclients, or fewer when the
    hard limit stops short (Redis then steps down 16 at a time; we compute it).
    """
    wanted = maxclients + RESERVED_FDS
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return maxclients
    best = wanted
    if hard != resource.RLIM_INFINITY and best > hard:
        best -= -(-(best - hard) // 16) * 16
    while best > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (best, hard))
            break
        except (ValueError, OSError):
            best -= 16
    best = max(best, soft)
    return maxclients if best >= wanted else best - RESERVED_FDS


def fit_maxclients_at_start(config):
    """As Redis at start: a maxclients the descriptor limit cannot serve is lowered, with its warnings."""
    wanted = config["maxclients"]
    possible = fit_open_files(wanted)
    if possible < wanted:
        log.warning("You requested maxclients of %d requiring at least %d max file descriptors.",
                    wanted, wanted + RESERVED_FDS)
        log.warning("Redis can't set maximum open files to %d because of OS error.", wanted + RESERVED_FDS)
        log.warning("Current maximum open files is %d. maxclients has been reduced to %d to compensate for low "
                    "ulimit. If you need higher maxclients increase 'ulimit -n'.", possible + RESERVED_FDS, possible)
        config.values["maxclients"] = possible


def daemonize():
    """Redis's daemonize(): the parent exits, the child leaves the terminal, its standard files go to /dev/null."""
    if gevent.fork():
        os._exit(0)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(null, descriptor)
    os.close(null)


def write_pid_file(path):
    try:
        with open(path, "w") as f:
            f.write("%d\n" % os.getpid())
    except (OSError, ValueError) as error:  # ValueError: a NUL in the path
        log.warning("Failed to write PID file: %s", getattr(error, "strerror", None) or "Invalid argument")


def remove_files(config):
    """At shutdown, as Redis: the pid file and the Unix socket go."""
    for path, what in ((config["pidfile"], "pid file"), (config["unixsocket"], "unix socket file")):
        if path:
            log.info("Removing the %s.", what)
            try:
                os.unlink(path)
            except (OSError, ValueError):
                pass
