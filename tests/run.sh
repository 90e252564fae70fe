#!/usr/bin/env bash
# Install what the tests need, then run them: bash tests/run.sh [pytest arguments]
# Needs Debian's redis-server and redis-tools (the oracle the tests compare against), redis-sentinel and
# nutcracker (twemproxy; in /usr/sbin, which a user's PATH may lack) for the deployments the tests run,
# and the Python packages of requirements-dev.txt in a virtualenv at .venv.
# The whole suite runs with the hiredis request parser, then the tests that exercise request parsing run again
# with the pure-Python one (both passes take the arguments given instead, if any); it fails if either pass fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null \
        || ! command -v redis-sentinel >/dev/null || ! [ -x /usr/sbin/nutcracker ]; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq redis-server redis-tools redis-sentinel nutcracker >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements-dev.txt
status=0
# What the parser touches: the protocol's own tests, the fuzzers, the wire-level server tests, the differential
# sequences and the real clients (redis-cli, redis-py, redis-benchmark).
PARSER_TESTS=(tests/test_protocol.py tests/test_fuzz.py tests/test_server.py tests/test_differential.py
              tests/test_differential_keyspace.py tests/test_real_clients.py)
[ "$#" -gt 0 ] && PARSER_TESTS=("$@")
MINI_REDIS_PARSER=hiredis .venv/bin/python -m pytest "$@" || status=$?
MINI_REDIS_PARSER=python .venv/bin/python -m pytest "${PARSER_TESTS[@]}" || status=$?
exit "$status"
