"""Loading the multi-part AOF (Redis 7.0's loadAppendOnlyFiles), at start-up and for DEBUG LOADAOF, opening
it to append at start-up (aofOpenIfNeededOnServerStart), and removing HISTORY files (aofDelHistoryFiles).

The manifest names a BASE (an RDB when it begins with "REDIS", else commands; an
old single-file AOF with an RDB preamble is both) and INCR files of commands,
replayed in that order through a commands.Replayer. Only the last file may end
torn (aof-load-truncated cuts it there); a file the manifest names that is not
on disk stops start-up. An old-style dir/appendonly.aof with no manifest is
moved into appenddirname first, as its BASE (aofUpgradePrepare).
"""
import logging
import os
import stat
import time

from persistence.aof_format import AOFError, Replay
from persistence.aof_manifest import BASE, AofFile, Manifest, manifest_name, persist, read_manifest
from persistence.aof_rewrite import write_base
from persistence.objects import RDBError

log = logging.getLogger("mini-redis")

NOT_EXIST, EMPTY, OK, TRUNCATED = "not exist", "empty", "ok", "truncated"


def _never():
    """The clock while loading: no key counts as expired, as in Redis, so replay sees what the writer saw."""
    return 0


def _is_file(path):
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def make_directory(directory):
    """dirCreateIfMissing, fatal as at start-up: AOFError with Redis's line if it cannot be made."""
    try:
        os.mkdir(directory, 0o755)
    except FileExistsError:
        pass
    except OSError as error:
        raise AOFError("Can't open or create append-only dir %s: %s"
                       % (os.path.basename(directory), error.strerror)) from None


def delete_history(aof):
    """aofDelHistoryFiles: the files a rewrite replaced go, unless aof-disable-auto-gc."""
    manifest = aof.manifest
    if aof.config["aof-disable-auto-gc"] or not manifest.history:
        return
    for aof_file in manifest.history:
        log.info("Removing the history file %s in the background", aof_file.name)
        try:
            os.unlink(os.path.join(aof.directory, aof_file.name))
        except OSError:
            pass
    manifest.history = []
    manifest.dirty = True
    problem = persist(manifest, aof.directory, aof.config["appendfilename"])
    if problem is not None:
        log.warning("%s", problem)


def load_manifest(aof):
    """aofLoadManifestFromDisk, at start-up whatever appendonly says (as Redis): AOFError if it is unsound."""
    aof.manifest = Manifest()
    path = os.path.join(aof.directory, manifest_name(aof.config["appendfilename"]))
    if os.path.isdir(aof.directory) and os.path.exists(path):
        aof.manifest = read_manifest(path)


def load_at_start(aof, replayer, progress=None):
    """Replay the AOF into the keyspace through replayer (a commands.Replayer) at start-up with
    appendonly yes; AOFError if it cannot be loaded. progress: the server's LoadProgress, when the clients
    are served meanwhile (getting -LOADING)."""
    started = time.monotonic()
    if load_files(aof, replayer, progress) != NOT_EXIST:
        log.info("DB loaded from append only file: %.3f seconds", time.monotonic() - started)


def reload(aof, replayer):
    """DEBUG LOADAOF's part: the manifest read again, its history deleted, its files replayed into the
    (emptied) keyspace; True if that loaded (or found empty files), as Redis requires."""
    load_manifest(aof)
    delete_history(aof)
    return load_files(aof, replayer) in (OK, EMPTY)


def load_files(aof, replayer, progress=None):
    """Replay the files of aof.manifest into the keyspace: NOT_EXIST, EMPTY, OK or TRUNCATED; AOFError with
    Redis's log line where Redis exits."""
    config, manifest = aof.config, aof.manifest
    filename = config["appendfilename"]
    if _is_file(os.path.join(config["dir"], filename)) and (
            not os.path.isdir(aof.directory) or manifest.is_empty() or (
                manifest.base is not None and not manifest.incr and manifest.base.name == filename
                and not _is_file(os.path.join(aof.directory, filename)))):
        _upgrade(aof)
    if manifest.is_empty():
        return NOT_EXIST
    files = manifest.loaded_files()
    sizes = [aof.file_size(f.name, fatal=True) for f in files]
    if not sum(sizes):
        return EMPTY
    keyspace = aof.server.keyspace
    clock, keyspace.clock = keyspace.clock, _never
    if progress is not None:
        progress.start(sum(sizes))  # Redis's startLoading over all the files
    try:
        for number, aof_file in enumerate(files, 1):
            status = _load_one(aof, replayer, aof_file, number == len(files), progress, sum(sizes[:number - 1]))
    finally:
        keyspace.clock = clock
        if progress is not None:
            progress.stop()
    keyspace.dirty = 0
    aof.current_size = sum(sizes)  # as Redis: measured before loading, a cut tail included
    aof.base_size = sizes[0] if manifest.base is not None else 0
    return status


