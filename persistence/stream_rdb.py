"""A stream's RDB encoding, RDB_TYPE_STREAM_LISTPACKS_2 as Redis 7.0's rdbSaveObject writes it:

    the node count; per node its master ID (16 bytes, big-endian) and its listpack: the master entry
    (live count, deleted count, the master fields, a 0), then per entry flags, ms and seq deltas from
    the master ID, the fields unless they are the master's (SAMEFIELDS), the values, the lp-count;
    then length, last ID, first ID, max deleted ID, entries added; the groups, each with its name,
    last ID, read counter, the PEL (16-byte ID, 8-byte delivery time, delivery count) and its
    consumers (name, seen time, the IDs of their pending entries).

Loading checks what Redis's deep sanitisation checks (each listpack's structure and counts, the node
keys, duplicate groups, consumers and PEL entries, every pending entry owned), so a malformed stream
is refused whole. A node keeps the exact size its listpack had, deleted entries included, so nodes
fill on after a load as in Redis; deleted entries themselves are not kept, so a save writes each
node with its live entries only (Redis reads it the same way).
"""
import struct

from persistence.codecs import CorruptData, listpack, listpack_entries
from protocol import string_to_int
from storage.streams import (FLAG_DELETED, FLAG_SAMEFIELDS, INVALID_ENTRIES_READ, SEQ_MASK, Consumer, Group, Nack,
                             Node, Stream, id_parts, integer_size, make_id)

UINT64 = 1 << 64


# ------------------------------------------------------------------ writing


def _node_listpack(node, entries):
    items = [b"%d" % len(entries), b"0", b"%d" % len(node.master_fields), *node.master_fields, b"0"]
    master_ms, master_seq = id_parts(node.master_id)
    for stream_id, fields in entries:
        names = fields[0::2]
        same = names == node.master_fields
        ms, seq = id_parts(stream_id)
        items += [b"%d" % (FLAG_SAMEFIELDS if same else 0), b"%d" % _signed(ms - master_ms),
                  b"%d" % _signed(seq - master_seq)]
        if same:
            items += fields[1::2]
            items.append(b"%d" % (len(names) + 3))
        else:
            items.append(b"%d" % len(names))
            items += fields
            items.append(b"%d" % (2 * len(names) + 4))
    return listpack(items)


def _signed(number):
    number &= SEQ_MASK
    return number - UINT64 if number >= 1 << 63 else number


def encode_stream(stream, string, length):
    """The value part of RDB_TYPE_STREAM_LISTPACKS_2; string and length are rdbSaveRawString and rdbSaveLen."""
    parts = [length(len(stream.nodes))]
    bounds = stream.node_ids[1:] + [None]
    for node, bound in zip(stream.nodes, bounds):
        low = stream.entries.bisect_left((node.master_id,))
        high = stream.entries.bisect_left((bound,)) if bound is not None else len(stream.entries)
        parts.append(string(node.master_id.to_bytes(16, "big")))
        parts.append(string(_node_listpack(node, stream.entries[low:high])))
    for number in (len(stream), *id_parts(stream.last_id), *id_parts(stream.first_id),
                   *id_parts(stream.max_deleted_id), stream.entries_added):
        parts.append(length(number))
    parts.append(length(len(stream.groups)))
    for name, group in sorted(stream.groups.items()):
        parts += [string(name), length(group.last_id >> 64), length(group.last_id & SEQ_MASK),
                  length(group.entries_read % UINT64), length(len(group.pel))]
        for stream_id, nack in group.pel.items():
            parts.append(stream_id.to_bytes(16, "big") + struct.pack("<q", nack.delivery_time))
            parts.append(length(nack.delivery_count))
        parts.append(length(len(group.consumers)))
        for consumer_name, consumer in sorted(group.consumers.items()):
            parts += [string(consumer_name), struct.pack("<q", consumer.seen_time), length(len(consumer.pel))]
            parts += [stream_id.to_bytes(16, "big") for stream_id in consumer.pel]
    return b"".join(parts)


# ------------------------------------------------------------------ reading


def _integer(entry):
    number = string_to_int(entry)
    if number is None:
        raise CorruptData("stream listpack: an integer expected")
    return number


