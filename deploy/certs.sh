#!/usr/bin/env bash
# TLS certificates from an ACME CA (Let's Encrypt by default) with certbot, on the server.
#
#   deploy/certs.sh issue     first certificate for ADMIN2_ACME_DOMAINS (HTTP-01, webroot)
#   deploy/certs.sh renew     renews what is due (the admin2-certs timer, twice a day); a
#                             failure runs the alert hook (deploy/alert.sh) and exits non-zero
#   deploy/certs.sh install   certbot's deploy hook: copies the new certificate into
#                             NGINX_CERTS_DIR and reloads Nginx (nginx -t first; never a restart)
#
# Settings (environment or deploy/.env): ADMIN2_ACME_DOMAINS (comma-separated, the first is the
# certificate's name), ADMIN2_ACME_EMAIL, ADMIN2_ACME_SERVER (the ACME directory URL),
# ADMIN2_ACME_DIR (certbot's state, /etc/letsencrypt). Without them nothing here runs and
# manual certificates in NGINX_CERTS_DIR work as before.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
load_env_file

[ $# -eq 1 ] || die "usage: deploy/certs.sh issue|renew|install"
action="$1"
env_file="${ADMIN2_ENV_FILE:-$REPO_DIR/containers/.env.production}"
acme_dir="${ADMIN2_ACME_DIR:-/etc/letsencrypt}"
server="${ADMIN2_ACME_SERVER:-https://acme-v02.api.letsencrypt.org/directory}"

in_containers() {
  local path="$1"
  [[ "$path" == /* ]] || path="$REPO_DIR/containers/${path#./}"
  printf '%s' "$path"
}

webroot="$(in_containers "$(env_file_value "$env_file" NGINX_ACME_WEBROOT ./acme)")"
certs_dir="$(in_containers "$(env_file_value "$env_file" NGINX_CERTS_DIR ./certs)")"
cert_name="$(env_file_value "$env_file" NGINX_TLS_CERT fullchain.pem)"
key_name="$(env_file_value "$env_file" NGINX_TLS_KEY privkey.pem)"

certbot_cmd() {
  command -v certbot >/dev/null 2>&1 || die "certbot is not installed on this server (apt-get install certbot)"
  certbot --non-interactive --config-dir "$acme_dir" --work-dir "$acme_dir/work" \
    --logs-dir "$acme_dir/logs" "$@"
}

# The reload of the running Nginx: workers with the old certificate finish their connections,
# new connections get the new one; no request is refused.
reload_nginx() {
  "$SCRIPTS_DIR/compose.sh" production exec -T nginx sh -c 'nginx -t -q && nginx -s reload' \
    || die "nginx did not accept the new certificate (nginx -t); it still serves the old one"
  note "nginx reloaded with the new certificate"
}

case "$action" in
  issue)
    require_var ADMIN2_ACME_DOMAINS "e.g. admin2.example.com,www.admin2.example.com"
    domains=()
    IFS=, read -r -a names <<<"$ADMIN2_ACME_DOMAINS"
    for name in "${names[@]}"; do
      [[ "$name" =~ ^[A-Za-z0-9.-]+$ ]] || die "ADMIN2_ACME_DOMAINS: not a host name: $name"
      domains+=(-d "$name")
    done
    if [ -n "${ADMIN2_ACME_EMAIL:-}" ]; then
      account=(--email "$ADMIN2_ACME_EMAIL")
    else
      account=(--register-unsafely-without-email)
    fi
    mkdir -p "$webroot"
    certbot_cmd certonly --webroot --webroot-path "$webroot" "${domains[@]}" \
      --cert-name "${names[0]}" --server "$server" --agree-tos "${account[@]}" \
      --keep-until-expiring --deploy-hook "$SCRIPTS_DIR/certs.sh install"
    ;;
  renew)
    if [ -z "${ADMIN2_ACME_DOMAINS:-}" ]; then
      note "ADMIN2_ACME_DOMAINS is not set: certificates are managed by hand, nothing to renew"
      exit 0
    fi
    log_file="$(mktemp)"
    trap 'rm -f "$log_file"' EXIT
    # Without a TTY certbot would first sleep up to 8 minutes at random.
    if certbot_cmd renew --no-random-sleep-on-renew --deploy-hook "$SCRIPTS_DIR/certs.sh install" \
      >"$log_file" 2>&1; then
      cat "$log_file"
    else
      cat "$log_file" >&2
      tail -n 40 "$log_file" | "$SCRIPTS_DIR/alert.sh" "admin2: certificate renewal FAILED on $(hostname)" || true
      die "certificate renewal failed (alert sent); Nginx keeps serving the current certificate"
    fi
    ;;
  install)
    # certbot sets RENEWED_LINEAGE to the live directory of the certificate it just obtained.
    lineage="${RENEWED_LINEAGE:?certbot sets RENEWED_LINEAGE for its deploy hook}"
    mkdir -p "$certs_dir"
    # Copies, not symlinks into certbot's archive (Nginx sees only NGINX_CERTS_DIR), each
    # written beside its final name and moved into place, so Nginx never reads half a file.
    install -m 0644 "$lineage/fullchain.pem" "$certs_dir/.$cert_name.new"
    install -m 0600 "$lineage/privkey.pem" "$certs_dir/.$key_name.new"
    mv -f "$certs_dir/.$key_name.new" "$certs_dir/$key_name"
    mv -f "$certs_dir/.$cert_name.new" "$certs_dir/$cert_name"
    note "certificate of $lineage installed in $certs_dir"
    reload_nginx
    ;;
  *) die "usage: deploy/certs.sh issue|renew|install" ;;
esac
