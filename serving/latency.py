"""The latency monitor: events (command, fast-command, expire-cycle, eviction-cycle...) that took at
least latency-monitor-threshold milliseconds, up to 160 samples of each, one per second at most."""
import time
from collections import deque

HISTORY_LENGTH = 160  # Redis's LATENCY_TS_LEN


class EventSeries:
    """One event's samples [unix seconds, ms], oldest first, and the worst it ever took."""

    __slots__ = ("samples", "max")

    def __init__(self):
        self.samples = deque(maxlen=HISTORY_LENGTH)
        self.max = 0

    def add(self, now, ms):
        """Redis's latencyAddSample: a second sample in the same second keeps only the worst."""
        self.max = max(self.max, ms)
        if self.samples and self.samples[-1][0] == now:
            self.samples[-1][1] = max(self.samples[-1][1], ms)
        else:
            self.samples.append([now, ms])


class LatencyMonitor:
    """The events by name, in the order they first happened."""

    def __init__(self):
        self.events = {}

    def add(self, event, ms):
        series = self.events.get(event)
        if series is None:
            series = self.events[event] = EventSeries()
        series.add(int(time.time()), ms)

    def latest(self):
        """LATENCY LATEST: [event, time of its last sample, its latency, its all-time worst] each."""
        return [[name.encode(), series.samples[-1][0], series.samples[-1][1], series.max]
                for name, series in self.events.items()]

    def history(self, event):
        series = self.events.get(event)
        return [list(sample) for sample in series.samples] if series else []

    def reset(self, events=None):
        """Forget the named events (all with None); how many there were."""
        if events is None:
            count = len(self.events)
            self.events.clear()
            return count
        return sum(self.events.pop(event, None) is not None for event in set(events))


DISABLED = ("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use "
            "\"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep "
            "space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n")
OBSERVED = ("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, "
            "do you Dave?\n\n")
EVENT_LINE = ("%d. %s: %d latency spikes (average %dms, mean deviation %dms, period %.2f sec). "
              "Worst all time event %dms.")
QUIET = ("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. "
         "I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n")
NO_ADVICE = ("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis "
             "community to get some help, providing this report in your help request.\n")
# The advice texts in the order the report gives them; %d is latency-monitor-threshold in microseconds.
ADVICE = {
    "better_vm": "- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior "
                 "that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even "
                 "in the context of the same VM provider, certain kinds of instances can execute fork faster than "
                 "others.\n",
    "slowlog_enabled": "- There are latency issues with potentially slow commands you are using. Try to enable the "
                       "Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than %d'. If the Slow "
                       "log is disabled Redis is not able to log slow commands execution for you.\n",
    "slowlog_tuning": "- Your current Slow Log configuration only logs events that are slower than your configured "
                      "latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than %d'.\n",
    "slowlog_inspect": "- Check your Slow Log to understand what are the commands you are running which are too slow "
                       "to execute. Please check https://redis.io/commands/slowlog for more information.\n",
    "scheduler": "- The system is slow to execute Redis code paths not containing system calls. This usually means "
                 "the system does not provide Redis CPU time to run for long periods. You should try to:\n"
                 "  1) Lower the system load.\n"
                 "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                 "  3) Check if you have a \"noisy neighbour\" problem.\n"
                 "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
                 "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are "
                 "using Jemalloc. However this may create fragmentation problems.\n",
    "local_disk": "- It is strongly advised to use local disks for persistence, especially if you are using AOF. "
                  "Remote disks provided by platform-as-a-service providers are known to be slow.\n",
    "ssd": "- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log "
           "rewriting (resulting in smaller memory usage). With extremely high write load SSD disks can be a good "
           "option. However Redis should perform reasonably with high load using normal disks. Use this advice as "
           "a last resort.\n",
    "data_writeback": "- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to "
                      "data=ordered, however this mode of operation provides less guarantees, and sometimes it can "
                      "happen that after a hard crash the AOF file will have a half-written command at the end and "
                      "will require to be repaired before Redis restarts.\n",
    "disk_contention": "- Try to lower the disk contention. This is often caused by other disk intensive processes "
                       "running in the same computer (including other Redis instances).\n",
    "no_appendfsync": "- Assuming from the point of view of data safety this is viable in your environment, you could "
                      "try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed "
                      "while there is a child rewriting the AOF file or producing an RDB file (the moment where there "
                      "is high disk contention).\n",
    "relax_fsync_policy": "- Your fsync policy is set to 'always'. It is very hard to get good performances with such "
                          "a setup, if possible try to relax the fsync policy to 'onesec'.\n",
    "hz": "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration "
          "parameter to 100 using 'CONFIG SET hz 100'.\n",
    "large_objects": "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking "
                     "operation. If you have very large objects that are often deleted, expired, or evicted, try to "
                     "fragment those objects into multiple smaller objects.\n",
    "mass_eviction": "- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via "
                     "sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations "
                     "(RESTORE command), may create sudden memory pressure forcing the server to block trying to "
                     "evict keys. \n",
    "disable_thp": "- I detected a non zero amount of anonymous huge pages used by your process. This creates very "
                   "serious latency events in different conditions, especially when Redis is persisting on disk. To "
                   "disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', "
                   "make sure to also add it into /etc/rc.local so that the command will be executed again after a "
                   "reboot. Note that even if you have already disabled THP, you still need to restart the Redis "
                   "process to get rid of the huge pages already created.\n",
}


