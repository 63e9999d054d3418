# shellcheck shell=bash
# Release phase: compose with the release's image tag and config sums.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

COMPOSE_FILE=containers/docker-compose.production.yml
ENV_FILE=containers/.env.production

compose() {
  find_compose  # deploy/lib/compose-cli.sh, in the bundle
  # The checked-out release's own definition of what each service reads from the host
  # (deploy/lib/config-sums.sh): a service whose files changed is recreated by `up -d`.
  if [ -f deploy/lib/config-sums.sh ]; then
    # shellcheck source=deploy/lib/config-sums.sh
    . deploy/lib/config-sums.sh
    export_config_sums "$DEPLOY_PATH" "$ENV_FILE"
  fi
  # The checked-out release's db image (deploy/lib/db-image.sh, in the bundle).
  ADMIN2_DB_IMAGE_TAG="$(db_image_tag)"
  export ADMIN2_DB_IMAGE_TAG
  "${COMPOSE[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" "$@"
}

# compose with the images of one release. The Compose file has build: sections, so Compose
# would build an image that is missing (removed meanwhile): the server never builds, it stops.
compose_tag() {
  local tag="$1"
  shift
  docker image inspect "$IMAGE:$tag" >/dev/null 2>&1 \
    || { log "the image $IMAGE:$tag is not on this server (removed meanwhile?): it is never built here"; return 1; }
  if grep -q "image: $DB_IMAGE:" "$COMPOSE_FILE" 2>/dev/null && ! docker image inspect "$DB_IMAGE:$(db_image_tag)" >/dev/null 2>&1; then
    log "the db image $DB_IMAGE:$(db_image_tag) is not on this server: it is never built here"
    return 1
  fi
  ADMIN2_IMAGE_TAG="$tag" compose "$@"
}

env_value() {
  local key="$1" default="$2" value
  value="$(sed -n "s/^[[:space:]]*$key=//p" "$ENV_FILE" | tail -n 1)"
  value="${value%\"}"
  value="${value#\"}"
  printf '%s' "${value:-$default}"
}
