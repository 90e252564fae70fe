"""Persistence: RDB snapshots (rdb.py, the file format; objects.py, one value's encoding, which DUMP and
RESTORE payloads share; stream_rdb.py, a stream's part of it; module_rdb.py, a module value's; codecs.py,
the byte-level pieces; snapshots.py, when and how they are taken) and the append-only file (aof.py;
aof_manifest.py, the multi-part AOF's manifest; aof_load.py, loading it; aof_format.py, its commands;
aof_rewrite.py, a BASE). Both write in a forked child, run_in_child(), and replace a file only once it is
written whole, written_whole(). A load that serves the clients meanwhile (at start-up, a replica's full
sync) reports to the server's progress.LoadProgress.

They read and write storage and never import commands: an AOF is replayed through the
commands.Replayer that the server hands to aof_load.

Imports: errors, protocol, storage.
"""
import contextlib
import logging
import os
import signal

log = logging.getLogger("mini-redis")


@contextlib.contextmanager
def written_whole(path, temporary):
    """A file to write under a temporary name, fsynced and renamed over path once the block ends: never a
    half-written file at path. The temporary file is removed if anything fails."""
    try:
        with open(temporary, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


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
