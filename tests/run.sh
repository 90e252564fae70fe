#!/usr/bin/env bash
# Install what the tests need, then run them: bash tests/run.sh [pytest arguments]
# Needs Debian's redis-server and redis-tools (the oracle the tests compare against),
# and the Python packages of requirements-dev.txt in a virtualenv at .venv.
# The suite runs twice, once with each request parser (hiredis, then pure Python); it fails if either pass fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq redis-server redis-tools >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q -r requirements-dev.txt
status=0
MINI_REDIS_PARSER=hiredis .venv/bin/python -m pytest "$@" || status=$?
MINI_REDIS_PARSER=python .venv/bin/python -m pytest "$@" || status=$?
exit "$status"
