#!/usr/bin/env bash
# Wait until every service of the stack runs its desired tasks, healthy, with no update or
# rollback in progress: deploy/swarm/converge.sh [STACK] [SECONDS]. Fails on a rollback
# (unless ADMIN2_ROLLBACK is set: rollback.sh asked for it).
set -euo pipefail
docker="${DOCKER:-docker}"
stack="${1:-admin2}"
seconds="${2:-600}"
deadline=$((SECONDS + seconds))
while :; do
  pending=""
  while read -r name replicas; do
    [ "$name" = "${stack}_migrate" ] && continue
    running="${replicas%%/*}"; wanted="${replicas#*/}"; wanted="${wanted%% *}"
    [ "$running" = "$wanted" ] || pending="$pending $name($replicas)"
    update="$("$docker" service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' "$name")"
    case "$update" in
      updating|rollback_started) pending="$pending $name($update)" ;;
      rollback_completed) [ -n "${ADMIN2_ROLLBACK:-}" ] || {
        echo "swarm: $name update failed and was rolled back" >&2; exit 1; } ;;
      rollback_paused|paused)
        echo "swarm: $name update ended in $update" >&2; exit 1 ;;
    esac
  done < <("$docker" service ls --filter "label=com.docker.stack.namespace=$stack" \
             --format '{{.Name}} {{.Replicas}}')
  if [ -z "$pending" ]; then echo "swarm: $stack converged"; exit 0; fi
  if [ "$SECONDS" -ge "$deadline" ]; then echo "swarm: not converged:$pending" >&2; exit 1; fi
  sleep 2
done
