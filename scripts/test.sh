#!/usr/bin/env bash
# Runs every test on this machine: makes sure the servers the tests talk to are up — PostgreSQL and
# Redis (the machine's; started if stopped), Kafka (nisshi on 127.0.0.1:9092; installed once into
# ~/.cargo/bin, about 10 minutes on 2 cores, then started for this run) — runs `cargo test`, and stops
# what it started. Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
NISSHI_VERSION=0.8.1

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
  nisshi_pid=$!
  trap 'kill "$nisshi_pid" 2>/dev/null || true' EXIT
  wait_for_port 127.0.0.1 9092 60 || { cat "$nisshi_log"; exit 1; }
fi

cargo test --workspace --locked "$@"
