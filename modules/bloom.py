"""A RedisBloom-compatible module: python server.py --loadmodule modules/bloom.py [OPTION value ...]
(or MODULE LOAD modules/bloom.py ...), then BF.*, CF.*, CMS.*, TOPK.* and TDIGEST.* as RedisBloom 2.6
serves them.

MODULE LIST shows it as `bf`, version 20612: RedisBloom 2.6.12, the line Redis Stack 7.2 ships, whose
command set and replies these match (BF.CARD, RESP3 maps for the INFO commands); clients gate on that
number. The options are RedisBloom's: ERROR_RATE and INITIAL_SIZE (the filters BF.ADD, BF.MADD and
BF.INSERT create), CF_MAX_EXPANSIONS (how many sub-filters a cuckoo filter may have).
"""
from modules.probabilistic import bloom, countmin, cuckoo, tdigest, topk
from modules.probabilistic.arguments import Defaults

NAME = "bf"
VERSION = 20612  # REBLOOM_MODULE_VERSION of RedisBloom 2.6.12: major * 10000 + minor * 100 + patch


def on_load(module, args):
    """RedisModule_OnLoad: a bad option is logged, and the module is not loaded, as RedisBloom's BAIL."""
    module.identify(NAME, VERSION)
    module.log("notice", "RedisBloom version 2.6.12 (mini-redis)")
    try:
        defaults = Defaults(args)
    except ValueError as failure:
        module.log("warning", str(failure))
        raise
    bloom.register(module, defaults)
    cuckoo.register(module, defaults)
    countmin.register(module)
    topk.register(module)
    tdigest.register(module)
