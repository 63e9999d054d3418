#!/usr/bin/env bash
# Build the production image here, tagged with the commit it is built from: admin2:<commit>
# (admin2:<commit>-dirty when the working tree has uncommitted changes). `just deploy-prod`
# builds on the server instead; this is for checking the image before pushing.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

cd "$REPO_DIR"
tag="$(git rev-parse HEAD)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  tag="$tag-dirty"
  note "uncommitted changes: tagging admin2:$tag"
fi
# Base images again from the registry (their security fixes) every DEPLOY_PULL_EVERY_DAYS days
# (7; 0 never; the time of the last pull in .deploy/last-pull, as on the server), and the
# build cache older than DEPLOY_BUILD_CACHE_KEEP_HOURS (168) pruned afterwards.
load_env_file
every="${DEPLOY_PULL_EVERY_DAYS:-7}"
keep_hours="${DEPLOY_BUILD_CACHE_KEEP_HOURS:-168}"
[[ "$every" =~ ^[0-9]+$ ]] || die "DEPLOY_PULL_EVERY_DAYS must be a number of days, got '$every'"
[[ "$keep_hours" =~ ^[0-9]+$ ]] || die "DEPLOY_BUILD_CACHE_KEEP_HOURS must be a number of hours, got '$keep_hours'"
pull=()
last_pull="$REPO_DIR/.deploy/last-pull"
if [ "$every" -gt 0 ] && [ $(($(date +%s) - $(cat "$last_pull" 2>/dev/null || echo 0))) -ge $((every * 86400)) ]; then
  pull=(--pull)
  note "base images not pulled for $every day(s) or more: building with --pull"
fi
DOCKER_BUILDKIT=1 docker build --file containers/Dockerfile --target production --tag "admin2:$tag" \
  --build-arg "ADMIN2_COMMIT=$tag" "${pull[@]}" "$@" .
if [ "${#pull[@]}" -gt 0 ]; then
  mkdir -p "$(dirname "$last_pull")"
  date +%s >"$last_pull"
fi
docker builder prune --force --filter "until=${keep_hours}h" >/dev/null 2>&1 \
  || note "could not prune the build cache (docker builder prune)"
echo "built admin2:$tag"
