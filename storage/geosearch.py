"""A geo search over a sorted set, as Redis's geo.c runs it, and the ordering of what it finds.

Redis reads every entry of the nine cells storage/geohash.py picks and
measures each one. Here a cell holding many entries is cut into quarters
(a quarter is a quarter of the cell's score range, so what is read stays in
Redis's order) and each quarter is weighed against the shape with bounds on
the distance: one wholly outside is not read, and, when the reply needs no
distances or positions, one wholly inside is taken without measuring its
points. The bounds keep a margin far above the rounding of the arithmetic,
so the points found are exactly Redis's.
"""
import math
from itertools import islice

from storage.geohash import (D_R, EARTH_RADIUS_IN_METERS, LAT_MAX, LAT_MIN, STEP_MAX, area, decode_score, even_bits,
                             score_bits, search_cells)
from storage.pqsort import merge_sort, pqsort

OUTSIDE, ACROSS, INSIDE = "outside", "across", "inside"  # where a cell lies against a shape

# How clear of the shape's edge a cell must be to be left unread, or taken unmeasured: relative and in meters,
# far above the rounding of any of the double computations involved (about 1e-8 at worst, near antipodes).
_SLACK_RATIO, _SLACK_METERS = 1e-6, 1.0
_SMALL_CELL = 48  # entries; a cell holding more is cut into quarters


def _nearest(value, low, high):
    """Degrees from a longitude to the nearest of [low, high], either way round the globe."""
    if low <= value <= high:
        return 0.0
    if value < low:
        return min(low - value, value + 360.0 - high, 180.0)
    return min(value - high, low + 360.0 - value, 180.0)


def _farthest(value, low, high):
    """Degrees from a longitude to the farthest of [low, high], either way round the globe."""
    opposite = value - 180.0 if value >= 0 else value + 180.0
    if any(low <= meridian <= high for meridian in (opposite - 360.0, opposite, opposite + 360.0)):
        return 180.0
    return max(min(abs(end - value), 360.0 - abs(end - value)) for end in (low, high))


def _haversine(lat_degrees, cos_product, long_degrees):
    """Meters for a latitude and a longitude difference, given the product of the two latitudes' cosines."""
    along, across = math.sin(lat_degrees * D_R / 2), math.sin(long_degrees * D_R / 2)
    return 2.0 * EARTH_RADIUS_IN_METERS * math.asin(math.sqrt(min(along * along + cos_product * across * across, 1.0)))


def _classifier(shape):
    """A function of a cell's area: OUTSIDE if Redis would reject every point in it, INSIDE if it would
    accept every one, else ACROSS. The distance is bounded below with the latitude gap and the longitude
    gap at the cell's poleward edge (where meridians are closest), above with the farthest differences
    at its equatorward edge."""
    x, y = shape.longitude, shape.latitude
    cos_centre = math.cos(y * D_R)
    circle = shape.radius is not None
    sizes = [shape.radius] if circle else [shape.width / 2, shape.height / 2]
    far = [size * shape.conversion * (1 + _SLACK_RATIO) + _SLACK_METERS for size in sizes]
    near = [size * shape.conversion * (1 - _SLACK_RATIO) - _SLACK_METERS for size in sizes]

    def classify(cell_area):
        long_lo, long_hi, lat_lo, lat_hi = cell_area
        lat_gap = lat_lo - y if y < lat_lo else y - lat_hi if y > lat_hi else 0.0
        lat_span = max(abs(lat_lo - y), abs(lat_hi - y))
        cos_poleward = math.cos(min(max(abs(lat_lo), abs(lat_hi)), 90.0) * D_R)
        cos_equatorward = 1.0 if lat_lo <= 0.0 <= lat_hi else math.cos(min(abs(lat_lo), abs(lat_hi), 90.0) * D_R)
        gap, span = _nearest(x, long_lo, long_hi), _farthest(x, long_lo, long_hi)
        if circle:
            if _haversine(lat_gap, cos_centre * cos_poleward, gap) > far[0]:
                return OUTSIDE
            return INSIDE if _haversine(lat_span, cos_centre * cos_equatorward, span) < near[0] else ACROSS
        # A box: the latitude leg, and the distance along the point's own parallel.
        if (EARTH_RADIUS_IN_METERS * lat_gap * D_R > far[1]
                or _haversine(0.0, cos_poleward * cos_poleward, gap) > far[0]):
            return OUTSIDE
        if (EARTH_RADIUS_IN_METERS * lat_span * D_R < near[1]
                and _haversine(0.0, cos_equatorward * cos_equatorward, span) < near[0]):
            return INSIDE
        return ACROSS
    return classify


def _spans(order, cell, step, where, classify, spans, depth=4):
    """Append the [start, stop, wholly inside?] spans of order's indexes to read for one cell, in score
    order: a big cell that the shape's edge crosses is cut into its four quarters, and those wholly
    outside are left out."""
    shift = 52 - step * 2
    start = order.bisect_left((float(cell << shift),))
    stop = order.bisect_left((float((cell + 1) << shift),))
    if start == stop:
        return
    if where is ACROSS and stop - start > _SMALL_CELL and step < STEP_MAX and depth:
        for quarter in range(4):
            child = cell << 2 | quarter
            child_where = classify(area(child, step + 1))
            if child_where is not OUTSIDE:
                _spans(order, child, step + 1, child_where, classify, spans, depth - 1)
        return
    inside = where is INSIDE
    if spans and spans[-1][1] == start and spans[-1][2] == inside:
        spans[-1][1] = stop
    else:
        spans.append([start, stop, inside])


