# shellcheck shell=bash
# The Compose services, read from deploy/services (the one list). Self-contained: sourced by
# deploy/check.sh, deploy/lib/config-sums.sh, and sent by deploy/deploy.sh with the release
# script, the table inlined (services_table defined first): the server's checkout may be old.
#   services STACK [IMAGE] [ROLE]   names in the table's order; an empty IMAGE or ROLE matches
#                                   any, ROLE may be an alternation (worker|beat)
#   service_images STACK            the images of STACK's services, each once

# The table's rows without comments; the release bundle defines its own, inlined, first.
if ! declare -F services_table >/dev/null; then
  SERVICE_LIST_FILE="${SERVICE_LIST_FILE:-$(dirname "${BASH_SOURCE[0]}")/../services}"
  services_table() {
    grep -Ev '^[[:space:]]*(#|$)' "$SERVICE_LIST_FILE"
  }
fi

services() {
  services_table | awk -v stack="$1" -v image="${2:-}" -v role="${3:-}" '
    index("," $2 ",", "," stack ",") && (image == "" || $3 == image) \
      && (role == "" || $4 ~ ("^(" role ")$")) { print $1 }'
}

service_images() {
  services_table | awk -v stack="$1" 'index("," $2 ",", "," stack ",") && !seen[$3]++ { print $3 }'
}
