"""What INFO counts: the server's counters, error replies by code, each command's calls and
latency, and the instantaneous rates sampled by the cron.

A command's numbers live on its own CommandStats, hung off its row of the
table, so counting a call is two updates rather than a lookup by name: its
time is added to a total and its bucket counted in a histogram (log2 buckets
split in eight, as HdrHistogram's, whose counts are the calls). A duration
under FAST_LIMIT finds its bucket in a table with one shift; percentiles are
read out only when INFO or LATENCY HISTOGRAM asks.
"""
import time

ERROR_CODES_CAP = 128  # Redis's ERROR_STATS_NUMBER: more distinct codes than this turns errorstats off
METRIC_SAMPLES = 16  # Redis's STATS_METRIC_SAMPLES, one every 100 ms
SUB_BUCKET_BITS = 3
HISTOGRAM_SIZE = (64 << SUB_BUCKET_BITS) + (1 << SUB_BUCKET_BITS)


def bucket_of(ns):
    """The histogram bucket of a duration in nanoseconds: its bit length and the three bits after the top one."""
    bits = ns.bit_length()
    return (bits << 3) | (ns >> (bits - 4) & 7) if bits > 4 else ns


FAST_SHIFT = 6  # the table's slots are 64 ns wide
FAST_LIMIT = 1 << (FAST_SHIFT + 16)  # 4.19 ms, what the table covers: slow_ns never exceeds it
FAST_BUCKETS = [bucket_of((slot << FAST_SHIFT) + (1 << FAST_SHIFT - 1)) for slot in range(FAST_LIMIT >> FAST_SHIFT)]
# reads and writes pack two counters in one int, the calls above bit 64 and the bytes below, so that
# the connection loop counts both with one update per read and per write.
ONE_READ = ONE_WRITE = 1 << 64
BYTES = ONE_READ - 1
BLOCKED_WAIT_CHECK_NS = 1_000_000  # a blocking command this slow may have waited: slow_call() takes the wait out


def highest_in_bucket(index):
    """The largest duration (ns) that falls in a bucket, which is what HdrHistogram reports for it."""
    if index < 40:  # below 16 ns a bucket is one value; 16 to 39 stay empty
        return index
    bits, sub = index >> 3, index & 7
    low = (8 | sub) << (bits - 4)
    return low + (1 << (bits - 4)) - 1


def value_at_percentile(histogram, percentile):
    """HdrHistogram's hdr_value_at_percentile over our buckets: nanoseconds."""
    total = sum(histogram)
    wanted = max(1, int(percentile / 100 * total + 0.5))
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if count and seen >= wanted:
            return highest_in_bucket(index)
    return 0


def cumulative_usec(histogram):
    """LATENCY HISTOGRAM's histogram_usec: at 1, 2, 4... microseconds (HdrHistogram's log iterator from
    1024 ns, base 2), the calls that took up to that long, each level shown once the count grows."""
    levels = []
    seen, previous, index, level = 0, 0, 0, 1024
    last = max((i for i, count in enumerate(histogram) if count), default=-1)
    while index <= last:
        while index <= last and highest_in_bucket(index) < level:
            seen += histogram[index]
            index += 1
        if seen > previous:
            shift = level.bit_length() - 11
            levels.append(((1032 << shift) - 1) // 1000)  # the level's highest equivalent value, in usec
            levels.append(seen)
            previous = seen
        level <<= 1
    return levels


class CommandStats:
    """One command's INFO commandstats and latencystats numbers."""

    __slots__ = ("ns", "rejected", "failed", "histogram")

    def __init__(self):
        self.reset()

    def reset(self):
        self.ns = self.rejected = self.failed = 0
        self.histogram = [0] * HISTOGRAM_SIZE

    @property
    def calls(self):
        return sum(self.histogram)

    def used(self):
        """Whether INFO shows it: called (a call takes some nanoseconds), refused or failed."""
        return self.ns or self.rejected or self.failed


class Stats:
    """The server-wide counters of INFO stats and errorstats, and what call() compares a duration with.

    slow_ns is the least duration worth a closer look (slow log, latency monitor, a blocked wait to
    take out): one comparison per command decides whether anything beyond counting happens.
    """

    COUNTERS = ("connections_received", "commands_processed", "rejected_connections", "reads", "writes",
                "error_replies", "expire_cycle_ns", "forks", "latest_fork_usec", "fork_rate")

    __slots__ = COUNTERS + ("errors", "errors_enabled", "samples", "last_sample", "slow_ns")

    def __init__(self, config):
        self.reset()
        self.configure(config)

    def reset(self):
        """CONFIG RESETSTAT's part: counters, error codes and the rate samples start again."""
        for name in self.COUNTERS:
            setattr(self, name, 0)
        self.errors = {}
        self.errors_enabled = True
        self.samples = {metric: [0] * METRIC_SAMPLES for metric in ("ops", "input", "output")}
        self.last_sample = None

    def configure(self, config):
        """Take the thresholds from the settings; call after any CONFIG SET."""
        thresholds = [BLOCKED_WAIT_CHECK_NS, FAST_LIMIT]
        if config["slowlog-log-slower-than"] >= 0:
            thresholds.append(config["slowlog-log-slower-than"] * 1000)
        if config["latency-monitor-threshold"]:
            thresholds.append(config["latency-monitor-threshold"] * 1_000_000)
        self.slow_ns = min(thresholds)

    @property
    def net_input_bytes(self):
        return self.reads & BYTES

    @property
    def reads_processed(self):
        return self.reads >> 64

    @property
    def net_output_bytes(self):
        return self.writes & BYTES

    @property
    def writes_processed(self):
        return self.writes >> 64

    def count_error(self, message):
        """Redis's afterErrorReply: total_error_replies, and the code's count (the first word, or ERR)."""
        self.error_replies += 1
        if not self.errors_enabled:
            return
        space = message.find(" ", 0, 31)
        code = message[:space] if space > 0 else "ERR"
        count = self.errors.get(code)
        if count is None and len(self.errors) >= ERROR_CODES_CAP:
            self.errors = {}
            self.errors_enabled = False  # as Redis: off until CONFIG RESETSTAT
            return
        self.errors[code] = (count or 0) + 1

    def sample(self, slot):
        """Redis's trackInstantaneousMetric, every 100 ms: the rate since the last sample into a ring of 16."""
        now = time.monotonic_ns() // 1_000_000
        readings = {"ops": self.commands_processed, "input": self.net_input_bytes, "output": self.net_output_bytes}
        if self.last_sample is not None:
            then, previous = self.last_sample
            elapsed = now - then
            for metric, reading in readings.items():
                self.samples[metric][slot % METRIC_SAMPLES] = \
                    (reading - previous[metric]) * 1000 // elapsed if elapsed > 0 else 0
        self.last_sample = (now, readings)

    def instantaneous(self, metric):
        """The mean of the ring: operations per second, or bytes per second."""
        return sum(self.samples[metric]) // METRIC_SAMPLES