def _halves():
    """A table of 16-bit chunks to their even bits, plus their odd bits shifted to bit 32: four look-ups
    deinterleave a score. Built on the first search."""
    if not _HALVES:
        _HALVES.extend(even_bits(chunk) | even_bits(chunk >> 1) << 32 for chunk in range(1 << 16))
    return _HALVES


_HALVES = []


def find(order, shape, limit=0, measured=True):
    """The points of a sorted set's (score, member) order within the shape, as Redis's geoArray:
    [distance in meters, longitude, latitude, score, member] in the order the cells were read,
    each cell's points by score. With a limit (COUNT ANY) it stops once it has that many. Unless
    measured, the points of a cell wholly inside come without distance and position (None).

    The loop is decode_score and distance inlined (the same operations in the same order), since it
    runs once for every point in the cells.
    """
    found = []
    x, y = shape.longitude, shape.latitude
    circle = shape.radius is not None
    if circle:
        radius = shape.radius * shape.conversion
    else:
        radius = math.inf  # a box's points are measured, not limited, by their distance
        half_width = shape.width * shape.conversion / 2
        half_height = shape.height * shape.conversion / 2
    classify = _classifier(shape)
    halves, sin, cos, sqrt, asin = _halves(), math.sin, math.cos, math.sqrt, math.asin
    lon1r, lat1r, cos1 = x * D_R, y * D_R, math.cos(y * D_R)
    two_r, long_unit, lat_unit = 2.0 * EARTH_RADIUS_IN_METERS, 360.0 / 67108864.0, (LAT_MAX - LAT_MIN) / 67108864.0
    for cell, step in search_cells(shape):
        where = classify(area(cell, step))
        if where is OUTSIDE:
            continue
        spans = []
        _spans(order, cell, step, where, classify, spans)
        for start, stop, inside in spans:
            if limit and len(found) >= limit:
                return found
            entries = order.islice(start, stop)
            if inside and not measured:
                if limit:
                    entries = islice(entries, limit - len(found))
                found.extend([None, None, None, score, member] for score, member in entries)
                continue
            for score, member in entries:
                if 0.0 <= score < 9.2e18:  # a position's score: no wrapping, no 32-bit overflow to mind
                    bits = int(score)
                    both = (halves[bits & 0xFFFF] | halves[(bits >> 16) & 0xFFFF] << 8
                            | halves[(bits >> 32) & 0xFFFF] << 16 | halves[bits >> 48] << 24)
                    ilato, ilono = both & 0xFFFFFFFF, both >> 32
                    # (i / 2**26) * 360 is i * (360 / 2**26): dividing by a power of two rounds nothing.
                    longitude = ((-180.0 + ilono * long_unit) + (-180.0 + (ilono + 1) * long_unit)) / 2
                    latitude = ((LAT_MIN + ilato * lat_unit) + (LAT_MIN + (ilato + 1) * lat_unit)) / 2
                    if not -180.0 <= longitude <= 180.0:
                        longitude = 180.0 if longitude > 180.0 else -180.0
                    if not LAT_MIN <= latitude <= LAT_MAX:
                        latitude = LAT_MAX if latitude > LAT_MAX else LAT_MIN
                else:
                    longitude, latitude = decode_score(score)
                lat2r = latitude * D_R
                if not circle:  # geohashGetDistanceIfInRectangle: the latitude leg, then along the point's parallel
                    if EARTH_RADIUS_IN_METERS * abs(lat1r - lat2r) > half_height:
                        continue
                    v = sin((lon1r - longitude * D_R) / 2)
                    if v != 0.0:  # (u is sin(0): the haversine's first term adds exactly nothing)
                        cos2 = cos(lat2r)
                        root = sqrt(cos2 * cos2 * v * v)
                        if two_r * (asin(root) if root <= 1.0 else math.nan) > half_width:
                            continue
                v = sin((longitude * D_R - lon1r) / 2)
                if v == 0.0:
                    meters = EARTH_RADIUS_IN_METERS * abs(lat2r - lat1r)
                else:
                    u = sin((lat2r - lat1r) / 2)
                    root = sqrt(u * u + cos1 * cos(lat2r) * v * v)
                    meters = two_r * (asin(root) if root <= 1.0 else math.nan)
                if meters > radius:
                    continue
                found.append([meters, longitude, latitude, score, member])
                if limit and len(found) >= limit:
                    return found
    return found


# ------------------------------------------------------------------ ordering


def _ascending(a, b):
    """sort_gp_asc: by distance, a NaN below everything (the comparator's last branch)."""
    return 1 if a[0] > b[0] else 0 if a[0] == b[0] else -1


def _descending(a, b):
    return -_ascending(a, b)


def sort_points(points, descending, returned):
    """Order found points by distance as Redis does, at least the first `returned` of them: glibc's qsort
    (a stable merge sort) when all of them are returned, its own pqsort (not stable) for the first
    `returned` of them otherwise; ties therefore come out exactly as they do there."""
    compare = _descending if descending else _ascending
    if any(point[0] != point[0] for point in points):  # a NaN distance: only the comparator's own order will do
        if returned < len(points):
            pqsort(points, compare, 0, returned - 1)
        else:
            points[:] = merge_sort(points, compare)
        return
    ranked = sorted(points, key=_distance, reverse=descending)  # stable, as the merge sort is
    if returned < len(points) and len({point[0] for point in ranked[:returned + 1]}) <= returned:
        pqsort(points, compare, 0, returned - 1)  # a tie among the first `returned` or at their edge: pqsort's call
    else:
        points[:] = ranked  # no tie there: every correct sort puts the same points first, in this order


def _distance(point):
    return point[0]
