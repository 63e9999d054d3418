# shellcheck shell=bash
# Release phase: the rollback and status actions.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

do_rollback() {
  acquire_lock
  local current target
  current="$(read_state current)"
  target="${ROLLBACK_TO:-$(read_state previous)}"
  [ -n "$target" ] || die "no previous release recorded in $STATE/previous: nothing to roll back to"
  is_sha "$target" || die "not a release id: $target"
  [ "$target" != "$current" ] || die "$target is already the current release"
  # Never rebuilt: a rebuild from floating base tags is not the image that ran.
  docker image inspect "$IMAGE:$target" >/dev/null 2>&1 \
    || die "the image $IMAGE:$target is not on this server (pruned: DEPLOY_KEEP_IMAGES keeps $KEEP releases); a rollback never rebuilds one. Deploy that commit instead (check it out on your laptop, just deploy-prod), or roll back to a release whose image is kept: $(kept_images)"
  log "rolling back from ${current:-none} to $target"
  checkout "$target"
  pin_images
  db_image
  # db and redis take the configuration of the release rolled back to (recreated if it differs).
  compose_tag "$target" up -d "${BACKING_SERVICES[@]}" || die "could not start db and redis"

  local result=0
  switch_to "$target" || result=$?
  if [ "$result" -ne 0 ]; then
    record_release rollback "$target" failed
    [ "$result" = 1 ] || switch_to "$current" || true
    die "$target did not become healthy; still on ${current:-none}"
  fi
  set_current "$target"
  CHECKED_OUT=""
  record_release rollback "$target" ok
  log "rolled back to $target (previous: $(read_state previous))"
}

do_status() {
  echo "current:  $(read_state current)"
  echo "previous: $(read_state previous)"
  echo "checkout: $(git rev-parse HEAD)"
  echo "recent releases:"
  tail -n 10 "$STATE/releases.log" 2>/dev/null | sed 's/^/  /' || true
  compose ps
}
