#!/usr/bin/env bash
# Hands each notification the monitoring stack's alert-hook spooled to the one alert hook,
# deploy/alert.sh (ADMIN2_ALERT_COMMAND or ADMIN2_ALERT_EMAIL), oldest first; a file leaves
# the spool only when the hook took it. Run by admin2-alert-spool.path on each new file.
#   deploy/alert-spool.sh [SPOOL_DIR]     default: ADMIN2_ALERT_SPOOL_DIR or /var/spool/admin2/alerts
set -euo pipefail
spool="${1:-${ADMIN2_ALERT_SPOOL_DIR:-/var/spool/admin2/alerts}}"
[ -d "$spool" ] || { echo "alert-spool: no spool directory $spool" >&2; exit 1; }
status=0
for file in "$spool"/*.alert; do
  [ -e "$file" ] || continue
  subject="$(head -n 1 "$file")"
  if tail -n +2 "$file" | "$(dirname "$0")/alert.sh" "$subject"; then
    rm -f "$file"
  else
    echo "alert-spool: the hook failed for $file; kept for the next run" >&2
    status=1
  fi
done
exit "$status"
