#!/usr/bin/env bash
# docker compose for one environment: deploy/compose.sh staging|production ARGS...
# Picks the Compose file and its env file; on the server, production runs the image tag of
# the current release (.deploy/current) unless ADMIN2_IMAGE_TAG says otherwise.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

[ $# -ge 1 ] || die "usage: deploy/compose.sh staging|production COMPOSE-ARGS..."
env="$1"
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
find_compose
cd "$REPO_DIR"
exec "${COMPOSE[@]}" -f "$file" --env-file "$env_file" "$@"
