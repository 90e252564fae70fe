"""Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB, and sharded
pub/sub's SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH (a standalone server is one shard holding every slot)."""
from commands import Command, subcommand_table, table
from errors import SSUBSCRIBE_DENY_BLOCKING, ReplyError, subcommand_syntax
from protocol import Frames, Push
from replication.propagation import REPLICAS


def _confirmations(session, kind, names, change, count=None):
    """One [kind, name, subscription count] frame per name, after applying change(name)."""
    count = count or session.subscription_count
    frames = Frames()
    for name in names:
        change(name)
        frames.append(Push([kind, name, count()]))
    return frames


def subscribe(session, *channels):
    """SUBSCRIBE channel [channel ...]"""
    return _confirmations(session, b"subscribe", channels, session.subscribe)


def unsubscribe(session, *channels):
    """UNSUBSCRIBE [channel [channel ...]]"""
    names = channels or list(session.channels)
    if not names:
        return Push([b"unsubscribe", None, session.subscription_count()])
    return _confirmations(session, b"unsubscribe", names, session.unsubscribe)


def psubscribe(session, *patterns):
    """PSUBSCRIBE pattern [pattern ...]"""
    return _confirmations(session, b"psubscribe", patterns, session.psubscribe)


def punsubscribe(session, *patterns):
    """PUNSUBSCRIBE [pattern [pattern ...]]"""
    names = patterns or list(session.patterns)
    if not names:
        return Push([b"punsubscribe", None, session.subscription_count()])
    return _confirmations(session, b"punsubscribe", names, session.punsubscribe)


def publish(session, channel, message):
    """PUBLISH channel message"""
    _to_replicas(session)
    return session.server.pubsub.publish(channel, message)


def _to_replicas(session):
    """PUBLISH and SPUBLISH reach the replicas' subscribers too (forceCommandPropagation(c, PROPAGATE_REPL))."""
    propagator = session.server.keyspace.propagator
    if propagator is not None:
        propagator.feed(session.db.index, session.argv, targets=REPLICAS)


def ssubscribe(session, *channels):
    """SSUBSCRIBE shardchannel [shardchannel ...]"""
    if session.in_exec:  # Redis: a client that expects one reply per command (MULTI) cannot take pushes
        raise ReplyError(SSUBSCRIBE_DENY_BLOCKING)
    return _confirmations(session, b"ssubscribe", channels, session.ssubscribe, session.shard_channels.__len__)


def sunsubscribe(session, *channels):
    """SUNSUBSCRIBE [shardchannel [shardchannel ...]]"""
    names = channels or list(session.shard_channels)
    if not names:
        return Push([b"sunsubscribe", None, 0])
    return _confirmations(session, b"sunsubscribe", names, session.sunsubscribe, session.shard_channels.__len__)


def spublish(session, channel, message):
    """SPUBLISH shardchannel message"""
    _to_replicas(session)
    return session.server.pubsub.spublish(channel, message)


def pubsub_channels(session, *pattern, shard=False):
    """PUBSUB CHANNELS [pattern]"""
    if len(pattern) > 1:
        raise subcommand_syntax(session.argv)
    return session.server.pubsub.channels_matching(pattern[0] if pattern else None, shard)


def pubsub_numsub(session, *channels, shard=False):
    """PUBSUB NUMSUB [channel [channel ...]]"""
    registry = session.server.pubsub
    return [item for channel in channels for item in (channel, registry.subscriber_count(channel, shard))]


def pubsub_shardchannels(session, *pattern):
    """PUBSUB SHARDCHANNELS [pattern]"""
    return pubsub_channels(session, *pattern, shard=True)


def pubsub_shardnumsub(session, *channels):
    """PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]"""
    return pubsub_numsub(session, *channels, shard=True)


def pubsub_numpat(session):
    """PUBSUB NUMPAT"""
    return len(session.server.pubsub.patterns)


PUBSUB_HELP = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
]


def pubsub_help(session):
    """PUBSUB HELP"""
    return PUBSUB_HELP


PUBSUB_SUBCOMMANDS = subcommand_table(
    "pubsub",
    Command("channels", pubsub_channels, -2, ("pubsub", "loading", "stale"), 0, 0, 0),
    Command("numsub", pubsub_numsub, -2, ("pubsub", "loading", "stale"), 0, 0, 0),
    Command("numpat", pubsub_numpat, 2, ("pubsub", "loading", "stale"), 0, 0, 0),
    Command("shardchannels", pubsub_shardchannels, -2, ("pubsub", "loading", "stale"), 0, 0, 0),
    Command("shardnumsub", pubsub_shardnumsub, -2, ("pubsub", "loading", "stale"), 0, 0, 0),
    Command("help", pubsub_help, 2, ("loading", "stale"), 0, 0, 0),
)

COMMANDS = table(
    Command("subscribe", subscribe, -2, ("pubsub", "noscript", "loading", "stale"), 0, 0, 0),
    Command("unsubscribe", unsubscribe, -1, ("pubsub", "noscript", "loading", "stale"), 0, 0, 0),
    Command("psubscribe", psubscribe, -2, ("pubsub", "noscript", "loading", "stale"), 0, 0, 0),
    Command("punsubscribe", punsubscribe, -1, ("pubsub", "noscript", "loading", "stale"), 0, 0, 0),
    Command("publish", publish, 3, ("pubsub", "loading", "stale", "fast", "may_replicate"), 0, 0, 0),
    Command("ssubscribe", ssubscribe, -2, ("pubsub", "noscript", "loading", "stale"), 1, -1, 1),
    Command("sunsubscribe", sunsubscribe, -1, ("pubsub", "noscript", "loading", "stale"), 1, -1, 1),
    Command("spublish", spublish, 3, ("pubsub", "loading", "stale", "fast"), 1, 1, 1),
    Command("pubsub", None, -2, (), 0, 0, 0, PUBSUB_SUBCOMMANDS),
    group="pubsub",
)
