#!/usr/bin/env bash
# Backups of the production data: PostgreSQL (pg_dump custom format) and the media files.
#
#   deploy/backup.sh [--label NAME] [--no-media]   take a backup, then apply the retention
#   deploy/backup.sh list                          the backups, newest first
#   deploy/backup.sh prune                         apply the retention only
#
# A backup is a directory BACKUP_DIR/admin2-<UTC stamp>[-label] holding db.dump,
# media.tar.gz (without media/exports/), config.tar.age (the env file, secrets/, certs/ and
# deploy/.env, encrypted with age to BACKUP_AGE_RECIPIENTS: the operator's public key; the
# private key never lives on the server), INFO (time, host, release) and SHA256SUMS; it
# appears under its final name only when complete.
# Retention: the newest backup of each of the last BACKUP_KEEP_DAILY days, the newest of
# each of the last BACKUP_KEEP_WEEKLY ISO weeks (Sunday's when the timer runs daily), and
# the last BACKUP_KEEP_LABELLED labelled ones (taken by hand or before a restore).
#
# Where the data comes from (environment or deploy/.env):
#   PG_DUMP_CMD   command printing the database; the script adds --format=custom. Default:
#                 pg_dump inside the production `db` container (docker compose exec -T db).
#   MEDIA_DIR     a directory to archive; otherwise MEDIA_TAR_CMD (a command writing a tar
#                 to stdout), default: tar of /app/media in a one-off `web` container.
#   BACKUP_REMOTE [user@]host:/path to copy each new backup to over SSH and verify there
#                 (BACKUP_REMOTE_PORT, BACKUP_REMOTE_SSH_OPTS); a failed copy is retried
#                 (BACKUP_REMOTE_ATTEMPTS 3, BACKUP_REMOTE_RETRY_SECONDS 30, doubling).
#   BACKUP_S3_PREFIX  a key prefix (e.g. dumps) to put each new backup, age-encrypted, into
#                 the continuous backups' bucket (PGBACKREST_REPO1_S3_*), retried as above.
#   BACKUP_TEXTFILE_DIR  node-exporter's textfile directory: the last success's time goes there.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
load_env_file

# shellcheck source=deploy/lib/backup.sh
. "$SCRIPTS_DIR/lib/backup.sh"
# shellcheck source=deploy/lib/s3.sh
. "$SCRIPTS_DIR/lib/s3.sh"

dump_database() {
  local target="$1"
  run_configured "$(pg_dump_cmd)" --format=custom >"$target" \
    || die "pg_dump failed (PG_DUMP_CMD=${PG_DUMP_CMD:-default: db container}); no backup written"
  [ "$(head -c 5 "$target")" = PGDMP ] || die "the dump is not a pg_dump custom-format archive"
  run_configured "$(pg_restore_cmd)" --list <"$target" >/dev/null \
    || die "pg_restore cannot read the dump back; no backup written"
}

archive_media() {
  local target="$1"
  if [ -n "${MEDIA_DIR:-}" ]; then
    [ -d "$MEDIA_DIR" ] || die "MEDIA_DIR=$MEDIA_DIR is not a directory"
    tar -C "$MEDIA_DIR" --exclude=./exports -czf "$target" .
  else
    run_configured "${MEDIA_TAR_CMD:-$DEFAULT_MEDIA_TAR_CMD}" >"$target" \
      || die "archiving the media failed (MEDIA_TAR_CMD=${MEDIA_TAR_CMD:-default: web container})"
  fi
  tar -tzf "$target" >/dev/null || die "the media archive cannot be read back"
}

