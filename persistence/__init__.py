"""Persistence: RDB snapshots (rdb.py, the file format; codecs.py, its byte-level pieces; snapshots.py, when
and how they are taken). The append-only file will sit beside them as aof.py."""
