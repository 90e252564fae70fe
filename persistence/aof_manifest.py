"""The multi-part AOF's manifest (Redis 7.0): which files of appenddirname make up the AOF, in order.

    file appendonly.aof.2.base.rdb seq 2 type b      the BASE: the keyspace at the last rewrite
    file appendonly.aof.1.incr.aof seq 1 type h      HISTORY: replaced by a rewrite, deleted soon
    file appendonly.aof.2.incr.aof seq 2 type i      INCR: the commands logged since, in order

One line per file, BASE first, then HISTORY, then INCR; a name that needs it is quoted as
sdscatrepr quotes. Read strictly as aofLoadManifestFromFile reads it (any fault stops start-up
with Redis's lines), written to temp-<name>.manifest, fsynced and renamed over it.
"""
import errno
import os

from persistence.aof_format import AOFError
from protocol import split_inline

BASE, HISTORY, INCR = "b", "h", "i"
MAX_LINE = 1024  # MANIFEST_MAX_LINE


class AofFile:
    """One line of the manifest: a file's name, sequence number and type."""
    __slots__ = ("name", "seq", "kind")

    def __init__(self, name, seq, kind):
        self.name, self.seq, self.kind = name, seq, kind

    def line(self):
        name = _repr(self.name) if _needs_repr(self.name) else self.name
        return "file %s seq %d type %s\n" % (name, self.seq, self.kind)


def _needs_repr(name):
    """sdsneedsrepr: a byte that is not printable ASCII, a space, a quote or a backslash."""
    return any(byte <= 32 or byte >= 127 or byte in b'"\\' for byte in name.encode(errors="surrogateescape"))


def _repr(name):
    """sdscatrepr: the name in double quotes, escaped."""
    escapes = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\a": "\\a", "\b": "\\b"}
    out = []
    for byte in name.encode(errors="surrogateescape"):
        char = chr(byte)
        if char in escapes:
            out.append(escapes[char])
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append("\\x%02x" % byte)
    return '"%s"' % "".join(out)


class Manifest:
    """aofManifest: the BASE, the HISTORY and INCR lists, the last sequence numbers given out."""

    def __init__(self):
        self.base = None
        self.history = []
        self.incr = []
        self.base_seq = 0
        self.incr_seq = 0
        self.dirty = False

    def copy(self):
        """aofManifestDup: changes go to a copy, which replaces the original once on disk."""
        other = Manifest()
        other.base = AofFile(self.base.name, self.base.seq, self.base.kind) if self.base else None
        other.history = [AofFile(f.name, f.seq, f.kind) for f in self.history]
        other.incr = [AofFile(f.name, f.seq, f.kind) for f in self.incr]
        other.base_seq, other.incr_seq, other.dirty = self.base_seq, self.incr_seq, self.dirty
        return other

    def text(self):
        """getAofManifestAsString."""
        files = ([self.base] if self.base else []) + self.history + self.incr
        return "".join(f.line() for f in files)

    def is_empty(self):
        return self.base is None and not self.incr

    def loaded_files(self):
        """The files a load replays, in order: the BASE, then each INCR."""
        return ([self.base] if self.base else []) + self.incr

    def new_base(self, filename, rdb):
        """getNewBaseFileNameAndMarkPreAsHistory: the next BASE's name; the current one becomes HISTORY."""
        if self.base is not None:
            self.base.kind = HISTORY
            self.history.insert(0, self.base)
        self.base_seq += 1
        self.base = AofFile("%s.%d.base.%s" % (filename, self.base_seq, "rdb" if rdb else "aof"), self.base_seq, BASE)
        self.dirty = True
        return self.base.name

    def new_incr(self, filename):
        """getNewIncrAofName: the next INCR, added at the end."""
        self.incr_seq += 1
        self.incr.append(AofFile("%s.%d.incr.aof" % (filename, self.incr_seq), self.incr_seq, INCR))
        self.dirty = True
        return self.incr[-1].name

    def last_incr(self, filename):
        """getLastIncrAofName: the INCR to append to, a new one if there is none."""
        return self.incr[-1].name if self.incr else self.new_incr(filename)

    def rewritten_incrs_to_history(self, keep_last):
        """markRewrittenIncrAofAsHistory: every INCR but the one being written (keep_last) becomes HISTORY."""
        kept = self.incr[-1:] if keep_last else []
        for f in reversed(self.incr[:len(self.incr) - len(kept)]):
            f.kind = HISTORY
            self.history.insert(0, f)
        self.incr = kept
        self.dirty = True


def manifest_name(filename):
    return filename + ".manifest"


