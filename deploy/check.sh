#!/usr/bin/env bash
# The seed's troubleshooting checks, against the running stack.
#   deploy/check.sh staging|production redis   Redis answers PING
#   deploy/check.sh staging|production db      the database accepts connections
# The staging stack has no PostgreSQL (SQLite in a volume): there Django itself opens the
# database; production asks pg_isready in the db container, then Django too.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

[ $# -eq 2 ] || die "usage: deploy/check.sh staging|production redis|db"
env="$1"
compose=("$SCRIPTS_DIR/compose.sh" "$env")
case "$2" in
  redis)
    "${compose[@]}" exec -T redis redis-cli ping
    ;;
  db)
    if "${compose[@]}" config --services | grep -qx db; then
      # shellcheck disable=SC2016 # expanded in the container, by its own environment
      "${compose[@]}" exec -T db sh -c 'pg_isready -U "${POSTGRES_USER:-admin2}"'
    fi
    "${compose[@]}" exec -T web admin2 check --database default
    ;;
  *) die "unknown check '$2' (redis or db)" ;;
esac
