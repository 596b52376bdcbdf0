#!/usr/bin/env bash
# Row 3 of BENCHMARKS.md: the process stage on Kafka against a raw rdkafka consumer (the ceiling) and
# against Quix Streams (the peer), on the same topic and broker. Each run fills a fresh topic (PARTITIONS
# partitions) with the same READINGS scored readings, published as analyze publishes them
# (examples/kafka_fill.rs), then each consumer reads it to the end in its own fresh consumer group:
#   ceiling    examples/kafka_ceiling.rs: a raw rdkafka StreamConsumer that touches each payload, no more
#   tributary  one `tributary run --stages process` worker on Kafka + PostgreSQL (a fresh database,
#              migrated by `tributary migrate`), cache in memory, configured through the environment;
#              done when its consumer_positions rows sum to READINGS; its windows are then checked
#   quix       bench/quix/aggregate.py: Quix Streams, one-minute tumbling windows on event time per
#              device and metric (count, sum, min, max); its emitted windows are checked
# readings/s is over the span from the first progress to the end (startup is printed apart); per core is
# the readings in that span per CPU second the consuming process used in it (user + system, /proc).
# Prints every run, then writes the table rows to $OUT/kafka-rows.md (bench/run.sh puts them in row 3).
#   bench/kafka.sh               # ~4 minutes with the defaults (RUNS=3)
#   PROFILE=1 bench/kafka.sh     # plus a perf profile of one more worker: $OUT/profile-kafka-process.txt
# Quix Streams runs exactly-once if the broker allows Kafka transactions, else (nisshi) at-least-once:
# the first run tries QUIX_GUARANTEE and falls back, printing the error.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3} READINGS=${READINGS:-200000} DEVICES=${DEVICES:-1000} PARTITIONS=${PARTITIONS:-6}
KAFKA=${KAFKA:-127.0.0.1:9092} PG=${PG:-postgres://postgres@127.0.0.1:5432} PROFILE=${PROFILE:-0}
QUIX_GUARANTEE=${QUIX_GUARANTEE:-exactly-once} VENV=${VENV:-$HOME/.cache/tributary/bench-venv}
OUT=${OUT:-target/bench}
mkdir -p "$OUT"
rows="$OUT/kafka-rows.md"
label="3. process stage on Kafka vs raw rdkafka consumer (ceiling) and Quix Streams (peer)"

host=${KAFKA%%,*}
if ! (exec 3<>"/dev/tcp/${host%:*}/${host##*:}") 2>/dev/null; then
  echo "== 3. not run: no Kafka broker at $KAFKA"
  echo "| $label | not run: no Kafka broker at $KAFKA | | |" >"$rows"
  exit 0
fi

# Quix Streams in its own venv, at the pinned versions.
pinned=$(sed -n 's/^quixstreams==//p' bench/quix/requirements.txt)
if [[ $("$VENV/bin/python" -c 'import quixstreams; print(quixstreams.__version__)' 2>/dev/null) != "$pinned" ]]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet -r bench/quix/requirements.txt
fi
py() { PYTHONWARNINGS=ignore "$VENV/bin/python" "$@"; }

cargo build --release --quiet --bin tributary --example kafka_fill --example kafka_ceiling
bin=target/release/tributary
work=$(mktemp -d)
wpid= db=
drop_db() {
  if [[ -n $db ]]; then psql "$PG/postgres" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null; db=; fi
}
stop_worker() {
  if [[ -n $wpid ]] && kill -0 "$wpid" 2>/dev/null; then kill "$wpid"; wait "$wpid" 2>/dev/null || true; fi
  wpid=
}
cleanup() { stop_worker; drop_db; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
field() { grep -oE "(^| )$1=[-0-9.e+]+" <<<"$2" | head -1 | cut -d= -f2; }
same() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'; }
# "min median" of the arguments (numeric).
minmed() { local s; s=($(printf '%s\n' "$@" | sort -g)); echo "${s[0]} ${s[$((${#s[@]} / 2))]}"; }
# CPU seconds (user + system) of one process, and of every process with a given name.
cpu_of() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
cpu_named() {
  local p
  for p in $(pgrep -x "$1"); do cat "/proc/$p/stat" 2>/dev/null || true; done \
    | awk '{s += $14 + $15} END {printf "%.2f", s / 100}'
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "== machine: $(nproc) cores, load $(load); broker $(pgrep -x nisshi >/dev/null && echo "nisshi $(nisshi --version 2>/dev/null | awk '{print $2}')" || echo "at $KAFKA");" \
  "PostgreSQL $(psql "$PG/postgres" -qAtc 'SHOW server_version' | cut -d' ' -f1); Quix Streams $pinned; commit $(git rev-parse --short HEAD)"
echo "== 3. $READINGS readings, $DEVICES devices, 2 metrics, $PARTITIONS partitions, RUNS=$RUNS"

# Starts a process worker on $topic in a fresh migrated database; sets wpid, db, group.
start_worker() {
  group="$topic-$1"
  db="bench_kafka_$(date +%s%N)"
  psql "$PG/postgres" -qAtc "CREATE DATABASE $db" >/dev/null
  export TRIBUTARY_BACKENDS__EVENT_LOG=kafka TRIBUTARY_BACKENDS__RESULT_STORE=postgres
  export TRIBUTARY_BACKENDS__CACHE=memory TRIBUTARY_KAFKA__BROKERS="$KAFKA" TRIBUTARY_KAFKA__TOPIC="$topic"
  export TRIBUTARY_KAFKA__DEAD_LETTER_TOPIC="$topic.dead-letter" TRIBUTARY_KAFKA__CONSUMER_GROUP="$group"
  export TRIBUTARY_POSTGRES__URL="$PG/$db"
  RUST_LOG=warn "$bin" migrate >>"$work/worker.log" 2>&1
  t_start=$(now)
  RUST_LOG=warn "$bin" run --stages process --port 0 >>"$work/worker.log" 2>&1 &
  wpid=$!
}
applied() {
  psql "$PG/$db" -qAtc "SELECT coalesce(sum(next_offset), 0) FROM consumer_positions WHERE consumer = '$group/$topic'"
}
# Polls until the positions sum to READINGS; sets first_s, s_first, span_s, and CPU seconds over the span
# of the worker (w_cpu), PostgreSQL (pg_cpu) and the broker (b_cpu).
wait_applied() {
  local s t deadline w0 p0 b0
  first= deadline=$(calc %.0f "$(now) + 600")
  while :; do
    s=$(applied); t=$(now)
    if [[ -z $first && $s -gt 0 ]]; then
      first=$t s_first=$s w0=$(cpu_of "$wpid") p0=$(cpu_named postgres) b0=$(cpu_named nisshi)
    fi
    if [[ $s -ge $READINGS ]]; then
      w_cpu=$(calc %.2f "$(cpu_of "$wpid") - $w0"); pg_cpu=$(calc %.2f "$(cpu_named postgres) - $p0")
      b_cpu=$(calc %.2f "$(cpu_named nisshi) - $b0")
      first_s=$(calc %.2f "$first - $t_start"); span_s=$(calc %.3f "$t - $first")
      return 0
    fi
    if ! kill -0 "$wpid" 2>/dev/null || [[ ${t%.*} -gt $deadline ]]; then
      echo "the worker stopped or stalled at $s of $READINGS; its log:" >&2; tail -20 "$work/worker.log" >&2
      exit 1
    fi
    sleep 0.05
  done
}

# Quix Streams reads $topic to its end in a fresh group and state directory; prints its line.
quix() {
  local state; state=$(mktemp -d -p "$work")
  timeout 600 "$VENV/bin/python" -W ignore bench/quix/aggregate.py --broker "$KAFKA" --topic "$topic" \
    --group "$topic-quix-$guarantee" --state-dir "$state" --guarantee "$guarantee" 2>"$work/quix.err"
}

declare -a c_rate c_core t_rate t_core t_core_pg t_pg_us q_rate q_core
guarantee=$QUIX_GUARANTEE
quix_failure=
for run in $(seq 1 "$RUNS"); do
  topic="bench_kafka_$(date +%s%N)"
  fill=$(target/release/examples/kafka_fill --brokers "$KAFKA" --topic "$topic" --readings "$READINGS" \
    --devices "$DEVICES" --partitions "$PARTITIONS")
  echo "run $run fill: $fill load=$(load)"

  # (a) the ceiling
  b0=$(cpu_named nisshi)
  line=$(target/release/examples/kafka_ceiling --brokers "$KAFKA" --topic "$topic" --group "$topic-ceiling")
  b1=$(cpu_named nisshi)
  [[ $(field messages "$line") == "$READINGS" ]] || { echo "ceiling read $(field messages "$line") of $READINGS" >&2; exit 1; }
  rate=$(field messages_per_s "$line"); core=$(calc %.0f "$READINGS / $(field span_cpu_s "$line")")
  echo "run $run ceiling: $line per_core=$core broker_cpu_s=$(calc %.2f "$b1 - $b0") load=$(load)"
  c_rate+=("$rate"); c_core+=("$core")

  # (b) Tributary's process stage
  start_worker tributary
  wait_applied
  n=$((READINGS - s_first))
  IFS='|' read -r windows values value_sum <<<"$(psql "$PG/$db" -qAtc 'SELECT count(*), sum(count), sum(sum) FROM windows')"
  verdict=ok
  same "$windows" "$(field windows "$fill")" && same "$values" "$(field values "$fill")" \
    && same "$value_sum" "$(field value_sum "$fill")" || verdict=WRONG
  rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$wpid/status")
  stop_worker; drop_db
  rate=$(calc %.0f "$n / $span_s"); core=$(calc %.0f "$n / $w_cpu")
  core_pg=$(calc %.0f "$n / ($w_cpu + $pg_cpu)"); pg_us=$(calc %.1f "$pg_cpu * 1000000 / $n")
  echo "run $run tributary: first_s=$first_s applied_at_first=$s_first consume_s=$span_s readings_per_s=$rate" \
    "span_cpu_s=$w_cpu per_core=$core postgres_cpu_s=$pg_cpu postgres_us_per_reading=$pg_us" \
    "per_core_with_postgres=$core_pg broker_cpu_s=$b_cpu peak_rss_mib=$rss windows=$windows" \
    "values=$values value_sum=$value_sum verify=$verdict load=$(load)"
  [[ $verdict == ok ]] || { echo "Tributary's windows do not match the data" >&2; exit 1; }
  t_rate+=("$rate"); t_core+=("$core"); t_core_pg+=("$core_pg"); t_pg_us+=("$pg_us")

  # (c) Quix Streams
  b0=$(cpu_named nisshi)
  if ! line=$(quix); then
    if [[ $guarantee == at-least-once ]]; then cat "$work/quix.err" >&2; exit 1; fi
    quix_failure=$(grep -E 'Error|Exception' "$work/quix.err" | tail -1)
    echo "run $run quix $guarantee failed: $quix_failure"
    guarantee=at-least-once
    b0=$(cpu_named nisshi)
    line=$(quix) || { cat "$work/quix.err" >&2; exit 1; }
  fi
  b1=$(cpu_named nisshi)
  verdict=ok
  same "$(field emitted_windows "$line")" "$(field closed_windows "$fill")" \
    && same "$(field emitted_values "$line")" "$(field closed_values "$fill")" \
    && same "$(field emitted_value_sum "$line")" "$(field closed_value_sum "$fill")" || verdict=WRONG
  rate=$(field messages_per_s "$line"); core=$(calc %.0f "$READINGS / $(field span_cpu_s "$line")")
  echo "run $run quix: $line per_core=$core broker_cpu_s=$(calc %.2f "$b1 - $b0") verify=$verdict load=$(load)"
  [[ $verdict == ok ]] || { echo "Quix Streams' windows do not match the data" >&2; exit 1; }
  q_rate+=("$rate"); q_core+=("$core")

  if [[ $PROFILE == 1 && $run == "$RUNS" ]]; then
    # One more worker on the same topic, profiled for 5 s once it has started applying (not timed).
    start_worker profile
    until [[ $(applied) -gt 0 ]]; do sleep 0.05; done
    perf record -g -p "$wpid" -o "$work/perf.data" -- sleep 5 >/dev/null 2>&1 || true
    wait_applied
    stop_worker; drop_db
    { echo "# perf record -g -p PID -- sleep 5 on one process worker, commit $(git rev-parse --short HEAD), load $(load)"
      echo "# by thread and library"
      perf report -i "$work/perf.data" --no-children --sort comm,dso --stdio -g none 2>/dev/null \
        | grep -vE '^(#|$)' | sed -E 's/ +$//' | head -15
      echo "# by library and symbol"
      perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null \
        | grep -vE '^(#|$)' | sed -E 's/[ -]+$//' | cut -c1-180 | head -40
    } >"$OUT/profile-kafka-process.txt" || true
    echo "profile: $OUT/profile-kafka-process.txt"
  fi
  py bench/quix/delete_topics.py --broker "$KAFKA" "$topic"
done

read -r cr_min cr_med <<<"$(minmed "${c_rate[@]}")"; read -r cc_min cc_med <<<"$(minmed "${c_core[@]}")"
read -r tr_min tr_med <<<"$(minmed "${t_rate[@]}")"; read -r tc_min tc_med <<<"$(minmed "${t_core[@]}")"
read -r tp_min tp_med <<<"$(minmed "${t_core_pg[@]}")"; read -r pu_min pu_med <<<"$(minmed "${t_pg_us[@]}")"
read -r qr_min qr_med <<<"$(minmed "${q_rate[@]}")"; read -r qc_min qc_med <<<"$(minmed "${q_core[@]}")"
quix="Quix Streams $pinned ($guarantee)"
{
  echo "| 3. process stage on Kafka + PostgreSQL, readings/s, one worker ($READINGS readings, $PARTITIONS partitions) | $tr_min / $tr_med | ceiling (raw rdkafka consumer): $cr_min / $cr_med | $(calc %.2f "$tr_med / $cr_med") of the ceiling |"
  echo "| 3. the same, against $quix doing the same 1-minute aggregation | $tr_min / $tr_med | peer: $qr_min / $qr_med | $(calc %.1f "$tr_med / $qr_med") × the peer |"
  echo "| 3. per core: readings per CPU-second of the consuming process | $tc_min / $tc_med | ceiling: $cc_min / $cc_med | $(calc %.2f "$tc_med / $cc_med") of the ceiling |"
  echo "| 3. per core, against the peer | $tc_min / $tc_med | peer: $qc_min / $qc_med | $(calc %.1f "$tc_med / $qc_med") × the peer |"
  echo "| 3. per core counting PostgreSQL's CPU too (PostgreSQL µs per reading: $pu_min / $pu_med) | $tp_min / $tp_med | peer: $qc_min / $qc_med | $(calc %.1f "$tp_med / $qc_med") × the peer |"
} >"$rows"
[[ -z $quix_failure ]] || echo "quix $QUIX_GUARANTEE could not run here: $quix_failure"
echo "== row 3 ($RUNS runs each; written to $rows; load $(load))"
cat "$rows"
