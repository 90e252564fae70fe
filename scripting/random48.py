"""math.random inside scripts: Redis's redisLrand48() (rand.c, the 48-bit linear congruential generator
of lrand48), so that a script draws the same numbers as it does in Redis."""

_A, _C, _MASK = 0x5DEECE66D, 0xB, (1 << 48) - 1
_X0 = 0x330E
_UNSEEDED = 0x1234ABCD330E  # x[] = {X0, X1, X2} before any redisSrand48()
LRAND48_MAX = 2**31 - 1  # REDIS_LRAND48_MAX (INT32_MAX)


class Rand48:
    """One generator per server, as rand.c's static state: SCRIPT FLUSH does not reset it."""

    def __init__(self):
        self.state = _UNSEEDED

    def seed(self, value):
        value &= 0xFFFFFFFF
        self.state = (value << 16) | _X0

    def next(self):
        self.state = (_A * self.state + _C) & _MASK
        return self.state >> 17

    def fraction(self):
        """The r of Lua 5.1's math_random, drawn from redisLrand48()."""
        return (self.next() % LRAND48_MAX) / LRAND48_MAX
