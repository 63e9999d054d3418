#!/usr/bin/env bash
# Deploy from a laptop or CI to the production server over SSH.
#
#   deploy/deploy.sh deploy [--force]   the commit checked out here (HEAD), exactly
#   deploy/deploy.sh rollback [--force] [SHA]   the previous release (or SHA); --force
#                                       discards local changes in the server's checkout
#   deploy/deploy.sh status             current/previous release, recent releases, containers
#
# Needs DEPLOY_HOST, DEPLOY_USER, DEPLOY_PATH (environment or deploy/.env); optional
# DEPLOY_PORT, DEPLOY_SSH_KEY, DEPLOY_SSH_OPTS, DEPLOY_KEEP_IMAGES, DEPLOY_HEALTH_TIMEOUT,
# DEPLOY_LOCK_TIMEOUT, DEPLOY_WEB_REPLICAS, DEPLOY_GIT_REMOTE, DEPLOY_REMOTE_PATH_PREFIX,
# DEPLOY_PULL_EVERY_DAYS, DEPLOY_BUILD_CACHE_KEEP_HOURS, DEPLOY_PRE_MIGRATION_BACKUP.
# The image: ADMIN2_REGISTRY's admin2:<commit> (pushed by `just release`), deployed by its
# digest (DEPLOY_IMAGE_DIGEST pins one; otherwise the registry is asked); the server pulls it
# and never builds; the db image likewise (admin2-db:<tag of its inputs>, deploy/lib/db-image.sh).
# DEPLOY_BUILD_ON_SERVER=yes is the old way (the server builds the commit).
# The work on the server is deploy/remote/release.sh and its phases, sent over the same
# connection as one script (deploy/lib/release-bundle.sh).
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/release-bundle.sh
. "$SCRIPTS_DIR/lib/release-bundle.sh"
# shellcheck source=deploy/lib/db-image.sh
. "$SCRIPTS_DIR/lib/db-image.sh"

usage() {
  die "usage: deploy/deploy.sh deploy [--force] | rollback [--force] [SHA] | status"
}

