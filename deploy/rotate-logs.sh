#!/usr/bin/env bash
# Rotate admin2's host-side file logs now with logrotate (`just rotate-logs`).
#   deploy/rotate-logs.sh            force a rotation of deploy/logrotate/admin2's logs
#   deploy/rotate-logs.sh --debug    only show what logrotate would do
#   deploy/rotate-logs.sh render     print the rendered configuration
# ADMIN2_LOG_DIR (/var/log/admin2), ADMIN2_STATE_DIR (this checkout's .deploy) and
# ADMIN2_NGINX_REOPEN_CMD (nginx -s reopen in the production nginx container) fill the
# placeholders; logrotate's own state goes to ADMIN2_LOGROTATE_STATE. Container logs rotate
# by Compose's json-file options and need nothing here.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/render.sh
. "$SCRIPTS_DIR/lib/render.sh"
load_env_file

log_dir="${ADMIN2_LOG_DIR:-/var/log/admin2}"
state_dir="${ADMIN2_STATE_DIR:-$REPO_DIR/.deploy}"
reopen="${ADMIN2_NGINX_REOPEN_CMD:-$SCRIPTS_DIR/compose.sh production exec -T nginx nginx -s reopen >/dev/null 2>&1 || true}"

# "user group" owning a directory (or the first existing parent), for logrotate's `su`.
owner_of() {
  local dir="$1"
  while [ ! -e "$dir" ] && [ "$dir" != / ]; do dir="$(dirname "$dir")"; done
  stat -c '%U %G' "$dir"
}

rendered() {
  render "$SCRIPTS_DIR/logrotate/admin2" "LOG_DIR=$log_dir" "STATE_DIR=$state_dir" "NGINX_REOPEN=$reopen" \
    "STATE_OWNER=$(owner_of "$state_dir")" "LOG_OWNER=$(owner_of "$log_dir")"
}

case "${1:-}" in
  render)
    rendered
    exit 0
    ;;
  --debug | "") ;;
  *) die "usage: deploy/rotate-logs.sh [--debug | render]" ;;
esac

command -v logrotate >/dev/null 2>&1 || [ -x /usr/sbin/logrotate ] || die "logrotate is not installed (apt-get install logrotate)"
logrotate_bin="$(command -v logrotate || echo /usr/sbin/logrotate)"
status_file="${ADMIN2_LOGROTATE_STATE:-$state_dir/logrotate.status}"
mkdir -p "$(dirname "$status_file")"
config="$(mktemp)"
trap 'rm -f "$config"' EXIT
rendered >"$config"
if [ "${1:-}" = --debug ]; then
  "$logrotate_bin" --debug --state "$status_file" "$config"
else
  "$logrotate_bin" --force --verbose --state "$status_file" "$config"
fi
