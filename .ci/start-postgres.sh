#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the store suite and print its SQLAlchemy URL.
# Uses the machine's PostgreSQL (Debian's package; installed if missing), a fresh cluster
# in a temporary folder owned by the postgres user, on 127.0.0.1 only.
set -euo pipefail
PORT="${POSTQ_PG_PORT:-55432}"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
BIN="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
DIR="$(mktemp -d /tmp/postq-pg.XXXXXX)"
chown postgres: "$DIR"
runuser -u postgres -- "$BIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
  -o "-h 127.0.0.1 -p $PORT -k $DIR" start >&2
runuser -u postgres -- "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres postq_test
echo "$DIR" > /tmp/postq-pg.dir
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postq_test"