copy_offsite() {
  local name="$1" host path port
  host="${BACKUP_REMOTE%%:*}"
  path="${BACKUP_REMOTE#*:}"
  [ "$host" != "$BACKUP_REMOTE" ] && [ -n "$path" ] || die "BACKUP_REMOTE must look like user@host:/path, got '$BACKUP_REMOTE'"
  [[ "$host" != -* ]] || die "BACKUP_REMOTE host may not start with '-'"
  port="${BACKUP_REMOTE_PORT:-22}"
  local ssh_cmd=(ssh -o BatchMode=yes -o ConnectTimeout=15 -p "$port")
  if [ -n "${BACKUP_REMOTE_SSH_OPTS:-}" ]; then
    local extra=()
    read -r -a extra <<<"$BACKUP_REMOTE_SSH_OPTS"
    ssh_cmd+=("${extra[@]}")
  fi
  local quoted_path quoted_name
  quoted_path="$(printf '%q' "$path")"
  quoted_name="$(printf '%q' "$name")"
  note "copying $name to $BACKUP_REMOTE"
  tar -C "$BACKUP_DIR" -cf - "$name" | "${ssh_cmd[@]}" "$host" \
    "mkdir -p $quoted_path && tar -C $quoted_path -xf - && cd $quoted_path/$quoted_name && sha256sum --check --quiet SHA256SUMS"
}

# A copy that fails (network, the other host or the bucket restarting) is tried again,
# BACKUP_REMOTE_ATTEMPTS times in all (3), waiting BACKUP_REMOTE_RETRY_SECONDS (30) and twice as
# long each time after. WHERE names the destination in the messages.
with_retries() {
  local where="$1" attempts="${BACKUP_REMOTE_ATTEMPTS:-3}" pause="${BACKUP_REMOTE_RETRY_SECONDS:-30}" attempt
  shift
  [[ "$attempts" =~ ^[1-9][0-9]*$ ]] || die "BACKUP_REMOTE_ATTEMPTS must be a number of attempts (1 or more), got '$attempts'"
  [[ "$pause" =~ ^[0-9]+$ ]] || die "BACKUP_REMOTE_RETRY_SECONDS must be a number of seconds, got '$pause'"
  for ((attempt = 1; ; attempt++)); do
    "$@" && return 0
    [ "$attempt" -lt "$attempts" ] \
      || die "the local backup is complete, but the copy to $where FAILED ($attempts attempts)"
    note "the copy to $where failed (attempt $attempt of $attempts): trying again in ${pause}s"
    sleep "$pause"
    pause=$((pause * 2))
  done
}

# The whole backup (dump, media, config), one tar encrypted with age, into the bucket the
# continuous backups use (deploy/lib/s3.sh): the second, logical copy, off site and unreadable
# there. Object lock and the server's key keep it from being deleted (docs/operations.md).
upload_to_bucket() {
  local name="$1" sealed
  [ -n "${BACKUP_AGE_RECIPIENTS:-}${BACKUP_AGE_RECIPIENTS_FILE:-}" ] \
    || die "BACKUP_S3_PREFIX is set but BACKUP_AGE_RECIPIENTS is not: nothing leaves this host unencrypted"
  sealed="$BACKUP_DIR/.upload-$name.tar.age"
  trap 'rm -f "$sealed"' EXIT
  age_recipients
  tar -C "$BACKUP_DIR" -cf - "$name" | age --encrypt "${AGE_RECIPIENTS[@]}" >"$sealed" \
    || die "encrypting $name for the bucket failed"
  with_retries "the bucket" s3_put "$sealed" "${BACKUP_S3_PREFIX%/}/$name.tar.age"
  rm -f "$sealed"
  trap - EXIT
}

