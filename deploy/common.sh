# Sourced by the deployments' start scripts: where the repository and its Python are, and how instances start.
# Every process listens on 127.0.0.1 only and keeps its files in the state folder it is given.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$python" ] || python=python3
# With REQUIREPASS (deploy/replication's password), redis-cli gives it to every server it asks here.
[ -z "${REQUIREPASS:-}" ] || export REDISCLI_AUTH="$REQUIREPASS"

# answers PORT: whether something answers PING on 127.0.0.1:PORT now
answers() {
    [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ]
}

# wait_for_ping PORT: until something answers PING on 127.0.0.1:PORT (10 seconds at most)
wait_for_ping() {
    for _ in $(seq 100); do
        answers "$1" && return 0
        sleep 0.1
    done
    echo "nothing answers PING on 127.0.0.1:$1" >&2
    return 1
}

# wait_for_link_up PORT...: until each of these replicas reports master_link_status:up, or is a master now
# (promoted by Sentinel), 20 seconds at most
wait_for_link_up() {
    local port
    for port in "$@"; do
        for _ in $(seq 200); do
            redis-cli -p "$port" INFO replication 2>/dev/null | grep -qE '^(master_link_status:up|role:master)' \
                && continue 2
            sleep 0.1
        done
        echo "the replica on 127.0.0.1:$port has no link to its master" >&2
        return 1
    done
}

# start_mini_redis STATE CONFIG PORT...: a mini-redis daemon on each port where none answers yet, all at once,
# each in STATE/PORT with its own copy of the config file CONFIG ("" for none; an existing copy is kept, with
# what CONFIG REWRITE or Sentinel saved in it), its pid file and log; returns when every one answers PING
start_mini_redis() {
    local state="$1" config="$2" port pid pids=() copy
    shift 2
    for port in "$@"; do
        answers "$port" && continue
        mkdir -p "$state/$port"
        copy=()
        if [ -n "$config" ]; then
            [ -f "$state/$port/mini-redis.conf" ] || cp "$config" "$state/$port/mini-redis.conf"
            copy=("$state/$port/mini-redis.conf")
        fi
        ("$python" "$repo/server.py" "${copy[@]}" --port "$port" --bind 127.0.0.1 --dir "$state/$port" \
            --daemonize yes --pidfile "$state/$port/mini-redis.pid" --logfile "$state/$port/mini-redis.log" \
            && wait_for_ping "$port") &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid"
    done
}
