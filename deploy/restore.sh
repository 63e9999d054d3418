#!/usr/bin/env bash
# Restore a backup taken by deploy/backup.sh: the database, then the media.
#
#   deploy/restore.sh [--yes] [--no-media] [--no-safety-backup] BACKUP
#
# BACKUP is a backup directory, a file inside one, or a name under BACKUP_DIR. Nothing is
# touched unless every checksum matches. Without --yes it asks to type the backup's name.
# Before restoring it takes a labelled database backup of what is there now (pre-restore),
# so a restore of the wrong backup loses nothing. The database restore is one transaction
# (pg_restore --clean --if-exists --single-transaction): it lands whole or not at all.
# Media files from the backup are extracted over the media directory; files uploaded since
# the backup stay.
#
# Compose mode (the defaults) stops web, celery and celery-beat for the restore and starts
# them again; native mode (PG_RESTORE_CMD / MEDIA_DIR set) leaves processes alone.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
load_env_file
# shellcheck source=deploy/lib/backup.sh
. "$SCRIPTS_DIR/lib/backup.sh"

usage() {
  die "usage: deploy/restore.sh [--yes] [--no-media] [--no-safety-backup] BACKUP"
}

assume_yes=0
media=1
safety=1
target=""
while [ $# -gt 0 ]; do
  case "$1" in
    --yes | -y) assume_yes=1 ;;
    --no-media) media=0 ;;
    --no-safety-backup) safety=0 ;;
    -*) usage ;;
    *)
      [ -z "$target" ] || usage
      target="$1"
      ;;
  esac
  shift
done
[ -n "$target" ] || usage

# Which backup directory was meant.
if [ -d "$target" ]; then
  backup="$(cd "$target" && pwd)"
elif [ -f "$target" ]; then
  backup="$(cd "$(dirname "$target")" && pwd)"
elif [ -d "$BACKUP_DIR/$target" ]; then
  backup="$BACKUP_DIR/$target"
else
  die "no backup '$target' (give a directory from 'just backups', or a file inside one)"
fi
name="$(basename "$backup")"
[ -f "$backup/SHA256SUMS" ] || die "$backup has no SHA256SUMS: not a backup taken by deploy/backup.sh"
[ -f "$backup/db.dump" ] || die "$backup has no db.dump"

note "verifying checksums of $name"
(cd "$backup" && sha256sum --check --quiet --strict SHA256SUMS) \
  || die "checksum mismatch in $backup: the backup is damaged, nothing was restored"
[ "$(head -c 5 "$backup/db.dump")" = PGDMP ] || die "$backup/db.dump is not a pg_dump custom-format archive"
if [ "$media" = 1 ] && [ ! -f "$backup/media.tar.gz" ]; then
  note "$name has no media archive: restoring the database only"
  media=0
fi

compose_mode=0
[ -n "${PG_RESTORE_CMD:-}" ] || compose_mode=1
if [ "$compose_mode" = 1 ]; then
  where="the production database (service db) and media volume on $(hostname)"
else
  where="the database of: $PG_RESTORE_CMD${MEDIA_DIR:+, media in $MEDIA_DIR}"
fi

if [ "$assume_yes" != 1 ]; then
  echo "This REPLACES $where with backup $name." >&2
  echo "Type the backup's name ($name) to go on:" >&2
  answer=""
  read -r answer || true
  [ "$answer" = "$name" ] || die "not confirmed: nothing was restored"
fi

if [ "$safety" = 1 ]; then
  note "safety backup of the current database first (label pre-restore)"
  "$SCRIPTS_DIR/backup.sh" --label pre-restore --no-media >/dev/null \
    || die "the safety backup failed: nothing was restored (--no-safety-backup skips it)"
fi

take_lock
stopped=0
restart_services() {
  if [ "$stopped" = 1 ]; then
    note "starting web, celery and celery-beat again"
    "$SCRIPTS_DIR/compose.sh" production start web celery celery-beat || true
  fi
}
trap restart_services EXIT
if [ "$compose_mode" = 1 ]; then
  note "stopping web, celery and celery-beat for the restore"
  "$SCRIPTS_DIR/compose.sh" production stop web celery celery-beat
  stopped=1
fi

note "restoring the database from $name"
run_configured "$(pg_restore_cmd)" --clean --if-exists --no-owner --no-privileges \
  --single-transaction --exit-on-error <"$backup/db.dump" \
  || die "pg_restore failed: the database is unchanged (the restore is one transaction)"

if [ "$media" = 1 ]; then
  note "restoring the media"
  if [ -n "${MEDIA_DIR:-}" ]; then
    mkdir -p "$MEDIA_DIR"
    tar -C "$MEDIA_DIR" -xzf "$backup/media.tar.gz"
  else
    run_configured "${MEDIA_UNTAR_CMD:-$DEFAULT_MEDIA_UNTAR_CMD}" <"$backup/media.tar.gz"
  fi
fi
note "restored $name"
