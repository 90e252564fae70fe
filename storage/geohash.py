"""Redis's geohash, as its geohash.c and geohash_helper.c compute it: what the geo commands work on.

A position is stored as a sorted-set score: the longitude and latitude,
each cut into 2**26 steps (latitude only within +-85.05112878, as Web
Mercator), their bits interleaved into a 52-bit integer. A search picks a
cell size from the radius, takes the cell holding the centre and its eight
neighbours, and reads each cell as one score range of the sorted set (less
the quarters of a big cell that lie wholly outside the shape); only the
points found there are measured. Every step is the same IEEE double
arithmetic as Redis's C (x86-64, no fused multiply-add), in the same order,
so that positions, distances and the points a search finds agree to the bit.
"""
import math

STEP_MAX = 26  # bits per coordinate: 52 in all
LONG_MIN, LONG_MAX = -180.0, 180.0
LAT_MIN, LAT_MAX = -85.05112878, 85.05112878
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37
D_R = math.pi / 180.0

_U64 = (1 << 64) - 1
_EVEN = 0x5555555555555555
_ODD = 0xAAAAAAAAAAAAAAAA
_INT64_INDEFINITE = 1 << 63  # what x86-64's cvttsd2si gives for a double outside int64 (and NaN)

# Where the coordinate ranges are: Redis's ranges for storage, and the standard geohash's for GEOHASH.
WGS84 = ((LONG_MIN, LONG_MAX), (LAT_MIN, LAT_MAX))
STANDARD = ((-180.0, 180.0), (-90.0, 90.0))


# ------------------------------------------------------------------ bits


def _spread(value):
    """The low 32 bits of value moved to the even bit positions (interleave64's half)."""
    value = (value | (value << 16)) & 0x0000FFFF0000FFFF
    value = (value | (value << 8)) & 0x00FF00FF00FF00FF
    value = (value | (value << 4)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value << 2)) & 0x3333333333333333
    return (value | (value << 1)) & _EVEN


def even_bits(value):
    """The even bits of a 64-bit value packed into its low 32 (deinterleave64's half)."""
    value &= _EVEN
    value = (value | (value >> 1)) & 0x3333333333333333
    value = (value | (value >> 2)) & 0x0F0F0F0F0F0F0F0F
    value = (value | (value >> 4)) & 0x00FF00FF00FF00FF
    value = (value | (value >> 8)) & 0x0000FFFF0000FFFF
    return (value | (value >> 16)) & 0x00000000FFFFFFFF


def score_bits(score):
    """C's (uint64_t)score as gcc compiles it on x86-64: a truncation, wrapping below zero, and
    cvttsd2si's 0x8000000000000000 for what fits no int64 (0 once past 2**64)."""
    if score != score or score <= -9223372036854775808.0:
        return _INT64_INDEFINITE
    if score < 9223372036854775808.0:
        return int(score) & _U64
    high = score - 9223372036854775808.0
    if high >= 9223372036854775808.0:
        return 0  # indefinite, with its top bit flipped back
    return int(high) ^ _INT64_INDEFINITE


# ------------------------------------------------------------------ cells


def encode(longitude, latitude, step=STEP_MAX, ranges=WGS84):
    """geohashEncode: the cell (bits) of step bits per coordinate holding the point, or None
    outside Redis's limits or the ranges."""
    (long_min, long_max), (lat_min, lat_max) = ranges
    if not (LONG_MIN <= longitude <= LONG_MAX and LAT_MIN <= latitude <= LAT_MAX):
        return None
    if not (lat_min <= latitude <= lat_max and long_min <= longitude <= long_max):
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min) * float(1 << step)
    long_offset = (longitude - long_min) / (long_max - long_min) * float(1 << step)
    return _spread(int(lat_offset) & 0xFFFFFFFF) | (_spread(int(long_offset) & 0xFFFFFFFF) << 1)


