#!/usr/bin/env bash
# The HTTP API against its OpenAPI description (schemas/openapi.json): starts `tributary dev` on a
# scratch data directory and a free port, gives it a few readings so the query routes have data,
# and runs schemathesis (PyPI; a venv in ~/.cache/tributary) on /openapi.json — generated and edge-case
# requests to every operation; it fails on any 5xx and on any answer whose status, content type,
# headers or body the description does not allow. /api/stream is left out: its answer never ends
# (tests/api/pipeline.rs covers it). Extra arguments go to `schemathesis run`.
set -euo pipefail
cd "$(dirname "$0")/.."
SCHEMATHESIS_VERSION=4.32.5
VENV="$HOME/.cache/tributary/schemathesis-venv"
bin="${CARGO_TARGET_DIR:-target}/debug/tributary"
cargo build --locked --bin tributary
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into $VENV (once)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet "schemathesis==$SCHEMATHESIS_VERSION"
fi

data=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" dev --data-dir "$data" --port "$port" >"$data/tributary.log" 2>&1 &
pid=$!
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"; }
trap stop EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 300); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
now=$(date -u +%FT%T.000Z)
curl -fsS -XPOST "$base/api/telemetry" -H 'content-type: application/json' \
  -d '[{"deviceId":"pump-1","ts":"'"$now"'","seq":1,"metrics":{"temperature":71.5,"vibration":0.02}},
       {"deviceId":"pump-2","ts":"'"$now"'","seq":1,"metrics":{"temperature":20}}]' >/dev/null

"$VENV/bin/schemathesis" run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-path /api/stream --phases examples,coverage,fuzzing --max-examples 50 --workers 2 \
  --generation-database "$HOME/.cache/tributary/schemathesis-examples" \
  --no-color "$@" || { echo "--- tributary's log"; tail -n 40 "$data/tributary.log"; exit 1; }