def _load_node(stream, key, blob):
    """One listpack (streamValidateListpackIntegrity's checks), its entries added to the stream."""
    if len(key) != 16:
        raise CorruptData("Stream node key entry is not the size of a stream ID")
    master_id = int.from_bytes(key, "big")
    items = listpack_entries(blob)
    if not items:
        raise CorruptData("Empty listpack inside stream")
    live, deleted, field_count = (_integer(item) for item in items[:3])
    if live < 0 or deleted < 0 or field_count < 0:
        raise CorruptData("stream listpack: negative count")
    master_fields = tuple(items[3:3 + field_count])
    if _integer(items[3 + field_count]) != 0:
        raise CorruptData("stream listpack: master entry without its terminator")
    node = Node(master_id, master_fields)
    position = 4 + field_count
    master_ms, master_seq = id_parts(master_id)
    for _ in range(live + deleted):
        flags = _integer(items[position])
        ms = (master_ms + _integer(items[position + 1])) % UINT64
        seq = (master_seq + _integer(items[position + 2])) % UINT64
        position += 3
        if flags & FLAG_SAMEFIELDS:
            names, extra = master_fields, 3
            values = items[position:position + len(names)]
            position += len(names)
            fields = tuple(item for pair in zip(names, values) for item in pair)
        else:
            count = _integer(items[position])
            if count < 0:
                raise CorruptData("stream listpack: negative field count")
            fields = tuple(items[position + 1:position + 1 + 2 * count])
            position += 1 + 2 * count
            extra = 4 + count
        if len(fields) % 2 or _integer(items[position]) != len(fields) // 2 + extra:
            raise CorruptData("stream listpack: entry with a wrong lp-count")
        position += 1
        stream_id = make_id(ms, seq)
        if not flags & FLAG_DELETED:
            stream.entries.add((stream_id, fields))
        node.last_id = stream_id
    if position != len(items):
        raise CorruptData("stream listpack: entries past the counted ones")
    node.live, node.deleted = live, deleted
    node.body = len(blob) - 7 - integer_size(live) - integer_size(deleted)
    if stream.node_ids and master_id <= stream.node_ids[-1]:
        raise CorruptData("Listpack re-added with existing key")
    stream.node_ids.append(master_id)
    stream.nodes.append(node)


def load_stream(source, version):
    """RDB_TYPE_STREAM_LISTPACKS (version 1) or _2 from an objects.Reader; CorruptData if malformed."""
    stream = Stream()
    for _ in range(source.count(2)):
        key = source.string()
        _load_node(stream, key, source.string())
    length = source.plain_length()
    stream.last_id = make_id(source.plain_length(), source.plain_length())
    if version >= 2:
        stream.first_id = make_id(source.plain_length(), source.plain_length())
        stream.max_deleted_id = make_id(source.plain_length(), source.plain_length())
        stream.entries_added = source.plain_length()
    else:
        stream.entries_added = length
        first = stream.first_entry()
        stream.first_id = first[0] if first else 0
    if length != len(stream.entries) or sum(node.live for node in stream.nodes) != length:
        raise CorruptData("Stream length inconsistent with rax entries")
    for _ in range(source.count(4)):
        _load_group(stream, source, version)
    return stream


def _load_group(stream, source, version):
    name = source.string()
    last_id = make_id(source.plain_length(), source.plain_length())
    if version >= 2:
        entries_read = source.plain_length()
        entries_read = entries_read - UINT64 if entries_read >= 1 << 63 else entries_read
    else:
        entries_read = stream.estimate_entries_read(last_id)
    if name in stream.groups:
        raise CorruptData("Duplicated consumer group name")
    if entries_read < INVALID_ENTRIES_READ:
        raise CorruptData("stream group with a negative read counter")
    group = stream.groups[name] = Group(name, last_id, entries_read)
    for _ in range(source.count(17)):
        stream_id = int.from_bytes(source.read(16), "big")
        delivery_time = source.unpack("<q")
        if stream_id in group.pel:
            raise CorruptData("Duplicated global PEL entry loading stream consumer group")
        group.pel[stream_id] = Nack(None, delivery_time, source.plain_length())
    for _ in range(source.count(9)):
        consumer_name = source.string()
        if consumer_name in group.consumers:
            raise CorruptData("Duplicate stream consumer detected.")
        consumer = group.consumers[consumer_name] = Consumer(consumer_name, source.unpack("<q"))
        for _ in range(source.count(16)):
            stream_id = int.from_bytes(source.read(16), "big")
            nack = group.pel.get(stream_id)
            if nack is None:
                raise CorruptData("Consumer entry not found in group global PEL")
            if stream_id in consumer.pel or nack.consumer is not None:
                raise CorruptData("Duplicated consumer PEL entry loading a stream consumer group")
            nack.consumer = consumer
            consumer.pel[stream_id] = nack
    if any(nack.consumer is None for nack in group.pel.values()):
        raise CorruptData("Stream CG PEL entry without consumer")
