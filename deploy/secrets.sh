#!/usr/bin/env bash
# Create the Docker secrets a stack reads that do not exist yet; never overwrites one.
#   deploy/secrets.sh staging|production
# Random values for what only admin2 uses: staging redis_password; production also
# django_secret_key and postgres_password. clickhouse_password belongs to the ClickHouse
# server: production names it when it is missing (write it by hand, docs/clickhouse.md).
# The directory is ADMIN2_SECRETS_DIR (environment, else the stack's env file, as Compose
# reads it; relative to containers/), else containers/secrets: mode 700, files 444 (the
# containers' users read them).
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

[ $# -eq 1 ] || die "usage: deploy/secrets.sh staging|production"
env="$1"
if declare -F resolve_stack >/dev/null; then  # `auto`: the stack this host runs
  env="$(resolve_stack "$env")"
fi
case "$env" in
  staging) generated=(redis_password) ;;
  production) generated=(django_secret_key postgres_password redis_password) ;;
  *) die "unknown environment '$env' (staging or production)" ;;
esac

dir="${ADMIN2_SECRETS_DIR:-}"
if [ -z "$dir" ]; then
  dir="$(env_file_value "$(compose_env_file "$env")" ADMIN2_SECRETS_DIR ./secrets)"
fi
case "$dir" in
  /*) ;;
  *) dir="$REPO_DIR/containers/$dir" ;;
esac
install -d -m 700 "$dir"

# URL- and config-safe characters only (A-Z a-z 0-9 _ -): containers/redis/start.sh and the
# Redis URLs take them as they are.
random_secret() {
  local length="$1" value=""
  while [ "${#value}" -lt "$length" ]; do
    value+="$(head -c 96 /dev/urandom | base64 | tr -dc 'A-Za-z0-9_-')"
  done
  printf '%s\n' "${value:0:$length}"
}

for name in "${generated[@]}"; do
  file="$dir/$name"
  if [ -e "$file" ]; then
    continue
  fi
  case "$name" in
    django_secret_key) length=64 ;;
    *) length=43 ;;
  esac
  (umask 077 && random_secret "$length" >"$file")
  chmod 444 "$file"
  note "created $file"
done

if [ "$env" = production ] && [ ! -s "$dir/clickhouse_password" ]; then
  die "$dir/clickhouse_password is missing: write the ClickHouse reader's password there (docs/clickhouse.md)"
fi
