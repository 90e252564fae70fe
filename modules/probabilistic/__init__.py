"""RedisBloom's probabilistic data types, each a part that modules/bloom.py registers with register(module).

sbchain.py is the scalable Bloom filter and cuckoofilter.py the cuckoo filter, RedisBloom's own
structures with its hashing, sizes and dump formats; bloom.py and cuckoo.py are their BF.* and CF.*
commands and data types; arguments.py reads the arguments and holds the error texts they share.
countmin.py is the Count-Min sketch (CMS.*) and topk.py the HeavyKeeper Top-K (TOPK.*), both indexed
with murmur2.py's hash; tdigest.py is the t-digest's commands (TDIGEST.*) over histogram.py's merging
digest; common.py is what these three share (their types rewritten as RESTORE, the counters' bound).

Imports: modules, errors, protocol, storage.
"""
