"""Hand-made DUMP payloads for the tests that feed RESTORE what Redis would never produce."""
import struct

from persistence.codecs import crc64
from persistence.objects import RDB_VERSION, encode_length


def payload(body, version=RDB_VERSION):
    """A DUMP payload of a hand-made body: the version, then the CRC-64 of all before it."""
    framed = body + struct.pack("<H", version)
    return framed + struct.pack("<Q", crc64(0, framed))


def string(raw):
    """An RDB string: its length, then its bytes."""
    return encode_length(len(raw)) + raw
