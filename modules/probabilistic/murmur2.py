"""MurmurHash2, Austin Appleby's 32-bit hash, as RedisBloom's Count-Min sketch and Top-K index with it."""

_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2(data, seed):
    """MurmurHash2(data, len(data), seed) of a little-endian machine."""
    length = len(data)
    h = (seed ^ length) & _MASK
    end = length - length % 4
    for word in memoryview(data[:end]).cast("I") if end else ():
        k = (word * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length - end
    if tail:
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)
