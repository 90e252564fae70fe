#!/usr/bin/env bash
# Sharding: the mini-redis instances that nutcracker.yml names, then twemproxy in front of them.
#   bash deploy/twemproxy/start.sh [STATE [CONFIG]]    STATE: /tmp/mini-redis-twemproxy, CONFIG: nutcracker.yml here
#   redis-cli -p 22121 SET greeting hello              through the proxy
#   bash deploy/stop.sh /tmp/mini-redis-twemproxy
# STATS_PORT (22222) is twemproxy's statistics port, on 127.0.0.1 too.
# Running it again starts what is down and leaves the rest alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
state="$(mkdir -p "${1:-/tmp/mini-redis-twemproxy}" && cd "${1:-/tmp/mini-redis-twemproxy}" && pwd)"
config="${2:-$here/nutcracker.yml}"
nutcracker="$(command -v nutcracker || echo /usr/sbin/nutcracker)"
if ! checked="$("$nutcracker" --test-conf -c "$config" 2>&1)"; then echo "$checked" >&2; exit 1; fi
start_mini_redis "$state" "" $(sed -nE 's/^ *- *127\.0\.0\.1:([0-9]+):.*/\1/p' "$config")
listen="$(sed -nE 's/^ *listen: *127\.0\.0\.1:([0-9]+).*/\1/p' "$config")"
answers "$listen" || "$nutcracker" --daemonize -c "$config" -a 127.0.0.1 -s "${STATS_PORT:-22222}" \
    -p "$state/nutcracker.pid" -o "$state/nutcracker.log"
wait_for_ping "$listen"