def area(bits, step):
    """geohashDecode: the cell's (long_min, long_max, lat_min, lat_max)."""
    (long_min, long_max), (lat_min, lat_max) = WGS84
    lat_scale, long_scale = lat_max - lat_min, long_max - long_min
    cells = float(1 << step)
    ilato, ilono = even_bits(bits), even_bits(bits >> 1)
    return (long_min + (ilono * 1.0 / cells) * long_scale,
            long_min + (((ilono + 1) & 0xFFFFFFFF) * 1.0 / cells) * long_scale,
            lat_min + (ilato * 1.0 / cells) * lat_scale,
            lat_min + (((ilato + 1) & 0xFFFFFFFF) * 1.0 / cells) * lat_scale)


def decode_score(score):
    """A member's (longitude, latitude): the centre of the 52-bit cell its score names, kept within
    the limits (geohashDecodeToLongLatWGS84 of (uint64_t)score). Any score decodes."""
    long_lo, long_hi, lat_lo, lat_hi = area(score_bits(score), STEP_MAX)
    longitude = min(max((long_lo + long_hi) / 2, LONG_MIN), LONG_MAX)
    latitude = min(max((lat_lo + lat_hi) / 2, LAT_MIN), LAT_MAX)
    return longitude, latitude


_LAT_SCALE = LAT_MAX - LAT_MIN


def standard_geohash(score):
    """GEOHASH's 11 characters: the position re-encoded in the standard -90..90 latitude range."""
    longitude, latitude = decode_score(score)
    bits = encode(longitude, latitude, STEP_MAX, STANDARD)
    digits = [_BASE32[(bits >> (52 - (index + 1) * 5)) & 0x1F] for index in range(10)]
    return bytes(digits) + b"0"  # 52 bits fill ten characters and two bits: the eleventh is taken as zero


_BASE32 = b"0123456789bcdefghjkmnpqrstuvwxyz"


def _move(bits, step, direction, moving):
    """geohash_move_x (moving the odd bits, longitude) and geohash_move_y (the even ones, latitude): the cell
    one step east or west, north or south, wrapping round at the ends as the C's unsigned arithmetic does."""
    if not direction:
        return bits
    still = moving ^ _U64
    own, other = bits & moving, bits & still
    zz = still >> (64 - step * 2)  # fills the gaps between the moving bits, so that a carry runs through them
    if direction > 0:
        own = (own + zz + 1) & _U64
    else:
        own = ((own | zz) - (zz + 1)) & _U64
    return (own & (moving >> (64 - step * 2))) | other


# The order membersOfAllNeighbors visits the cells in: the centre, then N, S, E, W, NE, NW, SE, SW.
_NEIGHBOURS = ((0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, 1), (1, -1), (-1, -1))


def neighbours(bits, step):
    """geohashNeighbors, in _NEIGHBOURS's order."""
    return [_move(_move(bits, step, dx, _ODD), step, dy, _EVEN) for dx, dy in _NEIGHBOURS]


# ------------------------------------------------------------------ distances


def lat_distance(lat1, lat2):
    """geohashGetLatDistance: along a meridian, where the haversine reduces to the angle."""
    return EARTH_RADIUS_IN_METERS * abs(lat2 * D_R - lat1 * D_R)


def distance(lon1, lat1, lon2, lat2):
    """geohashGetDistance: the haversine great-circle distance in meters (a meridian's shortcut
    when the longitudes' sine is zero)."""
    v = math.sin((lon2 * D_R - lon1 * D_R) / 2)
    if v == 0.0:
        return lat_distance(lat1, lat2)
    lat1r, lat2r = lat1 * D_R, lat2 * D_R
    u = math.sin((lat2r - lat1r) / 2)
    root = math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v)
    return 2.0 * EARTH_RADIUS_IN_METERS * (math.asin(root) if root <= 1.0 else math.nan)  # C's asin: NaN past 1


def format_distance(meters):
    """A distance as Redis 7.0.15 replies it (fixedpoint_d2string): llrint(meters * 10000), ties to even,
    printed with four decimals; what llrint cannot convert (a NaN) comes out as LLONG_MIN."""
    scaled = meters * 10000.0
    units = round(scaled) if -_TWO_63 <= scaled < _TWO_63 else -(1 << 63)
    whole, fraction = divmod(abs(units), 10000)
    return b"%s%d.%04d" % (b"-" if units < 0 else b"", whole, fraction)


_TWO_63 = 2.0 ** 63


