#!/usr/bin/env bash
# Runs ON THE SERVER. deploy/deploy.sh pipes it over ssh (`bash -s -- ACTION ...`), so it is
# self-contained: the checkout it manages may be at any older commit.
#
#   release.sh deploy   --path DIR --commit SHA [--force]
#   release.sh rollback --path DIR [--to SHA] [--force]
#   release.sh status   --path DIR
#
# A release is a commit; its image is tagged with the full commit id (admin2:<commit>) and the
# commit is kept as a local ref (refs/admin2/releases/<commit>), so a rollback needs neither
# the git server nor a build. State lives in DIR/.deploy: lock, current, previous,
# releases.log, deploy.log, last-pull.
set -euo pipefail

ACTION=""
DEPLOY_PATH=""
COMMIT=""
ROLLBACK_TO=""
FORCE=0
KEEP=3
HEALTH_TIMEOUT=180
HEALTH_INTERVAL=2
LOCK_TIMEOUT=10
WEB_REPLICAS=2
PULL_EVERY_DAYS=7
CACHE_KEEP_HOURS=168
PRE_MIGRATION_BACKUP=1
GIT_REMOTE=origin
PATH_PREFIX=""
IMAGE=admin2
APP_SERVICES=(celery celery-beat)

STATE=""
LOCKED=0
CHECKED_OUT=""
STARTED_AT="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

log() {
  echo "[$(date -u +%Y-%m-%dT%H:%M:%SZ)] $*"
}

die() {
  log "error: $*" >&2
  exit 1
}

usage() {
  die "usage: release.sh deploy|rollback|status --path DIR [--commit SHA] [--to SHA] [--force]"
}

parse_args() {
  [ $# -ge 1 ] || usage
  ACTION="$1"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --path) DEPLOY_PATH="$2"; shift 2 ;;
      --commit) COMMIT="$2"; shift 2 ;;
      --to) ROLLBACK_TO="$2"; shift 2 ;;
      --force) FORCE=1; shift ;;
      --keep) KEEP="$2"; shift 2 ;;
      --health-timeout) HEALTH_TIMEOUT="$2"; shift 2 ;;
      --lock-timeout) LOCK_TIMEOUT="$2"; shift 2 ;;
      --web-replicas) WEB_REPLICAS="$2"; shift 2 ;;
      --git-remote) GIT_REMOTE="$2"; shift 2 ;;
      --path-prefix) PATH_PREFIX="$2"; shift 2 ;;
      --pull-every-days) PULL_EVERY_DAYS="$2"; shift 2 ;;
      --cache-keep-hours) CACHE_KEEP_HOURS="$2"; shift 2 ;;
      --no-pre-migration-backup) PRE_MIGRATION_BACKUP=0; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ -n "$DEPLOY_PATH" ] || die "--path is required"
  for number in "$KEEP" "$HEALTH_TIMEOUT" "$LOCK_TIMEOUT" "$WEB_REPLICAS" "$PULL_EVERY_DAYS" "$CACHE_KEEP_HOURS"; do
    [[ "$number" =~ ^[0-9]+$ ]] || die "not a number: $number"
  done
  [ "$KEEP" -ge 2 ] || die "--keep must be at least 2 (the current and the previous release)"
  [ "$WEB_REPLICAS" -ge 1 ] || die "--web-replicas must be at least 1"
}

is_sha() {
  [[ "$1" =~ ^[0-9a-f]{40}$ ]]
}

# ---- compose -------------------------------------------------------------------------------

COMPOSE=()
COMPOSE_FILE=containers/docker-compose.production.yml
ENV_FILE=containers/.env.production

