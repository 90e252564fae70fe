"""MEMORY, as Redis 7.0's object.c: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP.

The figures are storage/eviction.py's estimates (what maxmemory limits),
the process's resident set size, and Python's own structures standing in
for Redis's allocations. MEMORY USAGE samples an aggregate's members as
Redis does (SAMPLES, 5 by default): a million-member set is sized from five
of them, never walked, unless SAMPLES 0 asks for all.
"""
import gc
import os
import struct
import sys

from commands import Command, subcommand_table, table
from errors import SYNTAX, ReplyError
from protocol import Verbatim, string_to_int
from replication.master import buffer_memory
from storage import eviction

DEFAULT_SAMPLES = 5  # OBJ_COMPUTE_SIZE_DEF_SAMPLES
ALL_SAMPLES = 2**63 - 1  # SAMPLES 0
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def memory_usage(session, key, *options):
    """MEMORY USAGE key [SAMPLES count]"""
    samples = DEFAULT_SAMPLES
    position = 0
    while position < len(options):
        if options[position].lower() != b"samples" or position + 1 >= len(options):
            raise ReplyError(SYNTAX)
        samples = string_to_int(options[position + 1])
        if samples is None:
            raise ReplyError("ERR value is not an integer or out of range")
        if samples < 0:
            raise ReplyError(SYNTAX)
        samples = samples or ALL_SAMPLES
        position += 2
    value = session.db.lookup_read(key, touch=False)
    if value is None:
        return None
    return eviction.key_usage(key, value, samples)


def _float(value):
    """A ratio as Redis sends it: computed in C's float, then printed as a double."""
    return struct.unpack("f", struct.pack("f", value))[0]


def resident_memory():
    """The process's resident set size in bytes (Linux /proc)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


def overhead(server):
    """Redis's getMemoryOverheadData, from our estimates: a dict of its figures."""
    memory, keyspace = server.keyspace.memory, server.keyspace
    total = memory.used()
    _, scripts, _, functions = server.scripting.memory()
    backlog, replicas = buffer_memory(server)  # not in our total (nor used_memory): so not in the overhead either
    figures = {"peak": max(memory.peak, total), "total": total, "startup": eviction.STARTUP_MEMORY,
               "scripts": scripts, "functions": functions, "backlog": backlog, "replicas": replicas,
               "clients": server.stats.clients_memory, "aof": len(server.aof.buffer), "databases": [],
               "keys": sum(len(db) for db in keyspace.databases), "rss": resident_memory()}
    overhead_total = figures["startup"] + figures["clients"] + figures["aof"]
    for db in keyspace.databases:
        if db.data:
            main = sys.getsizeof(db.data)
            expires = db.expires.table_sizes() if db.expires.deadlines else 0
            figures["databases"].append((db.index, main, expires))
            overhead_total += main + expires
    figures["overhead"] = overhead_total
    return figures


def memory_stats(session):
    """MEMORY STATS"""
    figures = overhead(session.server)
    total, startup, rss = figures["total"], figures["startup"], figures["rss"]
    net = max(total - startup, 0)
    dataset = max(total - figures["overhead"], 0)
    stats = {b"peak.allocated": figures["peak"], b"total.allocated": total, b"startup.allocated": startup,
             b"replication.backlog": figures["backlog"], b"clients.slaves": figures["replicas"],
             b"clients.normal": figures["clients"],
             b"cluster.links": 0, b"aof.buffer": figures["aof"], b"lua.caches": figures["scripts"],
             b"functions.caches": figures["functions"]}
    for index, main, expires in figures["databases"]:
        stats[b"db.%d" % index] = {b"overhead.hashtable.main": main, b"overhead.hashtable.expires": expires,
                                   b"overhead.hashtable.slot-to-keys": 0}
    stats.update({
        b"overhead.total": figures["overhead"], b"keys.count": figures["keys"],
        b"keys.bytes-per-key": net // figures["keys"] if figures["keys"] else 0, b"dataset.bytes": dataset,
        b"dataset.percentage": _float(dataset * 100 / net if net else 0),
        b"peak.percentage": _float(total * 100 / figures["peak"]),
        b"allocator.allocated": total, b"allocator.active": total, b"allocator.resident": rss,
        b"allocator-fragmentation.ratio": _float(1.0), b"allocator-fragmentation.bytes": 0,
        b"allocator-rss.ratio": _float(rss / total), b"allocator-rss.bytes": rss - total,
        b"rss-overhead.ratio": _float(1.0), b"rss-overhead.bytes": 0,
        b"fragmentation": _float(rss / total), b"fragmentation.bytes": rss - total,
    })
    return stats


EMPTY = ("Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these "
         "conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be "
         "back to our programming as soon as I finished rebooting.\n")
NO_ISSUES = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
ISSUES = "Sam, I detected a few issues in this Redis instance memory implants:\n\n"
BIG_PEAK = (
    " * Peak memory: In the past this instance used more than 150% the memory that is currently using. The "
    "allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation "
    "ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance "
    "Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the "
    "Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, "
    "please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the "
    "instance.\n\n")
HIGH_RSS = (
    " * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that "
    "the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis "
    "performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry "
    "above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the "
    "problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc "
    "allocator and not the default libc malloc. Note: The currently used allocator is \"libc\".\n\n")
SIGN_OFF = "I'm here to keep you safe, Sam. I want to help you.\n"


def doctor_report(figures):
    """Redis's getMemoryDoctorReport over the figures that apply to us: the peak and the total RSS."""
    total = figures["total"]
    if total < 5 * 1024 * 1024:
        return EMPTY
    issues = []
    if figures["peak"] / total > 1.5:
        issues.append(BIG_PEAK)
    if figures["rss"] / total > 1.4 and figures["rss"] - total > 10 << 20:
        issues.append(HIGH_RSS)
    return ISSUES + "".join(issues) + SIGN_OFF if issues else NO_ISSUES


def memory_doctor(session):
    """MEMORY DOCTOR"""
    return Verbatim("txt", doctor_report(overhead(session.server)).encode())


def memory_malloc_stats(session):
    """MEMORY MALLOC-STATS: what Redis built on libc malloc answers; Python's allocator has no such report."""
    return Verbatim("txt", b"Stats not supported for the current allocator")


def memory_purge(session):
    """MEMORY PURGE: a full garbage collection, the nearest thing to purging the allocator's dirty pages."""
    gc.collect()
    return "OK"


MEMORY_HELP = [
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR", "    Return memory problems reports.",
    "MALLOC-STATS", "    Return internal statistics report from the memory allocator.",
    "PURGE", "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS", "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP", "    Prints this help.",
]


def memory_help(session):
    """MEMORY HELP"""
    return MEMORY_HELP


MEMORY_SUBCOMMANDS = subcommand_table(
    "memory",
    Command("doctor", memory_doctor, 2, (), 0, 0, 0),
    Command("malloc-stats", memory_malloc_stats, 2, (), 0, 0, 0),
    Command("purge", memory_purge, 2, (), 0, 0, 0),
    Command("stats", memory_stats, 2, (), 0, 0, 0),
    Command("usage", memory_usage, -3, ("readonly",), 2, 2, 1),
    Command("help", memory_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("memory", None, -2, (), 0, 0, 0, MEMORY_SUBCOMMANDS),
    group="server",
)
