#!/usr/bin/env bash
# Replication: a mini-redis master on 127.0.0.1:7001 (master.conf) and two replicas of it on 7002 and
# 7003 (replica.conf), each with its own folder under STATE holding its copy of the config file, its
# snapshot, pid file and log.
#   bash deploy/replication/start.sh [STATE]          STATE: /tmp/mini-redis-replication
#   redis-cli -p 7001 SET greeting hello; redis-cli -p 7002 GET greeting
#   redis-cli -p 7002 INFO replication                 role:slave, master_link_status:up
#   bash deploy/stop.sh /tmp/mini-redis-replication
# Other ports: MASTER_PORT=7101 REPLICA_PORTS="7102 7103". Running it again starts what is down.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
state="$(mkdir -p "${1:-/tmp/mini-redis-replication}" && cd "${1:-/tmp/mini-redis-replication}" && pwd)"
master_port="${MASTER_PORT:-7001}"
read -ra replica_ports <<< "${REPLICA_PORTS:-7002 7003}"
for port in "${replica_ports[@]}"; do  # replica.conf's copies, following MASTER_PORT
    mkdir -p "$state/$port"
    [ -f "$state/$port/mini-redis.conf" ] || sed "s/^replicaof 127\.0\.0\.1 7001\$/replicaof 127.0.0.1 $master_port/" \
        "$here/replica.conf" > "$state/$port/mini-redis.conf"
done
start_mini_redis "$state" "$here/master.conf" "$master_port"
start_mini_redis "$state" "$here/replica.conf" "${replica_ports[@]}"
wait_for_link_up "${replica_ports[@]}"
