#!/usr/bin/env bash
# Tributary's benchmarks, side by side in one run on this machine (BENCHMARKS.md explains each figure):
#   1. ingest readings/s, batches of 100: `tributary dev` against the no-op ceiling (examples/ceiling.rs)
#   2. end-to-end readings/s in dev mode (a full-speed burst, until process has applied every reading),
#      then freshness p50/p99 from `tributary simulate` at half that rate, checked by `tributary verify`
#   3. the process stage on Kafka + PostgreSQL against a raw rdkafka consumer (ceiling) and Quix Streams
#      (peer) on the same topic: readings/s and per core (bench/kafka.sh; needs Kafka at KAFKA, default
#      127.0.0.1:9092, and PostgreSQL at PG; the row says "not run" without a broker)
#   4. peak RSS (VmHWM) of the tributary process
# RUNS runs of each (odd, for a true median); prints each run, then a markdown table of min / median.
#   bench/run.sh                      # about 11 minutes with the defaults
#   RUNS=5 PROFILE=1 bench/run.sh     # PROFILE=1 also records perf profiles of one end-to-end run and
#                                     # of one Kafka process worker
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3} INGEST_SECONDS=${INGEST_SECONDS:-10} E2E_SECONDS=${E2E_SECONDS:-20}
FRESH_SECONDS=${FRESH_SECONDS:-30} CONCURRENCY=${CONCURRENCY:-8} PORT=${PORT:-7410} PROFILE=${PROFILE:-0}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"
cargo build --release --quiet --bin tributary --example ingest_bench --example ceiling
bin=target/release/tributary
work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

