"""Geo commands against real Redis 7.0.15: positions, distances, hashes and searches byte for byte.

Most tests are differential: the `geo` fixture runs each one in RESP2 and in
RESP3, and every request goes to both servers, whose replies must be
identical. Seeded random points and random search centres, radii and boxes
(bounded counts) cover the arithmetic; ties at one position cover the
ordering (glibc's stable qsort, and Redis's pqsort under COUNT); every
option combination and every error text is asked of both. A few tests look
inside: that a small search reads only the cells around it, and what the
AOF logs.
"""
import itertools
import math
import random

import pytest

from conftest import aof_file, ours_and_redis
from differential import Pair, mask_client_id
from storage import geohash, geosearch
from storage.pqsort import merge_sort, pqsort
from storage.zsets import ZSet

SICILY = ("GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania",
          "12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2")


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def geo(request, pair):
    """The pair, after HELLO 3 for the RESP3 run; 'Sicily' holds four places, 's' a string."""
    if request.param == 3:
        pair.check("HELLO", "3", normalise=mask_client_id)
    pair.check(*SICILY)
    pair.check("SET", "s", "string")
    return pair


def random_points(seed, count, lon_range=(-180.0, 180.0), lat_range=(geohash.LAT_MIN, geohash.LAT_MAX)):
    rnd = random.Random(seed)
    return [(repr(rnd.uniform(*lon_range)), repr(rnd.uniform(*lat_range)), "p%d" % index) for index in range(count)]


def load(pair, key, points, batch=200):
    for start in range(0, len(points), batch):
        pair.check("GEOADD", key, *[item for point in points[start:start + batch] for item in point])


# ------------------------------------------------------------------ GEOADD


def test_geoadd_options_and_replies(geo):
    geo.check_sequence([
        ("GEOADD", "k", "1", "2", "a"), ("GEOADD", "k", "1", "2", "a"), ("GEOADD", "k", "CH", "1", "3", "a"),
        ("GEOADD", "k", "NX", "5", "5", "a", "6", "6", "b"), ("GEOADD", "k", "XX", "7", "7", "a", "8", "8", "c"),
        ("GEOADD", "k", "XX", "CH", "9", "9", "a", "9", "9", "b"), ("GEOADD", "k", "nx", "ch", "0", "0", "d"),
        ("GEOADD", "k", "ch", "xx", "ch", "1", "1", "d"), ("GEOADD", "k", "Nx\0junk", "3", "3", "e"),
        ("GEOADD", "missing", "XX", "1", "1", "a"), ("EXISTS", "missing"),
        ("ZRANGE", "k", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "k"),
    ])


def test_geoadd_errors(geo):
    geo.check_sequence([
        ("GEOADD",), ("GEOADD", "k"), ("GEOADD", "k", "1", "2"), ("GEOADD", "k", "1", "2", "a", "3"),
        ("GEOADD", "k", "NX", "XX", "1", "2", "a"), ("GEOADD", "k", "NX", "1", "2"), ("GEOADD", "k", "ch", "ch", "ch"),
        ("GEOADD", "k", "nx", "xx", "ch"), ("GEOADD", "k", "GT", "1", "2", "a"), ("GEOADD", "k", "LT", "1", "2", "a"),
        ("GEOADD", "k", "INCR", "1", "2", "a"), ("GEOADD", "s", "1", "2", "a"), ("GEOADD", "s", "200", "2", "a"),
        ("GEOADD", "k", "1", "2", "a", "200", "100", "b"), ("EXISTS", "k"),
    ])


COORDINATES = ["0", "180", "-180", "180.0000001", "-180.0000001", "85.05112878", "-85.05112878", "85.05112879",
               "-85.05112879", "90", "1e300", "-1e300", "inf", "-inf", "nan", "abc", "", " 1", "1 ", "0x10",
               "1e-320", "-0", "1.5e1", "12345678901234567890"]


def test_geoadd_coordinates_at_and_past_the_limits(geo):
    for longitude in COORDINATES:
        geo.check("GEOADD", "k", longitude, "10", "m")
        geo.check("GEOPOS", "k", "m")
    for latitude in COORDINATES:
        geo.check("GEOADD", "k", "10", latitude, "m")
        geo.check("GEOPOS", "k", "m")
    geo.check("ZRANGE", "k", "0", "-1", "WITHSCORES")


