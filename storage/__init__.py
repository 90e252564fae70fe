"""Storage: the data and the rules it keeps, knowing nothing of sockets or command tables.

keyspace.py holds the databases (keys, values, expiry, WATCH bookkeeping) and
events.py the classes of the keyspace events they announce; the
value types each have a module (lists.py, hashes.py, sets.py, zsets.py; a
string is bytes); blocking.py serves clients blocked on keys, cursors.py SCAN's
cursors, eviction.py the memory estimate and maxmemory; patterns.py and
numeric.py read Redis's glob patterns and number formats for every layer above.
geohash.py and geosearch.py are the geo commands' cells, distances and search
over a sorted set, pqsort.py the sorts whose order of ties Redis's replies show.

Imports: errors, protocol.
"""
