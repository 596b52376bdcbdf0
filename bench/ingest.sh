#!/usr/bin/env bash
# Ingest benchmark: readings/s for batches of 100 unique readings against `tributary dev` (all stages
# in-process, embedded storage), RUNS runs of SECONDS each on a fresh data directory per run, plus the
# server's CPU time and peak RSS. Loopback only. Prints one line per run, then min / median / max.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5} SECONDS_PER_RUN=${SECONDS_PER_RUN:-10} CONCURRENCY=${CONCURRENCY:-8} PORT=${PORT:-7400}
cargo build --release --quiet --bin tributary --example ingest_bench
results=()
for run in $(seq 1 "$RUNS"); do
  data=$(mktemp -d)
  RUST_LOG=warn target/release/tributary dev --port "$PORT" --data-dir "$data" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  cpu0=$(awk '{print $14+$15}' /proc/$pid/stat)
  line=$(target/release/examples/ingest_bench --target "http://127.0.0.1:$PORT" --batch 100 \
    --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN")
  cpu1=$(awk '{print $14+$15}' /proc/$pid/stat)
  rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  kill "$pid"; wait "$pid" || true; rm -rf "$data"
  rate=$(sed -E 's/.*readings_per_s=([0-9]+).*/\1/' <<<"$line")
  accepted=$(sed -E 's/.*accepted=([0-9]+).*/\1/' <<<"$line")
  us=$(( (cpu1 - cpu0) * 10000 * 1000 / (accepted > 0 ? accepted : 1) ))
  echo "run $run: $line server_cpu_us_per_reading=$(printf '%d.%03d' $((us / 1000)) $((us % 1000))) peak_rss_kib=$rss"
  results+=("$rate")
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
echo "ingest readings/s (batch 100, concurrency $CONCURRENCY): min ${sorted[0]} median ${sorted[$((RUNS / 2))]} max ${sorted[$((RUNS - 1))]}"
