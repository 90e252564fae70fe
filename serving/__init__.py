"""Serving: what the server keeps around the data for its clients, apart from commands.

config.py holds the settings (files, options, CONFIG's parsing) over parameters.py
(every parameter) and values.py (how each type reads), session.py one client's
state, access.py who may connect and run what (passwords, protected mode,
renames), channels.py the pub/sub registry, notifications.py keyspace notifications,
tracking.py client-side caching's table, monitors.py MONITOR's feed, pause.py
the client pauses (CLIENT PAUSE's, a FAILOVER's, a SHUTDOWN's), shutdown.py
SHUTDOWN and the signals (waiting for the replicas, the last save), version.py
the versions INFO and HELLO report, logs.py the log's format and destination,
process.py daemonize, the pid file and the open-files limit; stats.py what INFO
counts, slowlog.py and latency.py (with sparkline.py's graphs) the slow log and
the latency monitor, clients_cron.py what the cron does for clients each second,
sockets.py the listening sockets. Commands read and change all of it; server.py
runs the connections.

Imports: acl, errors, persistence, protocol, storage.
"""
