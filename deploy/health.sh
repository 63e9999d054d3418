#!/usr/bin/env bash
# /healthz and /readyz through Nginx on this machine, as a browser would reach them.
#   deploy/health.sh staging|production [BASE_URL]
# BASE_URL defaults to the site on this host: the first DJANGO_ALLOWED_HOSTS name resolved to
# 127.0.0.1, on PORT_NGINX (or NGINX_TLS_PORT over HTTPS when NGINX_TLS=on). Exit 0 only when
# both answer 200; /readyz's JSON report is printed either way.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

[ $# -ge 1 ] || die "usage: deploy/health.sh staging|production [BASE_URL]"
env="$(resolve_stack "$1")"
env_file="$(compose_env_file "$env")"
options=(--silent --show-error --max-time "${HEALTH_TIMEOUT:-10}")
if [ -n "${2:-}" ]; then
  base="${2%/}"
else
  default_port=8071
  [ "$env" != production ] || default_port=8061
  host="$(env_file_value "$env_file" DJANGO_ALLOWED_HOSTS localhost)"
  host="${host%%,*}"
  host="${host#.}"
  port="$(env_file_value "$env_file" PORT_NGINX "$default_port")"
  scheme=http
  if [ "$(env_file_value "$env_file" NGINX_TLS off)" = on ]; then
    scheme=https
    port="$(env_file_value "$env_file" NGINX_TLS_PORT 8443)"
    options+=(--insecure)
  fi
  base="$scheme://$host:$port"
  options+=(--resolve "$host:$port:127.0.0.1")
fi

failed=0
for path in /healthz /readyz; do
  body="$(mktemp)"
  code="$(curl "${options[@]}" --output "$body" --write-out '%{http_code}' "$base$path" || true)"
  echo "$path: ${code:-no answer}"
  [ "$path" != /readyz ] || sed 's/^/  /' "$body"
  echo
  rm -f "$body"
  [ "$code" = 200 ] || failed=1
done
[ "$failed" = 0 ] || die "not healthy at $base"
echo "healthy at $base"
