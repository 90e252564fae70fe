"""Persistence: RDB snapshots (rdb.py, the file format; objects.py, one value's encoding, which DUMP and
RESTORE payloads share; stream_rdb.py, a stream's part of it; module_rdb.py, a module value's; codecs.py, the byte-level pieces; snapshots.py, when and how they are taken) and
the append-only file (aof.py; aof_manifest.py, the multi-part AOF's manifest; aof_load.py, loading it;
aof_format.py, its commands; aof_rewrite.py, a BASE as commands). Both write in a forked child: run_in_child().
A load that serves the clients meanwhile (at start-up, a replica's full sync) reports to the server's
progress.LoadProgress.

They read and write storage and never import commands: an AOF is replayed through the
commands.Replayer that the server hands to AppendOnly.load().

Imports: errors, protocol, storage.
"""
import logging
import os
import signal

log = logging.getLogger("mini-redis")


def run_in_child(work, failure):
    """In a just-forked child: run work() on the copy-on-write memory, then exit 0, or 1 after logging failure.

    Never returns: the child must not go back into the parent's event loop.
    """
    code = 1
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        work()
        code = 0
    except BaseException as error:  # the child must reach os._exit whatever happens
        log.warning("%s: %s", failure, error)
    finally:
        os._exit(code)