def format_coordinate(value):
    """A coordinate as addReplyHumanLongDouble: "%.17Lf" of the double, trailing zeros and '.' dropped."""
    text = (b"%.17f" % value).rstrip(b"0").rstrip(b".")
    return b"0" if text == b"-0" else text


# ------------------------------------------------------------------ searching


class Shape:
    """Redis's GeoShape: a circle (radius) or a box (width, height) around a centre, its sizes in a
    unit that is conversion meters."""

    __slots__ = ("longitude", "latitude", "conversion", "radius", "width", "height")

    def __init__(self, longitude, latitude, conversion, radius=None, width=None, height=None):
        self.longitude, self.latitude, self.conversion = longitude, latitude, conversion
        self.radius, self.width, self.height = radius, width, height

    def bounds(self):
        """geohashBoundingBox: (min_lon, min_lat, max_lon, max_lat), the longitudes measured at the
        edge nearer the pole."""
        circle = self.radius is not None
        height = self.conversion * (self.radius if circle else self.height / 2)
        width = self.conversion * (self.radius if circle else self.width / 2)
        longitude, latitude = self.longitude, self.latitude
        lat_delta = height / EARTH_RADIUS_IN_METERS / D_R
        long_delta_top = width / EARTH_RADIUS_IN_METERS / _cos((latitude + lat_delta) * D_R) / D_R
        long_delta_bottom = width / EARTH_RADIUS_IN_METERS / _cos((latitude - lat_delta) * D_R) / D_R
        long_delta = long_delta_bottom if latitude < 0 else long_delta_top
        return longitude - long_delta, latitude - lat_delta, longitude + long_delta, latitude + lat_delta

    def reach(self):
        """The meters from the centre to the farthest edge (a box's corner), which sizes the cells."""
        if self.radius is not None:
            return self.radius * self.conversion
        return math.sqrt((self.width / 2) * (self.width / 2) + (self.height / 2) * (self.height / 2)) * self.conversion


def _cos(angle):
    """C's cos, which answers NaN for an infinite angle (an infinite radius) where Python's raises."""
    return math.cos(angle) if math.isfinite(angle) else math.nan


def estimate_step(range_meters, latitude):
    """geohashEstimateStepsByRadius: the cell size (bits per coordinate) a search of this reach starts from."""
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2
    if latitude > 66 or latitude < -66:
        step -= 1
        if latitude > 80 or latitude < -80:
            step -= 1
    return min(max(step, 1), 26)


def _cells_around(longitude, latitude, step):
    centre = encode(longitude, latitude, step)
    return centre, neighbours(centre, step)


def search_cells(shape):
    """geohashCalculateAreasByShapeWGS84 and membersOfAllNeighbors' walk: the (bits, step) cells to
    read, in Redis's order. The centre's cell and its eight neighbours, one step bigger if a
    neighbour falls short of the shape's bounds; the neighbours wholly outside the bounds left out,
    and a cell equal to the one read just before it skipped (as Redis does, never right after the
    centre)."""
    min_lon, min_lat, max_lon, max_lat = shape.bounds()
    longitude, latitude = shape.longitude, shape.latitude
    step = estimate_step(shape.reach(), latitude)
    centre, around = _cells_around(longitude, latitude, step)
    north, south, east, west = (area(cell, step) for cell in around[:4])
    if step > 1 and (north[3] < max_lat or south[2] > min_lat or east[1] < max_lon or west[0] > min_lon):
        step -= 1
        centre, around = _cells_around(longitude, latitude, step)
    cells = [centre] + around
    if step >= 2:
        long_lo, long_hi, lat_lo, lat_hi = area(centre, step)
        skipped = set()
        if lat_lo < min_lat:
            skipped.update((2, 8, 7))  # S, SW, SE
        if lat_hi > max_lat:
            skipped.update((1, 5, 6))  # N, NE, NW
        if long_lo < min_lon:
            skipped.update((4, 8, 6))  # W, SW, NW
        if long_hi > max_lon:
            skipped.update((3, 7, 5))  # E, SE, NE
        cells = [None if index in skipped else cell for index, cell in enumerate(cells)]
    visited, last = [], None
    for index, cell in enumerate(cells):
        if cell is None or (last and cell == cells[last]):
            continue
        visited.append((cell, step))
        last = index
    return visited