# ------------------------------------------------------------------ reading positions


def test_geopos_geohash_geodist(geo):
    geo.check_sequence([
        ("GEOPOS", "Sicily", "Palermo", "Catania", "nowhere", "Palermo"), ("GEOPOS", "Sicily"),
        ("GEOPOS", "missing", "a", "b"), ("GEOPOS", "missing"), ("GEOPOS", "s", "a"), ("GEOPOS",),
        ("GEOHASH", "Sicily", "Palermo", "Catania", "nowhere", "edge1"), ("GEOHASH", "Sicily"),
        ("GEOHASH", "missing", "a"), ("GEOHASH", "s", "a"), ("GEOHASH",),
        ("GEODIST", "Sicily", "Palermo", "Catania"), ("GEODIST", "Sicily", "Palermo", "Palermo"),
        ("GEODIST", "Sicily", "Palermo", "nowhere"), ("GEODIST", "missing", "a", "b"), ("GEODIST", "s", "a", "b"),
        ("GEODIST", "s", "a", "b", "parsec"), ("GEODIST", "missing", "a", "b", "parsec"),
        ("GEODIST", "Sicily", "Palermo", "Catania", "km", "extra"), ("GEODIST", "Sicily", "Palermo"),
    ])
    for unit in ["m", "km", "mi", "ft", "M", "Km", "FT", "mI", "km\0x", "", "kms", "meters"]:
        geo.check("GEODIST", "Sicily", "Palermo", "Catania", unit)
        geo.check("GEODIST", "Sicily", "edge1", "edge2", unit)


# Scores no GEOADD makes: Redis decodes whatever a ZADD stored, through C's (uint64_t) conversion.
ODD_SCORES = ["-1", "-1.5", "0", "1.5", "4e15", "4503599627370496", "9007199254740994", "12345678901234567", "1e19",
              "1.8e19", "1e30", "inf", "-inf", "-9.3e18", "9223372036854775808", "-9223372036854775808",
              "18446744073709551616", "18446744073709549568", "-9223372036854777856"]


def test_positions_of_scores_geoadd_never_makes(geo):
    geo.check("ZADD", "odd", *[item for index, score in enumerate(ODD_SCORES) for item in (score, "o%d" % index)])
    members = ["o%d" % index for index in range(len(ODD_SCORES))]
    geo.check("GEOPOS", "odd", *members)
    geo.check("GEOHASH", "odd", *members)
    for first, second in itertools.combinations(members, 2):
        geo.check("GEODIST", "odd", first, second)
    geo.check("GEOSEARCH", "odd", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "WITHDIST", "WITHHASH",
              "WITHCOORD", "ASC")


def test_random_points_positions_hashes_and_distances(geo):
    points = random_points(1, 600) + [("180", "85.05112878", "ne"), ("-180", "-85.05112878", "sw"),
                                      ("0", "0", "origin"), ("-0.000001", "0.000001", "near")]
    load(geo, "world", points)
    geo.check("ZRANGE", "world", "0", "-1", "WITHSCORES")
    members = [point[2] for point in points]
    for start in range(0, len(members), 100):
        geo.check("GEOPOS", "world", *members[start:start + 100])
        geo.check("GEOHASH", "world", *members[start:start + 100])
    rnd = random.Random(2)
    units = ["m", "km", "mi", "ft"]
    geo.check_pipeline([("GEODIST", "world", rnd.choice(members), rnd.choice(members), rnd.choice(units))
                        for _ in range(400)])


# Pairs on one meridian whose distance prints differently by the haversine than by Redis's shortcut.
MERIDIAN_PAIRS = [("-15.1391", "-9.1963", "82.909"), ("176.8766", "49.2204", "-56.2149"),
                  ("-114.9586", "-13.0313", "61.7334"), ("43.0315", "51.8864", "-25.2352")]


