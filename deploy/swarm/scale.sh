#!/usr/bin/env bash
# Scale stateless services: deploy/swarm/scale.sh web=4 celery=3. PostgreSQL, Redis, beat
# (exactly one) and the migration job are refused; Nginx runs on every edge node (label one).
set -euo pipefail
docker="${DOCKER:-docker}"
stack="${ADMIN2_STACK_NAME:-admin2}"
[ $# -ge 1 ] || { echo "usage: scale.sh SERVICE=N..." >&2; exit 1; }
args=()
for pair in "$@"; do
  case "$pair" in
    web=[0-9]*|celery=[0-9]*) args+=("${stack}_$pair") ;;
    *) echo "scale: $pair: only web=N and celery=N scale (docs/scaling.md)" >&2; exit 1 ;;
  esac
done
"$docker" service scale "${args[@]}"
