#!/bin/sh
# Renders the mounted alertmanager.yml and admin2.tmpl with the stack's variables (Alertmanager
# reads no environment) into /tmp, then runs Alertmanager with the Compose file's flags. Plain sh
# and sed: the upstream image (busybox) has nothing more.
set -eu
# A value inside a double-quoted YAML string (\ and " escaped), as sed's replacement text
# (\, | and & literal).
quote() { printf '%s' "$1" | sed -e 's/[\\"]/\\&/g' -e 's/[\\|&]/\\&/g'; }
password="${EMAIL_HOST_PASSWORD:-}"
if [ -n "${EMAIL_HOST_PASSWORD_FILE:-}" ]; then
  password="$(cat "$EMAIL_HOST_PASSWORD_FILE")"
fi
tls=false
case "${EMAIL_USE_TLS:-false}" in [Tt]rue | 1 | [Yy]es | on) tls=true ;; esac
render() {
  sed -e "s|@SMTP_HOST@|$(quote "${EMAIL_HOST:-}")|g" \
      -e "s|@SMTP_PORT@|$(quote "${EMAIL_PORT:-25}")|g" \
      -e "s|@SMTP_FROM@|$(quote "${DEFAULT_FROM_EMAIL:-}")|g" \
      -e "s|@SMTP_USER@|$(quote "${EMAIL_HOST_USER:-}")|g" \
      -e "s|@SMTP_PASSWORD@|$(quote "$password")|g" \
      -e "s|@SMTP_TLS@|$tls|g" \
      -e "s|@EMAIL_TO@|$(quote "${ADMIN2_ALERT_EMAIL:-}")|g" \
      -e "s|@DEADMAN_URL@|$(quote "${ADMIN2_DEADMAN_URL:-}")|g" \
      -e "s|@DEADMAN_INTERVAL@|$(quote "${ALERTMANAGER_DEADMAN_INTERVAL:-5m}")|g" \
      -e "s|@GROUP_WAIT@|$(quote "${ALERTMANAGER_GROUP_WAIT:-30s}")|g" \
      -e "s|@GROUP_INTERVAL@|$(quote "${ALERTMANAGER_GROUP_INTERVAL:-5m}")|g" \
      -e "s|@RUNBOOK_BASE@|$(quote "${ADMIN2_RUNBOOK_BASE_URL:-}")|g" \
      "$1"
}
keep() { # keep MARKER VALUE: strip the marker when VALUE is set, else drop its lines
  if [ -n "$2" ]; then sed -e "s| *#@$1\$||"; else sed -e "/#@$1\$/d"; fi
}
render /etc/alertmanager/alertmanager.yml | keep EMAIL "${ADMIN2_ALERT_EMAIL:-}" \
  | keep DEADMAN "${ADMIN2_DEADMAN_URL:-}" >/tmp/alertmanager.yml
render /etc/alertmanager/admin2.tmpl >/tmp/admin2.tmpl
sed -i 's|/etc/alertmanager/admin2.tmpl|/tmp/admin2.tmpl|' /tmp/alertmanager.yml
exec /bin/alertmanager --config.file=/tmp/alertmanager.yml "$@"
