#!/usr/bin/env bash
# Once per server, as root, from the server's checkout (DEPLOY_PATH): record what this host
# runs (/etc/admin2/stack: the recipes' default stack), install the nightly backup timer and
# the logrotate configuration, rendered for this checkout.
#   deploy/install-host.sh [--stack production|staging] [--root DIR] [--no-systemctl]
#                          [--no-unattended-upgrades]
# On Debian or Ubuntu it also turns on unattended security upgrades of the host's packages
# (unattended-upgrades, daily; /etc/apt/apt.conf.d/20auto-upgrades).
# --stack defaults to production (this script is for the server). --root DIR writes under DIR
# instead of / (and implies --no-systemctl): to look first.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
# shellcheck source=deploy/lib/render.sh
. "$SCRIPTS_DIR/lib/render.sh"
load_env_file

root=""
systemctl=1
stack=production
upgrades=1
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root="${2%/}"; systemctl=0; shift 2 ;;
    --no-systemctl) systemctl=0; shift ;;
    --stack) stack="${2:-}"; shift 2 ;;
    --no-unattended-upgrades) upgrades=0; shift ;;
    *) die "usage: deploy/install-host.sh [--stack production|staging] [--root DIR] [--no-systemctl] [--no-unattended-upgrades]" ;;
  esac
done
case "$stack" in
  staging | production) ;;
  *) die "--stack takes production or staging, got '$stack'" ;;
esac
[ -n "$root" ] || [ "$(id -u)" = 0 ] || die "run as root (or --root DIR to write elsewhere)"

# What this host is: the recipes (deploy/lib/common.sh resolve_stack) default to it.
stack_file="$root${ADMIN2_HOST_STACK_FILE:-/etc/admin2/stack}"
mkdir -p "$(dirname "$stack_file")"
printf '%s\n' "$stack" >"$stack_file"
chmod 644 "$stack_file"
note "recorded this host's stack in $stack_file: $stack"

owner="$(stat -c %U "$REPO_DIR")"
units="$root/etc/systemd/system"
mkdir -p "$units" "$root/etc/logrotate.d"
for unit in admin2-backup.service admin2-backup.timer admin2-alert@.service \
  admin2-check.service admin2-check.timer admin2-certs.service admin2-certs.timer; do
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

# Monitoring (issue 21): Alertmanager's notifications arrive as files in the spool, written by
# the alert-hook container (the app image's user, uid 10001) and handed by
# admin2-alert-spool.path to deploy/alert.sh as the owner (docs/operations.md, "Notifications").
spool_dir="${ADMIN2_ALERT_SPOOL_DIR:-/var/spool/admin2/alerts}"
install -d -m 3770 "$root$spool_dir"
[ -n "$root" ] || chown "10001:$(id -gn "$owner")" "$spool_dir"
for unit in admin2-alert-spool.path admin2-alert-spool.service; do
  render "$SCRIPTS_DIR/systemd/$unit" "DEPLOY_PATH=$REPO_DIR" "RUN_AS=$owner" \
    "ALERT_SPOOL_DIR=$spool_dir" >"$units/$unit"
  chmod 644 "$units/$unit"
  note "installed $units/$unit"
done
[ "$systemctl" = 0 ] || systemctl enable --now admin2-alert-spool.path

# Security updates of the host itself (the images get theirs from the deploy's --pull).
if [ "$upgrades" = 1 ] && [ -f /etc/debian_version ]; then
  if [ -z "$root" ]; then
    dpkg -s unattended-upgrades >/dev/null 2>&1 \
      || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends unattended-upgrades
  fi
  mkdir -p "$root/etc/apt/apt.conf.d"
  cat >"$root/etc/apt/apt.conf.d/20auto-upgrades" <<'APT'
// deploy/install-host.sh: refresh the package lists and install security upgrades daily
// (the origins are unattended-upgrades' defaults: the distribution's security updates).
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
APT
  note "unattended security upgrades on: $root/etc/apt/apt.conf.d/20auto-upgrades"
fi

if [ "$systemctl" = 1 ]; then
  systemctl daemon-reload
  systemctl enable --now admin2-backup.timer admin2-check.timer admin2-certs.timer
  systemctl list-timers admin2-backup.timer admin2-check.timer admin2-certs.timer --no-pager
fi
