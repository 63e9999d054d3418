#!/usr/bin/env bash
# The seed's troubleshooting checks, against the running stack.
#   deploy/check.sh staging|production redis   Redis answers PING
#   deploy/check.sh staging|production db      the database accepts connections
#   deploy/check.sh staging|production config  the Compose file is valid with its env file
#   deploy/check.sh staging|production backup  the newest backup is younger than its schedule
#                                              allows (BACKUP_MAX_AGE_HOURS, 26: nightly + slack)
#   deploy/check.sh staging|production workers the Celery worker and beat report healthy
#   deploy/check.sh STACK all [--alert]        all of the above that apply (production: every
#                                              one); --alert sends failures to deploy/alert.sh
# The staging stack has no PostgreSQL (SQLite in a volume): there Django itself opens the
# database; production asks pg_isready in the db container, then Django too.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/services.sh
. "$SCRIPTS_DIR/lib/services.sh"

[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: deploy/check.sh staging|production|auto redis|db|config|backup|workers|all [--alert]"
env="$(resolve_stack "$1")"
compose=("$SCRIPTS_DIR/compose.sh" "$env")
alert=0
[ "${3:-}" != --alert ] || alert=1
[ -z "${3:-}" ] || [ "$alert" = 1 ] || die "unknown option $3 (--alert)"

check_backup() {
  load_env_file
  # shellcheck source=deploy/lib/backup.sh
  . "$SCRIPTS_DIR/lib/backup.sh"
  local max="${BACKUP_MAX_AGE_HOURS:-26}" newest stamp age
  [[ "$max" =~ ^[0-9]+$ ]] || die "BACKUP_MAX_AGE_HOURS must be a number of hours, got '$max'"
  # labelled ones (pre-migrate, pre-restore) are database-only: the schedule's are not labelled
  newest="$(backups_newest_first | grep -Ev -- '-[a-z][a-z0-9-]*$' | head -n 1 || true)"
  [ -n "$newest" ] || { echo "backup: none in $BACKUP_DIR" >&2; return 1; }
  stamp="${newest#admin2-}"
  age=$((($(date -u +%s) - $(date -u -d "${stamp:0:8} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}" +%s)) / 3600))
  if [ "$age" -ge "$max" ]; then
    echo "backup: the newest, $newest, is ${age}h old (limit ${max}h, BACKUP_MAX_AGE_HOURS): is the timer running? systemctl status admin2-backup.timer" >&2
    return 1
  fi
  echo "backup: $newest, ${age}h old (limit ${max}h)"
  # continuous backups, when configured: the newest base backup in the bucket, same limit
  if [ -n "${PGBACKREST_REPO1_TYPE:-}" ]; then
    "$SCRIPTS_DIR/pitr.sh" age "$max" || return 1
  fi
}

# Every worker and beat service of deploy/services answers its own health command.
check_workers() {
  local role service
  for role in worker beat; do
    for service in $(services "$env" app "$role"); do
      "${compose[@]}" exec -T "$service" python -m admin2_tasks.health "$role" || return 1
    done
  done
}

if [ "$2" = all ]; then
  checks=(redis db workers)
  [ "$env" != production ] || checks+=(backup)
  failed=()
  report="$(mktemp)"
  trap 'rm -f "$report"' EXIT
  for check in "${checks[@]}"; do
    if ! "$0" "$env" "$check" >>"$report" 2>&1; then
      failed+=("$check")
    fi
  done
  cat "$report"
  if [ "${#failed[@]}" -gt 0 ]; then
    if [ "$alert" = 1 ]; then
      "$SCRIPTS_DIR/alert.sh" "admin2 on $(hostname): check failed: ${failed[*]}" <"$report" || true
    fi
    die "failed: ${failed[*]}"
  fi
  echo "all checks passed: ${checks[*]}"
  exit 0
fi

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
  config)
    "${compose[@]}" config --quiet
    echo "$env: Compose configuration is valid"
    ;;
  backup) check_backup ;;
  workers) check_workers ;;
  *) die "unknown check '$2' (redis, db, config, backup, workers or all)" ;;
esac
