#!/bin/sh
# Renders the mounted prometheus.yml template with the stack's variables (Prometheus reads no
# environment) into /tmp, then runs Prometheus with the Compose file's flags. Plain sh and sed:
# the upstream image (busybox) has nothing more. Without PROMETHEUS_ALERTMANAGER (staging) the
# alerting block goes: the rules are evaluated and shown, nobody is notified.
set -eu
template=/etc/prometheus/prometheus.yml.template
config=/tmp/prometheus.yml
sed -e "s|@SCRAPE_INTERVAL@|${PROMETHEUS_SCRAPE_INTERVAL:-15s}|g" \
    -e "s|@STACK@|${PROMETHEUS_STACK:-production}|g" \
    -e "s|@ALERTMANAGER@|${PROMETHEUS_ALERTMANAGER:-}|g" \
    -e "s|@METRICS_PORT@|${ADMIN2_METRICS_PORT:-9100}|g" \
    -e "s|@TLS_TARGET@|${PROMETHEUS_TLS_TARGET:-nginx:8443}|g" \
    -e "s|@CLICKHOUSE_PING_URL@|${PROMETHEUS_CLICKHOUSE_PING_URL:-http://clickhouse:8123/ping}|g" \
    "$template" >"$config"
if [ -z "${PROMETHEUS_ALERTMANAGER:-}" ]; then
  sed -i '/^alerting:/,/^$/d' "$config"
fi
exec /bin/prometheus --config.file="$config" "$@"
