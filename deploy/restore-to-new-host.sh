#!/usr/bin/env bash
# A new server from nothing, to the latest second (docs/operations.md, "Disaster recovery"):
# on a fresh host with this checkout at the release to run, its config restored
# (deploy/restore.sh --config) and no stack yet, run `just restore-to-new-host`. It
#   1. checks every input before it touches anything: the bucket and the cipher pass
#      (pgBackRest lists a backup), the newest nightly tar of the media (fetched, decrypted with
#      the operator's age key, checksums verified), the release's two images (pulled by digest);
#   2. restores the database from pgBackRest (the latest WAL, or --time) into the new db
#      volume, and the media into the media volume; a failure removes both volumes again;
#   3. starts the db, waits for the end of recovery (it then archives on a new timeline), and
#      deploys the release on this host as `just deploy-prod` would: migrate, start, health.
#
#   deploy/restore-to-new-host.sh --age-key FILE | --no-media
#       [--time '2026-12-07 08:14:00+00'] [--image REPO@DIGEST] [--db-image REPO@DIGEST]
#
# The repository settings (PGBACKREST_*) come from containers/.env.production (the db's env
# file) and, for the media download, from deploy/.env. Without --image/--db-image the digests
# of this commit's images are asked from ADMIN2_REGISTRY, like the deploy does.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/db-image.sh
. "$SCRIPTS_DIR/lib/db-image.sh"
# shellcheck source=deploy/lib/s3.sh
. "$SCRIPTS_DIR/lib/s3.sh"
# shellcheck source=deploy/lib/release-bundle.sh
. "$SCRIPTS_DIR/lib/release-bundle.sh"
load_env_file

usage() {
  die "usage: deploy/restore-to-new-host.sh --age-key FILE | --no-media [--time TIME] [--image REPO@DIGEST] [--db-image REPO@DIGEST]"
}

age_key="" media=1 time="" image_ref="" db_image_ref=""
while [ $# -gt 0 ]; do
  case "$1" in
    --age-key) age_key="${2:-}"; shift 2 || usage ;;
    --no-media) media=0; shift ;;
    --time) time="${2:-}"; shift 2 || usage ;;
    --image) image_ref="${2:-}"; shift 2 || usage ;;
    --db-image) db_image_ref="${2:-}"; shift 2 || usage ;;
    *) usage ;;
  esac
done

cd "$REPO_DIR"
compose=("$SCRIPTS_DIR/compose.sh" production)
env_file="$(compose_env_file production)"
commit="$(git rev-parse HEAD)"
export ADMIN2_IMAGE_TAG="$commit"
ADMIN2_DB_IMAGE_TAG="$(db_image_tag)"
export ADMIN2_DB_IMAGE_TAG
project="$(env_file_value "$env_file" COMPOSE_PROJECT_NAME admin2)"

# ---- 1. every input, before anything is made ---------------------------------------------
[ "$media" = 0 ] || [ -n "$age_key" ] \
  || die "--age-key FILE (the operator's age identity, for the nightly media tar) is missing; --no-media restores the database only"
[ -z "$age_key" ] || [ -r "$age_key" ] || die "--age-key $age_key is not a readable file"
[ -z "$time" ] || date -d "$time" >/dev/null 2>&1 || die "--time '$time' is not a time (e.g. '2026-12-07 08:15:00+00')"
for name in PGBACKREST_REPO1_TYPE PGBACKREST_REPO1_CIPHER_PASS PGBACKREST_REPO1_S3_BUCKET; do
  [ -n "$(env_file_value "$env_file" "$name")" ] \
    || die "$name is not in $env_file: restore the config first (deploy/restore.sh --config), or add the continuous backups' settings (docs/operations.md)"
done
[ "$media" = 0 ] || require_var BACKUP_S3_PREFIX "where the nightly tars are in the bucket (e.g. dumps)"
for volume in postgres_data media; do
  if docker volume inspect "${project}_$volume" >/dev/null 2>&1; then
    die "the volume ${project}_$volume exists already: this is not a new host (nothing was touched). Remove the old stack's volumes first if you mean it"
  fi
done

# From here on a failure removes what this run made (the one-off containers make volumes).
restored=0
undo() {
  [ "$restored" = 0 ] || return 0
  note "nothing restored: removing what this run made, so a second run starts clean"
  "${compose[@]}" down --timeout 10 >/dev/null 2>&1 || true
  docker volume rm "${project}_postgres_data" "${project}_media" >/dev/null 2>&1 || true
}
scratch="$(mktemp -d)"
trap 'undo; rm -rf "$scratch"' EXIT

# The release's images, by digest, as the deploy would pull them.
if [ -z "$image_ref" ] || [ -z "$db_image_ref" ]; then
  require_var ADMIN2_REGISTRY "or pass --image and --db-image (the digests 'just release' printed)"
  repository="${ADMIN2_REGISTRY%/}/admin2"
  [ -n "$image_ref" ] || image_ref="$repository@$(python3 "$SCRIPTS_DIR/lib/registry.py" digest "$repository:$commit")" \
    || die "$repository:$commit is not in the registry"
  [ -n "$db_image_ref" ] || db_image_ref="$repository-db@$(python3 "$SCRIPTS_DIR/lib/registry.py" digest "$repository-db:$ADMIN2_DB_IMAGE_TAG")" \
    || die "$repository-db:$ADMIN2_DB_IMAGE_TAG is not in the registry"
