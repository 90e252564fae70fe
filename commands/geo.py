"""Geo commands, as Redis's geo.c: positions kept as sorted-set scores.

A member's score is its 52-bit geohash (storage/geohash.py), so a geo set is
an ordinary sorted set: GEOADD is a ZADD of encoded scores (and is logged as
one), and a search reads only the score ranges of the nine cells around its
area, each a bisection of the set's order, then measures what it found there.
"""
from commands import Command, table
from commands.arguments import keyword
from commands.zset_ranges import parse_score, to_score
from commands.zsets import listpack_limits, store_result, zadd
from errors import (GEO_ANY_NEEDS_COUNT, GEO_BOX_NEGATIVE, GEO_COUNT, GEO_HEIGHT_NOT_NUMERIC, GEO_MEMBER,
                    GEO_RADIUS_NEGATIVE, GEO_RADIUS_NOT_NUMERIC, GEO_UNIT, GEO_WIDTH_NOT_NUMERIC, SYNTAX, ReplyError,
                    geo_invalid_pair, geo_needs_by, geo_needs_from, geo_store_with_options)
from protocol import NULL_ARRAY, FormattedDouble
from storage import geohash
from storage.geosearch import find, sort_points
from storage.numeric import to_int
from storage.zsets import ZSet

_UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}  # meters per unit


def _sorted_set(session, key):
    return session.db.get_typed(key, ZSet)


def _lon_lat(raw_longitude, raw_latitude):
    """extractLongLatOrReply: two floats within Redis's limits."""
    longitude, latitude = to_score(raw_longitude), to_score(raw_latitude)
    if not (geohash.LONG_MIN <= longitude <= geohash.LONG_MAX and geohash.LAT_MIN <= latitude <= geohash.LAT_MAX):
        raise geo_invalid_pair(longitude, latitude)
    return longitude, latitude


def _unit(raw):
    """extractUnitOrReply: meters per unit."""
    meters = _UNITS.get(keyword(raw))
    if meters is None:
        raise ReplyError(GEO_UNIT)
    return meters


def _size(raw, message):
    size = parse_score(raw)
    if size is None:
        raise ReplyError(message)
    return size


def _radius(raw_radius, raw_unit):
    """extractDistanceOrReply: (radius, meters per unit)."""
    radius = _size(raw_radius, GEO_RADIUS_NOT_NUMERIC)
    if radius < 0:
        raise ReplyError(GEO_RADIUS_NEGATIVE)
    return radius, _unit(raw_unit)


def _box(raw_width, raw_height, raw_unit):
    """extractBoxOrReply: (width, height, meters per unit)."""
    width = _size(raw_width, GEO_WIDTH_NOT_NUMERIC)
    height = _size(raw_height, GEO_HEIGHT_NOT_NUMERIC)
    if width < 0 or height < 0:
        raise ReplyError(GEO_BOX_NEGATIVE)
    return width, height, _unit(raw_unit)


def _member_position(zset, member):
    """longLatFromMember: a member's decoded position, or Redis's error when it has none."""
    score = zset.get(member)
    if score is None:
        raise ReplyError(GEO_MEMBER)
    return geohash.decode_score(score)


# ------------------------------------------------------------------ adding and reading positions


def geoadd(session, key, *arguments):
    """GEOADD key [NX|XX] [CH] longitude latitude member [longitude latitude member ...]"""
    index = 0
    while index < len(arguments) and keyword(arguments[index]) in (b"nx", b"xx", b"ch"):
        index += 1
    flags, triples = arguments[:index], arguments[index:]
    words = {keyword(flag) for flag in flags}
    if len(triples) % 3 or (b"nx" in words and b"xx" in words):
        raise ReplyError(SYNTAX)
    pairs = []
    for start in range(0, len(triples), 3):
        longitude, latitude = _lon_lat(triples[start], triples[start + 1])
        pairs += [b"%d" % geohash.encode(longitude, latitude), triples[start + 2]]
    keyspace = session.db.keyspace
    changes_before = keyspace.dirty
    reply = zadd(session, key, *flags, *pairs)  # as Redis, which hands GEOADD over to ZADD, and logs that
    if keyspace.dirty > changes_before:
        session.propagate([b"zadd", key, *flags, *pairs])
    return reply


def geopos(session, key, *members):
    """GEOPOS key [member [member ...]]"""
    zset = _sorted_set(session, key)
    reply = []
    for member in members:
        score = None if zset is None else zset.get(member)
        if score is None:
            reply.append(NULL_ARRAY)
        else:
            reply.append([FormattedDouble(geohash.format_coordinate(value)) for value in geohash.decode_score(score)])
    return reply


