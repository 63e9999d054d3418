#!/usr/bin/env bash
# Runs ON THE SERVER. deploy/deploy.sh pipes it over ssh (`bash -s -- ACTION ...`) with its
# phases (deploy/remote/release/*.sh, one file per step) and the service list, as one
# self-contained bundle: the checkout it manages may be at any older commit.
#
#   release.sh deploy   --path DIR --commit SHA --image REPO@DIGEST [--db-image REPO@DIGEST]
#                       [--force]
#   release.sh deploy   --path DIR --commit SHA --build-on-server [--force]   (the old way)
#   release.sh rollback --path DIR [--to SHA] [--force]
#   release.sh status   --path DIR
#
# A release is a commit; its image, pulled by digest (or built here), is tagged with the full
# commit id (admin2:<commit>) and the
# commit is kept as a local ref (refs/admin2/releases/<commit>), so a rollback needs neither
# the git server nor a build. State lives in DIR/.deploy: lock, current, previous,
# releases.log, deploy.log, last-pull.
# Its settings are read by the phases, which shellcheck sees in the bundle (tests/ops).
# shellcheck disable=SC2034
set -euo pipefail

ACTION=""
DEPLOY_PATH=""
COMMIT=""
IMAGE_REF=""
DB_IMAGE_REF=""
BUILD_ON_SERVER=0
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
# From deploy/services (main reads them): the app-image services that follow web at a switch
# (worker, beat) and the backing services every release starts first (database, cache).
APP_SERVICES=()
BACKING_SERVICES=()

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
  die "usage: release.sh deploy|rollback|status --path DIR [--commit SHA --image REPO@DIGEST] [--to SHA] [--force]"
}

parse_args() {
  [ $# -ge 1 ] || usage
  ACTION="$1"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --path) DEPLOY_PATH="$2"; shift 2 ;;
      --commit) COMMIT="$2"; shift 2 ;;
      --image) IMAGE_REF="$2"; shift 2 ;;
      --db-image) DB_IMAGE_REF="$2"; shift 2 ;;
      --build-on-server) BUILD_ON_SERVER=1; shift ;;
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

main() {
  # The script itself arrives on stdin: nothing below may read it.
  exec </dev/null
  parse_args "$@"
  mapfile -t APP_SERVICES < <(services production app 'worker|beat')
  mapfile -t BACKING_SERVICES < <(services production '' 'database|cache')
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

# main "$@" ends the bundle: deploy/deploy.sh sends the phases (deploy/remote/release/*.sh)
# and the service list (deploy/lib/services.sh) after this file, then that call.
