# shellcheck shell=bash
# Shared by deploy/backup.sh and deploy/restore.sh (sourced after lib/common.sh).

BACKUP_DIR="${BACKUP_DIR:-/var/backups/admin2}"
BACKUP_KEEP_DAILY="${BACKUP_KEEP_DAILY:-7}"
BACKUP_KEEP_WEEKLY="${BACKUP_KEEP_WEEKLY:-4}"
BACKUP_KEEP_LABELLED="${BACKUP_KEEP_LABELLED:-10}"
for name in BACKUP_KEEP_DAILY BACKUP_KEEP_WEEKLY BACKUP_KEEP_LABELLED; do
  [[ "${!name}" =~ ^[0-9]+$ ]] || die "$name must be a number, got '${!name}'"
done
[ "$BACKUP_KEEP_DAILY" -ge 1 ] || die "BACKUP_KEEP_DAILY must be at least 1 (the backup just taken)"

COMPOSE_PRODUCTION="$SCRIPTS_DIR/compose.sh production"
# In the container, the database's own POSTGRES_USER / POSTGRES_DB name it.
DEFAULT_PG_DUMP_CMD="$COMPOSE_PRODUCTION exec -T db sh -c 'exec pg_dump -U \"\${POSTGRES_USER:-admin2}\" -d \"\${POSTGRES_DB:-admin2}\" \"\$@\"' pg_dump"
# pg_restore only turns the dump into SQL (no connection); psql runs it in the database.
DEFAULT_PG_RESTORE_CMD="$COMPOSE_PRODUCTION exec -T db pg_restore"
DEFAULT_PSQL_CMD="$COMPOSE_PRODUCTION exec -T db sh -c 'exec psql -U \"\${POSTGRES_USER:-admin2}\" -d \"\${POSTGRES_DB:-admin2}\" \"\$@\"' psql"
# Temporary exports (media/exports/, re-creatable, often large) are not backed up.
DEFAULT_MEDIA_TAR_CMD="$COMPOSE_PRODUCTION run --rm --no-deps -T --entrypoint tar web -C /app/media --exclude=./exports -czf - ."
DEFAULT_MEDIA_UNTAR_CMD="$COMPOSE_PRODUCTION run --rm --no-deps -T --entrypoint tar web -C /app/media -xzf -"

# Compose mode (the defaults) or native mode (the commands set, as in the tests).
pg_dump_cmd() { printf '%s' "${PG_DUMP_CMD:-$DEFAULT_PG_DUMP_CMD}"; }
pg_restore_cmd() { printf '%s' "${PG_RESTORE_CMD:-$DEFAULT_PG_RESTORE_CMD}"; }
psql_cmd() { printf '%s' "${PSQL_CMD:-$DEFAULT_PSQL_CMD}"; }

NAME_PATTERN='^admin2-[0-9]{8}T[0-9]{6}Z(-[a-z0-9][a-z0-9-]*)?$'

backups_newest_first() {
  [ -d "$BACKUP_DIR" ] || return 0
  find "$BACKUP_DIR" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | grep -E "$NAME_PATTERN" | sort -r || true
}

# Run a configured command line with extra arguments appended.
run_configured() {
  local command_line="$1"
  shift
  bash -c "$command_line \"\$@\"" configured-command "$@"
}

# One backup or restore at a time (the timer and a hand-run one must not interleave).
take_lock() {
  mkdir -p "$BACKUP_DIR"
  exec 8>>"$BACKUP_DIR/.lock"
  flock -w "${BACKUP_LOCK_TIMEOUT:-3600}" 8 \
    || die "another backup or restore holds $BACKUP_DIR/.lock (waited ${BACKUP_LOCK_TIMEOUT:-3600}s)"
}

