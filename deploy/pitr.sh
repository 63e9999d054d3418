#!/usr/bin/env bash
# Continuous backups of PostgreSQL with pgBackRest: WAL archiving plus base backups in an
# S3-compatible bucket, encrypted on this side (repo cipher), restorable to any second.
#
#   deploy/pitr.sh setup                      create the stanza in the bucket, then check it
#   deploy/pitr.sh backup [full|diff|incr]    a base backup (default: full), then its age metric
#   deploy/pitr.sh nightly                    the backup timer's: full on PITR_FULL_WEEKDAY (7,
#                                             Sunday), diff otherwise; nothing when not configured
#   deploy/pitr.sh info | check               pgBackRest's view of the repository / archiving
#   deploy/pitr.sh restore DIR [TIME]         the cluster as it was at TIME (default: the latest
#                                             WAL in the bucket) into DIR, which must be empty
#   deploy/pitr.sh expire                     retention, with the ADMIN credentials (not the server's)
#   deploy/pitr.sh age [MAX_HOURS]            fail when the newest base backup is older (26 h)
#
# Configuration is pgBackRest's own, from the environment or deploy/.env (the server's
# credentials there, never the admin's): PGBACKREST_REPO1_TYPE=s3, PGBACKREST_REPO1_S3_BUCKET,
# _S3_ENDPOINT, _S3_REGION, _S3_KEY, _S3_KEY_SECRET, PGBACKREST_REPO1_CIPHER_TYPE=aes-256-cbc,
# PGBACKREST_REPO1_CIPHER_PASS, PGBACKREST_PG1_PATH ... (docs/operations.md, "Continuous
# backups"). PGBACKREST_STANZA defaults to admin2.
#   PITR_RUN         prefix that runs pgbackrest where PostgreSQL is (default
#                    `deploy/compose.sh production exec -T -u postgres db`; natively
#                    `runuser -u postgres --`); the PGBACKREST_* variables go along.
#   PITR_RETENTION_FULL  full backups `expire` keeps (4), with their WAL.
#   PITR_FULL_WEEKDAY    the day of the nightly full backup (7, Sunday; diff on the others).
#   BACKUP_TEXTFILE_DIR  node-exporter's textfile directory for the backup-age metric.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
load_env_file

export PGBACKREST_STANZA="${PGBACKREST_STANZA:-admin2}"
DEFAULT_PITR_RUN="$SCRIPTS_DIR/compose.sh production exec -T -u postgres db"

usage() {
  die "usage: deploy/pitr.sh setup | backup [full|diff|incr] | nightly | info | check | restore DIR [TIME] | expire | age [MAX_HOURS]"
}

# pgbackrest where PostgreSQL runs, with every PGBACKREST_* variable passed along explicitly
# (a `compose exec` does not inherit this shell's environment).
pgbackrest_run() {
  local prefix=() name passed=()
  read -r -a prefix <<<"${PITR_RUN:-$DEFAULT_PITR_RUN}"
  for name in $(compgen -e | grep '^PGBACKREST_' || true); do
    passed+=("$name=${!name}")
  done
  "${prefix[@]}" env "${passed[@]}" pgbackrest "$@"
}

require_repository() {
  require_var PGBACKREST_REPO1_TYPE "s3 for the off-site bucket"
  if [ "${PGBACKREST_REPO1_CIPHER_TYPE:-none}" = none ]; then
    die "PGBACKREST_REPO1_CIPHER_TYPE is not set: backups leave this host encrypted (aes-256-cbc, with PGBACKREST_REPO1_CIPHER_PASS)"
  fi
  require_var PGBACKREST_REPO1_CIPHER_PASS "a long random passphrase, kept off the server too: without it no backup can be read"
}

# The stop time of the newest base backup (seconds since the epoch), or nothing.
newest_backup_time() {
  pgbackrest_run --output=json info \
    | python3 -c 'import json, sys
stanzas = json.load(sys.stdin)
stops = [b["timestamp"]["stop"] for s in stanzas for b in s.get("backup", [])]
print(max(stops) if stops else "")'
}

record_backup_age() {
  [ -n "${BACKUP_TEXTFILE_DIR:-}" ] || return 0
  local metric=admin2_pitr_last_base_backup_timestamp_seconds file="$BACKUP_TEXTFILE_DIR/admin2_pitr.prom"
  local stop
  stop="$(newest_backup_time)"
  [ -n "$stop" ] || die "pgBackRest lists no base backup after a backup that succeeded"
  mkdir -p "$BACKUP_TEXTFILE_DIR"
  {
    echo "# HELP $metric When the newest pgBackRest base backup in the bucket finished."
    echo "# TYPE $metric gauge"
    echo "$metric $stop"
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

check_age() {
  local max_hours="${1:-26}" stop age
  [[ "$max_hours" =~ ^[1-9][0-9]*$ ]] || die "MAX_HOURS must be a whole number of hours, got '$max_hours'"
  stop="$(newest_backup_time)"
  [ -n "$stop" ] || die "no base backup in the bucket (deploy/pitr.sh backup)"
  age=$(($(date +%s) - stop))
  [ "$age" -le $((max_hours * 3600)) ] \
    || die "the newest base backup is $((age / 3600)) h old (more than $max_hours h): is the backup timer running?"
  note "the newest base backup is $((age / 60)) min old"
}

restore_to() {
  local target="$1" time="${2:-}" args=()
  [ -n "$target" ] || usage
  if [ -e "$target" ] && [ -n "$(ls -A "$target" 2>/dev/null)" ]; then
    die "$target is not empty: a restore only goes into an empty data directory (nothing was touched)"
  fi
  if [ -n "$time" ]; then
    date -d "$time" >/dev/null 2>&1 || die "'$time' is not a time (e.g. '2026-12-07 08:15:00+00')"
    args=(--type=time "--target=$time" --target-action=promote)
  fi
  pgbackrest_run --pg1-path="$target" "${args[@]}" restore
  note "restored into $target${time:+ up to $time}; start PostgreSQL on it (it promotes itself when recovery ends)"
}

command="${1:-}"
[ -n "$command" ] || usage
shift
case "$command" in
  setup)
    require_repository
    pgbackrest_run stanza-create
    pgbackrest_run check
    ;;
  backup)
    require_repository
    type="${1:-full}"
    [[ "$type" =~ ^(full|diff|incr)$ ]] || die "the backup type is full, diff or incr, got '$type'"
    pgbackrest_run --type="$type" backup
    record_backup_age
    ;;
  nightly)
    if [ -z "${PGBACKREST_REPO1_TYPE:-}" ]; then
      note "continuous backups are not configured (PGBACKREST_REPO1_TYPE): nothing to do"
      exit 0
    fi
    weekday="${PITR_FULL_WEEKDAY:-7}"
    [[ "$weekday" =~ ^[1-7]$ ]] || die "PITR_FULL_WEEKDAY must be 1 (Monday) to 7 (Sunday), got '$weekday'"
    type="diff"
    [ "$(date -u +%u)" != "$weekday" ] || type=full
    exec "$0" backup "$type"
    ;;
  info | check) pgbackrest_run "$command" ;;
  restore) restore_to "${1:-}" "${2:-}" ;;
  expire)
    keep="${PITR_RETENTION_FULL:-4}"
    [[ "$keep" =~ ^[1-9][0-9]*$ ]] || die "PITR_RETENTION_FULL must be a number of full backups, got '$keep'"
    pgbackrest_run --repo1-retention-full="$keep" expire
    ;;
  age) check_age "${1:-}" ;;
  *) usage ;;
esac
