# Sourced by scripts/test.sh: starts a private PostgreSQL that accepts only TLS connections and a Redis
# that listens only on TLS, both with a server certificate from a test CA made here with openssl, so
# the tests connect as Azure makes them (sslmode=verify-full, rediss://, a token as the password).
# The machine's own PostgreSQL (5432) and Redis (6379) are not touched; what this starts is stopped
# on exit (stop_tls_servers, called from test.sh's trap). Exports, for the tests:
#   TRIBUTARY_TEST_TLS_CA            PEM file of the test CA
#   TRIBUTARY_TEST_TLS_PG_PORT       PostgreSQL port (TLS only; user postgres trusted, others by password)
#   TRIBUTARY_TEST_TLS_PG_PASSWORD   password of role tributary_app (an Entra-token-like string)
#   TRIBUTARY_TEST_TLS_REDIS_PORT    Redis TLS port (no plain port)
#   TRIBUTARY_TEST_TLS_REDIS_USER    the only Redis user (an object id, as Azure Managed Redis names it)
#   TRIBUTARY_TEST_TLS_TOKEN         that user's password, also tributary_app's (a fake Entra token)

tls_dir=""
tls_pg_started=""
tls_pg_bin=""
tls_redis_pid=""

stop_tls_servers() {
  [ -n "$tls_redis_pid" ] && kill "$tls_redis_pid" 2>/dev/null
  if [ -n "$tls_pg_started" ]; then
    runuser -u postgres -- "$tls_pg_bin/pg_ctl" -D "$tls_dir/pg" -m immediate stop >/dev/null 2>&1
  fi
  [ -n "$tls_dir" ] && rm -rf "$tls_dir"
  return 0
}

# The first port from $1 on that nothing listens on.
free_port_from() {
  local p=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

start_tls_servers() {
  tls_dir=$(mktemp -d /tmp/tributary-tls.XXXXXX)
  chmod 755 "$tls_dir"
  # A test CA and a server certificate for localhost and 127.0.0.1, valid for a day.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=Tributary test CA" -keyout "$tls_dir/ca.key" -out "$tls_dir/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$tls_dir/server.key" -out "$tls_dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tls_dir/ext"
  openssl x509 -req -in "$tls_dir/server.csr" -CA "$tls_dir/ca.pem" -CAkey "$tls_dir/ca.key" \
    -CAcreateserial -days 1 -extfile "$tls_dir/ext" -out "$tls_dir/server.pem" 2>/dev/null
  chmod 644 "$tls_dir/ca.pem" "$tls_dir/server.pem"
  # A long token-like password, as an Entra access token is (a JWT of 1-2 KB).
  TRIBUTARY_TEST_TLS_TOKEN="eyJ0eXAiOiJKV1QifQ.$(openssl rand -hex 600).sig"
  TRIBUTARY_TEST_TLS_REDIS_USER=00000000-0000-4000-8000-0000000000aa

  # PostgreSQL: a cluster of its own, run as the postgres OS user, TLS or nothing.
  local pg_port
  tls_pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  pg_port=$(free_port_from 5433)
  mkdir "$tls_dir/pg" "$tls_dir/run"
  install -o postgres -m 600 "$tls_dir/server.key" "$tls_dir/pg.key"
  chown postgres "$tls_dir/pg" "$tls_dir/run"
  runuser -u postgres -- "$tls_pg_bin/initdb" -D "$tls_dir/pg" -U postgres --auth=trust >/dev/null
  cat >>"$tls_dir/pg/postgresql.conf" <<CONF
port = $pg_port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$tls_dir/run'
ssl = on
ssl_cert_file = '$tls_dir/server.pem'
ssl_key_file = '$tls_dir/pg.key'
fsync = off
max_connections = 200
CONF
  # hostssl only: a connection without TLS finds no entry and is refused.
  cat >"$tls_dir/pg/pg_hba.conf" <<HBA
local all postgres trust
hostssl all postgres 127.0.0.1/32 trust
hostssl all all 127.0.0.1/32 scram-sha-256
HBA
  runuser -u postgres -- "$tls_pg_bin/pg_ctl" -D "$tls_dir/pg" -l "$tls_dir/run/pg.log" -w start >/dev/null ||
    { cat "$tls_dir/run/pg.log"; return 1; }
  tls_pg_started=1
  psql -h "$tls_dir/run" -p "$pg_port" -U postgres -d postgres -qc \
    "CREATE ROLE tributary_app LOGIN CREATEDB PASSWORD '$TRIBUTARY_TEST_TLS_TOKEN'"

  # Redis: TLS port only; the default user off, one user whose password is the token.
  local redis_port
  redis_port=$(free_port_from 6380)
  redis-server --port 0 --tls-port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    --tls-cert-file "$tls_dir/server.pem" --tls-key-file "$tls_dir/server.key" \
    --tls-ca-cert-file "$tls_dir/ca.pem" --tls-auth-clients no \
    --user default off --user "$TRIBUTARY_TEST_TLS_REDIS_USER" on ">$TRIBUTARY_TEST_TLS_TOKEN" \
    '~*' '&*' '+@all' --logfile "$tls_dir/redis.log" &
  tls_redis_pid=$!
  wait_for_port 127.0.0.1 "$redis_port" 30 || { cat "$tls_dir/redis.log"; return 1; }

  export TRIBUTARY_TEST_TLS_CA="$tls_dir/ca.pem" TRIBUTARY_TEST_TLS_PG_PORT="$pg_port"
  export TRIBUTARY_TEST_TLS_PG_PASSWORD="$TRIBUTARY_TEST_TLS_TOKEN"
  export TRIBUTARY_TEST_TLS_REDIS_PORT="$redis_port" TRIBUTARY_TEST_TLS_REDIS_USER TRIBUTARY_TEST_TLS_TOKEN
}
