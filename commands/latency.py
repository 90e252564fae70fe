"""LATENCY: the latency monitor's events (serving/latency.py) and the commands' latency histograms."""
from commands import Command, subcommand_table, table
from commands.info import command_rows
from errors import LATENCY_NO_SAMPLES, ReplyError
from protocol import Verbatim
from serving import sparkline
from serving.latency import doctor_report
from serving.stats import cumulative_usec


def _event(raw):
    return raw.decode("utf-8", "surrogateescape")


def latency_latest(session):
    """LATENCY LATEST"""
    return session.server.latency.latest()


def latency_history(session, event):
    """LATENCY HISTORY event"""
    return session.server.latency.history(_event(event))


def latency_reset(session, *events):
    """LATENCY RESET [event [event ...]]"""
    return session.server.latency.reset([_event(event) for event in events] if events else None)


def latency_graph(session, event):
    """LATENCY GRAPH event"""
    series = session.server.latency.events.get(_event(event))
    if series is None:
        raise ReplyError(LATENCY_NO_SAMPLES % _event(event))
    return Verbatim("txt", sparkline.latency_graph(_event(event), series).encode("utf-8", "surrogateescape"))


def latency_doctor(session):
    """LATENCY DOCTOR"""
    server = session.server
    report = doctor_report(server.latency, server.config, server.stats.fork_rate)
    return Verbatim("txt", report.encode("utf-8", "surrogateescape"))


def _histogram(stats):
    levels = cumulative_usec(stats.histogram)
    return {b"calls": stats.calls, b"histogram_usec": dict(zip(levels[::2], levels[1::2]))}


def latency_histogram(session, *names):
    """LATENCY HISTOGRAM [command [command ...]]"""
    server = session.server
    if not server.config["latency-tracking"]:
        return {}  # Redis keeps no histogram while tracking is off (ours count calls, so they go on)
    if names:
        rows = []
        for name in names:
            container, _, sub = name.lower().partition(b"|")
            command = server.commands.get(container)
            if command is not None and sub:
                command = command.subcommands.get(sub)
            if command is not None:
                rows.append(command)
                rows.extend(command.subcommands.values())
    else:
        rows = command_rows(server)
    return {command.name.encode(): _histogram(command.stats) for command in rows
            if command.stats.called()}


LATENCY_HELP = [
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR", "    Return a human readable latency analysis report.",
    "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>", "    Return time-latency samples for the <event> class.",
    "LATEST", "    Return the latest latency samples for all events.",
    "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command "
    "names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP", "    Prints this help.",
]


def latency_help(session):
    """LATENCY HELP"""
    return LATENCY_HELP


FLAGS = ("admin", "noscript", "loading", "stale")
LATENCY_SUBCOMMANDS = subcommand_table(
    "latency",
    Command("latest", latency_latest, 2, FLAGS, 0, 0, 0),
    Command("history", latency_history, 3, FLAGS, 0, 0, 0),
    Command("reset", latency_reset, -2, FLAGS, 0, 0, 0),
    Command("graph", latency_graph, 3, FLAGS, 0, 0, 0),
    Command("doctor", latency_doctor, 2, FLAGS, 0, 0, 0),
    Command("histogram", latency_histogram, -2, FLAGS, 0, 0, 0),
    Command("help", latency_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("latency", None, -2, (), 0, 0, 0, LATENCY_SUBCOMMANDS),
    group="server",
)