def test_distances_along_a_meridian_and_across_the_globe(geo):
    """The meridian shortcut (same longitude) and near-antipodal pairs, where the haversine reaches 1."""
    rnd = random.Random(3)
    commands = []
    for index, (longitude, lat1, lat2) in enumerate(MERIDIAN_PAIRS):
        commands += [("GEOADD", "pair%d" % index, longitude, lat1, "a", longitude, lat2, "b"),
                     ("GEODIST", "pair%d" % index, "a", "b"),
                     ("GEOSEARCH", "pair%d" % index, "FROMMEMBER", "a", "BYRADIUS", "20000", "km", "WITHDIST")]
    for index in range(150):
        longitude, latitude = rnd.uniform(-179, 179), rnd.uniform(-84, 84)
        opposite = longitude + 180 if longitude < 0 else longitude - 180
        commands.append(("GEOADD", "m%d" % index, repr(longitude), repr(latitude), "a", repr(longitude),
                         repr(rnd.uniform(-84, 84)), "b", repr(opposite), repr(-latitude), "c"))
        commands += [("GEODIST", "m%d" % index, "a", "b"), ("GEODIST", "m%d" % index, "a", "c", "km"),
                     ("GEOSEARCH", "m%d" % index, "FROMMEMBER", "a", "BYRADIUS", "25000", "km", "WITHDIST", "DESC")]
    geo.check_pipeline(commands)


# ------------------------------------------------------------------ searching: options


SEARCHES = [
    ("GEORADIUS", "Sicily", "15", "37", "200", "km"),
    ("GEORADIUS_RO", "Sicily", "15", "37", "200", "km"),
    ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "250", "km"),
    ("GEORADIUSBYMEMBER_RO", "Sicily", "Palermo", "250", "km"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "250", "km"),
    ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km"),
    ("GEOSEARCH", "Sicily", "FROMMEMBER", "Catania", "BYBOX", "500", "300", "mi"),
]
WITH = [(), ("WITHDIST",), ("WITHHASH",), ("WITHCOORD",), ("WITHDIST", "WITHHASH"), ("WITHCOORD", "WITHDIST"),
        ("WITHHASH", "WITHCOORD"), ("WITHCOORD", "WITHDIST", "WITHHASH")]
ORDERS = [(), ("ASC",), ("DESC",), ("ASC", "DESC")]
COUNTS = [(), ("COUNT", "1"), ("COUNT", "2"), ("COUNT", "3", "ANY"), ("COUNT", "10"), ("COUNT", "1", "ANY")]


@pytest.mark.parametrize("search", SEARCHES, ids=lambda search: "-".join(search[:1] + search[2:3] + search[-4:-3]))
def test_every_option_combination_of_a_search(geo, search):
    geo.check_pipeline([search + options + order + count for options in WITH for order in ORDERS for count in COUNTS])
    geo.check_pipeline([search[:1] + ("missing",) + search[2:] + options + count
                        for options in WITH[:2] for count in COUNTS])


