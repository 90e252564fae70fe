#!/usr/bin/env bash
# Sentinel: deploy/replication's master (7001) and two replicas (7002, 7003), then three Sentinels
# (26380, 26381, 26382) watching them, each with its own copy of sentinel.conf under STATE.
#   bash deploy/sentinel/start.sh [STATE]                          STATE: /tmp/mini-redis-sentinel
#   redis-cli -p 26380 SENTINEL GET-MASTER-ADDR-BY-NAME mymaster   where the master is now
#   redis-cli -p 7001 SHUTDOWN NOSAVE                              a failover: a replica is promoted in ~10 s
#   bash deploy/sentinel/start.sh                                  starts again what is down (the old master,
#                                                                  which Sentinel then makes a replica)
#   bash deploy/stop.sh /tmp/mini-redis-sentinel
# Other ports: MASTER_PORT and REPLICA_PORTS as for deploy/replication/start.sh, SENTINEL_PORTS="26479 26480 26481".
# REQUIREPASS as for deploy/replication/start.sh: the sentinels log in with it (auth-pass); they ask none themselves.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
state="$(mkdir -p "${1:-/tmp/mini-redis-sentinel}" && cd "${1:-/tmp/mini-redis-sentinel}" && pwd)"
bash "$here/../replication/start.sh" "$state"
read -ra sentinel_ports <<< "${SENTINEL_PORTS:-26380 26381 26382}"
for port in "${sentinel_ports[@]}"; do
    answers "$port" && continue
    mkdir -p "$state/sentinel-$port"
    [ -f "$state/sentinel-$port/sentinel.conf" ] || {
        sed "s/^\(sentinel monitor mymaster 127\.0\.0\.1\) 7001 /\1 ${MASTER_PORT:-7001} /" "$here/sentinel.conf"
        [ -z "${REQUIREPASS:-}" ] || echo "sentinel auth-pass mymaster $REQUIREPASS"
    } > "$state/sentinel-$port/sentinel.conf"
    redis-sentinel "$state/sentinel-$port/sentinel.conf" --port "$port" --dir "$state/sentinel-$port" \
        --daemonize yes --pidfile "$state/sentinel-$port/sentinel.pid" --logfile "$state/sentinel-$port/sentinel.log"
done
for port in "${sentinel_ports[@]}"; do
    wait_for_ping "$port"
done