url="http://127.0.0.1:$PORT"
wait_healthy() {
  for _ in $(seq 1 100); do curl -sf "$url/healthz" >/dev/null && return 0; sleep 0.1; done
  echo "the server on $url did not start" >&2; exit 1
}
start_dev() {
  local data; data=$(mktemp -d -p "$work")
  RUST_LOG=warn "$bin" dev --port "$PORT" --data-dir "$data" >>"$work/dev.log" 2>&1 &
  pid=$!; wait_healthy
}
start_ceiling() { target/release/examples/ceiling --port "$PORT" >/dev/null 2>&1 & pid=$!; wait_healthy; }
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }           # user + system, in 1/100 s
hwm_mib() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
field() { grep -oE "(^| )$1=[0-9.]+" <<<"$2" | head -1 | cut -d= -f2; }
metric() { curl -s "$url/metrics" | awk -v k="$1" 'index($0, k) == 1 {print $NF}'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
# "min median" of the arguments (numeric).
minmed() { local s; s=($(printf '%s\n' "$@" | sort -g)); echo "${s[0]} ${s[$((${#s[@]} / 2))]}"; }
bench_ingest() {
  target/release/examples/ingest_bench --target "$url" --batch 100 --concurrency "$CONCURRENCY" --seconds "$1"
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo); load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "commit $(git rev-parse --short HEAD)"

echo "== 1. ingest, batches of 100, concurrency $CONCURRENCY, $INGEST_SECONDS s per run"
declare -a c_rate c_cpu c_rss d_rate d_cpu d_rss
for run in $(seq 1 "$RUNS"); do
  for face in ceiling dev; do
    "start_$face"
    c0=$(cpu_ticks); line=$(bench_ingest "$INGEST_SECONDS"); c1=$(cpu_ticks); rss=$(hwm_mib); stop
    rate=$(field readings_per_s "$line"); n=$(field accepted "$line")
    cpu=$(calc "%.2f" "($c1 - $c0) * 10000 / ($n > 0 ? $n : 1)")
    echo "run $run $face: $line server_cpu_us_per_reading=$cpu peak_rss_mib=$rss"
    if [[ $face == ceiling ]]; then c_rate+=("$rate"); c_cpu+=("$cpu"); c_rss+=("$rss")
    else d_rate+=("$rate"); d_cpu+=("$cpu"); d_rss+=("$rss"); fi
  done
done

echo "== 2a. end to end: a $E2E_SECONDS s full-speed burst into tributary dev, until process applied all"
declare -a e_rate e_drain e_rss
for run in $(seq 1 "$RUNS"); do
  start_dev
  if [[ $PROFILE == 1 && $run == 1 ]]; then
    perf record -F 499 -g -p "$pid" -o "$work/perf.data" -- sleep "$E2E_SECONDS" >/dev/null 2>&1 &
    perf_pid=$!
  fi
  t0=$(now); line=$(bench_ingest "$E2E_SECONDS"); t_ingest=$(now)
  accepted=$(metric 'tributary_ingest_readings_total{outcome="accepted"}')
  applied_then=$(metric 'tributary_stage_readings_total{stage="process",outcome="applied"}')
  for _ in $(seq 1 6000); do
    applied=$(metric 'tributary_stage_readings_total{stage="process",outcome="applied"}')
    [[ ${applied:-0} -ge $accepted ]] && break
    sleep 0.05
  done
  t1=$(now); rss=$(hwm_mib)
  if [[ -n ${perf_pid:-} ]]; then
    wait "$perf_pid" || true; perf_pid=
    { echo "# by thread and library"
      perf report -i "$work/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null \
        | grep -vE '^(#|$)' | head -15
      echo "# by symbol"
      perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
        | grep -vE '^(#|$)' | head -40
    } >"$OUT/profile-e2e.txt" || true
    echo "profile of run 1: $OUT/profile-e2e.txt"
  fi
  stop
  rate=$(calc "%.0f" "$accepted / ($t1 - $t0)"); drain=$(calc "%.1f" "$t1 - $t_ingest")
  echo "run $run: accepted=$accepted ingest_readings_per_s=$(field readings_per_s "$line")" \
    "applied_when_ingest_ended=${applied_then:-0} drain_s=$drain end_to_end_readings_per_s=$rate peak_rss_mib=$rss"
  e_rate+=("$rate"); e_drain+=("$drain"); e_rss+=("$rss")
done
read -r e_min e_med <<<"$(minmed "${e_rate[@]}")"
half=$((e_med / 2))

echo "== 2b. freshness: tributary simulate at $half readings/s (half the median), 200 devices, $FRESH_SECONDS s"
declare -a f_p50 f_p99 f_rate f_rss
verdicts=
for run in $(seq 1 "$RUNS"); do
  start_dev
  truth="$work/truth-$run.ndjson"
  sim=$(RUST_LOG=warn "$bin" simulate --target "$url" --devices 200 --rate "$half" --duration "${FRESH_SECONDS}s" \
    --seed "$run" --duplicates 0.01 --invalid 0.001 --late 0.01 --anomalies 0.001 --truth "$truth" --no-progress)
  fresh=$(grep -m1 'freshness_ms' <<<"$sim")
  verdict=$(RUST_LOG=warn "$bin" verify --target "$url" --truth "$truth" --timeout 120s 2>/dev/null | tail -1 || true)
  rss=$(hwm_mib); stop
  echo "run $run: $(grep -m1 achieved_rate <<<"$sim" | xargs) $(xargs <<<"$fresh") verify=$verdict peak_rss_mib=$rss"
  f_p50+=("$(field p50 "$fresh")"); f_p99+=("$(field p99 "$fresh")")
  f_rate+=("$(field readings_per_s "$sim")"); f_rss+=("$rss"); verdicts+="$verdict "
done

echo "== 3. process stage on Kafka (bench/kafka.sh)"
RUNS=$RUNS PROFILE=$PROFILE OUT=$OUT bench/kafka.sh

read -r cr_min cr_med <<<"$(minmed "${c_rate[@]}")"; read -r dr_min dr_med <<<"$(minmed "${d_rate[@]}")"
read -r cc_min cc_med <<<"$(minmed "${c_cpu[@]}")"; read -r dc_min dc_med <<<"$(minmed "${d_cpu[@]}")"
read -r cm_min cm_med <<<"$(minmed "${c_rss[@]}")"; read -r ed_min ed_med <<<"$(minmed "${e_drain[@]}")"
all_rss=("${d_rss[@]}" "${e_rss[@]}" "${f_rss[@]}"); read -r rs_min rs_med <<<"$(minmed "${all_rss[@]}")"
read -r rs_max _ <<<"$(printf '%s\n' "${all_rss[@]}" | sort -gr | head -1)"
read -r p50_min p50_med <<<"$(minmed "${f_p50[@]}")"; read -r p99_min p99_med <<<"$(minmed "${f_p99[@]}")"
read -r fr_min fr_med <<<"$(minmed "${f_rate[@]}")"
table() {
  echo "| figure | Tributary (min / median) | reference (min / median) | ratio of medians |"
  echo "| --- | ---: | ---: | ---: |"
  echo "| 1. ingest readings/s, batches of 100 (dev) | $dr_min / $dr_med | ceiling: $cr_min / $cr_med | $(calc %.2f "$dr_med / $cr_med") of the ceiling |"
  echo "| 1. server CPU µs per reading, ingest | $dc_min / $dc_med | ceiling: $cc_min / $cc_med | $(calc %.1f "$dc_med / $cc_med") × the ceiling |"
  echo "| 2. end-to-end readings/s, dev (${E2E_SECONDS} s burst until all processed) | $e_min / $e_med | ingest (row 1): $dr_min / $dr_med | $(calc %.2f "$e_med / $dr_med") of ingest |"
  echo "| 2. drain after the burst, s | $ed_min / $ed_med | | |"
  echo "| 2. freshness p50 ms, simulate at $half readings/s (achieved $fr_min / $fr_med) | $p50_min / $p50_med | | |"
  echo "| 2. freshness p99 ms, same runs (verify: ${verdicts% }) | $p99_min / $p99_med | | |"
  cat "$OUT/kafka-rows.md"
  echo "| 4. peak RSS MiB of tributary dev, all runs above (max $rs_max) | $rs_min / $rs_med | ceiling: $cm_min / $cm_med | $(calc %.1f "$rs_med / $cm_med") × the ceiling |"
}
echo "== table ($RUNS runs each; written to $OUT/table.md)"
table | tee "$OUT/table.md"
