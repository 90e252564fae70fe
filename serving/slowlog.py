"""The slow log: commands that took at least slowlog-log-slower-than microseconds, newest first,
at most slowlog-max-len of them, each as Redis's slowlogCreateEntry writes it."""
import time
from collections import deque
from itertools import islice

MAX_ARGUMENTS = 32  # Redis's SLOWLOG_ENTRY_MAX_ARGC
MAX_STRING = 128  # SLOWLOG_ENTRY_MAX_STRING


REDACTED = b"(redacted)"
SENSITIVE_SETTINGS = (b"requirepass", b"masterauth")


def migrate_secrets(argv):
    """The positions of MIGRATE's AUTH password and AUTH2 username and password, which migrateCommand
    redacts as it reads its options (the keys after KEYS are not options)."""
    hidden = []
    index = 6
    while index < len(argv):
        option, more = argv[index].lower(), len(argv) - 1 - index
        if option == b"keys":
            break
        if option == b"auth" and more >= 1:
            hidden.append(index + 1)
            index += 1
        elif option == b"auth2" and more >= 2:
            hidden += (index + 1, index + 2)
            index += 2
        index += 1
    return hidden


def redacted(argv):
    """Passwords replaced as Redis's redactClientCommandArgument does: AUTH's, HELLO AUTH's, MIGRATE's, ACL
    SETUSER's name and rules, and the values CONFIG SET gives requirepass and masterauth."""
    name = argv[0].lower()
    hidden = set()
    if name == b"auth":
        hidden.update(range(1, len(argv)))
    elif name == b"hello":
        words = [arg.lower() for arg in argv]
        if b"auth" in words[2:]:
            at = words.index(b"auth", 2)
            hidden.update((at + 1, at + 2))
    elif name == b"migrate":
        hidden.update(migrate_secrets(argv))
    elif name == b"acl" and len(argv) > 2 and argv[1].lower() == b"setuser":  # every rule may hold a password
        hidden.update(range(2, len(argv)))
    elif name == b"config" and len(argv) > 1 and argv[1].lower() == b"set":
        hidden.update(index + 1 for index in range(2, len(argv) - 1, 2) if argv[index].lower() in SENSITIVE_SETTINGS)
    return [REDACTED if index in hidden else arg for index, arg in enumerate(argv)]


def trimmed(argv):
    """At most 32 arguments (the last says how many more there were), each cut to 128 bytes."""
    if len(argv) > MAX_ARGUMENTS:
        kept = list(argv[:MAX_ARGUMENTS - 1])
        kept.append(b"... (%d more arguments)" % (len(argv) - MAX_ARGUMENTS + 1))
    else:
        kept = list(argv)
    return [arg if len(arg) <= MAX_STRING else arg[:MAX_STRING] + b"... (%d more bytes)" % (len(arg) - MAX_STRING)
            for arg in kept]


class SlowLog:
    """The entries, newest first; the oldest go once there are more than slowlog-max-len."""

    def __init__(self):
        self.entries = deque()
        self.next_id = 0

    def push(self, session, argv, usec, max_len):
        self.entries.appendleft([self.next_id, int(time.time()), usec, trimmed(redacted(argv)),
                                 session.address.encode(), session.name])
        self.next_id += 1
        while len(self.entries) > max_len:
            self.entries.pop()

    def newest(self, count):
        """The count newest entries (all with -1)."""
        entries = self.entries if count < 0 else islice(self.entries, count)
        return [list(entry) for entry in entries]

    def reset(self):
        self.entries.clear()