def _analysis(series):
    """Redis's analyzeLatencyForEvent: (samples, average, mean absolute deviation, seconds covered)."""
    latencies = [latency for _, latency in series.samples]
    average = sum(latencies) // len(latencies)
    period = int(time.time()) - min(moment for moment, _ in series.samples) or 1
    deviation = sum(abs(average - latency) for latency in latencies) // len(latencies)
    return len(latencies), average, deviation, period


def _anonymous_huge_pages():
    """Whether this process uses transparent huge pages (AnonHugePages in /proc/self/smaps)."""
    try:
        with open("/proc/self/smaps") as smaps:
            return any(line.startswith("AnonHugePages:") and int(line.split()[1]) > 0 for line in smaps)
    except OSError:
        return False


def _advice_for(event, config):
    """The advice an event calls for (createLatencyReport's per-event checks)."""
    if event == "command":
        slower_than = config["slowlog-log-slower-than"]
        first = []
        if slower_than < 0 or config["slowlog-max-len"] == 0:
            first = ["slowlog_enabled"]
        elif slower_than // 1000 > config["latency-monitor-threshold"]:
            first = ["slowlog_tuning"]
        return first + ["slowlog_inspect", "large_objects"]
    return {"fast-command": ["scheduler"], "expire-cycle": ["hz", "large_objects"],
            "eviction-cycle": ["mass_eviction"],
            "aof-write-pending-fsync": ["local_disk", "disk_contention", "ssd", "data_writeback"],
            "aof-write-active-child": ["no_appendfsync", "data_writeback", "ssd"],
            "aof-write-alone": ["local_disk", "data_writeback", "ssd"],
            "aof-fsync-always": ["relax_fsync_policy"]}.get(event, [])


def _fork_quality(rate):
    """(Redis's word for a fork rate in GB/s, whether it calls for a better VM)."""
    if rate < 10:
        return "terrible", True
    if rate < 25:
        return "poor", True
    return ("good" if rate < 100 else "excellent"), False


def doctor_report(monitor, config, fork_rate=0.0, hz=10):
    """LATENCY DOCTOR's text (Redis's createLatencyReport) for the events this server records."""
    threshold = config["latency-monitor-threshold"]
    if not monitor.events and not threshold:
        return DISABLED
    report, advice, advices = "", set(), 0
    for number, (event, series) in enumerate(monitor.events.items(), 1):
        if number == 1:
            report += OBSERVED
        samples, average, deviation, period = _analysis(series)
        report += EVENT_LINE % (number, event, samples, average, deviation, period / samples, series.max)
        wanted = _advice_for(event, config)
        if event == "fork":
            quality, slow = _fork_quality(fork_rate)
            report += " Fork rate is %.2f GB/sec (%s)." % (fork_rate, quality)
            wanted = ["better_vm"] if slow else []
        report += "\n"
        advice.update(wanted)
        advices += len(wanted)
    if _anonymous_huge_pages():
        advice.add("disable_thp")
        advices += 1
    if not monitor.events and not advices:
        return report + QUIET
    if not advices:
        return report + NO_ADVICE
    report += "\nI have a few advices for you:\n\n"
    for name, text in ADVICE.items():
        if name in advice and (name != "hz" or hz < 100):
            report += text % (threshold * 1000) if "%d" in text else text
    return report
