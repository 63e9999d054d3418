#!/usr/bin/env bash
# The one alert hook of deploys, backups and worker health: deploy/alert.sh SUBJECT < MESSAGE
#
# Runs ADMIN2_ALERT_COMMAND (environment or deploy/.env) with the subject as its first
# argument and the message on stdin, e.g.
#   ADMIN2_ALERT_COMMAND=/usr/local/bin/page-the-team
#   ADMIN2_ALERT_COMMAND=mail -s        (the subject becomes mail's -s value)
# or, with ADMIN2_ALERT_EMAIL=ops@example.com and no command, mails it through the SMTP server
# of the production env file (EMAIL_HOST, EMAIL_PORT, EMAIL_USE_TLS, EMAIL_HOST_USER,
# EMAIL_HOST_PASSWORD(_FILE), DEFAULT_FROM_EMAIL: the settings Django's mails use).
# With neither set it says so on stderr and exits 0: an alert must not fail what it reports.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
load_env_file

[ $# -eq 1 ] || die "usage: deploy/alert.sh SUBJECT < MESSAGE"
subject="$1"
message="$(cat)"

if [ -n "${ADMIN2_ALERT_COMMAND:-}" ]; then
  read -r -a command <<<"$ADMIN2_ALERT_COMMAND"
  printf '%s\n' "$message" | "${command[@]}" "$subject" \
    || die "ADMIN2_ALERT_COMMAND failed: $ADMIN2_ALERT_COMMAND"
  note "alert sent: $subject"
elif [ -n "${ADMIN2_ALERT_EMAIL:-}" ]; then
  env_file="${ADMIN2_ENV_FILE:-$REPO_DIR/containers/.env.production}"
  [ -f "$env_file" ] || die "ADMIN2_ALERT_EMAIL is set but $env_file (the SMTP settings) is missing"
  for name in EMAIL_HOST EMAIL_PORT EMAIL_USE_TLS EMAIL_HOST_USER EMAIL_HOST_PASSWORD EMAIL_HOST_PASSWORD_FILE DEFAULT_FROM_EMAIL; do
    [ -n "${!name:-}" ] || export "$name=$(env_file_value "$env_file" "$name")"
  done
  printf '%s\n' "$message" | ALERT_SUBJECT="$subject" python3 "$SCRIPTS_DIR/lib/alert-mail.py" \
    || die "mailing the alert to $ADMIN2_ALERT_EMAIL failed"
  note "alert mailed to $ADMIN2_ALERT_EMAIL: $subject"
else
  note "no alert hook configured (ADMIN2_ALERT_COMMAND or ADMIN2_ALERT_EMAIL in deploy/.env): $subject"
fi
