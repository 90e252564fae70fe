"""What INFO counts: the server's counters, error replies by code, each command's calls and
latency, and the instantaneous rates sampled by the cron.

A command's numbers live on its own CommandStats, hung off its row of the
table, so counting a call of the usual kind is one update rather than a lookup
by name: `fast` counts the calls by their whole microseconds (what Redis adds
up for usec), for durations under the least threshold that asks for a closer
look (the slow log, the latency monitor, a blocked wait to take out). A longer
call goes to an exact total and a histogram of log2 buckets split in eight, as
HdrHistogram's. Both are read out, together, only when INFO or LATENCY asks.
"""
import time

from errors import AlreadyCounted

ERROR_CODES_CAP = 128  # Redis's ERROR_STATS_NUMBER: more distinct codes than this turns errorstats off
METRIC_SAMPLES = 16  # Redis's STATS_METRIC_SAMPLES, one every 100 ms
RATES = ("ops", "input", "output", "repl_input", "repl_output")  # INFO's instantaneous_* figures
PEAK_SLOTS = 8  # Redis's CLIENTS_PEAK_MEM_USAGE_SLOTS: the client buffer peaks of the last 8 seconds
SUB_BUCKET_BITS = 3
HISTOGRAM_SIZE = (64 << SUB_BUCKET_BITS) + (1 << SUB_BUCKET_BITS)


def bucket_of(ns):
    """The histogram bucket of a duration in nanoseconds: its bit length and the three bits after the top one."""
    bits = ns.bit_length()
    return (bits << 3) | (ns >> (bits - 4) & 7) if bits > 4 else ns


FAST_LIMIT_USEC = 1000  # the longest fast span: 1 ms, so a row's counts take 8 kB
BLOCKED_WAIT_CHECK_USEC = 1000  # a blocking command this slow may have waited: slow_call() takes the wait out


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
    """One command's INFO commandstats and latencystats numbers.

    fast[n] counts the calls that took n whole microseconds, below span; the others are in
    slow_ns (their exact total) and slow_buckets (log2 buckets of their nanoseconds). Both lists
    are made at the row's first call of their kind: most rows are never called, and their counts
    would cost every full garbage collection a walk of thousands of elements."""

    __slots__ = ("fast", "span", "slow_ns", "slow_buckets", "rejected", "failed")

    def __init__(self, fast_usec=FAST_LIMIT_USEC):
        self.span = fast_usec
        self.reset()

    def reset(self):
        self.fast = []
        self.slow_ns = self.rejected = self.failed = 0
        self.slow_buckets = None

    def count_slow(self, ns):
        """A call past the fast span, or the row's first call (which makes the fast counts)."""
        if not self.fast and ns < self.span * 1000:
            self.fast = [0] * self.span
            self.fast[ns // 1000] += 1
            return
        if self.slow_buckets is None:
            self.slow_buckets = [0] * HISTOGRAM_SIZE
        self.slow_ns += ns
        self.slow_buckets[bucket_of(ns)] += 1

    def resize(self, fast_usec):
        """A new fast span (the thresholds changed): what was counted fast moves to the slow side."""
        if fast_usec == self.span:
            return
        for usec, count in enumerate(self.fast):
            if count:
                if self.slow_buckets is None:
                    self.slow_buckets = [0] * HISTOGRAM_SIZE
                self.slow_ns += usec * 1000 * count
                self.slow_buckets[bucket_of(usec * 1000 + 500)] += count
        self.span = fast_usec
        self.fast = []

    @property
    def ns(self):
        """The total time, each fast call taken at its whole microseconds, as Redis adds up usec."""
        return self.slow_ns + 1000 * sum(usec * count for usec, count in enumerate(self.fast) if count)

    @property
    def histogram(self):
        """Every call in the log2 buckets, a fast one at the middle of its microsecond."""
        buckets = list(self.slow_buckets or [0] * HISTOGRAM_SIZE)
        for usec, count in enumerate(self.fast):
            if count:
                buckets[bucket_of(usec * 1000 + 500)] += count
        return buckets

    @property
    def calls(self):
        return sum(self.fast) + sum(self.slow_buckets or ())

    def called(self):
        """Whether any call was counted (what LATENCY HISTOGRAM lists), without summing the counts."""
        return any(self.fast) or any(self.slow_buckets or ())


class Stats:
    """The server-wide counters of INFO stats and errorstats, and what call() compares a duration with.

    fast_usec is the span the commands' stats count fast (see CommandStats): a longer call is worth
    a closer look (slow log, latency monitor, a blocked wait to take out).
    """

    COUNTERS = ("connections_received", "commands_processed", "rejected_connections", "net_input_bytes",
                "reads_processed", "net_output_bytes", "writes_processed", "net_repl_input_bytes",
                "net_repl_output_bytes", "error_replies", "expire_cycle_ns", "forks", "latest_fork_usec",
                "fork_rate")

    __slots__ = COUNTERS + ("errors", "errors_enabled", "samples", "last_sample", "fast_usec", "buffer_peaks",
                              "clients_memory")

    def __init__(self, config):
        self.reset()
        self.configure(config)
        self.buffer_peaks = [(0, 0)] * PEAK_SLOTS  # (input, output) per second; RESETSTAT keeps them, as Redis
        self.clients_memory = 0  # the clients' tot-mem as the cron last added them up

    def track_buffers(self, second, largest_input, largest_output):
        """Once a second: this second's largest client query and output buffers (Redis's
        clientsCronTrackExpansiveClients); INFO shows the largest of the last PEAK_SLOTS seconds."""
        self.buffer_peaks[second % PEAK_SLOTS] = (largest_input, largest_output)

    def recent_max_buffers(self):
        """(client_recent_max_input_buffer, client_recent_max_output_buffer)."""
        return max(peak[0] for peak in self.buffer_peaks), max(peak[1] for peak in self.buffer_peaks)

    def reset(self):
        """CONFIG RESETSTAT's part: counters, error codes and the rate samples start again."""
        for name in self.COUNTERS:
            setattr(self, name, 0)
        self.errors = {}
        self.errors_enabled = True
        self.samples = {metric: [0] * METRIC_SAMPLES for metric in RATES}
        self.last_sample = None

    def configure(self, config):
        """The fast span of the commands' stats (see CommandStats): under every threshold that asks
        for a closer look at a call, and never over FAST_LIMIT_USEC."""
        thresholds = [BLOCKED_WAIT_CHECK_USEC, FAST_LIMIT_USEC]
        if config["slowlog-log-slower-than"] >= 0:
            thresholds.append(config["slowlog-log-slower-than"])
        if config["latency-monitor-threshold"]:
            thresholds.append(config["latency-monitor-threshold"] * 1000)
        self.fast_usec = min(thresholds)

    def count_error(self, message):
        """Redis's afterErrorReply: total_error_replies, and the code's count (the first word, or ERR)."""
        if type(message) is AlreadyCounted:
            return
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
        """Redis's trackInstantaneousMetric, every 100 ms: the rate since the last sample into a ring of 16.
        As in Redis 7.0, the network rates count the replication bytes too, which the repl_ ones count alone."""
        now = time.monotonic_ns() // 1_000_000
        readings = {"ops": self.commands_processed, "input": self.net_input_bytes + self.net_repl_input_bytes,
                    "output": self.net_output_bytes + self.net_repl_output_bytes,
                    "repl_input": self.net_repl_input_bytes, "repl_output": self.net_repl_output_bytes}
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
