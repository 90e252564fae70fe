#!/usr/bin/env bash
# Replication: a mini-redis master on 127.0.0.1:7001 (master.conf) and two replicas of it on 7002 and
# 7003 (replica.conf), each with its own folder under STATE holding its copy of the config file, its
# snapshot, pid file and log.
#   bash deploy/replication/start.sh [STATE]          STATE: /tmp/mini-redis-replication
#   redis-cli -p 7001 SET greeting hello; redis-cli -p 7002 GET greeting
#   redis-cli -p 7002 INFO replication                 role:slave, master_link_status:up
#   bash deploy/stop.sh /tmp/mini-redis-replication
# Running it again starts what is down and leaves the rest alone.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
state="$(mkdir -p "${1:-/tmp/mini-redis-replication}" && cd "${1:-/tmp/mini-redis-replication}" && pwd)"
start_mini_redis "$state" "$here/master.conf" 7001
start_mini_redis "$state" "$here/replica.conf" 7002 7003
wait_for_link_up 7002 7003