def geohash_(session, key, *members):
    """GEOHASH key [member [member ...]]"""
    zset = _sorted_set(session, key)
    scores = [None if zset is None else zset.get(member) for member in members]
    return [None if score is None else geohash.standard_geohash(score) for score in scores]


def geodist(session, key, member1, member2, *unit):
    """GEODIST key member1 member2 [M|KM|FT|MI]"""
    if len(unit) > 1:
        raise ReplyError(SYNTAX)
    meters = _unit(unit[0]) if unit else 1.0
    zset = _sorted_set(session, key)
    if zset is None or member1 not in zset or member2 not in zset:
        return None
    (lon1, lat1), (lon2, lat2) = geohash.decode_score(zset[member1]), geohash.decode_score(zset[member2])
    return geohash.format_distance(geohash.distance(lon1, lat1, lon2, lat2) / meters)


# ------------------------------------------------------------------ searching


class _Search:
    """What a search asks for, read from its arguments as georadiusGeneric reads them."""

    def __init__(self):
        self.shape = geohash.Shape(0.0, 0.0, 0.0)
        self.with_dist = self.with_hash = self.with_coord = self.any = self.store_dist = False
        self.descending = None  # None: unsorted
        self.count = 0
        self.store = None
        self.from_member = self.from_lon_lat = self.by_radius = self.by_box = False

    def center_at(self, longitude, latitude):
        self.shape.longitude, self.shape.latitude = longitude, latitude

    def circle(self, radius, conversion):
        self.shape.radius, self.shape.width, self.shape.height = radius, None, None
        self.shape.conversion = conversion

    def box(self, width, height, conversion):
        self.shape.radius, self.shape.width, self.shape.height = None, width, height
        self.shape.conversion = conversion


# The kinds of search, as geo.c's flags.
_COORDS, _MEMBER, _GEOSEARCH, _GEOSEARCHSTORE = "coords", "member", "geosearch", "geosearchstore"


def _read_options(search, zset, options, kind, read_only):
    """georadiusGeneric's option loop: each word checked in its order, errors as they come."""
    geosearch = kind in (_GEOSEARCH, _GEOSEARCHSTORE)
    index = 0
    while index < len(options):
        word, left = keyword(options[index]), len(options) - index - 1
        if word == b"withdist":
            search.with_dist = True
        elif word == b"withhash":
            search.with_hash = True
        elif word == b"withcoord":
            search.with_coord = True
        elif word == b"any":
            search.any = True
        elif word in (b"asc", b"desc"):
            search.descending = word == b"desc"
        elif word == b"count" and left >= 1:
            search.count = to_int(options[index + 1])
            if search.count <= 0:
                raise ReplyError(GEO_COUNT)
            index += 1
        elif word in (b"store", b"storedist") and left >= 1 and not read_only and not geosearch:
            search.store, search.store_dist = options[index + 1], word == b"storedist"
            index += 1
        elif word == b"storedist" and kind == _GEOSEARCHSTORE:
            search.store_dist = True
        elif word == b"frommember" and left >= 1 and geosearch and not search.from_lon_lat:
            if zset is not None:  # with no source key, the arguments are read on for the right reply
                search.center_at(*_member_position(zset, options[index + 1]))
            search.from_member = True
            index += 1
        elif word == b"fromlonlat" and left >= 2 and geosearch and not search.from_member:
            search.center_at(*_lon_lat(options[index + 1], options[index + 2]))
            search.from_lon_lat = True
            index += 2
        elif word == b"byradius" and left >= 2 and geosearch and not search.by_box:
            search.circle(*_radius(options[index + 1], options[index + 2]))
            search.by_radius = True
            index += 2
        elif word == b"bybox" and left >= 3 and geosearch and not search.by_radius:
            search.box(*_box(options[index + 1], options[index + 2], options[index + 3]))
            search.by_box = True
            index += 3
        else:
            raise ReplyError(SYNTAX)
        index += 1


def _check(session, search, kind):
    """The combinations Redis refuses once every option is read."""
    if search.store is not None and (search.with_dist or search.with_hash or search.with_coord):
        raise geo_store_with_options(kind == _GEOSEARCHSTORE)
    if kind in (_GEOSEARCH, _GEOSEARCHSTORE):
        if not (search.from_member or search.from_lon_lat):
            raise geo_needs_from(session.argv[0])
        if not (search.by_radius or search.by_box):
            raise geo_needs_by(session.argv[0])
    if search.any and not search.count:
        raise ReplyError(GEO_ANY_NEEDS_COUNT)


