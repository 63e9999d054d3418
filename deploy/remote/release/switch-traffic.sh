# shellcheck shell=bash
# Release phase: Nginx check and reload, the health-gated switch.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

# Only a container that is not there or not running is "nothing to reload"; a reload that
# fails (bad configuration, signal refused) is a failure of the deploy.
reload_nginx() {
  local id state output
  id="$(compose ps -q nginx 2>/dev/null | head -n 1)"
  state=gone
  [ -z "$id" ] || state="$(docker inspect --format '{{.State.Status}}' "$id" 2>/dev/null || echo gone)"
  if [ "$state" != running ]; then
    log "nginx is not running ($state): nothing to reload"
    return 0
  fi
  if output="$(compose exec -T nginx sh -c 'nginx -t -q && nginx -s reload' 2>&1)"; then
    log "nginx reloaded (upstream re-resolved)"
  else
    log "nginx reload FAILED:"
    printf '%s\n' "$output" | sed 's/^/    /'
    return 1
  fi
}

# The release's Nginx configuration, rendered from its templates and tested with `nginx -t` in
# a one-off container of the nginx service, before any traffic moves: a configuration that
# would not start fails the deploy while the running Nginx and the old replicas keep serving.
# (Only `up -d nginx` at the end of the switch applies it, recreating the container.)
nginx_config_ok() {
  local output
  if output="$(compose_tag "$1" run --rm --no-deps -T nginx nginx -t 2>&1)"; then
    log "nginx configuration of this release passes nginx -t"
  else
    log "nginx configuration of this release FAILS nginx -t:"
    printf '%s\n' "$output" | tail -n 20 | sed 's/^/    /'
    return 1
  fi
}

# After a reload, Nginx's old workers finish their requests with the old configuration (whose
# upstream knows only the old replicas) and then exit; keep-alive clients stay on them until
# then. The old replicas may stop only when no old worker is left (at most 60 s, e.g. a long
# export), or requests on those connections meet a refused connection with nowhere to retry.
wait_nginx_drained() {
  local id deadline=$((SECONDS + 60)) left
  id="$(compose ps -q nginx 2>/dev/null | head -n 1)"
  [ -n "$id" ] || return 0
  while :; do
    left="$(docker top "$id" -eo pid,args 2>/dev/null | grep -c 'shutting down' || true)"
    [ "${left:-0}" -gt 0 ] || return 0
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "nginx still has $left old worker(s) after 60 s: going on"
      return 0
    fi
    sleep 0.2
  done
}

# Through Nginx from the host, as a browser would come in: the site's name resolved to this
# machine, HTTPS when Nginx terminates TLS (the certificate is not judged here), and only a
# 200 counts (a redirect is not health).
public_health() {
  local host port scheme=http code path deadline=$((SECONDS + HEALTH_TIMEOUT))
  local tls_options=()
  host="$(env_value DJANGO_ALLOWED_HOSTS localhost)"
  host="${host%%,*}"
  host="${host#.}"
  port="$(env_value PORT_NGINX 8061)"
  if [ "$(env_value NGINX_TLS off)" = on ]; then
    scheme=https
    port="$(env_value NGINX_TLS_PORT 8443)"
    tls_options=(--insecure)
  fi
  for path in /healthz /readyz; do
    while :; do
      code="$(curl --silent --output /dev/null --write-out '%{http_code}' --max-time 5 \
        --resolve "$host:$port:127.0.0.1" "${tls_options[@]}" "$scheme://$host:$port$path" || true)"
      [ "$code" != 200 ] || break
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "$scheme://$host:$port$path answered ${code:-nothing} through Nginx, not 200"
        return 1
      fi
      sleep "$HEALTH_INTERVAL"
    done
  done
  log "Nginx answers /healthz and /readyz at $scheme://$host:$port"
}

# The health-gated switch. New web replicas start beside the old ones (--no-recreate), must
# answer their own health checks and the release's Nginx configuration must pass `nginx -t`,
# then Nginx re-resolves the upstream and the old replicas are stopped gracefully; Nginx
# retries a refused connection on the next upstream server.
# Returns 1 when the new release never took traffic (old replicas untouched), 2 when it
# failed after the switch.
switch_to() {
  local tag="$1" old=() all=() new=() id want
  mapfile -t old < <(compose ps -q web)
  want="$WEB_REPLICAS"
  [ "${#old[@]}" -le "$want" ] || want="${#old[@]}"
  log "starting $want new web replica(s) on $IMAGE:$tag beside ${#old[@]} running"
  # (set -e does not reach into a function called from `||`: every step checks itself.)
  compose_tag "$tag" up -d --no-deps --no-recreate --scale "web=$((${#old[@]} + want))" web \
    || { log "compose could not start the new replicas"; return 1; }
  mapfile -t all < <(compose ps -q web)
  for id in "${all[@]}"; do
    [[ " ${old[*]} " == *" $id "* ]] || new+=("$id")
  done
  if [ "${#new[@]}" -eq 0 ]; then
    log "no new web container appeared"
    return 1
  fi
  log "waiting for health of ${new[*]} (deadline ${HEALTH_TIMEOUT}s)"
  if ! wait_healthy "${new[@]}" || ! nginx_config_ok "$tag" || ! reload_nginx; then
    log "removing the new replicas; the old ones keep serving"
    docker rm -f "${new[@]}" >/dev/null || true
    return 1
  fi
  wait_nginx_drained
  if [ "${#old[@]}" -gt 0 ]; then
    # No --time: each container stops within its own service's stop_grace_period.
    log "stopping the old replicas ${old[*]} (graceful, within web's stop_grace_period)"
    docker stop "${old[@]}" >/dev/null || { log "could not stop ${old[*]}"; return 2; }
    reload_nginx || return 2
    docker rm "${old[@]}" >/dev/null || log "could not remove ${old[*]}"
  fi
  log "switching workers and scheduler to $IMAGE:$tag"
  compose_tag "$tag" up -d --no-deps "${APP_SERVICES[@]}" nginx \
    || { log "compose could not start ${APP_SERVICES[*]} nginx"; return 2; }
  public_health || return 2
}
