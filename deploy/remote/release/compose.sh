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
  "${COMPOSE[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" "$@"
}

# compose with the images of one release
compose_tag() {
  local tag="$1"
  shift
  ADMIN2_IMAGE_TAG="$tag" compose "$@"
}

env_value() {
  local key="$1" default="$2" value
  value="$(sed -n "s/^[[:space:]]*$key=//p" "$ENV_FILE" | tail -n 1)"
  value="${value%\"}"
  value="${value#\"}"
  printf '%s' "${value:-$default}"
}