def _search(session, key, first, options, kind, read_only=False, store=None):
    """georadiusGeneric: key's set searched around a position or a member, by radius or box."""
    zset = _sorted_set(session, key)
    search = _Search()
    search.store = store
    if kind == _COORDS:
        search.center_at(*_lon_lat(first[0], first[1]))
        search.circle(*_radius(first[2], first[3]))
    elif kind == _MEMBER and zset is not None:
        search.center_at(*_member_position(zset, first[0]))
        search.circle(*_radius(first[1], first[2]))
    _read_options(search, zset, options, kind, read_only)
    _check(session, search, kind)
    if zset is None:
        return [] if search.store is None else _store(session, search.store, {}, kind)
    if search.count and search.descending is None and not search.any:
        search.descending = False  # COUNT returns the nearest
    measured = search.with_dist or search.with_coord or search.store_dist or search.descending is not None
    points = find(zset.order, search.shape, search.count if search.any else 0, measured)
    returned = min(len(points), search.count) if search.count else len(points)
    if search.descending is not None:
        sort_points(points, search.descending, returned)
    del points[returned:]
    conversion = search.shape.conversion
    if search.store is not None:
        scores = {member: meters / conversion if search.store_dist else score
                  for meters, _, _, score, member in points}
        return _store(session, search.store, scores, kind)
    if not (search.with_dist or search.with_hash or search.with_coord):
        return [point[4] for point in points]
    return [_point_reply(search, point, conversion) for point in points]


def _store(session, destination, scores, kind):
    """STORE, STOREDIST, GEOSEARCHSTORE: the result replaces destination (the event georadiusstore or
    geosearchstore), a change per member as Redis counts it; an empty one deletes it (del, if it was there)."""
    event = b"geosearchstore" if kind == _GEOSEARCHSTORE else b"georadiusstore"
    return store_result(session, destination, ZSet.from_scores(scores, listpack_limits(session)), event, len(scores))


def _point_reply(search, point, conversion):
    meters, longitude, latitude, score, member = point
    reply = [member]
    if search.with_dist:
        reply.append(geohash.format_distance(meters / conversion))
    if search.with_hash:
        reply.append(int(score))
    if search.with_coord:
        reply.append([FormattedDouble(geohash.format_coordinate(longitude)),
                      FormattedDouble(geohash.format_coordinate(latitude))])
    return reply


def georadius(session, key, longitude, latitude, radius, unit, *options):
    """GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]
    [ASC|DESC] [STORE key] [STOREDIST key]"""
    return _search(session, key, (longitude, latitude, radius, unit), options, _COORDS)


def georadius_ro(session, key, longitude, latitude, radius, unit, *options):
    """GEORADIUS_RO key longitude latitude radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]
    [ASC|DESC]"""
    return _search(session, key, (longitude, latitude, radius, unit), options, _COORDS, read_only=True)


def georadiusbymember(session, key, member, radius, unit, *options):
    """GEORADIUSBYMEMBER key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]
    [ASC|DESC] [STORE key] [STOREDIST key]"""
    return _search(session, key, (member, radius, unit), options, _MEMBER)


def georadiusbymember_ro(session, key, member, radius, unit, *options):
    """GEORADIUSBYMEMBER_RO key member radius M|KM|FT|MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]
    [ASC|DESC]"""
    return _search(session, key, (member, radius, unit), options, _MEMBER, read_only=True)


def geosearch(session, key, *options):
    """GEOSEARCH key FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius M|KM|FT|MI|BYBOX width
    height M|KM|FT|MI [ASC|DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]"""
    return _search(session, key, (), options, _GEOSEARCH)


def geosearchstore(session, destination, source, *options):
    """GEOSEARCHSTORE destination source FROMMEMBER member|FROMLONLAT longitude latitude BYRADIUS radius
    M|KM|FT|MI|BYBOX width height M|KM|FT|MI [ASC|DESC] [COUNT count [ANY]] [STOREDIST]"""
    return _search(session, source, (), options, _GEOSEARCHSTORE, store=destination)


COMMANDS = table(
    #       name                    handler               arity flags                                 first last step
    Command("geoadd", geoadd, -5, ("write", "denyoom"), 1, 1, 1),
    Command("geopos", geopos, -2, ("readonly",), 1, 1, 1),
    Command("geohash", geohash_, -2, ("readonly",), 1, 1, 1),
    Command("geodist", geodist, -4, ("readonly",), 1, 1, 1),
    Command("georadius", georadius, -6, ("write", "denyoom", "movablekeys"), 1, 1, 1),
    Command("georadius_ro", georadius_ro, -6, ("readonly",), 1, 1, 1),
    Command("georadiusbymember", georadiusbymember, -5, ("write", "denyoom", "movablekeys"), 1, 1, 1),
    Command("georadiusbymember_ro", georadiusbymember_ro, -5, ("readonly",), 1, 1, 1),
    Command("geosearch", geosearch, -7, ("readonly",), 1, 1, 1),
    Command("geosearchstore", geosearchstore, -8, ("write", "denyoom"), 1, 2, 1),
    group="geo",
)
