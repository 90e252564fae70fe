"""Pub/Sub: confirmations and messages byte for byte as Redis sends them, real subscribers, slow readers."""
import socket
import time

import pytest
import redis

from differential import Pair, WireClient, mask_client_id


def transcript_of_messages(port, protocol):
    """Subscribe two ways, let another connection publish, return every byte the subscriber got."""
    subscriber = WireClient(port)
    publisher = WireClient(port)
    try:
        if protocol == 3:
            subscriber.call("HELLO", "3")
        replies = [subscriber.call("SUBSCRIBE", "news"), subscriber.call("PSUBSCRIBE", "n*")]
        counts = [publisher.call("PUBLISH", "news", "hello"), publisher.call("PUBLISH", "nothing", "x"),
                  publisher.call("PUBLISH", "other", "y"), publisher.call("PUBLISH", "news", b"\x00\r\n")]
        replies += subscriber.read_replies(5)
        return counts, replies
    finally:
        subscriber.close()
        publisher.close()


@pytest.mark.parametrize("protocol", [2, 3])
def test_messages_match_redis(server, real_redis, protocol):
    assert transcript_of_messages(server.port, protocol) == transcript_of_messages(real_redis.port, protocol)


def test_subscribe_confirmations_and_context_errors(pair):
    pair.check_sequence([
        ("SUBSCRIBE", "a"), ("SUBSCRIBE", "a"), ("PSUBSCRIBE", "a*"), ("GET", "k"), ("PING",),
        ("PING", "hi"), ("SET", "k", "v"), ("UNSUBSCRIBE", "a"), ("UNSUBSCRIBE", "nope"),
        ("PUNSUBSCRIBE",), ("UNSUBSCRIBE",), ("PUNSUBSCRIBE",), ("GET", "k"), ("PING",),
        ("SUBSCRIBE",), ("PSUBSCRIBE",),
    ])


def test_resp3_subscriber_may_run_any_command(pair):
    pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check_sequence([
        ("SUBSCRIBE", "a"), ("SET", "k", "v"), ("GET", "k"), ("PING",), ("UNSUBSCRIBE",),
    ])


def test_reset_leaves_channels(pair):
    pair.check_sequence([("SUBSCRIBE", "a"), ("RESET",), ("GET", "k"), ("PUBSUB", "NUMSUB", "a")])


def test_pubsub_introspection(server, real_redis):
    with Pair(server.port, real_redis.port) as listener, Pair(server.port, real_redis.port) as asker:
        listener.check("SUBSCRIBE", "chan:1")
        listener.check("PSUBSCRIBE", "pat:*")
        asker.check_sequence([
            ("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "chan:*"), ("PUBSUB", "CHANNELS", "x*"),
            ("PUBSUB", "NUMSUB"), ("PUBSUB", "NUMSUB", "chan:1", "nope"), ("PUBSUB", "NUMPAT"),
            ("PUBSUB", "CHANNELS", "a", "b"), ("PUBSUB", "NOSUCH"), ("PUBSUB",),
            ("PUBLISH", "chan:1", "m"), ("PUBLISH", "pat:x", "m"), ("PUBLISH", "none", "m"), ("PUBLISH", "x"),
        ])


def test_disconnected_subscriber_is_forgotten(server):
    subscriber = WireClient(server.port)
    subscriber.call("SUBSCRIBE", "gone")
    with WireClient(server.port) as asker:
        assert asker.call("PUBSUB", "NUMSUB", "gone") == b"*2\r\n$4\r\ngone\r\n:1\r\n"
        subscriber.close()
        deadline = time.monotonic() + 5
        while asker.call("PUBSUB", "NUMSUB", "gone") != b"*2\r\n$4\r\ngone\r\n:0\r\n":
            assert time.monotonic() < deadline
            time.sleep(0.02)


def test_redis_py_pubsub_with_several_subscribers(any_server):
    publisher = redis.Redis(port=any_server.port)
    subscribers = []
    for protocol in (2, 3, 2):
        pubsub = redis.Redis(port=any_server.port, protocol=protocol).pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe("events")
        pubsub.psubscribe("ev*")
        subscribers.append(pubsub)
    assert publisher.publish("events", "one") == 6
    assert publisher.publish("evening", "two") == 3
    for pubsub in subscribers:
        received = []
        deadline = time.monotonic() + 5
        while len(received) < 3 and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
            if message:
                received.append((message["type"], message["channel"], message["data"]))
        assert sorted(received) == [("message", b"events", b"one"), ("pmessage", b"evening", b"two"),
                                    ("pmessage", b"events", b"one")]
        pubsub.close()


def test_slow_subscriber_is_disconnected_and_publisher_never_waits(server):
    """A subscriber that never reads passes the 32 MB pubsub limit and is dropped; memory stays bounded."""
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"SUBSCRIBE flood\r\n")
    with WireClient(server.port) as publisher:
        deadline = time.monotonic() + 60
        payload = b"x" * (1024 * 1024)
        receivers = 1
        published = 0
        while receivers and published < 200 and time.monotonic() < deadline:
            started = time.monotonic()
            reply = publisher.call("PUBLISH", "flood", payload)
            assert time.monotonic() - started < 5  # bounded: the publisher is not stuck behind the reader
            receivers = int(reply[1:-2])
            published += 1
        assert receivers == 0, "the slow subscriber was never disconnected"
        # Dropped once 32 MB were pending in our outbox, plus what the kernel's socket buffers took.
        assert published < 150
        assert publisher.call("PUBSUB", "NUMSUB", "flood") == b"*2\r\n$5\r\nflood\r\n:0\r\n"
    slow.close()
