#!/usr/bin/env bash
# Regenerates `.sqlx/` (sqlx's offline query data) from a scratch database migrated with `migrations/`.
# Needs a PostgreSQL server: PREPARE_ADMIN_URL (default: the local one, trust auth).
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${PREPARE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db=tributary_sqlx_prepare
psql "$admin" -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
for f in migrations/*.sql; do psql "${admin%/*}/$db" -q -v ON_ERROR_STOP=1 -f "$f"; done
rm -rf .sqlx && mkdir .sqlx
touch crates/tributary-postgres/src/lib.rs
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="${admin%/*}/$db" \
  cargo check --quiet -p tributary-postgres --all-targets
psql "$admin" -q -c "DROP DATABASE $db"
echo "$(ls .sqlx | wc -l) queries prepared in .sqlx/"
