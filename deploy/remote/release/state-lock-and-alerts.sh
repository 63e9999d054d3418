# shellcheck shell=bash
# Release phase: state files, the deploy lock, alerts, the exit handler.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

read_state() {
  cat "$STATE/$1" 2>/dev/null || true
}

acquire_lock() {
  exec 9>>"$STATE/lock"
  if ! flock -w "$LOCK_TIMEOUT" 9; then
    local holder
    holder="$(cat "$STATE/lock.holder" 2>/dev/null || echo "unknown")"
    die "another deploy holds the lock $STATE/lock (holder: $holder); waited ${LOCK_TIMEOUT}s, try again when it has finished"
  fi
  LOCKED=1
  echo "$ACTION by $(id -un) pid $$ since $STARTED_AT" >"$STATE/lock.holder"
  log "lock acquired ($STATE/lock)"
}

release_lock() {
  if [ "$LOCKED" = 1 ]; then
    rm -f "$STATE/lock.holder"
    flock -u 9
    LOCKED=0
    log "lock released"
  fi
}

# The operator's alert hook (deploy/alert.sh of the checkout: ADMIN2_ALERT_COMMAND in the
# server's deploy/.env), with the end of the deploy log as the message. Never fails the caller.
alert() {
  local subject="$1"
  [ -x deploy/alert.sh ] || { log "no deploy/alert.sh in this checkout: not alerting ($subject)"; return 0; }
  tail -n 60 "$STATE/deploy.log" 2>/dev/null | deploy/alert.sh "$subject" || log "the alert hook failed"
}

kept_images() {
  docker image ls "$IMAGE" --format '{{.Tag}}' | grep -E '^[0-9a-f]{40}$' | tr '\n' ' ' || true
}

on_exit() {
  local status=$?
  # A failure between checkout and switch leaves the old containers serving: put the
  # checkout back so the Compose files on disk match what runs, and db and redis with it.
  if [ "$status" -ne 0 ] && [ -n "$CHECKED_OUT" ]; then
    local current
    current="$(read_state current)"
    # A deploy that failed before its switch (build, db and redis, migration) is history too.
    [ "$ACTION" != deploy ] || record_release deploy "$CHECKED_OUT" failed
    if [ -n "$current" ] && [ "$CHECKED_OUT" != "$current" ]; then
      git checkout --quiet --detach "$current" 2>/dev/null && log "checkout restored to $current"
      # The failed release may have recreated db or redis with its configuration.
      if compose_tag "$current" up -d --wait "${BACKING_SERVICES[@]}" >/dev/null 2>&1; then
        log "db and redis run $current's configuration"
      else
        log "db and redis do not come up healthy on $current's configuration either: 'just logs db', 'just logs redis'"
      fi
    fi
  fi
  [ "$status" -eq 0 ] || alert "admin2: $ACTION on $(hostname) FAILED (exit $status)"
  release_lock
  [ "$status" -eq 0 ] || log "$ACTION FAILED (exit $status)"
}

# time action commit result user digest db-digest: the digests of the app and db images that
# ran ('-' when built here; the db's is of the checkout, which is the release's at each call)
record_release() {
  local action="$1" tag="$2" result="$3"
  printf '%s %s %s %s %s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$action" "$tag" "$result" "$(id -un)" \
    "$(release_digest "$tag")" "$(db_digest)" >>"$STATE/releases.log"
}

set_current() {
  local tag="$1" current
  current="$(read_state current)"
  if [ -n "$current" ] && [ "$current" != "$tag" ]; then
    echo "$current" >"$STATE/previous"
  fi
  echo "$tag" >"$STATE/current"
}
