#!/usr/bin/env bash
# Overload benchmark: CLIENTS clients (400) each POST gzip bodies of 10,000 unique readings to
# `tributary dev` (embedded storage, loopback) back to back for SECONDS (60), backing off as
# Retry-After says; IDLE connections (20) make one request and wait to be closed. Prints the server's
# peak RSS against BOUND_MIB (512), the 503/429s, and whether every acknowledged reading was counted
# (the example checks the query API), then exits non-zero if any of that fails. Bounded: the load runs
# SECONDS, the drain at most SETTLE seconds (600); the server is always stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
CLIENTS=${CLIENTS:-400} SECONDS_LOAD=${SECONDS_LOAD:-60} IDLE=${IDLE:-20} READINGS=${READINGS:-10000}
PORT=${PORT:-7420} BOUND_MIB=${BOUND_MIB:-512} SETTLE=${SETTLE:-600} IDLE_TIMEOUT_MS=${IDLE_TIMEOUT_MS:-5000}
cargo build --release --quiet --bin tributary --example overload_bench
bin=${CARGO_TARGET_DIR:-target}/release
data=$(mktemp -d)
log=$(mktemp)
TRIBUTARY_OVERLOAD__IDLE_TIMEOUT_MS=$IDLE_TIMEOUT_MS RUST_LOG=warn,tributary=info \
  "$bin/tributary" dev --port "$PORT" --data-dir "$data" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
grep -o 'serving at most [0-9]* connections.*' "$log" | head -1 || true
echo "files: $(awk '/Max open files/ {print "soft=" $4 " hard=" $5}' /proc/$pid/limits)"
# Sample the server's RSS and open files every second while the benchmark runs.
( peak_fd=0; while kill -0 "$pid" 2>/dev/null; do
    fd=$(ls /proc/$pid/fd 2>/dev/null | wc -l); (( fd > peak_fd )) && peak_fd=$fd
    echo "$peak_fd" >"$data.fd"; sleep 1; done ) &
sampler=$!
status=0
"$bin/examples/overload_bench" --target "http://127.0.0.1:$PORT" --clients "$CLIENTS" \
  --readings "$READINGS" --seconds "$SECONDS_LOAD" --idle "$IDLE" --settle-seconds "$SETTLE" \
  --idle-timeout-s "$(awk "BEGIN {print $IDLE_TIMEOUT_MS / 1000}")" || status=$?
rss_kib=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
metrics=$(curl -sf "http://127.0.0.1:$PORT/metrics" | grep -E '^tributary_ingest_refused_requests_total' | tr '\n' ' ' || true)
kill "$sampler" 2>/dev/null || true
peak_mib=$((rss_kib / 1024))
echo "server: peak_rss_mib=$peak_mib bound_mib=$BOUND_MIB peak_open_files=$(cat "$data.fd" 2>/dev/null || echo ?) $metrics"
rm -f "$data.fd"
if (( peak_mib >= BOUND_MIB )); then echo "FAIL: peak RSS $peak_mib MiB is not under $BOUND_MIB MiB"; status=1; fi
exit $status
