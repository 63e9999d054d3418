#!/usr/bin/env bash
# `just backup` on a swarm: deploy/swarm/backup.sh [--label NAME] | list | prune
# Run it on the node labelled admin2.db, whose engine runs the db task: pg_dump and
# pg_restore run in that task's container, and deploy/backup.sh does the rest (checks,
# encrypted config, retention, off-site copies). Media is not archived: on a swarm it lives
# in the S3 bucket (docs/scaling.md, "Media on S3"), which its own versioning protects.
set -euo pipefail

docker="${DOCKER:-docker}"
stack="${ADMIN2_STACK_NAME:-admin2}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
die() { echo "swarm-backup: $*" >&2; exit 1; }

case "${1:-}" in
  list|prune) exec "$here/deploy/backup.sh" "$@" ;;
esac
container="$("$docker" ps -q --filter "label=com.docker.swarm.service.name=${stack}_db" \
  --filter status=running | head -1)"
if [ -z "$container" ]; then
  node="$("$docker" service ps --filter desired-state=running --format '{{.Node}}' \
    "${stack}_db" 2>/dev/null | head -1 || true)"
  die "no running ${stack}_db task on this engine: run it on the db node (${node:-unknown})"
fi
# As deploy/lib/backup.sh's Compose defaults, with `docker exec` into the task instead.
# shellcheck disable=SC2016 # expanded by the shell in the container
dump='exec pg_dump -U "${POSTGRES_USER:-admin2}" -d "${POSTGRES_DB:-admin2}" "$@"'
export PG_DUMP_CMD="$docker exec -i $container sh -c '$dump' pg_dump"
export PG_RESTORE_CMD="$docker exec -i $container pg_restore"
# The media is in the bucket: an empty archive keeps a backup's layout (and with it the
# encrypted env file, secrets and certificates, which deploy/backup.sh ties to the media).
env_file="${ADMIN2_ENV_FILE:-$here/containers/.env.production}"
grep -qx 'ADMIN2_MEDIA_STORAGE=s3' "$env_file" 2>/dev/null \
  || echo "swarm-backup: WARNING: media is not in a bucket ($env_file); the nodes' media volumes are not backed up" >&2
export MEDIA_TAR_CMD="tar -czf - --files-from /dev/null"
exec "$here/deploy/backup.sh" "$@"
