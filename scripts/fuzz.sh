#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (its own workspace, outside the main build): ingest_body,
# timestamp, host_invocation, settings. `scripts/fuzz.sh [--seconds N | --runs N] [TARGET...]`
# (default: 5 seconds each, every target). cargo-fuzz is installed once into ~/.cargo/bin; builds go
# to ~/.cache/tributary/fuzz-target (their flags differ from the main build's, so they never evict
# it) and each target's corpus grows in ~/.cache/tributary/fuzz-corpus/TARGET, seeded from
# fuzz/seeds/TARGET. A crash fails the run and leaves the input in fuzz/artifacts/TARGET/; make it
# a regression test in the normal suite. The code forbids unsafe, so no sanitizer is built in.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
CARGO_FUZZ_VERSION=0.13.2
CACHE="$HOME/.cache/tributary"
limit=(-max_total_time=5)
case "${1:-}" in
  --seconds) limit=(-max_total_time="$2"); shift 2 ;;
  --runs) limit=(-runs="$2"); shift 2 ;;
esac
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ingest_body timestamp host_invocation settings)

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION (once)"
  (cd /tmp && cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked)
fi
for target in "${targets[@]}"; do
  # One feature set for every target, so one cached build serves them all.
  features=(--features app)
  corpus="$CACHE/fuzz-corpus/$target"
  mkdir -p "$corpus"
  echo "== fuzz $target (${limit[*]})"
  log=$(mktemp)
  rc=0
  cargo +nightly fuzz run --sanitizer none --target-dir "$CACHE/fuzz-target" "${features[@]}" \
    "$target" "$corpus" "seeds/$target" -- "${limit[@]}" -max_len=65536 -rss_limit_mb=1024 \
    -print_final_stats=1 >"$log" 2>&1 || rc=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz target $target failed; the input is in fuzz/artifacts/$target/" >&2
    exit 1
  fi
  rm -f "$log"
done