def read_manifest(path):
    """aofLoadManifestFromFile: the manifest at path; AOFError with Redis's lines if it is unsound."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise AOFError("Fatal error: can't open the AOF manifest file %s for reading: %s"
                       % (path, error.strerror)) from None
    manifest = Manifest()
    number, position = 0, 0
    max_seq = 0
    while True:
        if position >= len(data):
            if number == 0:
                _fail("Found an empty AOF manifest")
            return manifest
        end = data.find(b"\n", position, position + MAX_LINE)
        chunk = data[position:end + 1] if end >= 0 else data[position:position + MAX_LINE]
        position += len(chunk)
        number += 1
        if chunk[:1] == b"#":
            continue
        if end < 0:
            _fail("The AOF manifest file contains too long line")
        line = chunk.strip(b" \t\r\n")
        text = line.decode(errors="replace")
        if not line:
            _fail("Invalid AOF manifest file format", number, text)
        argv = split_inline(line)
        if argv is None or len(argv) < 6 or len(argv) % 2:
            _fail("Invalid AOF manifest file format", number, text)
        entry = _entry(argv, number, text)
        if entry.kind == BASE:
            if manifest.base is not None:
                _fail("Found duplicate base file information", number, text)
            manifest.base, manifest.base_seq = entry, entry.seq
        elif entry.kind == HISTORY:
            manifest.history.append(entry)
        elif entry.kind == INCR:
            if entry.seq <= max_seq:
                _fail("Found a non-monotonic sequence number", number, text)
            manifest.incr.append(entry)
            manifest.incr_seq = max_seq = entry.seq
        else:
            _fail("Unknown AOF file type", number, text)


def _entry(argv, number, text):
    name, seq, kind = None, 0, ""
    for key, value in zip(argv[::2], argv[1::2]):
        key = key.lower()
        if key == b"file":
            name = value.decode(errors="surrogateescape")
            if "/" in name or "\\" in name:
                _fail("File can't be a path, just a filename", number, text)
        elif key == b"seq":
            seq = _atoll(value)
        elif key == b"type":
            kind = value[:1].decode(errors="replace")
    if not name or not seq or not kind:
        _fail("Invalid AOF manifest file format", number, text)
    return AofFile(name, seq, kind)


def _atoll(value):
    """C's atoll: an optional sign and the leading digits, 0 if there are none."""
    text = value.lstrip(b" \t")
    sign = -1 if text[:1] == b"-" else 1
    text = text[1:] if text[:1] in (b"-", b"+") else text
    digits = len(text) - len(text.lstrip(b"0123456789"))
    return sign * int(text[:digits]) if digits else 0


def _fail(reason, number=None, text=None):
    lines = ["", "*** FATAL AOF MANIFEST FILE ERROR ***"]
    if number is not None:
        lines += ["Reading the manifest file, at line %d" % number, ">>> '%s'" % text]
    raise AOFError("\n".join(lines + [reason]))


def write_manifest(directory, filename, text):
    """writeAofManifestFile: temp-<name>.manifest, fsynced, renamed over the manifest, then the folder
    fsynced (new files were added to it). None if it worked, else Redis's line saying which step failed."""
    name, temporary_name = manifest_name(filename), "temp-" + manifest_name(filename)
    path, temporary = os.path.join(directory, name), os.path.join(directory, temporary_name)
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    except OSError as error:
        return "Can't open the AOF manifest file %s: %s" % (temporary_name, error.strerror)
    step = "write"
    try:
        view = memoryview(text.encode(errors="surrogateescape"))
        while view:
            view = view[os.write(fd, view):]
        step = "fsync"
        os.fsync(fd)
        step = "rename"
        os.replace(temporary, path)
        step = "directory"
        sync_directory(directory)
    except OSError as error:
        return {"write": "Error trying to write the temporary AOF manifest file %s: %s" % (temporary_name,
                                                                                         error.strerror),
                "fsync": "Fail to fsync the temp AOF file %s: %s." % (temporary_name, error.strerror),
                "rename": "Error trying to rename the temporary AOF manifest file %s into %s: %s"
                          % (temporary_name, name, error.strerror),
                "directory": "Fail to fsync AOF directory %s: %s." % (path, error.strerror)}[step]
    finally:
        os.close(fd)
    return None


def persist(manifest, directory, filename):
    """persistAofManifest: write it if it changed. None if it is on disk, else the failure's log line."""
    if not manifest.dirty:
        return None
    problem = write_manifest(directory, filename, manifest.text())
    if problem is None:
        manifest.dirty = False
    return problem


def sync_directory(directory):
    """fsync a folder, so that the renames and new files in it survive a power loss."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as error:
        if error.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
