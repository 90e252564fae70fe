"""The AOF's format: commands as RESP arrays of bulk strings, written and read back.

    *<argc>\\r\\n then per argument $<length>\\r\\n<bytes>\\r\\n     one RESP array per command
    SELECT <db> before a command of another database than the last one
    MULTI ... EXEC around what one command or transaction logged in several steps
    #...\\n                                                   an annotation line, skipped

The replication stream is the same bytes (replication/propagation.py), which is
why encoding lives here rather than with the file (persistence/aof.py).
"""
import logging
import time

from errors import ReplyError

log = logging.getLogger("mini-redis")

PROGRESS_SECONDS = 1.0  # how often a long replay logs how far it is


class AOFError(Exception):
    """An append-only file that cannot be loaded: the text is what the log says before start-up stops."""


def encode(argv):
    """One command as a RESP array of bulk strings."""
    parts = [b"*%d\r\n" % len(argv)]
    for argument in argv:
        parts.append(b"$%d\r\n%s\r\n" % (len(argument), argument))
    return b"".join(parts)


def encode_commands(ops, selected):
    """(db index, argv) pairs as RESP commands, a SELECT before one of another database than the last
    selected (none before one of no database, an EXEC): the bytes, and the database selected after."""
    parts = []
    for index, argv in ops:
        if index != selected and index is not None:
            parts.append(encode([b"SELECT", b"%d" % index]))
            selected = index
        parts.append(encode(argv))
    return b"".join(parts), selected


class Replay:
    """Reads an AOF's commands and hands them to a commands.Replayer, a client without a connection."""

    def __init__(self, replayer, data, name, start=0, progress=None, offset=0):
        self.replayer = replayer
        self.data = data
        self.name = name
        self.start = start  # where the commands begin: after a BASE's RDB
        self.progress = progress  # the server's LoadProgress, told every 1024 commands (it lets the clients in)
        self.offset = offset  # the bytes of the files loaded before this one, for the progress
        self.commands = 0

    def run(self):
        """Replay everything; the offset to truncate at when the tail is torn, else None."""
        data, size = self.data, len(self.data)
        position = valid_up_to = self.start
        queued = None  # the commands of an open MULTI
        before_multi = 0
        next_report = time.monotonic() + PROGRESS_SECONDS
        while position < size:
            if data[position] == 0x23:  # '#': an annotation line
                end = data.find(b"\n", position)
                if end < 0:
                    break
                position = end + 1  # as Redis: a torn command after it is cut before the annotation
                continue
            argv, position = self._command(position)
            if argv is None:
                break  # the file ends inside this command
            command, arguments = self._lookup(argv)
            if command.name == "multi":
                queued, before_multi = [], valid_up_to
            elif command.name == "exec":
                self._exec(queued or [])
                queued = None
            elif queued is not None:
                queued.append((command, arguments, argv))
            else:
                self.replayer.run(command, arguments, argv)
            valid_up_to = position
            self.commands += 1
            if not self.commands % 1024:  # as Redis's loadSingleAppendOnlyFile, by commands
                if self.progress is not None:
                    self.progress.advance(self.offset + position)
                if time.monotonic() >= next_report:
                    log.info("AOF loading: %d%% (%d of %d bytes)", position * 100 // size, position, size)
                    next_report = time.monotonic() + PROGRESS_SECONDS
        if queued is not None:
            log.warning("Revert incomplete MULTI/EXEC transaction in AOF file %s", self.name)
            return before_multi
        return valid_up_to if position < size else None

    def _bad_format(self):
        raise AOFError("Bad file format reading the append only file %s: make a backup of your AOF file, then use "
                       "./redis-check-aof --fix <filename.manifest>" % self.name)

    def _line(self, position):
        """(the line's bytes without CRLF, where the next begins), or (None, None) at the end of the data."""
        end = self.data.find(b"\r\n", position)
        if end < 0:
            return None, None
        return self.data[position:end], end + 2

    def _number(self, line, prefix):
        if line[:1] != prefix or not line[1:].isdigit():
            self._bad_format()
        return int(line[1:])

    def _command(self, position):
        """(argv, next position), or (None, position) if the data ends before the command does."""
        start = position
        line, position = self._line(position)
        if line is None:
            return None, start
        argc = self._number(line, b"*")
        if argc < 1:
            self._bad_format()
        argv = []
        for _ in range(argc):
            line, position = self._line(position)
            if line is None:
                return None, start
            length = self._number(line, b"$")
            end = position + length
            if end + 2 > len(self.data):
                return None, start
            if self.data[end:end + 2] != b"\r\n":
                self._bad_format()
            argv.append(self.data[position:end])
            position = end + 2
        return argv, position

    def _lookup(self, argv):
        try:
            return self.replayer.lookup(argv)
        except ReplyError:
            raise AOFError("Unknown command '%s' reading the append only file %s"
                           % (argv[0].decode(errors="replace"), self.name)) from None

    def _exec(self, queued):
        for command, arguments, argv in queued:
            self.replayer.run(command, arguments, argv)
