#!/usr/bin/env bash
# Ingest benchmark with Cosmos DB as the reading store: readings/s for batches of 100 unique readings
# against `tributary run --stages ingest` on the project's Cosmos DB test server
# (tests/support/cosmos-server, started here on its own port with 4 partition key ranges and key
# checks on), RUNS runs of SECONDS each, each on a new database. Prints one line per run with the
# ingest process's and the test server's CPU per reading, then min / median / max.
# The test server is single-threaded Node.js keeping documents in memory: this measures Tributary's
# ingest path and the Rust SDK, bounded by that server, not Azure Cosmos DB's latency or RU limits.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5} SECONDS_PER_RUN=${SECONDS_PER_RUN:-10} CONCURRENCY=${CONCURRENCY:-8}
PORT=${PORT:-7401} COSMOS_PORT=${COSMOS_PORT:-8091}
KEY="C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
cargo build --release --quiet --bin tributary --example ingest_bench
[ -d tests/support/cosmos-server/node_modules ] || npm ci --prefix tests/support/cosmos-server --silent
export COSMOS_DISABLE_IMDS=1 RUST_LOG=warn
export TRIBUTARY_BACKENDS__READING_STORE=cosmos TRIBUTARY_COSMOS__ENDPOINT="http://127.0.0.1:$COSMOS_PORT/"
export TRIBUTARY_COSMOS__KEY="$KEY" TRIBUTARY_COSMOS__CREATE_IF_ABSENT=true
export TRIBUTARY_COSMOS__HTTP2=false TRIBUTARY_COSMOS__BINARY_ENCODING=false
results=()
for run in $(seq 1 "$RUNS"); do
  node tests/support/cosmos-server/server.js --port "$COSMOS_PORT" --key "$KEY" --ranges 4 >/dev/null 2>&1 &
  cosmos=$!
  for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$COSMOS_PORT") 2>/dev/null && break; sleep 0.1; done
  TRIBUTARY_COSMOS__DATABASE="bench$run" target/release/tributary run --stages ingest --port "$PORT" >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  cpu0=$(awk '{print $14+$15}' /proc/$pid/stat); ccpu0=$(awk '{print $14+$15}' /proc/$cosmos/stat)
  line=$(target/release/examples/ingest_bench --target "http://127.0.0.1:$PORT" --batch 100 \
    --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_RUN")
  cpu1=$(awk '{print $14+$15}' /proc/$pid/stat); ccpu1=$(awk '{print $14+$15}' /proc/$cosmos/stat)
  rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
  kill "$pid" "$cosmos"; wait "$pid" "$cosmos" 2>/dev/null || true
  rate=$(sed -E 's/.*readings_per_s=([0-9]+).*/\1/' <<<"$line")
  accepted=$(sed -E 's/.*accepted=([0-9]+).*/\1/' <<<"$line")
  per() { local us=$(( $1 * 10000 * 1000 / (accepted > 0 ? accepted : 1) )); printf '%d.%03d' $((us / 1000)) $((us % 1000)); }
  echo "run $run: $line ingest_cpu_us_per_reading=$(per $((cpu1 - cpu0))) cosmos_server_cpu_us_per_reading=$(per $((ccpu1 - ccpu0))) peak_rss_kib=$rss"
  results+=("$rate")
done
sorted=($(printf '%s\n' "${results[@]}" | sort -n))
echo "ingest on Cosmos DB (test server) readings/s (batch 100, concurrency $CONCURRENCY): min ${sorted[0]} median ${sorted[$((RUNS / 2))]} max ${sorted[$((RUNS - 1))]}"
