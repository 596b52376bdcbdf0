#!/usr/bin/env bash
# The detector's figures for BENCHMARKS.md: `tributary detect` throughput on one long series (one
# core: detect is single-threaded), and the scores on the seeded labelled corpus.
# Knobs: ROWS (2000000), SEED (2026), SERIES (240), OUT (target/bench/detect).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-2000000} SEED=${SEED:-2026} SERIES=${SERIES:-240}
OUT=${OUT:-target/bench/detect}
target=${CARGO_TARGET_DIR:-target}
cargo build --release --locked --quiet
bin="$target/release/tributary"
mkdir -p "$OUT"
# One metric, 10-second readings (a day every 8,640 rows): a daily cycle, noise and a spike per day.
python3 - "$ROWS" > "$OUT/long.csv" <<'PY'
import math, random, sys
n = int(sys.argv[1]); random.seed(7); t0 = 1_793_577_600_000
w = sys.stdout.write
w("timestamp,value\n")
for i in range(n):
    t = t0 + i * 10_000
    v = 50 + 10 * math.sin(2 * math.pi * (i % 8640) / 8640) + random.gauss(0, 1)
    if i % 8640 == 5000: v += 15
    w(f"{t},{v:.4f}\n")
PY
start=$(date +%s.%N)
"$bin" detect --input "$OUT/long.csv" --output "$OUT/long.scored.csv"
end=$(date +%s.%N)
rows=$(($(wc -l < "$OUT/long.csv") - 1))
python3 -c "import sys; r,s,e=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'detect: {r} rows in {e-s:.2f} s = {r/(e-s)/1e6:.2f} M rows/s (one core)')" "$rows" "$start" "$end"
rm -rf "$OUT/corpus"
"$bin" corpus --out "$OUT/corpus" --seed "$SEED" --series "$SERIES"
start=$(date +%s.%N)
"$bin" detect --input "$OUT/corpus" --labels | tee "$OUT/corpus-report.txt"
end=$(date +%s.%N)
python3 -c "import sys; print(f'corpus replayed in {float(sys.argv[2])-float(sys.argv[1]):.2f} s')" "$start" "$end"