compose() {
  if [ ${#COMPOSE[@]} -eq 0 ]; then
    if docker compose version >/dev/null 2>&1; then
      COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
      COMPOSE=(docker-compose)
    else
      die "neither 'docker compose' nor 'docker-compose' is installed on the server"
    fi
  fi
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

# ---- state and lock ------------------------------------------------------------------------

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
      if compose_tag "$current" up -d --wait db redis >/dev/null 2>&1; then
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

record_release() {
  local action="$1" tag="$2" result="$3"
  printf '%s %s %s %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$action" "$tag" "$result" "$(id -un)" \
    >>"$STATE/releases.log"
}

set_current() {
  local tag="$1" current
  current="$(read_state current)"
  if [ -n "$current" ] && [ "$current" != "$tag" ]; then
    echo "$current" >"$STATE/previous"
  fi
  echo "$tag" >"$STATE/current"
}

# ---- steps ---------------------------------------------------------------------------------

# The commit is fetched only when the server does not have it yet: a rollback, or a deploy of
# a commit seen before, works while the git server is unreachable.
checkout() {
  local sha="$1"
  if git cat-file -e "$sha^{commit}" 2>/dev/null; then
    log "commit $sha is here already: no fetch needed"
  else
    log "fetching $GIT_REMOTE"
    git fetch --quiet "$GIT_REMOTE" || die "git fetch $GIT_REMOTE failed on the server, and $sha is not here"
    git cat-file -e "$sha^{commit}" 2>/dev/null \
      || die "commit $sha is not in $GIT_REMOTE as the server sees it: push it first"
  fi
  local changes
  changes="$(git status --porcelain --untracked-files=no)"
  if [ -n "$changes" ]; then
    [ "$FORCE" = 1 ] || die "the checkout in $DEPLOY_PATH has local changes (git -C $DEPLOY_PATH status); --force discards them"
    log "discarding these local changes on the server (--force):"
    printf '%s\n' "$changes" | sed 's/^/    /'
    git diff --stat HEAD | sed 's/^/    /' || true
    local saved
    saved="$STATE/discarded-$(date -u +%Y%m%dT%H%M%SZ).patch"
    git diff HEAD >"$saved" && log "the discarded changes are saved in $saved"
    git checkout --quiet --force --detach "$sha"
  else
    git checkout --quiet --detach "$sha"
  fi
  [ "$(git rev-parse HEAD)" = "$sha" ] || die "checkout of $sha did not take"
  CHECKED_OUT="$sha"
  log "checked out $sha"
}

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

# Migrations pending for this release's code (Django's `migrate --check` in a one-off container
# of its image): 0 none, 1 some.
migrations_pending() {
  local tag="$1"
  if compose_tag "$tag" run --rm --no-deps migrate admin2 migrate --check >/dev/null 2>&1; then
    return 1
  fi
  return 0
}

migrate() {
  local tag="$1"
  # `up -d` also recreates db or redis when their configuration changed (config-sum labels);
  # --wait: a configuration they cannot run with fails here, before anything migrates.
  compose_tag "$tag" up -d --wait db redis \
    || die "db and redis did not start healthy with this release's configuration ('just logs db', 'just logs redis')"
  if [ "$PRE_MIGRATION_BACKUP" = 1 ] && [ -n "$(read_state current)" ] && migrations_pending "$tag"; then
    local label="pre-migrate-${tag:0:12}"
    log "migrations are pending: database backup first (label $label)"
    deploy/backup.sh --label "$label" --no-media \
      || die "the pre-migration backup failed: nothing was migrated (--no-pre-migration-backup skips it)"
  fi
  log "migrating with $IMAGE:$tag (one-shot service migrate)"
  compose_tag "$tag" run --rm migrate || die "the migration (service migrate) failed"
}

container_state() {
  docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null || echo gone
}

# Asked inside the container itself, so it is this replica that answers, not its neighbour:
# the image's probe (containers/healthcheck.py) presents a Host header Django accepts.
probe() {
  docker exec "$1" python /app/containers/healthcheck.py /healthz >/dev/null 2>&1 \
    && docker exec "$1" python /app/containers/healthcheck.py /readyz >/dev/null 2>&1
}

wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) id state
  for id in "$@"; do
    while :; do
      state="$(container_state "$id")"
      if [ "$state" = healthy ] || [ "$state" = running ]; then
        if probe "$id"; then
          log "container $id is healthy (/healthz and /readyz answer)"
          break
        fi
      elif [ "$state" = unhealthy ] || [ "$state" = exited ] || [ "$state" = gone ]; then
        log "container $id is $state"
        docker logs --tail 40 "$id" 2>&1 | sed 's/^/    /' || true
        return 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "container $id is still '$state' after ${HEALTH_TIMEOUT}s"
        docker logs --tail 40 "$id" 2>&1 | sed 's/^/    /' || true
        return 1
      fi
      sleep "$HEALTH_INTERVAL"
    done
  done
}

# Only a container that is not there or not running is "nothing to reload"; a reload that
# fails (bad configuration, signal refused) is a failure of the deploy.
reload_nginx() {
  local id state output
  id="$(compose ps -q nginx 2>/dev/null | head -n 1)"
  state=gone
  [ -z "$id" ] || state="$(docker inspect --format '{{.State.Status}}' "$id" 2>/dev/null || echo gone)"
  if [ "$state" != running ]; then
    log "nginx is not running ($state): nothing to reload"
    return 0
  fi
  if output="$(compose exec -T nginx sh -c 'nginx -t -q && nginx -s reload' 2>&1)"; then
    log "nginx reloaded (upstream re-resolved)"
  else
    log "nginx reload FAILED:"
    printf '%s\n' "$output" | sed 's/^/    /'
    return 1
  fi
}

# The release's Nginx configuration, rendered from its templates and tested with `nginx -t` in
# a one-off container of the nginx service, before any traffic moves: a configuration that
# would not start fails the deploy while the running Nginx and the old replicas keep serving.
# (Only `up -d nginx` at the end of the switch applies it, recreating the container.)
nginx_config_ok() {
  local output
  if output="$(compose_tag "$1" run --rm --no-deps -T nginx nginx -t 2>&1)"; then
    log "nginx configuration of this release passes nginx -t"
  else
    log "nginx configuration of this release FAILS nginx -t:"
    printf '%s\n' "$output" | tail -n 20 | sed 's/^/    /'
    return 1
  fi
}

# After a reload, Nginx's old workers finish their requests with the old configuration (whose
# upstream knows only the old replicas) and then exit; keep-alive clients stay on them until
# then. The old replicas may stop only when no old worker is left (at most 60 s, e.g. a long
# export), or requests on those connections meet a refused connection with nowhere to retry.
wait_nginx_drained() {
  local id deadline=$((SECONDS + 60)) left
  id="$(compose ps -q nginx 2>/dev/null | head -n 1)"
  [ -n "$id" ] || return 0
  while :; do
    left="$(docker top "$id" -eo pid,args 2>/dev/null | grep -c 'shutting down' || true)"
    [ "${left:-0}" -gt 0 ] || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "nginx still has $left old worker(s) after 60 s: going on"
      return 0
    fi
    sleep 0.2
  done
}

# Through Nginx from the host, as a browser would come in: the site's name resolved to this
# machine, HTTPS when Nginx terminates TLS (the certificate is not judged here), and only a
# 200 counts (a redirect is not health).
public_health() {
  local host port scheme=http code path deadline=$((SECONDS + HEALTH_TIMEOUT))
  local tls_options=()
  host="$(env_value DJANGO_ALLOWED_HOSTS localhost)"
  host="${host%%,*}"
  host="${host#.}"
  port="$(env_value PORT_NGINX 8061)"
  if [ "$(env_value NGINX_TLS off)" = on ]; then
    scheme=https
    port="$(env_value NGINX_TLS_PORT 8443)"
    tls_options=(--insecure)
  fi
  for path in /healthz /readyz; do
    while :; do
      code="$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 5 \
        --resolve "$host:$port:127.0.0.1" "${tls_options[@]}" "$scheme://$host:$port$path" || true)"
      [ "$code" != 200 ] || break
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "$scheme://$host:$port$path answered ${code:-nothing} through Nginx, not 200"
        return 1
      fi
      sleep "$HEALTH_INTERVAL"
    done
  done
  log "Nginx answers /healthz and /readyz at $scheme://$host:$port"
}

# The health-gated switch. New web replicas start beside the old ones (--no-recreate), must
# answer their own health checks and the release's Nginx configuration must pass `nginx -t`,
# then Nginx re-resolves the upstream and the old replicas are stopped gracefully; Nginx
# retries a refused connection on the next upstream server.
# Returns 1 when the new release never took traffic (old replicas untouched), 2 when it
# failed after the switch.
switch_to() {
  local tag="$1" old=() all=() new=() id want
  mapfile -t old < <(compose ps -q web)
  want="$WEB_REPLICAS"
  [ "${#old[@]}" -le "$want" ] || want="${#old[@]}"
  log "starting $want new web replica(s) on $IMAGE:$tag beside ${#old[@]} running"
  # (set -e does not reach into a function called from `||`: every step checks itself.)
  compose_tag "$tag" up -d --no-deps --no-recreate --scale "web=$((${#old[@]} + want))" web \
    || { log "compose could not start the new replicas"; return 1; }
  mapfile -t all < <(compose ps -q web)
  for id in "${all[@]}"; do
    [[ " ${old[*]} " == *" $id "* ]] || new+=("$id")
  done
  if [ "${#new[@]}" -eq 0 ]; then
    log "no new web container appeared"
    return 1
  fi
  log "waiting for health of ${new[*]} (deadline ${HEALTH_TIMEOUT}s)"
  if ! wait_healthy "${new[@]}" || ! nginx_config_ok "$tag" || ! reload_nginx; then
    log "removing the new replicas; the old ones keep serving"
    docker rm -f "${new[@]}" >/dev/null || true
    return 1
  fi
  wait_nginx_drained
  if [ "${#old[@]}" -gt 0 ]; then
    # No --time: each container stops within its own service's stop_grace_period.
    log "stopping the old replicas ${old[*]} (graceful, within web's stop_grace_period)"
    docker stop "${old[@]}" >/dev/null || { log "could not stop ${old[*]}"; return 2; }
    reload_nginx || return 2
    docker rm "${old[@]}" >/dev/null || log "could not remove ${old[*]}"
  fi
  log "switching workers and scheduler to $IMAGE:$tag"
  compose_tag "$tag" up -d --no-deps "${APP_SERVICES[@]}" nginx \
    || { log "compose could not start ${APP_SERVICES[*]} nginx"; return 2; }
  public_health || return 2
}

prune_images() {
  local keep=() tag line
  for tag in "$(read_state current)" "$(read_state previous)"; do
    [ -z "$tag" ] || keep+=("$tag")
  done
  if [ -f "$STATE/releases.log" ]; then
    while read -r line; do
      tag="$(echo "$line" | awk '{print $3}')"
      [ "${#keep[@]}" -lt "$KEEP" ] || break
      [[ " ${keep[*]} " == *" $tag "* ]] || keep+=("$tag")
    done < <(grep ' ok ' "$STATE/releases.log" | tac)
  fi
  while read -r tag; do
    is_sha "$tag" || continue
    [[ " ${keep[*]} " == *" $tag "* ]] && continue
    if docker image rm "$IMAGE:$tag" >/dev/null 2>&1; then
      log "pruned image $IMAGE:$tag"
    else
      log "could not prune $IMAGE:$tag (still in use?)"
    fi
  done < <(docker image ls "$IMAGE" --format '{{.Tag}}')
  log "keeping images of ${#keep[@]} release(s): ${keep[*]}"
}

# ---- actions -------------------------------------------------------------------------------

do_deploy() {
  is_sha "$COMMIT" || die "--commit must be a full 40-character commit id, got '$COMMIT'"
  acquire_lock
  local current
  current="$(read_state current)"
  log "deploying $COMMIT (current: ${current:-none})"
  checkout "$COMMIT"
  build "$COMMIT"
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
  prune_images
  prune_build_cache
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
  compose_tag "$previous" up -d db redis || healthy=0
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
  # db and redis take the configuration of the release rolled back to (recreated if it differs).
  compose_tag "$target" up -d db redis || die "could not start db and redis"

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

main() {
  # The script itself arrives on stdin: nothing below may read it.
  exec </dev/null
  parse_args "$@"
  [ -z "$PATH_PREFIX" ] || export PATH="$PATH_PREFIX:$PATH"
  [ -d "$DEPLOY_PATH/.git" ] || die "$DEPLOY_PATH is not a git checkout (clone the repository there first, see docs/operations.md)"
  cd "$DEPLOY_PATH"
  STATE="$DEPLOY_PATH/.deploy"
  mkdir -p "$STATE"
  mkdir -p .git/info
  grep -qx '/.deploy/' .git/info/exclude 2>/dev/null || echo '/.deploy/' >>.git/info/exclude
  [ -f "$ENV_FILE" ] || die "$DEPLOY_PATH/$ENV_FILE is missing: copy containers/.env.production.example and fill it in"
  if [ "$ACTION" = status ]; then
    do_status
    return
  fi
  exec > >(tee -a "$STATE/deploy.log") 2>&1
  trap on_exit EXIT
  log "== $ACTION started by $(id -un) on $(hostname)"
  case "$ACTION" in
    deploy) do_deploy ;;
    rollback) do_rollback ;;
    *) usage ;;
  esac
}

main "$@"