def test_options_in_any_order_and_case(geo):
    geo.check_sequence([
        ("GEOSEARCH", "Sicily", "desc", "withdist", "BYRADIUS", "300", "KM", "count", "2", "FromLonLat", "15", "37"),
        ("GEOSEARCH", "Sicily", "FROMMEMBER", "edge1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "m", "BYRADIUS",
         "300", "km", "WITHCOORD"),
        ("GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "1", "1", "m", "BYBOX", "600", "600", "km", "ASC"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "5", "COUNT", "1", "withdist\0x"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "Km\0x", "ANY", "COUNT", "2"),
    ])


def test_search_errors(geo):
    radius = ("GEORADIUS", "Sicily", "15", "37", "200", "km")
    by_member = ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km")
    geo.check_sequence([
        radius[:5], radius[:4], ("GEORADIUS", "Sicily", "200", "37", "200", "km"),
        ("GEORADIUS", "Sicily", "x", "37", "200", "km"), ("GEORADIUS", "Sicily", "15", "37", "x", "km"),
        ("GEORADIUS", "Sicily", "15", "37", "-1", "km"), ("GEORADIUS", "Sicily", "15", "37", "1", "yd"),
        ("GEORADIUS", "Sicily", "15", "37", "nan", "km"), ("GEORADIUS", "Sicily", "15", "37", "inf", "km"),
        radius + ("COUNT",), radius + ("COUNT", "0"), radius + ("COUNT", "-3"), radius + ("COUNT", "x"),
        radius + ("COUNT", "99999999999999999999"), radius + ("ANY",), radius + ("STORE",),
        radius + ("STORE", "d", "WITHDIST"), radius + ("STOREDIST", "d", "WITHHASH"), radius + ("STOREDIST",),
        radius + ("BYBOX", "1", "1", "km"), radius + ("FROMMEMBER", "Palermo"), radius + ("WITHCOORD", "bogus"),
        ("GEORADIUS_RO",) + radius[1:] + ("STORE", "d"), ("GEORADIUS_RO",) + radius[1:] + ("STOREDIST", "d"),
        ("GEORADIUSBYMEMBER", "Sicily", "nowhere", "200", "km"), ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "x", "km"),
        ("GEORADIUSBYMEMBER", "missing", "nowhere", "x", "km"), ("GEORADIUSBYMEMBER", "missing", "a", "1", "km", "ANY"),
        ("GEORADIUSBYMEMBER", "missing", "a", "1", "km", "bogus"), by_member + ("STORE", "d", "WITHCOORD"),
        ("GEORADIUSBYMEMBER_RO",) + by_member[1:] + ("STORE", "d"), ("GEORADIUS", "s") + radius[2:],
        ("GEORADIUS", "s", "200", "37", "200", "km"), ("GEORADIUSBYMEMBER", "s", "a", "200", "km"),
    ])


def test_geosearch_errors(geo):
    from_ll, by_r = ("FROMLONLAT", "15", "37"), ("BYRADIUS", "200", "km")
    search, store = ("GEOSEARCH", "Sicily"), ("GEOSEARCHSTORE", "d", "Sicily")
    geo.check_sequence([
        search + from_ll, search + by_r + ("ASC",), ("geosearch", "Sicily") + by_r + ("x",),
        search + by_r + ("WITHDIST",), ("geoSearch", "Sicily") + from_ll + ("ASC", "DESC"),
        search + from_ll + ("FROMMEMBER", "Palermo") + by_r, search + ("FROMMEMBER", "Palermo") + from_ll + by_r,
        search + from_ll + by_r + ("BYBOX", "1", "1", "km"), search + from_ll + ("BYBOX", "1", "1", "km") + by_r,
        search + ("FROMMEMBER", "nowhere") + by_r, ("GEOSEARCH", "missing", "FROMMEMBER", "x") + by_r,
        search + ("FROMLONLAT", "15", "95") + by_r, search + ("FROMLONLAT", "x", "1") + by_r,
        search + from_ll + ("BYBOX", "x", "1", "km"), search + from_ll + ("BYBOX", "1", "x", "km"),
        search + from_ll + ("BYBOX", "x", "y", "km"), search + from_ll + ("BYBOX", "-1", "1", "km"),
        search + from_ll + ("BYBOX", "1", "-1", "yd"), search + from_ll + ("BYBOX", "1", "1", "yd"),
        search + from_ll + ("BYBOX", "1", "1"), search + from_ll + ("BYRADIUS", "1"),
        search + ("FROMLONLAT", "15") + by_r, search + from_ll + by_r + ("STORE", "d"),
        search + from_ll + by_r + ("STOREDIST",), search + from_ll + by_r + ("ANY",),
        search + from_ll + by_r + ("COUNT", "0"), ("GEOSEARCH", "s", "FROMMEMBER", "x") + by_r,
        ("GEOSEARCH", "missing") + from_ll + by_r + ("COUNT", "1"), ("GEOSEARCH", "missing") + by_r,
        store + from_ll + by_r + ("WITHDIST",), store + from_ll + by_r + ("STORE", "x"), store + by_r,
        store + from_ll, ("GEOSEARCHSTORE", "d", "s") + from_ll + by_r, store + from_ll + ("BYRADIUS",),
        store + from_ll + by_r + ("ANY",), ("GEOSEARCHSTORE", "d") + from_ll + by_r, ("EXISTS", "d"),
    ])


