#!/usr/bin/env bash
# Restore a backup taken by deploy/backup.sh: the database, then the media.
#
#   deploy/restore.sh [--yes] [--no-media] [--no-safety-backup] [--ignore-migrations] BACKUP
#   deploy/restore.sh --config IDENTITY_FILE [--to DIR] BACKUP
#
# BACKUP is a backup directory, a file inside one, or a name under BACKUP_DIR. Nothing is
# touched unless every checksum matches. Without --yes it asks to type the backup's name.
# Before restoring it takes a labelled database backup of what is there now (pre-restore),
# so a restore of the wrong backup loses nothing. The database is restored into an emptied
# schema, in one transaction (the public schema dropped and made again, then the dump's SQL,
# psql --single-transaction): it lands whole or not at all, and nothing newer than the backup
# (a table of a later migration) survives beside it. In Compose mode the backup's migrations
# are compared with the running release's code first: a backup with migrations the code does
# not know is refused (restore it with the release it names; --ignore-migrations forces it),
# and one that is behind the code is migrated forward after the restore.
#
# --config decrypts the backup's config.tar.age (env file, secrets, certificates, deploy/.env)
# with the operator's age identity into their places in this checkout (or under --to DIR),
# refusing to overwrite a file that exists: the first step of a disaster recovery.
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
  die "usage: deploy/restore.sh [--yes] [--no-media] [--no-safety-backup] [--ignore-migrations] BACKUP | --config IDENTITY_FILE [--to DIR] BACKUP"
}

assume_yes=0
media=1
safety=1
check_migrations=1
identity=""
config_to="$REPO_DIR"
target=""
while [ $# -gt 0 ]; do
  case "$1" in
    --yes | -y) assume_yes=1 ;;
    --no-media) media=0 ;;
    --no-safety-backup) safety=0 ;;
    --ignore-migrations) check_migrations=0 ;;
    --config) identity="${2:-}"; shift ;;
    --to) config_to="${2:-}"; shift ;;
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

# --config: the operator's files back in place, nothing else.
if [ -n "$identity" ]; then
  [ -f "$backup/config.tar.age" ] || die "$name has no config.tar.age (taken without BACKUP_AGE_RECIPIENTS)"
  [ -r "$identity" ] || die "the age identity $identity is not a readable file"
  command -v age >/dev/null 2>&1 || die "age is not installed (apt-get install age)"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  age --decrypt -i "$identity" "$backup/config.tar.age" | tar -C "$work" -xf - \
    || die "cannot decrypt $name/config.tar.age with $identity"
  restore_config_item() {
    local from="$work/$1" to="$2" file
    [ -e "$from" ] || return 0
    if [ -d "$from" ]; then
      while IFS= read -r file; do
        [ ! -e "$to/$file" ] || die "$to/$file exists: move it away first (nothing is overwritten)"
      done < <(cd "$from" && find . -type f | sed 's,^\./,,')
      mkdir -p "$to"
      cp -a "$from/." "$to/"
    else
      [ ! -e "$to" ] || die "$to exists: move it away first (nothing is overwritten)"
      mkdir -p "$(dirname "$to")"
      cp -a "$from" "$to"
    fi
    note "restored $to"
  }
  restore_config_item env.production "$config_to/containers/.env.production"
  restore_config_item deploy.env "$config_to/deploy/.env"
  restore_config_item secrets "$config_to/containers/secrets"
  restore_config_item certs "$config_to/containers/certs"
  note "config of $name restored; the env file names the secrets and certificates directories it expects (ADMIN2_SECRETS_DIR, NGINX_CERTS_DIR)"
  exit 0
fi
if [ "$media" = 1 ] && [ ! -f "$backup/media.tar.gz" ]; then
  note "$name has no media archive: restoring the database only"
  media=0
fi

compose_mode=0
[ -n "${PSQL_CMD:-}" ] || compose_mode=1
if [ "$compose_mode" = 1 ]; then
  where="the production database (service db) and media volume on $(hostname)"
else
  where="the database of: $PSQL_CMD${MEDIA_DIR:+, media in $MEDIA_DIR}"
fi

# "app name" lines: the migrations recorded in the dump, and those the running code has.
dump_migrations() {
  run_configured "$(pg_restore_cmd)" --data-only --table=django_migrations --file=- <"$backup/db.dump" \
    | awk -F '\t' '/^COPY .*django_migrations/ {on = 1; next} /^\\\.$/ {on = 0} on {print $2 " " $3}' | sort -u
}
code_migrations() {
  local listing
  listing="$("$SCRIPTS_DIR/compose.sh" production run --rm --no-deps -T --entrypoint admin2 web shell -c \
    'from django.db.migrations.loader import MigrationLoader; print("\n".join(sorted(f"{a} {n}" for a, n in MigrationLoader(None, ignore_no_migrations=True).disk_migrations)))')" \
    || return 1
  # only "app 0001_name" lines (whatever else start-up may print)
  printf '%s\n' "$listing" | grep -E '^[A-Za-z0-9_]+ [0-9]{4}_[A-Za-z0-9_]+$' | sort -u
}

