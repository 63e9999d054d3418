#!/usr/bin/env bash
# Runs ON THE SERVER. deploy/deploy.sh pipes it over ssh (`bash -s -- ACTION ...`), so it is
# self-contained: the checkout it manages may be at any older commit.
#
#   release.sh deploy   --path DIR --commit SHA [--force]
#   release.sh rollback --path DIR [--to SHA]
#   release.sh status   --path DIR
#
# A release is a commit; its images are tagged with the full commit id. State lives in
# DIR/.deploy: lock, current, previous, releases.log, deploy.log.
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
STOP_TIMEOUT=30
WEB_REPLICAS=2
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
      *) die "unknown option $1" ;;
    esac
  done
  [ -n "$DEPLOY_PATH" ] || die "--path is required"
  for number in "$KEEP" "$HEALTH_TIMEOUT" "$LOCK_TIMEOUT" "$WEB_REPLICAS"; do
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

on_exit() {
  local status=$?
  # A failure between checkout and switch leaves the old containers serving: put the
  # checkout back so the Compose files on disk match what runs.
  if [ "$status" -ne 0 ] && [ -n "$CHECKED_OUT" ]; then
    local current
    current="$(read_state current)"
    if [ -n "$current" ] && [ "$CHECKED_OUT" != "$current" ]; then
      git checkout --quiet --detach "$current" 2>/dev/null && log "checkout restored to $current"
    fi
  fi
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

checkout() {
  local sha="$1"
  log "fetching $GIT_REMOTE"
  git fetch --quiet "$GIT_REMOTE" || die "git fetch $GIT_REMOTE failed on the server"
  git cat-file -e "$sha^{commit}" 2>/dev/null \
    || die "commit $sha is not in $GIT_REMOTE as the server sees it: push it first"
  if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    [ "$FORCE" = 1 ] || die "the checkout in $DEPLOY_PATH has local changes (git -C $DEPLOY_PATH status); --force discards them"
    log "discarding local changes on the server (--force)"
    git checkout --quiet --force --detach "$sha"
  else
    git checkout --quiet --detach "$sha"
  fi
  [ "$(git rev-parse HEAD)" = "$sha" ] || die "checkout of $sha did not take"
  CHECKED_OUT="$sha"
  log "checked out $sha"
}

build() {
  local tag="$1"
  log "building images $IMAGE:$tag"
  compose_tag "$tag" build
}

migrate() {
  local tag="$1"
  log "migrating with $IMAGE:$tag (one-shot service migrate)"
  compose_tag "$tag" up -d db redis
  compose_tag "$tag" run --rm migrate
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

reload_nginx() {
  if compose exec -T nginx nginx -s reload >/dev/null 2>&1; then
    log "nginx reloaded (upstream re-resolved)"
  else
    log "nginx is not running yet: nothing to reload"
  fi
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
# answer their own health checks, then Nginx re-resolves the upstream and the old replicas
# are stopped gracefully; Nginx retries a refused connection on the next upstream server.
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
  if ! wait_healthy "${new[@]}"; then
    log "removing the new replicas; the old ones keep serving"
    docker rm -f "${new[@]}" >/dev/null || true
    return 1
  fi
  reload_nginx
  if [ "${#old[@]}" -gt 0 ]; then
    log "stopping the old replicas ${old[*]} (graceful, ${STOP_TIMEOUT}s)"
    docker stop --time "$STOP_TIMEOUT" "${old[@]}" >/dev/null || { log "could not stop ${old[*]}"; return 2; }
    reload_nginx
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
    log "health check failed for $COMMIT"
    roll_back_after_failure "$current" "$result"
    exit 1
  fi
  set_current "$COMMIT"
  CHECKED_OUT=""
  record_release deploy "$COMMIT" ok
  log "release $COMMIT recorded (previous: ${current:-none})"
  prune_images
  log "deploy of $COMMIT done"
}

roll_back_after_failure() {
  local previous="$1" stage="$2"
  if [ -z "$previous" ]; then
    log "no previous release to roll back to (first deploy)"
    return
  fi
  log "rolling back to $previous"
  git checkout --quiet --detach "$previous"
  CHECKED_OUT=""
  if [ "$stage" = 2 ]; then
    # The new release had taken traffic: switch every service back.
    switch_to "$previous" || log "WARNING: $previous is not healthy either: look at 'just logs web'"
  else
    compose_tag "$previous" up -d --no-deps "${APP_SERVICES[@]}"
    local running=()
    mapfile -t running < <(compose ps -q web)
    if [ "${#running[@]}" -eq 0 ] || ! wait_healthy "${running[@]}"; then
      log "WARNING: the web replicas of $previous are not healthy: look at 'just logs web'"
    fi
  fi
  record_release rollback "$previous" ok
  log "rolled back to $previous"
}

do_rollback() {
  acquire_lock
  local current target
  current="$(read_state current)"
  target="${ROLLBACK_TO:-$(read_state previous)}"
  [ -n "$target" ] || die "no previous release recorded in $STATE/previous: nothing to roll back to"
  is_sha "$target" || die "not a release id: $target"
  [ "$target" != "$current" ] || die "$target is already the current release"
  log "rolling back from ${current:-none} to $target"
  checkout "$target"
  if ! docker image inspect "$IMAGE:$target" >/dev/null 2>&1; then
    log "image $IMAGE:$target was pruned: rebuilding it"
    build "$target"
  fi
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
