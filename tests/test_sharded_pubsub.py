"""Sharded pub/sub (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS/SHARDNUMSUB) against Redis 7.0.15:
confirmations, messages in RESP2 and RESP3, the subscribed context, CLIENT LIST, RESET and hang-ups."""
import re
import time

import pytest

from differential import Pair, WireClient, drop_slow_subscriber, mask_client_id


def _subscribers(port):
    """CLIENT LIST's flags, sub, psub and ssub of the subscribed clients, asked by another connection."""
    with WireClient(port) as asker:
        listing = asker.call("CLIENT", "LIST")
    return [re.findall(rb" (?:flags|sub|psub|ssub)=\S+", line) for line in listing.split(b"\n") if b"flags=P" in line]


def test_confirmations_and_subscribed_context(pair):
    pair.check_raw(b"*3\r\n$10\r\nSSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n", replies=2)
    pair.check_sequence([("SSUBSCRIBE", "a"), ("SUBSCRIBE", "x"), ("PSUBSCRIBE", "y*"), ("GET", "k"), ("PING",),
                         ("PING", "hi"), ("SET", "k", "v"), ("SUNSUBSCRIBE", "a"), ("SUNSUBSCRIBE", "nope")])
    assert _subscribers(pair.ours.port) == _subscribers(pair.redis.port) == [
        [b" flags=P", b" sub=1", b" psub=1", b" ssub=1"]]
    pair.check_sequence([("SUNSUBSCRIBE",), ("SUNSUBSCRIBE",), ("UNSUBSCRIBE",), ("PUNSUBSCRIBE",),
                         ("GET", "k"), ("SSUBSCRIBE",), ("SPUBLISH", "a"), ("SSUBSCRIBE", "only")])
    pair.check_sequence([("GET", "k"), ("SUNSUBSCRIBE", "only"), ("GET", "k")])


def test_ssubscribe_refused_inside_multi(pair):
    pair.check_sequence([("MULTI",), ("SSUBSCRIBE", "a"), ("SPUBLISH", "a", "m"), ("EXEC",), ("GET", "k"),
                         ("PUBSUB", "SHARDNUMSUB", "a")])


def _transcript(port, protocol):
    subscriber, publisher = WireClient(port), WireClient(port)
    try:
        if protocol == 3:
            subscriber.call("HELLO", "3")
        replies = [subscriber.call("SSUBSCRIBE", "news"), subscriber.call("SUBSCRIBE", "news"),
                   subscriber.call("PSUBSCRIBE", "n*")]
        counts = [publisher.call("SPUBLISH", "news", "hello"), publisher.call("SPUBLISH", "nothing", "x"),
                  publisher.call("PUBLISH", "news", "plain"), publisher.call("SPUBLISH", "news", b"\x00\r\n"),
                  publisher.call("PUBSUB", "SHARDCHANNELS"), publisher.call("PUBSUB", "SHARDCHANNELS", "n*"),
                  publisher.call("PUBSUB", "SHARDCHANNELS", "x*"), publisher.call("PUBSUB", "SHARDNUMSUB"),
                  publisher.call("PUBSUB", "SHARDNUMSUB", "news", "nothing"), publisher.call("PUBSUB", "CHANNELS"),
                  publisher.call("PUBSUB", "SHARDCHANNELS", "a", "b"), publisher.call("INFO", "stats")]
        counts[-1] = re.findall(rb"pubsub\w*:\d+", counts[-1])
        replies += subscriber.read_replies(4)
        replies.append(subscriber.call("SUNSUBSCRIBE"))
        replies.append(subscriber.call("SUNSUBSCRIBE"))
        counts.append(publisher.call("SPUBLISH", "news", "gone"))
        return counts, replies
    finally:
        subscriber.close()
        publisher.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_messages_match_redis(server, real_redis, protocol):
    assert _transcript(server.port, protocol) == _transcript(real_redis.port, protocol)


def test_resp3_shard_subscriber_may_run_any_command(pair):
    pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_sequence([("SSUBSCRIBE", "a"), ("SET", "k", "v"), ("GET", "k"), ("SUNSUBSCRIBE",), ("SUNSUBSCRIBE",)])


def test_reset_and_hang_up_leave_shard_channels(server, real_redis):
    with Pair(server.port, real_redis.port) as subscriber, Pair(server.port, real_redis.port) as asker:
        subscriber.check_raw(b"*3\r\n$10\r\nSSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n", replies=2)
        asker.check_sequence([("PUBSUB", "SHARDNUMSUB", "a", "b")])
        subscriber.check("RESET")
        asker.check_sequence([("PUBSUB", "SHARDNUMSUB", "a", "b"), ("SPUBLISH", "a", "m")])
        subscriber.check("SSUBSCRIBE", "c")
        subscriber.close()
        for client in (asker.ours, asker.redis):
            deadline = time.monotonic() + 5
            while client.call("PUBSUB", "SHARDNUMSUB", "c") != b"*2\r\n$1\r\nc\r\n:0\r\n":
                assert time.monotonic() < deadline, "the hung-up subscriber was never forgotten"
                time.sleep(0.01)


def test_slow_shard_subscriber_is_disconnected(server):
    """A shard subscriber that never reads is in the pubsub output class: the hard limit drops it."""
    def publish(control):
        for _ in range(50):
            control.call("SPUBLISH", "busy", "x" * 10_000)

    drop_slow_subscriber(server.port, ("SSUBSCRIBE", "busy"), ("PUBSUB", "SHARDNUMSUB", "busy"), publish)