[ $# -ge 1 ] || usage
action="$1"
shift
load_env_file
require_var DEPLOY_HOST "the production server, e.g. admin2.example.com"
require_var DEPLOY_USER "the account on the server that may run docker"
require_var DEPLOY_PATH "the server's checkout of this repository, e.g. /srv/admin2"
# Values that start with '-' would be read by ssh as options.
[[ "$DEPLOY_HOST" =~ ^[A-Za-z0-9._:-]+$ && "$DEPLOY_HOST" != -* ]] || die "DEPLOY_HOST is not a host name: $DEPLOY_HOST"
[[ "$DEPLOY_USER" =~ ^[A-Za-z0-9._][A-Za-z0-9._-]*$ ]] || die "DEPLOY_USER is not a user name: $DEPLOY_USER"
[[ "$DEPLOY_PATH" == /* ]] || die "DEPLOY_PATH must be an absolute path on the server: $DEPLOY_PATH"
port="${DEPLOY_PORT:-22}"
[[ "$port" =~ ^[0-9]+$ ]] || die "DEPLOY_PORT is not a port number: $port"

remote_args=("$action" --path "$DEPLOY_PATH")
case "$action" in
  deploy)
    force=0
    for arg in "$@"; do
      case "$arg" in
        --force) force=1 ;;
        *) usage ;;
      esac
    done
    git rev-parse --git-dir >/dev/null 2>&1 || die "run this inside the repository (the commit to deploy is its HEAD)"
    commit="$(git rev-parse HEAD)"
    if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
      if [ "$force" = 1 ]; then
        note "the working tree has uncommitted changes: they are NOT deployed, only $commit is (--force)"
      else
        die "the working tree has uncommitted changes; commit and push them, or deploy HEAD anyway with --force"
      fi
    fi
    remote_args+=(--commit "$commit")
    [ "$force" = 0 ] || remote_args+=(--force)
    if [ -n "${ADMIN2_REGISTRY:-}" ]; then
      repository="${ADMIN2_REGISTRY%/}/admin2"
      digest="${DEPLOY_IMAGE_DIGEST:-}"
      if [ -z "$digest" ]; then
        digest="$(python3 "$SCRIPTS_DIR/lib/registry.py" digest "$repository:$commit")" \
          || die "$repository:$commit is not in the registry: run 'just release' (or let CI's release job finish) first"
      fi
      [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || die "not an image digest: $digest (sha256:<64 hex>)"
      remote_args+=(--image "$repository@$digest")
      note "image $repository@$digest"
      # The db image too (deploy/lib/db-image.sh), when this commit's Compose file runs it.
      if git show "$commit:containers/docker-compose.production.yml" | grep -q "image: $DB_IMAGE:"; then
        db_tag="$(db_image_tag "$commit")"
        db_digest="$(python3 "$SCRIPTS_DIR/lib/registry.py" digest "$repository-db:$db_tag")" \
          || die "$repository-db:$db_tag (the db image of $commit) is not in the registry: run 'just release' first"
        remote_args+=(--db-image "$repository-db@$db_digest")
        note "db image $repository-db@$db_digest"
      fi
    else
      case "${DEPLOY_BUILD_ON_SERVER:-no}" in
        yes | on | true | 1) remote_args+=(--build-on-server) ;;
        *) die "ADMIN2_REGISTRY is not set: the server deploys an image from a registry ('just release' pushes it) and never builds; DEPLOY_BUILD_ON_SERVER=yes builds on the server the old way" ;;
      esac
    fi
    note "deploying $commit to $DEPLOY_USER@$DEPLOY_HOST:$DEPLOY_PATH"
    ;;
  rollback)
    to=""
    for arg in "$@"; do
      case "$arg" in
        --force) remote_args+=(--force) ;;
        -*) usage ;;
        *)
          [ -z "$to" ] || usage
          to="$arg"
          ;;
      esac
    done
    [ -z "$to" ] || remote_args+=(--to "$to")
    note "rolling back $DEPLOY_USER@$DEPLOY_HOST:$DEPLOY_PATH"
    ;;
  status)
    [ $# -eq 0 ] || usage
    ;;
  *) usage ;;
esac

[ -z "${DEPLOY_KEEP_IMAGES:-}" ] || remote_args+=(--keep "$DEPLOY_KEEP_IMAGES")
[ -z "${DEPLOY_HEALTH_TIMEOUT:-}" ] || remote_args+=(--health-timeout "$DEPLOY_HEALTH_TIMEOUT")
[ -z "${DEPLOY_LOCK_TIMEOUT:-}" ] || remote_args+=(--lock-timeout "$DEPLOY_LOCK_TIMEOUT")
[ -z "${DEPLOY_WEB_REPLICAS:-}" ] || remote_args+=(--web-replicas "$DEPLOY_WEB_REPLICAS")
[ -z "${DEPLOY_GIT_REMOTE:-}" ] || remote_args+=(--git-remote "$DEPLOY_GIT_REMOTE")
[ -z "${DEPLOY_REMOTE_PATH_PREFIX:-}" ] || remote_args+=(--path-prefix "$DEPLOY_REMOTE_PATH_PREFIX")
[ -z "${DEPLOY_PULL_EVERY_DAYS:-}" ] || remote_args+=(--pull-every-days "$DEPLOY_PULL_EVERY_DAYS")
[ -z "${DEPLOY_BUILD_CACHE_KEEP_HOURS:-}" ] || remote_args+=(--cache-keep-hours "$DEPLOY_BUILD_CACHE_KEEP_HOURS")
case "${DEPLOY_PRE_MIGRATION_BACKUP:-on}" in
  on | yes | true | 1) ;;
  off | no | false | 0) remote_args+=(--no-pre-migration-backup) ;;
  *) die "DEPLOY_PRE_MIGRATION_BACKUP must be on or off, got '$DEPLOY_PRE_MIGRATION_BACKUP'" ;;
esac

ssh_cmd=(ssh -o BatchMode=yes -o ConnectTimeout=15 -p "$port")
if [ -n "${DEPLOY_SSH_KEY:-}" ]; then
  key="$DEPLOY_SSH_KEY"
  # a literal "~/" from deploy/.env means the home directory
  # shellcheck disable=SC2088
  [[ "$key" != "~/"* ]] || key="$HOME/${key:2}"
  [ -r "$key" ] || die "DEPLOY_SSH_KEY=$DEPLOY_SSH_KEY is not a readable file"
  ssh_cmd+=(-i "$key" -o IdentitiesOnly=yes)
fi
if [ -n "${DEPLOY_SSH_OPTS:-}" ]; then
  read -r -a extra_opts <<<"$DEPLOY_SSH_OPTS"
  ssh_cmd+=("${extra_opts[@]}")
fi

# ssh joins its arguments into one command line for the remote shell: quote each one.
remote_command="bash -s --"
for arg in "${remote_args[@]}"; do
  remote_command+=" $(printf '%q' "$arg")"
done

status=0
"${ssh_cmd[@]}" "$DEPLOY_USER@$DEPLOY_HOST" "$remote_command" < <(release_bundle "$SCRIPTS_DIR") || status=$?
if [ "$status" -eq 255 ]; then
  die "ssh to $DEPLOY_USER@$DEPLOY_HOST port $port failed (key, host key or network)"
fi
exit "$status"
