"""Pipelines and optimistic transactions (MULTI/EXEC/WATCH) for client.Client.

A Pipeline buffers commands and sends them in one write; execute() reads the
replies back in order. With transaction=True the batch is wrapped in MULTI and
EXEC, so the server runs it without interleaving other clients.

WATCH makes a transaction optimistic: pipe.watch(key) takes a connection of
its own and, until pipe.multi(), runs commands at once (so func can read the
current values); EXEC then answers nil, raised as WatchError, if another client
changed a watched key in between. Client.transaction() retries that loop.
"""
from clientlib import commands as client_commands
from clientlib.commands import decode
from clientlib.connection import CommandError
from protocol import NULL_ARRAY, Error, encode_command


class WatchError(Exception):
    """EXEC returned nil: a WATCHed key changed, so the transaction did not run."""


@client_commands.install
class Pipeline:
    """Commands of one client, queued: each named method returns the pipeline, so calls chain."""

    def __init__(self, client, transaction=True):
        self.client = client
        self.transaction = transaction
        self._queue = []  # (argv, transform)
        self._connection = None  # held from watch() until reset()
        self._watching = False
        self._explicit_multi = False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.reset()

    def __len__(self):
        return len(self._queue)

    def execute_command(self, *args):
        """Queue any command (the pipeline's version of Client.execute)."""
        return self._command(args, None)

    def watch(self, *keys):
        """WATCH key [key ...]: from now until multi(), commands run at once on this connection."""
        if self._explicit_multi:
            raise CommandError("WATCH inside MULTI is not allowed")
        if self._connection is None:
            self._connection = self.client.pool.get()
        self._watching = True
        return self._immediate(("WATCH", *keys), None)

    def unwatch(self):
        """UNWATCH: forget the watched keys."""
        result = self._immediate(("UNWATCH",), None) if self._watching else True
        self._watching = False
        return result

    def multi(self):
        """Start queueing the transaction's commands (after watch()); execute() sends them."""
        if self._explicit_multi:
            raise CommandError("MULTI calls can not be nested")
        if self._queue:
            raise CommandError("commands without an explicit transaction are already queued")
        self._explicit_multi = True

    def reset(self):
        """Drop the queue and any WATCH, and give the connection back to the pool."""
        self._queue = []
        if self._connection is not None:
            if self._watching and self._connection.is_open:
                try:
                    self._connection.round_trip(encode_command(("UNWATCH",)))
                except ConnectionError:
                    pass
            self.client.pool.release(self._connection)
            self._connection = None
        self._watching = self._explicit_multi = False

    def _command(self, argv, transform):
        if self._watching and not self._explicit_multi:
            return self._immediate(argv, transform)
        self._queue.append((argv, transform))
        return self

    def _immediate(self, argv, transform):
        reply = self._connection.round_trip(encode_command(argv))
        if isinstance(reply, Error):
            raise CommandError(reply.message)
        return self._finish(reply, transform)

    def _finish(self, reply, transform):
        if transform is not None:
            reply = transform(reply)
        return decode(reply) if self.client.decode_responses else reply

    def execute(self, raise_on_error=True):
        """Send the queue in one write and return the replies in order; then reset.

        An error reply takes its command's slot as a CommandError; the first one
        is raised unless raise_on_error is False. A WATCHed key that changed
        raises WatchError.
        """
        transactional = self.transaction or self._watching or self._explicit_multi
        queue = self._queue
        if not queue and not transactional:
            return []
        connection = self._connection or self.client.pool.get()
        try:
            if transactional:
                replies = self._run_transaction(connection, queue)
            else:
                replies = self._run_batch(connection, queue)
        finally:
            if self._connection is None:
                self.client.pool.release(connection)
            self._watching = False  # EXEC (or a dropped connection) ended any WATCH
            self.reset()
        results = [CommandError(reply.message) if isinstance(reply, Error) else self._finish(reply, transform)
                   for reply, (_, transform) in zip(replies, queue)]
        if raise_on_error:
            for result in results:
                if isinstance(result, CommandError):
                    raise result
        return results

    @staticmethod
    def _run_batch(connection, queue):
        connection.send(b"".join(encode_command(argv) for argv, _ in queue))
        return [connection.read_reply() for _ in queue]

    @staticmethod
    def _run_transaction(connection, queue):
        """MULTI, the queue, EXEC in one write; the replies EXEC returned, errors in their slots.

        A command the server refused to queue (a wrong arity, say) makes EXEC
        fail with EXECABORT: that command's slot holds its own error, the others
        the EXECABORT error, since none of them ran.
        """
        commands = [("MULTI",), *(argv for argv, _ in queue), ("EXEC",)]
        connection.send(b"".join(encode_command(argv) for argv in commands))
        multi = connection.read_reply()
        queued = [connection.read_reply() for _ in queue]
        exec_reply = connection.read_reply()
        if isinstance(multi, Error):
            raise CommandError(multi.message)
        if exec_reply is None or exec_reply is NULL_ARRAY:
            raise WatchError("a watched key changed before EXEC")
        if isinstance(exec_reply, Error):
            return [reply if isinstance(reply, Error) else exec_reply for reply in queued]
        return exec_reply

