# shellcheck shell=bash
# Release phase: build the release image, prune the build cache.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

# `docker build` with BuildKit: what a stock Docker CE server does by default, and what Debian's
# docker.io 20.10 does with DOCKER_BUILDKIT=1 (Compose's own build needs buildx for that). Base
# images are pulled again (--pull) when the last pull is PULL_EVERY_DAYS old (0: never), so
# their security fixes arrive; the build cache older than CACHE_KEEP_HOURS is pruned.
build() {
  local tag="$1" pull=() last now
  if [ "$PULL_EVERY_DAYS" -gt 0 ]; then
    last="$(cat "$STATE/last-pull" 2>/dev/null || echo 0)"
    now="$(date +%s)"
    if [ $((now - last)) -ge $((PULL_EVERY_DAYS * 86400)) ]; then
      pull=(--pull)
      if [ "$last" = 0 ]; then
        log "base images never pulled by a deploy here: pulling them (--pull)"
      else
        log "base images last pulled $(((now - last) / 86400)) day(s) ago: pulling them again (--pull, every $PULL_EVERY_DAYS days)"
      fi
    fi
  fi
  log "building images $IMAGE:$tag"
  DOCKER_BUILDKIT=1 docker build --file containers/Dockerfile --target production \
    --label "admin2.release=$tag" --tag "$IMAGE:$tag" "${pull[@]}" . \
    || die "building $IMAGE:$tag failed"
  [ "${#pull[@]}" -eq 0 ] || date +%s >"$STATE/last-pull"
}

prune_build_cache() {
  if docker builder prune --force --filter "until=${CACHE_KEEP_HOURS}h" >/dev/null 2>&1; then
    log "build cache older than ${CACHE_KEEP_HOURS}h pruned"
  else
    log "could not prune the build cache (docker builder prune)"
  fi
}
