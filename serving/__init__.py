"""Serving: what the server keeps around the data for its clients, apart from sockets and commands.

config.py holds the settings (defaults, files, CONFIG's parsing), session.py one
client's state, access.py who may connect and run what (passwords, protected
mode, renames), channels.py the pub/sub registry, monitors.py MONITOR's feed,
pause.py CLIENT PAUSE, version.py the versions INFO and HELLO report; stats.py
what INFO counts, slowlog.py and latency.py (with sparkline.py's graphs) the
slow log and the latency monitor. Commands read and change all of it; server.py
owns the sockets.

Imports: errors, protocol, storage.
"""
