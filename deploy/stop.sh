#!/usr/bin/env bash
# Stop what one of the deployments' start scripts started: bash deploy/stop.sh STATE
# (every mini-redis, redis-sentinel or nutcracker whose pid file is in STATE or a folder under it: SIGTERM to
# all, then wait 10 seconds at most).
set -euo pipefail
state="${1:?usage: bash deploy/stop.sh STATE (the folder given to the start script)}"
pids=()
for pidfile in "$state"/*.pid "$state"/*/*.pid; do
    [ -f "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    rm -f "$pidfile"
    # only if that pid is still one of ours (a pid file left by a crash may name another process by now)
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qE 'server\.py|redis-sentinel|nutcracker' && pids+=("$pid")
done
[ "${#pids[@]}" -gt 0 ] || exit 0
kill "${pids[@]}" 2>/dev/null || true
for _ in $(seq 100); do
    running=()
    for pid in "${pids[@]}"; do
        ! kill -0 "$pid" 2>/dev/null || running+=("$pid")
    done
    [ "${#running[@]}" -gt 0 ] || exit 0
    sleep 0.1
done
echo "still running after 10 seconds: ${running[*]}" >&2
exit 1