# Where the operator's files are: as Compose reads them (containers/ is the base of relative
# paths). Prints "archive-name<TAB>path" for each that exists.
config_sources() {
  local env_file secrets certs
  env_file="${ADMIN2_ENV_FILE:-$REPO_DIR/containers/.env.production}"
  secrets="$(env_file_value "$env_file" ADMIN2_SECRETS_DIR ./secrets)"
  certs="$(env_file_value "$env_file" NGINX_CERTS_DIR ./certs)"
  [[ "$secrets" == /* ]] || secrets="$REPO_DIR/containers/$secrets"
  [[ "$certs" == /* ]] || certs="$REPO_DIR/containers/$certs"
  [ ! -f "$env_file" ] || printf 'env.production\t%s\n' "$env_file"
  [ ! -d "$secrets" ] || printf 'secrets\t%s\n' "$secrets"
  [ ! -d "$certs" ] || printf 'certs\t%s\n' "$certs"
  [ ! -f "$SCRIPTS_DIR/.env" ] || printf 'deploy.env\t%s\n' "$SCRIPTS_DIR/.env"
}

# age's arguments for the operator's public keys, in AGE_RECIPIENTS.
age_recipients() {
  local name
  AGE_RECIPIENTS=()
  if [ -n "${BACKUP_AGE_RECIPIENTS:-}" ]; then
    for name in ${BACKUP_AGE_RECIPIENTS//,/ }; do AGE_RECIPIENTS+=(-r "$name"); done
  fi
  [ -z "${BACKUP_AGE_RECIPIENTS_FILE:-}" ] || AGE_RECIPIENTS+=(-R "$BACKUP_AGE_RECIPIENTS_FILE")
}

# The operator's files, one tar encrypted with age: nothing readable lands in BACKUP_DIR.
backup_config() {
  local target="$1" name path args=()
  age_recipients
  command -v age >/dev/null 2>&1 || die "age is not installed (apt-get install age): the config cannot be encrypted"
  while IFS=$'\t' read -r name path; do
    # each source under its fixed name in the archive, whatever it is called on this host
    args+=(-C "$(dirname "$path")" --transform "s,^$(basename "$path"),$name," "$(basename "$path")")
  done < <(config_sources)
  [ "${#args[@]}" -gt 0 ] || die "none of the env file, secrets, certificates or deploy/.env exists here"
  tar -cf - "${args[@]}" | age --encrypt "${AGE_RECIPIENTS[@]}" >"$target" \
    || die "encrypting the config with age failed (BACKUP_AGE_RECIPIENTS=${BACKUP_AGE_RECIPIENTS:-} BACKUP_AGE_RECIPIENTS_FILE=${BACKUP_AGE_RECIPIENTS_FILE:-})"
  [ -s "$target" ] || die "the encrypted config archive is empty"
}

take_backup() {
  local label="" media=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --label)
        label="$2"
        [[ "$label" =~ ^[a-z0-9][a-z0-9-]*$ ]] || die "--label takes lowercase letters, digits and '-', got '$label'"
        shift 2
        ;;
      --no-media) media=0; shift ;;
      *) die "unknown option $1 (usage: deploy/backup.sh [--label NAME] [--no-media] | list | prune | check)" ;;
    esac
  done
  take_lock
  local name tmp
  name="admin2-${BACKUP_STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}${label:+-$label}"
  [[ "$name" =~ $NAME_PATTERN ]] || die "bad backup name $name"
  [ ! -e "$BACKUP_DIR/$name" ] || die "$BACKUP_DIR/$name already exists"
  tmp="$BACKUP_DIR/.partial-$name"
  rm -rf "$tmp"
  mkdir -m 700 "$tmp"
  trap 'rm -rf "$tmp"' EXIT

  note "dumping the database"
  dump_database "$tmp/db.dump"
  if [ "$media" = 1 ]; then
    note "archiving the media"
    archive_media "$tmp/media.tar.gz"
  fi
  local config=0
  if [ "$media" = 1 ] && { [ -n "${BACKUP_AGE_RECIPIENTS:-}" ] || [ -n "${BACKUP_AGE_RECIPIENTS_FILE:-}" ]; }; then
    note "archiving the env file, secrets and certificates (encrypted with age)"
    backup_config "$tmp/config.tar.age"
    config=1
  elif [ "$media" = 1 ]; then
    note "WARNING: the env file, secrets and certificates are NOT in this backup: set BACKUP_AGE_RECIPIENTS (an age public key) in deploy/.env"
  fi
  {
    echo "name=$name"
    echo "created=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host=$(hostname)"
    echo "commit=$(git -C "$REPO_DIR" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "media=$media"
    echo "config=$config"
    echo "release=$(cat "$REPO_DIR/.deploy/current" 2>/dev/null || echo unknown)"
  } >"$tmp/INFO"
  (cd "$tmp" && sha256sum -- * >SHA256SUMS)
  mv "$tmp" "$BACKUP_DIR/$name"
  trap - EXIT
  note "backup $BACKUP_DIR/$name ($(du -sh "$BACKUP_DIR/$name" | cut -f1))"
  echo "$BACKUP_DIR/$name"

  prune
  if [ -n "${BACKUP_REMOTE:-}" ]; then
    with_retries "$BACKUP_REMOTE" copy_offsite "$name"
    note "off-site copy verified at $BACKUP_REMOTE/$name"
  fi
  if [ -n "${BACKUP_S3_PREFIX:-}" ]; then
    upload_to_bucket "$name"
    note "encrypted copy in the bucket at ${BACKUP_S3_PREFIX%/}/$name.tar.age"
  fi
  [ -z "${BACKUP_TEXTFILE_DIR:-}" ] || record_success
}

# For node-exporter's textfile collector: the time of the last backup that succeeded (with
# its off-site copy), which the BackupTooOld alert watches. Written whole, then renamed.
record_success() {
  local metric=admin2_backup_last_success_timestamp_seconds file="$BACKUP_TEXTFILE_DIR/admin2_backup.prom"
  mkdir -p "$BACKUP_TEXTFILE_DIR"
  {
    echo "# HELP $metric When the last backup, and its off-site copy, succeeded."
    echo "# TYPE $metric gauge"
    echo "$metric $(date +%s)"
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

prune() {
  local name stamp day week kept=0 days=0 weeks=0 labelled=0
  declare -A seen_day=() seen_week=() keep=()
  while read -r name; do
    [ -n "$name" ] || continue
    stamp="${name#admin2-}"
    if [[ "$stamp" == *-* ]]; then
      labelled=$((labelled + 1))
      [ "$labelled" -gt "$BACKUP_KEEP_LABELLED" ] || keep[$name]=labelled
      continue
    fi
    day="${stamp:0:8}"
    week="$(date -u -d "$day" +%G-W%V)"
    if [ -z "${seen_day[$day]:-}" ]; then
      seen_day[$day]=1
      days=$((days + 1))
      [ "$days" -gt "$BACKUP_KEEP_DAILY" ] || keep[$name]=daily
    fi
    if [ -z "${seen_week[$week]:-}" ]; then
      seen_week[$week]=1
      weeks=$((weeks + 1))
      [ "$weeks" -gt "$BACKUP_KEEP_WEEKLY" ] || keep[$name]=weekly
    fi
  done < <(backups_newest_first)
  while read -r name; do
    [ -n "$name" ] || continue
    if [ -n "${keep[$name]:-}" ]; then
      kept=$((kept + 1))
    else
      rm -rf -- "${BACKUP_DIR:?}/$name"
      note "retention: removed $name"
    fi
  done < <(backups_newest_first)
  note "retention: $kept backup(s) kept (daily $BACKUP_KEEP_DAILY, weekly $BACKUP_KEEP_WEEKLY, labelled $BACKUP_KEEP_LABELLED)"
}

list_backups() {
  local name
  echo "backups in $BACKUP_DIR (newest first):"
  while read -r name; do
    [ -n "$name" ] || continue
    printf '  %-40s %8s\n' "$name" "$(du -sh "$BACKUP_DIR/$name" | cut -f1)"
  done < <(backups_newest_first)
}

case "${1:-}" in
  list) list_backups ;;
  prune)
    take_lock
    prune
    ;;
  *) take_backup "$@" ;;
esac
