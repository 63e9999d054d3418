# shellcheck shell=bash
# Release phase: pull the release image by digest, and the pinned third-party images.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

# True when the local image NAME was pulled from (or pushed as) DIGEST.
has_digest() {
  local name="$1" digest="$2"
  docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$name" 2>/dev/null \
    | grep -q "@$digest\$"
}

# REF (REPOSITORY@sha256:...) as the local image NAME: the copy here when it has that digest
# (a redeploy, or offline), else pulled and tagged. WHAT names the image in the log.
pull_as() {
  local name="$1" ref="$2" what="$3"
  if has_digest "$name" "${ref##*@}"; then
    log "$what $name is here already as ${ref##*@}: no pull needed"
  else
    log "pulling $ref"
    docker pull --quiet "$ref" >/dev/null || die "docker pull $ref failed (registry reachable? logged in on the server?)"
    docker tag "$ref" "$name" || die "could not tag $ref as $name"
  fi
}

# The image CI built and tested, pulled by its digest and tagged admin2:<commit> for Compose.
# Nothing is built here; an image already here (a redeploy) needs no registry at all.
pull_release_image() {
  local tag="$1" ref="$2" label
  [[ "$ref" =~ ^[A-Za-z0-9.:/_-]+@sha256:[0-9a-f]{64}$ ]] || die "--image must be REPOSITORY@sha256:<digest>, got '$ref'"
  pull_as "$IMAGE:$tag" "$ref" image
  # `just release` labels the image with its commit: a digest of another commit is refused.
  label="$(docker image inspect --format '{{index .Config.Labels "admin2.release"}}' "$IMAGE:$tag" 2>/dev/null || true)"
  [ "$label" = "$tag" ] || die "$ref was built from commit '${label:-unknown}', not $tag: deploy the digest 'just release' printed for this commit"
  RELEASE_DIGEST="${ref##*@}"
  log "release image $IMAGE:$tag is $ref"
}

# containers/image-pins of the checked-out release: each third-party image Compose names, with
# the digest it must be. An image here with that digest is used as it is (offline); otherwise
# it is pulled by digest and tagged with the name Compose uses. A line whose digest is '-' is
# not pinned yet ('just pin-images'): whatever is here under that name runs, as before.
pin_images() {
  local name source digest
  [ -f containers/image-pins ] || { log "no containers/image-pins in this release: third-party images are not pinned"; return 0; }
  while read -r name source digest; do
    case "$name" in '' | '#'*) continue ;; esac
    if [ "$digest" = - ] || [ -z "$digest" ]; then
      log "third-party image $name is not pinned by digest (just pin-images)"
      continue
    fi
    [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "containers/image-pins: not a digest for $name: $digest"
    if has_digest "$name" "$digest"; then
      log "third-party image $name is pinned and here: $digest"
      continue
    fi
    log "pulling the pinned $source@$digest for $name"
    docker pull --quiet "$source@$digest" >/dev/null || die "docker pull $source@$digest failed (the pin of $name)"
    docker tag "$source@$digest" "$name" || die "could not tag $source@$digest as $name"
  done <containers/image-pins
}

# The db image of the checked-out release (deploy/lib/db-image.sh): pulled by digest and tagged
# admin2-db:<tag> (`just release` pushed it), built here only with --build-on-server, or the
# copy already here. A release whose Compose file still names the stock image needs none.
db_image() {
  local tag label
  grep -q "image: $DB_IMAGE:" "$COMPOSE_FILE" || { log "this release runs the stock PostgreSQL image"; return 0; }
  tag="$(db_image_tag)"
  if [ -n "$DB_IMAGE_REF" ]; then
    [[ "$DB_IMAGE_REF" =~ ^[A-Za-z0-9.:/_-]+@sha256:[0-9a-f]{64}$ ]] || die "--db-image must be REPOSITORY@sha256:<digest>, got '$DB_IMAGE_REF'"
    pull_as "$DB_IMAGE:$tag" "$DB_IMAGE_REF" "db image"
    label="$(docker image inspect --format '{{index .Config.Labels "admin2.db-image"}}' "$DB_IMAGE:$tag" 2>/dev/null || true)"
    [ "$label" = "$tag" ] || die "$DB_IMAGE_REF was built from other inputs ('${label:-unknown}'), not $tag: deploy the db digest 'just release' printed for this commit"
  elif docker image inspect "$DB_IMAGE:$tag" >/dev/null 2>&1; then
    log "db image $DB_IMAGE:$tag is here"
  elif [ "$BUILD_ON_SERVER" = 1 ]; then
    log "building the db image $DB_IMAGE:$tag"
    DOCKER_BUILDKIT=1 docker build --file containers/postgres/Dockerfile --label "admin2.db-image=$tag" \
      --tag "$DB_IMAGE:$tag" containers/postgres || die "building $DB_IMAGE:$tag failed"
  else
    die "the db image $DB_IMAGE:$tag is not here and no --db-image digest was given ('just release' pushes it)"
  fi
  log "db image $DB_IMAGE:$tag is $(db_digest)"
}

# The registry digest of the local image NAME (the first it was pulled or pushed as), or '-'.
image_digest() {
  local ref
  ref="$(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$1" 2>/dev/null | head -n 1 || true)"
  printf '%s' "${ref:+${ref##*@}}"
  [ -n "$ref" ] || printf -- '-'
}

# The registry digest of the checked-out release's db image, or '-'.
db_digest() { image_digest "$DB_IMAGE:$(db_image_tag)"; }

# The digest recorded for a release: the admin2:<commit> image's own (pulled by digest), or '-'.
release_digest() { image_digest "$IMAGE:$1"; }
