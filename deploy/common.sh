# Sourced by the deployments' start scripts: where the repository and its Python are, and how an instance starts.
# Every process listens on 127.0.0.1 only and keeps its pid file and log in the state folder it is given.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"
[ -x "$python" ] || python=python3

# wait_for_ping PORT: until something answers PING on 127.0.0.1:PORT (10 seconds at most)
wait_for_ping() {
    for _ in $(seq 100); do
        [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ] && return 0
        sleep 0.1
    done
    echo "nothing answers PING on 127.0.0.1:$1" >&2
    return 1
}

# start_mini_redis STATE CONFIG PORT...: a mini-redis daemon on each port, all at once, files in STATE/PORT, each
# reading the config file CONFIG first ("" for none); returns when every one answers PING
start_mini_redis() {
    local state="$1" config="$2" port pids=()
    shift 2
    for port in "$@"; do
        mkdir -p "$state/$port"
        ("$python" "$repo/server.py" $config --port "$port" --bind 127.0.0.1 --dir "$state/$port" \
            --daemonize yes --pidfile "$state/$port/mini-redis.pid" --logfile "$state/$port/mini-redis.log" \
            && wait_for_ping "$port") &
        pids+=($!)
    done
    for port in "${pids[@]}"; do
        wait "$port"
    done
}