# ------------------------------------------------------------------ searching: storing


def test_store_and_storedist(geo):
    geo.check_sequence([
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d1"), ("ZRANGE", "d1", "0", "-1", "WITHSCORES"),
        ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "d2", "DESC", "COUNT", "1"),
        ("ZRANGE", "d2", "0", "-1", "WITHSCORES"), ("OBJECT", "ENCODING", "d2"),
        ("GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "mi", "STORE", "d3", "STOREDIST", "d4"),
        ("EXISTS", "d3"), ("ZRANGE", "d4", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "d5", "Sicily", "FROMMEMBER", "Catania", "BYBOX", "500", "500", "km", "STOREDIST"),
        ("ZRANGE", "d5", "0", "-1", "WITHSCORES"),
        ("GEOSEARCHSTORE", "d6", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "2", "ANY"),
        ("ZRANGE", "d6", "0", "-1", "WITHSCORES"), ("GEOPOS", "d6", "Palermo", "Catania"),
        ("SET", "s2", "x"), ("EXPIRE", "d6", "100"),
        ("GEOSEARCHSTORE", "d6", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km"), ("TTL", "d6"),
        ("GEOSEARCHSTORE", "s2", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km"), ("TYPE", "s2"),
        ("GEOSEARCHSTORE", "d6", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"), ("EXISTS", "d6"),
        ("GEORADIUS", "Sicily", "0", "0", "1", "km", "STORE", "d1"), ("EXISTS", "d1"),
        ("GEOSEARCHSTORE", "d5", "missing", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"), ("EXISTS", "d5"),
        ("GEORADIUSBYMEMBER", "missing", "x", "1", "km", "STOREDIST", "d4"), ("EXISTS", "d4"),
        ("GEOSEARCHSTORE", "Sicily", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "10", "km"),
        ("ZRANGE", "Sicily", "0", "-1", "WITHSCORES"),
    ])


def test_stored_results_take_redis_s_encoding(geo):
    load(geo, "many", random_points(4, 300, (10.0, 11.0), (45.0, 46.0)))
    geo.check("ZADD", "many", "0", "x" * 70)
    for count in ["5", "128", "129", "300"]:
        geo.check("GEOSEARCHSTORE", "d", "many", "FROMLONLAT", "10.5", "45.5", "BYRADIUS", "100", "km", "COUNT", count)
        geo.check("OBJECT", "ENCODING", "d")
        geo.check("ZRANGE", "d", "0", "-1", "WITHSCORES")
    geo.check("GEOSEARCHSTORE", "d", "many", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km")
    geo.check("GEOSEARCHSTORE", "d", "many", "FROMLONLAT", "0.0", "0.0", "BYRADIUS", "200", "km")
    geo.check("OBJECT", "ENCODING", "d")


# ------------------------------------------------------------------ searching: ties and random areas


@pytest.mark.parametrize("size", [3, 7, 8, 41, 120])
def test_ties_come_out_in_redis_s_order(geo, size):
    """Points at one position tie exactly: the full sort keeps insertion order, pqsort (COUNT) does not."""
    rnd = random.Random(size)
    points = [("13.5", "38", "t%03d" % index) for index in rnd.sample(range(size), size)]
    points += [("13.6", "38.1", "u%03d" % index) for index in range(size // 2)]
    load(geo, "ties", points)
    commands = []
    for order, count in itertools.product(["ASC", "DESC", None], [None, 1, 2, 5, 6, 7, 20, 40, 41, size]):
        options = ([order] if order else []) + (["COUNT", str(count)] if count else [])
        commands.append(("GEOSEARCH", "ties", "FROMLONLAT", "13.4", "37.9", "BYRADIUS", "100", "km", *options))
        commands.append(("GEORADIUS", "ties", "13.5", "38", "100", "km", "WITHDIST", *options))
    geo.check_pipeline(commands)


def random_searches(seed, count, members, centre_lon, centre_lat, spread):
    """GEOSEARCH / GEORADIUS* queries around a region with random shapes, units and options."""
    rnd = random.Random(seed)
    commands = []
    for _ in range(count):
        unit = rnd.choice(["m", "km", "mi", "ft"])
        scale = {"m": 1000.0, "km": 1.0, "mi": 0.621371, "ft": 3280.84}[unit]
        size = lambda: repr(rnd.choice([rnd.uniform(0, 50), rnd.uniform(0, 500), rnd.uniform(0, 5000)]) * scale)
        options = rnd.sample(["WITHDIST", "WITHHASH", "WITHCOORD"], rnd.randint(0, 3))
        options += rnd.choice([[], ["ASC"], ["DESC"]])
        options += rnd.choice([[], [], ["COUNT", str(rnd.randint(1, 50))], ["COUNT", str(rnd.randint(1, 50)), "ANY"]])
        longitude = repr(max(-180.0, min(180.0, centre_lon + rnd.uniform(-spread, spread))))
        latitude = repr(max(-85.0, min(85.0, centre_lat + rnd.uniform(-spread, spread))))
        source = rnd.choice([("FROMLONLAT", longitude, latitude), ("FROMMEMBER", rnd.choice(members))])
        shape = rnd.choice([("BYRADIUS", size(), unit), ("BYBOX", size(), size(), unit)])
        kind = rnd.randrange(4)
        if kind == 0:
            commands.append(("GEOSEARCH", "pts", *source, *shape, *options))
        elif kind == 1:
            commands.append(("GEORADIUS", "pts", longitude, latitude, size(), unit, *options))
        elif kind == 2:
            commands.append(("GEORADIUSBYMEMBER_RO", "pts", rnd.choice(members), size(), unit, *options))
        else:
            options = [word for word in options if not word.startswith("WITH")] + rnd.choice([[], ["STOREDIST"]])
            commands.append(("GEOSEARCHSTORE", "dest", "pts", *source, *shape, *options))
            commands.append(("ZRANGE", "dest", "0", "-1", "WITHSCORES"))
    return commands


@pytest.mark.parametrize("region", [(13.0, 38.0, 3.0), (0.0, 0.0, 2.0), (179.5, 10.0, 1.0), (-179.8, -60.0, 1.0),
                                    (20.0, 84.5, 1.0), (-70.0, -84.9, 0.5), (100.0, 70.0, 6.0)],
                         ids=["sicily", "origin", "antimeridian-east", "antimeridian-west", "north", "south", "arctic"])
def test_random_searches_around_a_region(geo, region):
    centre_lon, centre_lat, spread = region
    points = random_points(int(centre_lon * 10 + centre_lat), 800,
                           (max(-180.0, centre_lon - spread), min(180.0, centre_lon + spread)),
                           (max(geohash.LAT_MIN, centre_lat - spread), min(geohash.LAT_MAX, centre_lat + spread)))
    points += random_points(5, 200)
    load(geo, "pts", points)
    members = [point[2] for point in points]
    commands = random_searches(int(centre_lat * 7 + centre_lon), 150, members, centre_lon, centre_lat, spread)
    for start in range(0, len(commands), 50):
        geo.check_pipeline(commands[start:start + 50])


def test_huge_and_zero_areas(geo):
    load(geo, "pts", random_points(6, 400))
    commands = []
    for radius in ["0", "0.5", "1e-300", "4900", "5000", "10000", "20000", "20037.72637", "40000", "1e10", "1e300"]:
        for centre in [("0", "0"), ("179.99", "84"), ("-179.99", "-84"), ("90", "45")]:
            commands.append(("GEORADIUS", "pts", *centre, radius, "km", "COUNT", "5", "WITHDIST"))
            commands.append(("GEOSEARCH", "pts", "FROMLONLAT", *centre, "BYBOX", radius, radius, "km", "COUNT", "5",
                             "DESC", "WITHCOORD"))
    commands.append(("GEOSEARCH", "pts", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km"))
    commands.append(("GEOSEARCH", "pts", "FROMLONLAT", "0", "0", "BYBOX", "40000", "20000", "km", "WITHDIST"))
    geo.check_pipeline(commands)


# ------------------------------------------------------------------ beside the replies


class CountingOrder:
    """A sorted set's order that counts the entries read out of it."""

    def __init__(self, order):
        self.order, self.read = order, 0

    def bisect_left(self, pair):
        return self.order.bisect_left(pair)

    def islice(self, start, stop):
        self.read += stop - start
        return self.order.islice(start, stop)


def every_point_of_the_cells(order, shape):
    """What geosearch.find() must find, without its shortcuts: every entry of each cell Redis reads, decoded
    and measured by the plain decode_score() and distance()."""
    found = []
    x, y, conversion = shape.longitude, shape.latitude, shape.conversion
    for cell, step in geohash.search_cells(shape):
        shift = 52 - 2 * step
        start, stop = order.bisect_left((float(cell << shift),)), order.bisect_left((float((cell + 1) << shift),))
        for score, member in order.islice(start, stop):
            longitude, latitude = geohash.decode_score(score)
            if shape.radius is None:
                across = geohash.distance(longitude, latitude, x, latitude)
                if geohash.lat_distance(latitude, y) > shape.height * conversion / 2 or \
                        across > shape.width * conversion / 2:
                    continue
            meters = geohash.distance(x, y, longitude, latitude)
            if shape.radius is None or meters <= shape.radius * conversion:
                found.append([meters, longitude, latitude, score, member])
    return found


@pytest.fixture(scope="module")
def big_set():
    """20,000 points: half spread over the globe, half around Rome."""
    rnd = random.Random(7)
    zset = ZSet()
    for index in range(20000):
        if index % 2:
            longitude, latitude = rnd.uniform(-180, 180), rnd.uniform(-85, 85)
        else:
            longitude, latitude = rnd.gauss(12.5, 2.0), max(-85.0, min(85.0, rnd.gauss(41.9, 2.0)))
        zset.add(b"p%d" % index, float(geohash.encode(longitude, latitude)), (128, 64))
    return zset


def test_a_small_search_reads_only_the_cells_around_it(big_set):
    """GEOSEARCH visits the nine cells around its area, never the whole set, and leaves out the parts of
    big cells that lie wholly outside the shape."""
    order = CountingOrder(big_set.order)
    found = geosearch.find(order, geohash.Shape(-40.0, 10.0, 1000.0, radius=300.0))
    assert 0 < len(found) <= order.read < 100  # of 20,000
    rome = geohash.Shape(12.5, 41.9, 1000.0, radius=100.0)
    order = CountingOrder(big_set.order)
    found = geosearch.find(order, rome)
    assert found == every_point_of_the_cells(big_set.order, rome) and 500 < len(found) < order.read < 2 * len(found)
    unmeasured = geosearch.find(big_set.order, rome, measured=False)
    assert 0 < sum(point[0] is not None for point in unmeasured) < len(found) / 2  # the rest lie well inside


def test_what_a_search_finds_is_every_point_of_redis_s_cells(big_set):
    """The shortcuts of find() (cells cut into quarters and weighed against the shape, the inlined
    arithmetic) change nothing it finds, nor the order it finds them in."""
    rnd = random.Random(8)
    for _ in range(300):
        longitude, latitude = rnd.choice([(rnd.uniform(-180, 180), rnd.uniform(-85, 85)),
                                          (rnd.gauss(12.5, 3.0), rnd.gauss(41.9, 3.0)),
                                          (rnd.choice([-180.0, 180.0]), rnd.uniform(-85, 85)),
                                          (rnd.uniform(-180, 180), rnd.choice([geohash.LAT_MIN, geohash.LAT_MAX]))])
        size = rnd.choice([rnd.uniform(0, 50), rnd.uniform(0, 500), rnd.uniform(0, 5000), rnd.uniform(5000, 25000)])
        if rnd.random() < 0.5:
            shape = geohash.Shape(longitude, latitude, 1000.0, radius=size)
        else:
            shape = geohash.Shape(longitude, latitude, 1000.0, width=size, height=rnd.uniform(0, 2) * size)
        expected = every_point_of_the_cells(big_set.order, shape)
        assert geosearch.find(big_set.order, shape) == expected
        unmeasured = geosearch.find(big_set.order, shape, measured=False)
        assert [point[3:] for point in unmeasured] == [point[3:] for point in expected]
        assert all(point[0] is None or point == wanted for point, wanted in zip(unmeasured, expected))
        limit = rnd.randint(1, 20)
        assert geosearch.find(big_set.order, shape, limit, measured=False)[:limit] == unmeasured[:limit]


def test_the_sorts_ties_depend_on():
    """merge_sort is glibc's stable sort; pqsort puts in positions left..right what a full sort would."""
    rnd = random.Random(9)

    def compare(a, b):
        return (a[0] > b[0]) - (a[0] < b[0])

    for size in [0, 1, 2, 6, 7, 8, 40, 41, 42, 100, 500]:
        items = [(rnd.randint(0, 10), index) for index in range(size)]
        assert merge_sort(items, compare) == sorted(items, key=lambda item: item[0])
        for _ in range(5 if size else 0):
            left = rnd.randrange(size)
            right = rnd.randrange(left, size)
            partly = list(items)
            pqsort(partly, compare, left, right)
            assert sorted(partly) == sorted(items)
            assert [item[0] for item in partly[left:right + 1]] == sorted(item[0] for item in items)[left:right + 1]
    points = [[math.nan, 0, 0, 0, b"a"], [1.0, 0, 0, 0, b"b"], [math.nan, 0, 0, 0, b"c"], [0.5, 0, 0, 0, b"d"]]
    for returned in (4, 2):
        ordered = [list(point) for point in points]
        geosearch.sort_points(ordered, False, returned)  # a NaN distance takes C's comparator through the ports
        assert sorted(point[4] for point in ordered) == [b"a", b"b", b"c", b"d"]


def test_watch_sees_geo_writes(geo, server, real_redis):
    geo.check_sequence([("WATCH", "Sicily", "dest"), ("MULTI",), ("GET", "s")])
    with Pair(server.port, real_redis.port) as other:
        other.check("GEOADD", "Sicily", "1", "1", "new")
    geo.check("EXEC")
    geo.check_sequence([("WATCH", "dest"), ("MULTI",), ("GET", "s")])
    with Pair(server.port, real_redis.port) as other:
        other.check("GEOSEARCHSTORE", "dest", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km")
    geo.check("EXEC")
    geo.check_sequence([("MULTI",), ("GEOADD", "k", "1", "1", "a"), ("GEOSEARCH", "k", "FROMMEMBER", "a", "BYRADIUS",
                         "1", "m"), ("GEOADD", "k", "x", "1", "b"), ("EXEC",)])


def test_the_aof_logs_what_redis_logs(tmp_path):
    """GEOADD is logged as the ZADD it becomes, a search that stores as sent (unless it changed nothing), plain
    reads not at all."""
    (tmp_path / "ours").mkdir()
    (tmp_path / "real").mkdir()
    with ours_and_redis(tmp_path / "ours", tmp_path / "real", "--appendonly", "yes") as (ours, real):
        with Pair(ours.port, real.port) as both:
            both.check_sequence([
                SICILY, ("GEOADD", "Sicily", "ch", "Xx", "13.5", "38", "Palermo"),
                ("GEORADIUS", "Sicily", "15", "37", "200", "km"),
                ("GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "d"),
                ("GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "nothing"),
                ("GEOSEARCHSTORE", "d2", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "9", "km", "STOREDIST"),
                ("GEOSEARCHSTORE", "d2", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "0", "km"),
                ("GEOSEARCHSTORE", "d2", "Sicily", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"),
                ("GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "9", "km"),
            ])
    written = aof_file(tmp_path / "ours").read_bytes()
    assert written == aof_file(tmp_path / "real").read_bytes()


def test_geo_sets_survive_a_reload(servers):
    ours, redis = servers
    with Pair(ours.port, redis.port) as both:
        both.check("FLUSHALL")
        load(both, "pts", random_points(8, 300))
        both.check("DEBUG", "RELOAD")
        both.check("GEOSEARCH", "pts", "FROMLONLAT", "10", "10", "BYRADIUS", "3000", "km", "WITHDIST", "WITHCOORD")
        both.check("GEOHASH", "pts", "p1", "p2", "p299")