migrate_after=0
if [ "$compose_mode" = 1 ] && [ "$check_migrations" = 1 ]; then
  note "comparing the backup's migrations with the running release's code"
  in_dump="$(dump_migrations)" || die "cannot read the migrations recorded in $name"
  in_code="$(code_migrations)" || die "cannot list the running release's migrations (is the stack deployed?)"
  ahead="$(comm -23 <(printf '%s\n' "$in_dump") <(printf '%s\n' "$in_code") | sed '/^$/d')"
  behind="$(comm -13 <(printf '%s\n' "$in_dump") <(printf '%s\n' "$in_code") | sed '/^$/d')"
  if [ -n "$ahead" ]; then
    taken_with="$(sed -n 's/^release=//p' "$backup/INFO" 2>/dev/null)"
    die "$name has migrations the running code does not know:
$(printf '%s\n' "$ahead" | sed 's/^/    /')
  It was taken with release ${taken_with:-unknown}. Roll back or deploy that release first (just rollback ${taken_with:-SHA}), then restore; --ignore-migrations restores it anyway. Nothing was restored."
  fi
  if [ -n "$behind" ]; then
    note "$name is older than the running code ($(printf '%s\n' "$behind" | wc -l) migration(s) to apply): the migrations run after the restore"
    migrate_after=1
  fi
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
stopped_ids=""
restart_services() {
  if [ "$stopped" = 1 ]; then
    stopped=0
    note "starting web, celery and celery-beat again"
    # The very containers stopped (`compose start` refuses: the one-shot migrate they depend
    # on is never kept), as many web replicas as there were.
    local ids=()
    read -r -a ids <<<"$stopped_ids"
    [ "${#ids[@]}" -eq 0 ] || docker start "${ids[@]}" >/dev/null || true
    # A restarted web container may come back on another address: Nginx looks it up again
    # (an Nginx without the upstream's `resolve` keeps the old one until a reload, and a
    # reload before web is back on the network fails and keeps the old one too: so again
    # until the site answers).
    local deadline=$((SECONDS + ${RESTORE_HEALTH_TIMEOUT:-180}))
    until "$SCRIPTS_DIR/compose.sh" production exec -T nginx nginx -s reload >/dev/null 2>&1 \
      && sleep 1 && "$SCRIPTS_DIR/health.sh" production >/dev/null 2>&1; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        note "WARNING: the site is not healthy yet after the restore: just health, just logs web"
        return 0
      fi
      sleep 3
    done
    note "the site answers /healthz and /readyz again"
  fi
}
trap restart_services EXIT
if [ "$compose_mode" = 1 ]; then
  note "stopping web, celery and celery-beat for the restore"
  stopped_ids="$("$SCRIPTS_DIR/compose.sh" production ps -q web celery celery-beat | tr '\n' ' ')"
  "$SCRIPTS_DIR/compose.sh" production stop web celery celery-beat
  stopped=1
fi

note "restoring the database from $name (into an emptied schema, one transaction)"
sql="$BACKUP_DIR/.restore-$name.sql"
(umask 077 && : >"$sql")
trap 'rm -f "$sql"; restart_services' EXIT
run_configured "$(pg_restore_cmd)" --no-owner --no-privileges --file=- <"$backup/db.dump" >"$sql" \
  || die "pg_restore cannot read $name/db.dump: the database is unchanged"
{
  echo "SET client_min_messages TO warning;"
  echo "DROP SCHEMA IF EXISTS public CASCADE;"
  echo "CREATE SCHEMA public AUTHORIZATION pg_database_owner;"
  echo "GRANT USAGE ON SCHEMA public TO PUBLIC;"
  cat "$sql"
} | run_configured "$(psql_cmd)" --no-psqlrc --quiet --single-transaction -v ON_ERROR_STOP=1 --file=- >/dev/null \
  || die "the restore failed: the database is unchanged (the restore is one transaction)"
rm -f "$sql"

if [ "$media" = 1 ]; then
  note "restoring the media"
  if [ -n "${MEDIA_DIR:-}" ]; then
    mkdir -p "$MEDIA_DIR"
    tar -C "$MEDIA_DIR" -xzf "$backup/media.tar.gz"
  else
    run_configured "${MEDIA_UNTAR_CMD:-$DEFAULT_MEDIA_UNTAR_CMD}" <"$backup/media.tar.gz"
  fi
fi
if [ "$migrate_after" = 1 ]; then
  note "applying the running release's newer migrations (service migrate)"
  "$SCRIPTS_DIR/compose.sh" production run --rm migrate \
    || die "the database of $name is restored, but migrating it forward failed: deploy/compose.sh production run --rm migrate"
fi
note "restored $name"
