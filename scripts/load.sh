#!/usr/bin/env bash
# Load test of `textrnn serve` on loopback with wrk (Debian package `wrk`).
#
#   scripts/load.sh MODEL_DIR [SECONDS_PER_LEVEL]
#   BIN=path serves with that binary instead of building target/release/textrnn.
#
# Starts the server on a free loopback port, sends POST /v1/classify requests
# (4 texts each, scripts/load.lua) at concurrency 1, 16 and 64 for a bounded
# time each, prints requests/s and p50/p99 latency, checks that no request
# failed, and stops the server with SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: scripts/load.sh MODEL_DIR [SECONDS_PER_LEVEL]}
secs=${2:-10}
command -v wrk >/dev/null || { echo "wrk not found: apt-get install wrk" >&2; exit 2; }
if [ -n "${BIN:-}" ]; then bin=$BIN; else cargo build --release -q; bin=./target/release/textrnn; fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin serve --model "$model" --addr "127.0.0.1:$port" 2>/tmp/textrnn-load-serve.log &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
  sleep 0.1
done
echo "| concurrency | requests/s | texts/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
fail=0
for c in 1 16 64; do
  t=$(( c < 2 ? 1 : 2 ))
  line=$(wrk -t$t -c$c -d${secs}s --timeout 10s -s scripts/load.lua "http://127.0.0.1:$port/v1/classify" | grep '^LOAD')
  eval "$(echo "$line" | sed 's/^LOAD //')"
  errors=$((socket_errors + non200))
  [ "$errors" -eq 0 ] || fail=1
  echo "| $c | $rps | $(python3 -c "print(round($rps*4))") | $p50_ms | $p99_ms | $errors |"
done
curl -s "http://127.0.0.1:$port/v1/model" | python3 -c '
import json, sys
s = json.load(sys.stdin)["stats"]
print("server: %d requests in %d batches (%.1f requests per batch)" % (s["requests"], s["batches"], s["requests"] / max(s["batches"], 1)))'
exit $fail
