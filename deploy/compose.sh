#!/usr/bin/env bash
# docker compose for one environment: deploy/compose.sh staging|production ARGS...
# Picks the Compose file and its env file; on the server, production runs the image tag of
# the current release (.deploy/current) unless ADMIN2_IMAGE_TAG says otherwise, and the db
# image of the checkout (deploy/lib/db-image.sh) unless ADMIN2_DB_IMAGE_TAG does.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

[ $# -ge 1 ] || die "usage: deploy/compose.sh staging|production COMPOSE-ARGS..."
env="$(resolve_stack "$1")"
shift
file="$(compose_file "$env")"
env_file="$(compose_env_file "$env")"
# The Compose files read their application env_file from ADMIN2_ENV_FILE as well: one file
# for both the ${...} interpolation and the containers' environment.
export ADMIN2_ENV_FILE="$env_file"
if [ "$env" = production ] && [ -z "${ADMIN2_IMAGE_TAG:-}" ] && [ -s "$REPO_DIR/.deploy/current" ]; then
  ADMIN2_IMAGE_TAG="$(cat "$REPO_DIR/.deploy/current")"
  export ADMIN2_IMAGE_TAG
fi
# The db image of this checkout (deploy/lib/db-image.sh): the tag the deploy pulled or built.
if [ "$env" = production ] && [ -z "${ADMIN2_DB_IMAGE_TAG:-}" ]; then
  # shellcheck source=deploy/lib/db-image.sh
  . "$SCRIPTS_DIR/lib/db-image.sh"
  ADMIN2_DB_IMAGE_TAG="$(cd "$REPO_DIR" && db_image_tag)"
  export ADMIN2_DB_IMAGE_TAG
fi
# The staging stack makes its own Redis password on first start; production's secrets are
# the operator's (deploy/secrets.sh production, docs/operations.md).
if [ "$env" = staging ] && [ "${1:-}" = up ]; then
  "$SCRIPTS_DIR/secrets.sh" staging
fi
# The checksums of the files each service reads from the host, as the deploy sets them: an
# `up` recreates a service whose files changed, and leaves the others alone.
if [ "$env" = production ]; then
  # shellcheck source=deploy/lib/config-sums.sh
  . "$SCRIPTS_DIR/lib/config-sums.sh"
  export_config_sums "$REPO_DIR" "$env_file"
fi
find_compose
cd "$REPO_DIR"
exec "${COMPOSE[@]}" -f "$file" --env-file "$env_file" "$@"
