#!/bin/sh
# The redis service's entrypoint: Redis with the password from the redis_password Docker
# secret. Compose runs `sh /usr/local/etc/redis/start.sh redis-server CONFIG`; this adds
# `requirepass` as configuration read from standard input (`redis-server CONFIG -`), so the
# password appears in no file, no environment variable and no command line. Then it hands
# over to the image's own entrypoint when there is one (the official image's chowns /data
# and drops to the redis user), or runs the command itself.
#
# REDIS_PASSWORD_FILE names the secret (default /run/secrets/redis_password). The password
# must be 16 or more of A-Z a-z 0-9 . _ ~ - (what deploy/secrets.sh generates): safe in a
# Redis configuration line and in a URL alike. Redis does not start without one.
set -eu

secret="${REDIS_PASSWORD_FILE:-/run/secrets/redis_password}"
fail() {
  echo "redis: $*" >&2
  exit 1
}

[ $# -ge 1 ] || fail "usage: start.sh redis-server CONFIG [OPTIONS]"
[ -r "$secret" ] || fail "cannot read the password file $secret (the redis_password secret)"
password="$(cat "$secret")"
case "$password" in
  *[!A-Za-z0-9._~-]*) fail "$secret: use only A-Z a-z 0-9 . _ ~ - in the password" ;;
esac
[ "${#password}" -ge 16 ] || fail "$secret: the password needs at least 16 characters"

if command -v docker-entrypoint.sh >/dev/null 2>&1; then
  set -- docker-entrypoint.sh "$@"
fi
exec "$@" - <<EOF
requirepass $password
EOF
