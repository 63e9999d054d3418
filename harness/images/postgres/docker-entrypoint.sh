#!/usr/bin/env bash
# The official postgres image's entrypoint contract, for the stand-in:
# - POSTGRES_PASSWORD, POSTGRES_USER (default postgres), POSTGRES_DB (default the user),
#   POSTGRES_INITDB_ARGS, each also as NAME_FILE (a file holding the value);
# - POSTGRES_HOST_AUTH_METHOD (default scram-sha-256) for host connections;
# - on an empty PGDATA: initdb, then /docker-entrypoint-initdb.d/* in order (*.sh run or
#   sourced, *.sql and *.sql.gz through psql into POSTGRES_DB) on a server that listens on
#   the socket only, started with the container's own arguments (config_file etc.);
# - started as root, it fixes ownership and re-runs itself as `postgres` through gosu.
set -Eeo pipefail

file_env() {
  local var="$1" fileVar="${1}_FILE" def="${2:-}"
  if [ "${!var:-}" ] && [ "${!fileVar:-}" ]; then
    echo >&2 "error: both $var and $fileVar are set (but are exclusive)"
    exit 1
  fi
  local val="$def"
  if [ "${!var:-}" ]; then
    val="${!var}"
  elif [ "${!fileVar:-}" ]; then
    val="$(< "${!fileVar}")"
  fi
  export "$var"="$val"
  unset "$fileVar"
}

process_init_files() {
  local f
  for f in "$@"; do
    case "$f" in
      *.sh)
        if [ -x "$f" ]; then echo "$0: running $f"; "$f"; else echo "$0: sourcing $f"; . "$f"; fi ;;
      *.sql) echo "$0: running $f"; psql_run -f "$f"; echo ;;
      *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | psql_run; echo ;;
      *) echo "$0: ignoring $f" ;;
    esac
  done
}

psql_run() {
  PGHOST= PGHOSTADDR= psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password \
    --no-psqlrc --dbname "$POSTGRES_DB" "$@"
}

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = 'postgres' ]; then
  if [ "$(id -u)" = '0' ]; then
    mkdir -p "$PGDATA"
    chmod 00700 "$PGDATA" || :
    mkdir -p /var/run/postgresql || :
    chmod 03775 /var/run/postgresql || :
    find "$PGDATA" \! -user postgres -exec chown postgres '{}' +
    find /var/run/postgresql \! -user postgres -exec chown postgres '{}' +
    exec gosu postgres "$BASH_SOURCE" "$@"
  fi

  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
      echo >&2 "error: database is uninitialized and superuser password is not specified"
      echo >&2 "       (POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, or POSTGRES_HOST_AUTH_METHOD=trust)"
      exit 1
    fi
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of arguments
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
      $POSTGRES_INITDB_ARGS
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"

    server_args=("${@:2}")
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" \
      -o "$(printf '%q ' "${server_args[@]}" -c listen_addresses='' -p "${PGPORT:-5432}")" -w start
    if [ "$POSTGRES_DB" != postgres ]; then
      POSTGRES_DB=postgres psql_run --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db" ;'
    fi
    shopt -s nullglob
    process_init_files /docker-entrypoint-initdb.d/*
    shopt -u nullglob
    PGUSER="$POSTGRES_USER" pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGPASSWORD
    echo "$0: PostgreSQL init process complete; ready for start up."
  else
    echo "$0: PostgreSQL Database directory appears to contain a database; Skipping initialization"
  fi
fi

exec "$@"