def _load_one(aof, replayer, aof_file, last, progress, offset):
    """One file of the manifest, with loadAppendOnlyFiles's lines around loadSingleAppendOnlyFile (offset: the
    bytes of the files before it, for the progress)."""
    started = time.monotonic()
    status = load_single(aof, replayer, aof_file.name, progress, offset)
    if status == OK or (status == TRUNCATED and last):
        log.info("DB loaded from %s file %s: %.3f seconds", "base" if aof_file.kind == BASE else "incr",
                 aof_file.name, time.monotonic() - started)
    if status == TRUNCATED and not last:
        raise AOFError("Fatal error: the truncated file is not the last file")
    return OK if status == EMPTY else status


def load_single(aof, replayer, name, progress=None, offset=0):
    """loadSingleAppendOnlyFile: EMPTY, OK or TRUNCATED; AOFError if it cannot be loaded."""
    path = os.path.join(aof.directory, name)
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError as error:
        raise AOFError("The append log file %s doesn't exist: %s" % (name, error.strerror)) from None
    except OSError as error:
        raise AOFError("Fatal error: can't open the append log file %s for reading: %s"
                       % (name, error.strerror)) from None
    if not data:
        return EMPTY
    start = 0
    if data.startswith(b"REDIS"):
        start = _load_rdb(aof, data, name, progress)
    replay = Replay(replayer, data, name, start, progress, offset)
    valid_up_to = replay.run()
    if valid_up_to is None:
        return OK
    if not aof.config["aof-load-truncated"]:
        raise AOFError("Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your "
                       "AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can "
                       "set the 'aof-load-truncated' configuration option to yes and restart the server." % name)
    log.warning("!!! Warning: short read while loading the AOF file %s!!!", name)
    log.warning("!!! Truncating the AOF %s at offset %d !!!", name, valid_up_to)
    try:
        os.truncate(path, valid_up_to)
    except OSError as error:
        raise AOFError("Error truncating the AOF file %s: %s" % (name, error.strerror)) from None
    log.warning("AOF %s loaded anyway because aof-load-truncated is enabled", name)
    return TRUNCATED


def _load_rdb(aof, data, name, progress=None):
    """A BASE in RDB form, or an old AOF's RDB preamble: keys already expired are kept, as Redis loads an
    AOF's RDB (their DEL follows in the commands). The offset where the commands after it begin."""
    old_style = name == aof.config["appendfilename"]
    log.info("Reading RDB preamble from AOF file..." if old_style else "Reading RDB base file on AOF loading...")
    try:
        result = aof.server.snapshots.load_data(data, drop_expired=False, progress=progress)
    except RDBError as error:
        log.warning("%s", error)
        raise AOFError("Error reading the %s %s, AOF loading aborted"
                       % ("RDB preamble of the AOF file" if old_style else "RDB base file", name)) from None
    if old_style:
        log.info("Reading the remaining AOF tail...")
    return result.end


def _upgrade(aof):
    """aofUpgradePrepare: the old dir/appendonly.aof becomes the BASE (seq 1) inside appenddirname."""
    config, manifest = aof.config, aof.manifest
    filename, dirname = config["appendfilename"], config["appenddirname"]
    make_directory(aof.directory)
    manifest.base, manifest.base_seq, manifest.dirty = AofFile(filename, 1, BASE), 1, True
    problem = persist(manifest, aof.directory, filename)
    if problem is not None:
        raise AOFError(problem)
    try:
        os.rename(os.path.join(config["dir"], filename), os.path.join(aof.directory, filename))
    except OSError as error:
        raise AOFError("Error trying to move the old AOF file %s into dir %s: %s"
                       % (filename, dirname, error.strerror)) from None
    log.info("Successfully migrated an old-style AOF file (%s) into the AOF directory (%s).", filename, dirname)


def open_at_start(aof):
    """aofOpenIfNeededOnServerStart, after loading with appendonly yes: with no AOF at all a BASE of the
    loaded data is written first; then the last INCR (a new one if there is none) is opened to append.
    AOFError with Redis's line where Redis exits."""
    filename = aof.config["appendfilename"]
    make_directory(aof.directory)
    manifest = aof.manifest
    had_incr = bool(manifest.incr)
    if manifest.is_empty():
        name = manifest.new_base(filename, aof.config["aof-use-rdb-preamble"])
        try:
            write_base(aof, os.path.join(aof.directory, name))
        except OSError as error:
            raise AOFError("Write error writing append only file on disk: %s" % error.strerror) from None
        log.info("Creating AOF base file %s on server start", name)
    name = manifest.last_incr(filename)
    try:
        aof.fd = os.open(os.path.join(aof.directory, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as error:
        raise AOFError("Can't open the append-only file %s: %s" % (name, error.strerror)) from None
    problem = persist(manifest, aof.directory, filename)
    if problem is not None:
        raise AOFError(problem)
    aof.incr_size = aof.file_size(name)
    aof.selected = -1
    log.info("%s AOF incr file %s on server start", "Opening" if had_incr else "Creating", name)
