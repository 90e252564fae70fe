"""Versions: the Redis behaviour we match (what clients check) and mini-redis's own."""

REDIS_VERSION = "7.0.15"
VERSION = "0.1.0"
