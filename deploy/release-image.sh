#!/usr/bin/env bash
# Build the production image once, tag it with the commit and push it to ADMIN2_REGISTRY:
# `just release` on a laptop, the release job in CI after the tests. `just deploy-prod` then
# deploys that image's digest; the server pulls it and never builds.
#
#   deploy/release-image.sh [--digest-file FILE] [--db-digest-file FILE]
#       prints REGISTRY/admin2-db@sha256:... (the db image), then REGISTRY/admin2@sha256:... last
#
# ADMIN2_REGISTRY is where the image goes, e.g. ghcr.io/acme (the image is ghcr.io/acme/admin2);
# log in first with `docker login` (CI: the workflow's token).
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/db-image.sh
. "$SCRIPTS_DIR/lib/db-image.sh"

digest_file=""
db_digest_file=""
while [ $# -gt 0 ]; do
  case "$1" in
    --digest-file) digest_file="${2:?--digest-file needs a path}"; shift 2 ;;
    --db-digest-file) db_digest_file="${2:?--db-digest-file needs a path}"; shift 2 ;;
    *) die "usage: deploy/release-image.sh [--digest-file FILE] [--db-digest-file FILE]" ;;
  esac
done
load_env_file
require_var ADMIN2_REGISTRY "the registry and namespace to push to, e.g. ghcr.io/acme"
registry="${ADMIN2_REGISTRY%/}"
[[ "$registry" =~ ^[A-Za-z0-9.:-]+(/[a-z0-9._-]+)*$ ]] || die "ADMIN2_REGISTRY is not a registry/namespace: $ADMIN2_REGISTRY"
repository="$registry/admin2"

cd "$REPO_DIR"
commit="$(git rev-parse HEAD)"
# A release is exactly a commit: an image with uncommitted changes in it is never pushed.
[ -z "$(git status --porcelain --untracked-files=no)" ] \
  || die "the working tree has uncommitted changes: commit them first (a release is a commit)"

# push REF: docker push, then the digest the registry gave it
push() {
  local ref="$1" digest
  note "pushing $ref"
  docker push "$ref" | tee "$push_log" >&2 || die "docker push $ref failed (docker login to $registry?)"
  digest="$(sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' "$push_log" | tail -n 1)"
  [ -n "$digest" ] || die "docker push printed no digest for $ref"
  printf '%s' "$digest"
}

push_log="$(mktemp)"
trap 'rm -f "$push_log"' EXIT
started=$SECONDS
"$SCRIPTS_DIR/build-prod.sh" --label "admin2.release=$commit"
docker tag "admin2:$commit" "$repository:$commit"
reference="$repository@$(push "$repository:$commit")"

# The db image (deploy/lib/db-image.sh): its tag is a checksum of its inputs, so it is built
# and pushed only when they changed; otherwise the registry's copy is this release's too.
db_tag="$(db_image_tag)"
db_repository="$repository-db"
if db_digest="$(python3 "$SCRIPTS_DIR/lib/registry.py" digest "$db_repository:$db_tag" 2>/dev/null)"; then
  note "db image $db_repository:$db_tag is in the registry already"
else
  note "building the db image $DB_IMAGE:$db_tag (containers/postgres/Dockerfile)"
  DOCKER_BUILDKIT=1 docker build --file containers/postgres/Dockerfile \
    --label "admin2.db-image=$db_tag" --tag "$DB_IMAGE:$db_tag" containers/postgres \
    || die "building the db image failed"
  docker tag "$DB_IMAGE:$db_tag" "$db_repository:$db_tag"
  db_digest="$(push "$db_repository:$db_tag")"
fi
db_reference="$db_repository@$db_digest"
note "released $commit as $reference (db: $db_reference) in $((SECONDS - started)) s"
[ -z "$digest_file" ] || printf '%s\n' "$reference" >"$digest_file"
[ -z "$db_digest_file" ] || printf '%s\n' "$db_reference" >"$db_digest_file"
echo "$db_reference"
echo "$reference"
