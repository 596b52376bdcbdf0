#!/usr/bin/env bash
# Runs every test on this machine: makes sure the servers the tests talk to are up — PostgreSQL and
# Redis (the machine's; started if stopped), Kafka (nisshi on 127.0.0.1:9092; installed once into
# ~/.cargo/bin, about 10 minutes on 2 cores, then started for this run), the Cosmos DB test server
# (tests/support/cosmos-server on 127.0.0.1:8081, npm packages from its lock file) and the Python
# Cosmos SDK for the cross-client test (a venv in ~/.cache/tributary) — runs `cargo test`, and stops
# what it started. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
NISSHI_VERSION=0.8.1
# The Cosmos DB emulator's published key; the test server checks every request's signature with it.
COSMOS_KEY="C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw=="
COSMOS_SERVER=tests/support/cosmos-server
COSMOS_VENV="$HOME/.cache/tributary/cosmos-venv"
started=()
stop_started() { for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_started EXIT

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
wait_for_port() { # host port seconds
  for _ in $(seq 1 $(($3 * 10))); do port_open "$1" "$2" && return 0; sleep 0.1; done
  echo "nothing listens on $1:$2 after $3 s" >&2
  return 1
}

if ! port_open 127.0.0.1 5432; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
fi
if ! port_open 127.0.0.1 6379; then
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
fi
wait_for_port 127.0.0.1 5432 30
wait_for_port 127.0.0.1 6379 30
# Tests drop their databases on the way out; any a killed run left behind go now.
psql -h 127.0.0.1 -U postgres -d postgres -Atc \
  "SELECT datname FROM pg_database WHERE datname LIKE 'tributary\_test\_%'" |
  while read -r db; do psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done

if ! port_open 127.0.0.1 9092; then
  if ! nisshi --version 2>/dev/null | grep -q "$NISSHI_VERSION"; then
    echo "installing nisshi $NISSHI_VERSION (once)"
    (cd /tmp && cargo +nightly install "nisshi@$NISSHI_VERSION" --locked --no-default-features --features dynostore)
  fi
  nisshi_log=$(mktemp)
  nisshi broker --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 \
    --storage-engine memory://nisshi/ >"$nisshi_log" 2>&1 &
  started+=($!)
  wait_for_port 127.0.0.1 9092 60 || { cat "$nisshi_log"; exit 1; }
fi

if ! port_open 127.0.0.1 8081; then
  [ -d "$COSMOS_SERVER/node_modules" ] || npm ci --prefix "$COSMOS_SERVER" --no-audit --no-fund --silent
  cosmos_log=$(mktemp)
  node "$COSMOS_SERVER/server.js" --port 8081 --key "$COSMOS_KEY" --aad --ranges 4 >"$cosmos_log" 2>&1 &
  started+=($!)
  wait_for_port 127.0.0.1 8081 30 || { cat "$cosmos_log"; exit 1; }
fi
if ! "$COSMOS_VENV/bin/python" -c "import azure.cosmos" 2>/dev/null; then
  echo "installing the Python Cosmos SDK into $COSMOS_VENV (once)"
  python3 -m venv "$COSMOS_VENV"
  "$COSMOS_VENV/bin/pip" install --quiet -r "$COSMOS_SERVER/requirements.txt"
fi
# ---- TLS-only PostgreSQL and Redis with a test CA (scripts/tls-servers.sh; issue 12): tests connect
# with sslmode=verify-full and rediss://, as Azure requires. Private instances on other ports.
# shellcheck source=scripts/tls-servers.sh
source scripts/tls-servers.sh
trap 'stop_started; stop_tls_servers' EXIT
start_tls_servers
# ---- end TLS servers

export TRIBUTARY_TEST_PYTHON="$COSMOS_VENV/bin/python"
# The Cosmos SDK asks the Azure instance metadata service about the VM at start-up; not here.
export COSMOS_DISABLE_IMDS=1

cargo test --workspace --locked "$@"

# The running binary against the OpenAPI description (schemathesis): no 5xx, every answer conforms.
scripts/api-conformance.sh
