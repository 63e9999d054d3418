# shellcheck shell=bash
# Release phase: the deploy action, and rolling back when it fails.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

do_deploy() {
  is_sha "$COMMIT" || die "--commit must be a full 40-character commit id, got '$COMMIT'"
  acquire_lock
  local current
  current="$(read_state current)"
  log "deploying $COMMIT (current: ${current:-none})"
  checkout "$COMMIT"
  if [ -n "$IMAGE_REF" ]; then
    pull_release_image "$COMMIT" "$IMAGE_REF"
  else
    [ "$BUILD_ON_SERVER" = 1 ] || die "no --image REPO@DIGEST to deploy (and not --build-on-server)"
    build "$COMMIT"
  fi
  pin_images
  db_image
  migrate "$COMMIT"
  local result=0
  switch_to "$COMMIT" || result=$?
  if [ "$result" -ne 0 ]; then
    record_release deploy "$COMMIT" failed
    log "health check failed for $COMMIT (its web replicas, its Nginx configuration or the site)"
    roll_back_after_failure "$current" "$result"
    exit 1
  fi
  set_current "$COMMIT"
  CHECKED_OUT=""
  keep_release_ref "$COMMIT"
  record_release deploy "$COMMIT" ok
  log "release $COMMIT recorded (previous: ${current:-none})"
  start_monitoring "$COMMIT"
  prune_images
  [ -n "$IMAGE_REF" ] || prune_build_cache
  log "deploy of $COMMIT done"
}

# The commit stays on the server as a local ref, so git never collects it and a rollback to it
# needs no fetch.
keep_release_ref() {
  git update-ref "refs/admin2/releases/$1" "$1" && log "kept $1 as refs/admin2/releases/$1"
}

roll_back_after_failure() {
  local previous="$1" stage="$2"
  if [ -z "$previous" ]; then
    log "no previous release to roll back to (first deploy)"
    return
  fi
  log "rolling back to $previous"
  git checkout --quiet --force --detach "$previous"
  CHECKED_OUT=""
  local healthy=1
  # The failed release may have recreated db or redis with its configuration: take them back.
  compose_tag "$previous" up -d "${BACKING_SERVICES[@]}" || healthy=0
  if [ "$stage" = 2 ]; then
    # The new release had taken traffic: switch every service back.
    switch_to "$previous" || healthy=0
  else
    compose_tag "$previous" up -d --no-deps "${APP_SERVICES[@]}" nginx || healthy=0
    local running=()
    mapfile -t running < <(compose ps -q web)
    if [ "${#running[@]}" -eq 0 ] || ! wait_healthy "${running[@]}" || ! public_health; then
      healthy=0
    fi
  fi
  # What is recorded is what is true: an unhealthy previous release is not "ok".
  if [ "$healthy" = 1 ]; then
    record_release rollback "$previous" ok
    log "rolled back to $previous"
  else
    record_release rollback "$previous" unhealthy
    log "rolled back, previous release unhealthy: $previous does not answer its health checks either; look at 'just logs web'"
    alert "admin2: deploy of $COMMIT failed and the previous release $previous is unhealthy"
  fi
}
