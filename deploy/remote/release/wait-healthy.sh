# shellcheck shell=bash
# Release phase: container health, in-container probes.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

container_state() {
  docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null || echo gone
}

# Asked inside the container itself, so it is this replica that answers, not its neighbour:
# the image's probe (containers/healthcheck.py) presents a Host header Django accepts.
probe() {
  docker exec "$1" python /app/containers/healthcheck.py /healthz >/dev/null 2>&1 \
    && docker exec "$1" python /app/containers/healthcheck.py /readyz >/dev/null 2>&1
}

wait_healthy() {
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) id state
  for id in "$@"; do
    while :; do
      state="$(container_state "$id")"
      if [ "$state" = healthy ] || [ "$state" = running ]; then
        if probe "$id"; then
          log "container $id is healthy (/healthz and /readyz answer)"
          break
        fi
      elif [ "$state" = unhealthy ] || [ "$state" = exited ] || [ "$state" = gone ]; then
        log "container $id is $state"
        docker logs --tail 40 "$id" 2>&1 | sed 's/^/    /' || true
        return 1
      fi
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "container $id is still '$state' after ${HEALTH_TIMEOUT}s"
        docker logs --tail 40 "$id" 2>&1 | sed 's/^/    /' || true
        return 1
      fi
      sleep "$HEALTH_INTERVAL"
    done
  done
}
