#!/usr/bin/env bash
# Replication: a mini-redis master on 127.0.0.1:7001 (master.conf) and two replicas of it on 7002 and
# 7003 (replica.conf), each with its own folder under STATE holding its copy of the config file, its
# snapshot, pid file and log.
#   bash deploy/replication/start.sh [STATE]          STATE: /tmp/mini-redis-replication
#   redis-cli -p 7001 SET greeting hello; redis-cli -p 7002 GET greeting
#   redis-cli -p 7002 INFO replication                 role:slave, master_link_status:up
#   bash deploy/stop.sh /tmp/mini-redis-replication
# Other ports: MASTER_PORT=7101 REPLICA_PORTS="7102 7103"; a password: REQUIREPASS=... (redis-cli -a it, or
# REDISCLI_AUTH=it). Running it again starts what is down.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
state="$(mkdir -p "${1:-/tmp/mini-redis-replication}" && cd "${1:-/tmp/mini-redis-replication}" && pwd)"
master_port="${MASTER_PORT:-7001}"
read -ra replica_ports <<< "${REPLICA_PORTS:-7002 7003}"
# config_copy TEMPLATE PORT: the instance's own copy of TEMPLATE (one it has is kept), following MASTER_PORT; with
# REQUIREPASS, the password clients must give it and the one it gives its master: every instance has both, since
# after a failover any of them may be a replica of another.
config_copy() {
    [ ! -f "$state/$2/mini-redis.conf" ] || return 0
    mkdir -p "$state/$2"
    { sed "s/^replicaof 127\.0\.0\.1 7001\$/replicaof 127.0.0.1 $master_port/" "$1"
      [ -z "${REQUIREPASS:-}" ] || printf 'requirepass %s\nmasterauth %s\n' "$REQUIREPASS" "$REQUIREPASS"
    } > "$state/$2/mini-redis.conf"
}
config_copy "$here/master.conf" "$master_port"
for port in "${replica_ports[@]}"; do
    config_copy "$here/replica.conf" "$port"
done
start_mini_redis "$state" "$here/master.conf" "$master_port"
start_mini_redis "$state" "$here/replica.conf" "${replica_ports[@]}"
wait_for_link_up "${replica_ports[@]}"
