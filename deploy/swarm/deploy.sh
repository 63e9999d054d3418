#!/usr/bin/env bash
# Deploy a release to the swarm: deploy/swarm/deploy.sh IMAGE@sha256:DIGEST [ENV_FILE]
# The migration job runs once with the new image before web and the workers get it (on the
# very first deploy, right after the stack is created). DOCKER_HOST names a manager; DOCKER
# selects the CLI. Images other than the app's: ADMIN2_{NGINX,POSTGRES,REDIS}_IMAGE.
set -euo pipefail

docker="${DOCKER:-docker}"
stack="${ADMIN2_STACK_NAME:-admin2}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
file="$here/containers/docker-stack.production.yml"

die() { echo "deploy-swarm: $*" >&2; exit 1; }
[ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: deploy.sh IMAGE@sha256:DIGEST [ENV_FILE]"
case "$1" in *@sha256:*) ;; *) die "$1: name the release by digest (IMAGE@sha256:...)" ;; esac
image="$1"
env_file="${2:-$here/containers/.env.production}"
[ -r "$env_file" ] || die "cannot read the env file $env_file"
env_file="$(cd "$(dirname "$env_file")" && pwd)/$(basename "$env_file")"

# `docker stack deploy` reads no .env: the env file's KEY=VALUE lines become the environment.
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; *=*) export "${line%%=*}=${line#*=}" ;; esac
done < "$env_file"
export ADMIN2_ENV_FILE="$env_file" ADMIN2_IMAGE="$image"
# Configs and secrets are immutable in a swarm: a changed file must get a new name.
ADMIN2_CONFIG_VERSION="$(cd "$here/containers" && cat swarm/wait-for.py redis/* postgres/postgresql.conf \
  postgres/initdb/* nginx/nginx.conf nginx/templates/swarm.conf.template nginx/snippets/* nginx/errors/* \
  | sha256sum | cut -c1-12)"
export ADMIN2_CONFIG_VERSION
secrets_dir="${ADMIN2_SECRETS_DIR:-$here/containers/secrets}"
certs_dir="${NGINX_CERTS_DIR:-$here/containers/certs}"
# The S3 secret key is a swarm secret: in the env file it would be in every service's spec.
ADMIN2_S3_SECRET_PATH="$secrets_dir/s3_secret_access_key"
[ -z "${ADMIN2_S3_SECRET_ACCESS_KEY:-}" ] \
  || die "ADMIN2_S3_SECRET_ACCESS_KEY: move it from $env_file into $ADMIN2_S3_SECRET_PATH"
if [ ! -s "$ADMIN2_S3_SECRET_PATH" ]; then
  [ "${ADMIN2_MEDIA_STORAGE:-filesystem}" != s3 ] \
    || die "ADMIN2_MEDIA_STORAGE=s3: put the bucket's secret key in $ADMIN2_S3_SECRET_PATH"
  # Media on each node's volume: the settings never read the key, but a swarm secret
  # cannot be empty or absent.
  ADMIN2_S3_SECRET_PATH="$(mktemp)"
  trap 'rm -f "$ADMIN2_S3_SECRET_PATH"' EXIT
  echo "unused: ADMIN2_MEDIA_STORAGE is not s3" > "$ADMIN2_S3_SECRET_PATH"
fi
export ADMIN2_S3_SECRET_PATH
ADMIN2_SECRETS_VERSION="$(cat "$secrets_dir"/django_secret_key "$secrets_dir"/postgres_password \
  "$secrets_dir"/clickhouse_password "$secrets_dir"/redis_password "$ADMIN2_S3_SECRET_PATH" \
  "$certs_dir/${NGINX_TLS_CERT:-fullchain.pem}" "$certs_dir/${NGINX_TLS_KEY:-privkey.pem}" \
  | sha256sum | cut -c1-12)"
export ADMIN2_SECRETS_VERSION

stack_deploy() {
  echo "deploy-swarm: docker stack deploy $stack ($ADMIN2_IMAGE)"
  (cd "$here/containers" && "$docker" stack deploy --prune --with-registry-auth -c "$file" "$stack")
}

migrate() {
  echo "deploy-swarm: migration job with $ADMIN2_IMAGE"
  "$docker" service update --quiet --detach --image "$ADMIN2_IMAGE" --replicas 1 --force \
    "${stack}_migrate" >/dev/null
  local state="" _
  for _ in $(seq 600); do
    # The newest task of the job's one slot comes first.
    state="$("$docker" service ps --no-trunc --format '{{.CurrentState}}' "${stack}_migrate" | head -1)"
    case "$state" in
      Complete*) break ;;
      Failed*|Rejected*) "$docker" service logs --tail 50 "${stack}_migrate" >&2 || true
                         die "the migration job failed: $state" ;;
    esac
    sleep 1
  done
  case "$state" in Complete*) ;; *) die "the migration job did not finish: $state" ;; esac
  "$docker" service update --quiet --detach --replicas 0 "${stack}_migrate" >/dev/null
  echo "deploy-swarm: migrations done"
}

if "$docker" service inspect "${stack}_web" >/dev/null 2>&1; then
  migrate
  stack_deploy
else
  stack_deploy
  migrate
fi
"$here/deploy/swarm/converge.sh" "$stack"
