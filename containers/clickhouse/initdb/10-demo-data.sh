#!/bin/bash
# Staging ClickHouse container, first start only (the image runs /docker-entrypoint-initdb.d/*
# against an empty data directory): the demo `events` table in CLICKHOUSE_DB, and the
# read-only account the application connects with. The demo SQL is the package's own file
# (src/admin2_analytics/admin2_analytics/demo_events.sql), mounted at /opt/admin2.
set -euo pipefail

: "${CLICKHOUSE_DB:?}" "${CLICKHOUSE_USER:?}" "${CLICKHOUSE_PASSWORD:?}"
: "${CLICKHOUSE_READER_USER:?}" "${CLICKHOUSE_READER_PASSWORD:?}"
rows="${CLICKHOUSE_DEMO_ROWS:-1000000}"

client=(clickhouse-client --host 127.0.0.1 --user "$CLICKHOUSE_USER"
        --password "$CLICKHOUSE_PASSWORD" --database "$CLICKHOUSE_DB")

echo "10-demo-data.sh: creating ${CLICKHOUSE_DB}.events with ${rows} rows"
"${client[@]}" --param_rows="$rows" --queries-file /opt/admin2/demo_events.sql

# readonly = 2: no writes or DDL, but the per-query limits admin2 sets are accepted.
for name in CLICKHOUSE_DB CLICKHOUSE_READER_USER; do
  if [[ ! "${!name}" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
    echo "10-demo-data.sh: $name must be a plain identifier" >&2
    exit 1
  fi
done
password=${CLICKHOUSE_READER_PASSWORD//\\/\\\\}
password=${password//\'/\\\'}
echo "10-demo-data.sh: creating the read-only user ${CLICKHOUSE_READER_USER}"
"${client[@]}" --multiquery <<SQL
CREATE USER IF NOT EXISTS ${CLICKHOUSE_READER_USER}
  IDENTIFIED WITH sha256_password BY '${password}'
  SETTINGS readonly = 2;
GRANT SELECT, SHOW ON ${CLICKHOUSE_DB}.* TO ${CLICKHOUSE_READER_USER};
SQL
