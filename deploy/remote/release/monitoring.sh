# shellcheck shell=bash
# Release phase: the monitoring profile (Prometheus, Alertmanager, the exporters, the alert
# hook; docs/operations.md, "Monitoring"). The other phases name the services they start, and
# Compose starts only what is named, so the profile's services start here, after the switch,
# when COMPOSE_PROFILES (env file or environment) has the profile on. Monitoring that does not
# come up is logged, not undone: the release serves without it. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

start_monitoring() {
  local tag="$1" name wanted=() listed=() active=()
  mapfile -t wanted < <(services production '' 'monitor|exporter')
  # `config --services` lists the services of the active profiles only.
  mapfile -t listed < <(compose_tag "$tag" config --services 2>/dev/null)
  for name in "${wanted[@]}"; do
    if printf '%s\n' "${listed[@]}" | grep -qx -- "$name"; then
      active+=("$name")
    fi
  done
  if [ ${#active[@]} -eq 0 ]; then
    log "monitoring profile off (COMPOSE_PROFILES): no Prometheus or Alertmanager started"
    return 0
  fi
  if compose_tag "$tag" up -d --no-deps --wait "${active[@]}"; then
    log "monitoring running: ${active[*]}"
  else
    log "WARNING: the monitoring services did not all come up; the release serves without them ('just logs prometheus', 'just logs alertmanager')"
  fi
}
