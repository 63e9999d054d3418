#!/usr/bin/env bash
# Once per server, as root, from the server's checkout (DEPLOY_PATH): install the nightly
# backup timer and the logrotate configuration, rendered for this checkout.
#   deploy/install-host.sh [--root DIR] [--no-systemctl]
# --root DIR writes under DIR instead of / (and implies --no-systemctl): to look first.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/render.sh
. "$SCRIPTS_DIR/lib/render.sh"
load_env_file

root=""
systemctl=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2%/}"; systemctl=0; shift 2 ;;
    --no-systemctl) systemctl=0; shift ;;
    *) die "usage: deploy/install-host.sh [--root DIR] [--no-systemctl]" ;;
  esac
done
[ -n "$root" ] || [ "$(id -u)" = 0 ] || die "run as root (or --root DIR to write elsewhere)"

owner="$(stat -c %U "$REPO_DIR")"
units="$root/etc/systemd/system"
mkdir -p "$units" "$root/etc/logrotate.d"
for unit in admin2-backup.service admin2-backup.timer; do
  render "$SCRIPTS_DIR/systemd/$unit" "DEPLOY_PATH=$REPO_DIR" "RUN_AS=$owner" >"$units/$unit"
  chmod 644 "$units/$unit"
  note "installed $units/$unit"
done
ADMIN2_STATE_DIR="${ADMIN2_STATE_DIR:-$REPO_DIR/.deploy}" "$SCRIPTS_DIR/rotate-logs.sh" render \
  >"$root/etc/logrotate.d/admin2"
chmod 644 "$root/etc/logrotate.d/admin2"
note "installed $root/etc/logrotate.d/admin2"
mkdir -p "$root${ADMIN2_LOG_DIR:-/var/log/admin2}"
# Backups belong to the account the timer runs as (and that runs `just backup` by hand).
backup_dir="$root${BACKUP_DIR:-/var/backups/admin2}"
install -d -m 700 "$backup_dir"
[ -n "$root" ] || chown "$owner:" "$backup_dir"

if [ "$systemctl" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now admin2-backup.timer
  systemctl list-timers admin2-backup.timer --no-pager
fi
