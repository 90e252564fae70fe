"""RedisBloom's probabilistic data types, each a part that modules/bloom.py registers with register(module).

sbchain.py is the scalable Bloom filter and cuckoofilter.py the cuckoo filter, RedisBloom's own
structures with its hashing, sizes and dump formats; bloom.py and cuckoo.py are their BF.* and CF.*
commands and data types; arguments.py reads the arguments and holds the error texts they share.

Imports: modules, errors, protocol, storage.
"""