fi
pull_as() {
  local ref="$1" name="$2"
  [[ "$ref" =~ ^[A-Za-z0-9.:/_-]+@sha256:[0-9a-f]{64}$ ]] || die "not an image digest reference: $ref (REPOSITORY@sha256:...)"
  note "pulling $ref as $name"
  docker pull --quiet "$ref" >/dev/null || die "docker pull $ref failed (registry reachable? docker login?)"
  docker tag "$ref" "$name"
}
pull_as "$db_image_ref" "$DB_IMAGE:$ADMIN2_DB_IMAGE_TAG"
pull_as "$image_ref" "admin2:$commit"

# pgBackRest in a one-off db container: the env file's repository settings, the egress network.
pgbackrest_once() {
  "${compose[@]}" run --rm --no-deps -T -u postgres db pgbackrest "$@"
}
note "asking the bucket for the newest base backup (pgBackRest info)"
# `info` reads the repository's encrypted index: a wrong cipher pass, key, bucket or endpoint
# fails here, before any volume holds anything.
info_err="$scratch/info.err"
info="$(pgbackrest_once --output=json info 2>"$info_err")" \
  || die "pgBackRest cannot read the repository: $(tr '\n' ' ' <"$info_err")(check PGBACKREST_REPO1_CIPHER_PASS, the bucket, endpoint and key in $env_file)"
backups="$(printf '%s' "$info" | python3 -c 'import json, sys
stanzas = json.load(sys.stdin, strict=False)  # messages may hold line breaks
bad = ["%s: %s" % (s["name"], s["status"]["message"]) for s in stanzas if s["status"]["code"]]
print(" ".join("; ".join(bad).split()) if bad else sum(len(s.get("backup", [])) for s in stanzas))')"
[[ "$backups" =~ ^[0-9]+$ ]] \
  || die "pgBackRest cannot use the repository: $backups (a wrong PGBACKREST_REPO1_CIPHER_PASS reads as 'other' or a missing stanza; check the bucket name and PGBACKREST_STANZA)"
[ "$backups" -gt 0 ] || die "the repository holds no base backup: nothing to restore from"
note "the repository holds $backups base backup(s)"

if [ "$media" = 1 ]; then
  key="$(s3_newest "${BACKUP_S3_PREFIX%/}/")" || die "cannot list ${BACKUP_S3_PREFIX%/}/ in the bucket"
  [ -n "$key" ] || die "no nightly tar under ${BACKUP_S3_PREFIX%/}/ in the bucket: restore with --no-media, or copy the media by hand"
  note "fetching $key"
  s3_get "$key" "$scratch/backup.tar.age" || die "downloading $key failed"
  age --decrypt --identity "$age_key" "$scratch/backup.tar.age" | tar -C "$scratch" -xf - \
    || die "$key does not decrypt with $age_key (the operator's age identity for BACKUP_AGE_RECIPIENTS?)"
  rm -f "$scratch/backup.tar.age"
  backup_dir="$(find "$scratch" -mindepth 1 -maxdepth 1 -type d | head -n 1)"
  [ -f "$backup_dir/media.tar.gz" ] || die "$key holds no media.tar.gz"
  (cd "$backup_dir" && sha256sum --check --quiet --strict SHA256SUMS) || die "$key fails its checksums"
fi

# ---- 2. the data into new volumes (a failure removes them: undo) --------------------
started=$SECONDS
target=()
[ -z "$time" ] || target=(--type=time "--target=$time" --target-action=promote)
note "restoring the database from the bucket${time:+ up to $time} into ${project}_postgres_data"
pgbackrest_once --pg1-path=/var/lib/postgresql/data "${target[@]}" restore || die "pgBackRest restore failed"
if [ "$media" = 1 ]; then
  note "extracting the media of $(basename "$backup_dir") into ${project}_media"
  "${compose[@]}" run --rm --no-deps -T --entrypoint tar web -C /app/media -xzf - <"$backup_dir/media.tar.gz" \
    || die "extracting the media failed"
fi

# ---- 3. recovery, then the release as a deploy starts it ---------------------------------
"${compose[@]}" up -d db
user="$(env_file_value "$env_file" POSTGRES_USER admin2)"
note "waiting for PostgreSQL to replay the WAL and promote itself"
for _ in $(seq 1 "${RESTORE_RECOVERY_TIMEOUT:-1800}"); do
  state="$("${compose[@]}" exec -T -u postgres db psql -U "$user" -d postgres -Atc 'SELECT pg_is_in_recovery()' 2>/dev/null || true)"
  [ "$state" != f ] || break
  sleep 1
done
[ "$state" = f ] || die "PostgreSQL is still recovering after ${RESTORE_RECOVERY_TIMEOUT:-1800} s ('just logs db')"
restored=1
note "database recovered in $((SECONDS - started)) s; deploying $commit on this host"
release_args=(deploy --path "$REPO_DIR" --commit "$commit" --image "$image_ref" --db-image "$db_image_ref")
[ -z "${DEPLOY_WEB_REPLICAS:-}" ] || release_args+=(--web-replicas "$DEPLOY_WEB_REPLICAS")
[ -z "${DEPLOY_HEALTH_TIMEOUT:-}" ] || release_args+=(--health-timeout "$DEPLOY_HEALTH_TIMEOUT")
# The same procedure `just deploy-prod` sends over SSH, run here: migrate, health-gated start,
# the release recorded in .deploy/ so later deploys and rollbacks carry on from it.
release_bundle "$SCRIPTS_DIR" | bash -s -- "${release_args[@]}" || die "the release did not come up healthy ('just logs web')"
note "this host serves the restored data: $((SECONDS - started)) s from the restore to a healthy site"
