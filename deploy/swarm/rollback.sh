#!/usr/bin/env bash
# Roll services back to their previous spec (image digest included): rollback.sh [SERVICE...]
# (default web celery celery-beat). The database is not rolled back: a release's migrations
# must be compatible with the previous release (docs/scaling.md, "Releases").
set -euo pipefail
docker="${DOCKER:-docker}"
stack="${ADMIN2_STACK_NAME:-admin2}"
[ $# -ge 1 ] || set -- web celery celery-beat
for service in "$@"; do
  case "$service" in web|celery|celery-beat) ;; *) echo "rollback: $service?" >&2; exit 1 ;; esac
  "$docker" service rollback --detach "${stack}_$service" >/dev/null
  echo "rollback: ${stack}_$service rolling back"
done
ADMIN2_ROLLBACK=yes "$(dirname "$0")/converge.sh" "$stack"
