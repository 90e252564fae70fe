"""Replication: this server's history as replicas see it, and the links that carry it both ways.

state.py holds the replication IDs, the offset and the backlog (backlog.py) that
make partial resynchronisation possible; the master's side of a link (a replica
connected to us) and the replica's side (our link to our master) build on it.
propagation.py sends each logged change to the AOF and to the stream
(Replication.append, which feeds every replica attached); master.py is a
replica attached to us and its partial resync; fullsync.py its full one.
Commands (REPLICAOF, PSYNC, REPLCONF, WAIT, ROLE, FAILOVER) live in commands/;
what a replica runs from its master reaches the command table through a function
server.py hands in, so this package never imports commands.

Imports: errors, protocol, storage, persistence, serving.
"""
