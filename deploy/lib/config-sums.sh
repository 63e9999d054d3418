# shellcheck shell=bash
# Checksums of the files each production service reads from the host (bind mounts and Docker
# secrets), exported as ADMIN2_CONFIG_SUM_<SERVICE>. docker-compose.production.yml puts each one
# in its service's label `admin2.config-sum`, so it is part of the configuration Compose
# compares: `up -d` recreates exactly the services whose files changed (a single-file bind
# mount keeps the old file's content in a running container after `git checkout` replaced it).
# Image and env-file changes Compose notices by itself.
#
# Sourced by deploy/compose.sh and, from the deployed checkout, by deploy/remote/release.sh;
# self-contained (no lib/common.sh). Run from anywhere:
#   export_config_sums CHECKOUT ENV_FILE
#   config_sum_services     what carries a sum: each image of the production services in
#                           deploy/services (app, the admin2 image, stands for all its services)

config_sum_services() {
  # In a subshell: the release bundle brings its own service list, which this must not replace.
  (
    # shellcheck source=deploy/lib/services.sh
    . "$(dirname "${BASH_SOURCE[0]}")/services.sh"
    service_images production | tr '\n' ' ' | sed 's/ $/\n/'
  )
}

# One checksum over the names and contents of the files under the given paths (a missing path
# counts as absent, so creating it is a change too).
_config_tree_sum() {
  local path
  for path in "$@"; do
    if [ -d "$path" ]; then
      find "$path" -type f -print0 | sort -z | xargs -0 -r sha256sum
    elif [ -f "$path" ]; then
      sha256sum "$path"
    else
      echo "absent $path"
    fi
  done | sha256sum | cut -c1-16
}

# The value of NAME as Compose interpolates it: the environment wins over the env file.
_config_env_value() {
  local env_file="$1" name="$2" default="$3" value
  if [ -n "${!name:-}" ]; then
    printf '%s' "${!name}"
    return
  fi
  value="$(sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\?$name=//p" "$env_file" 2>/dev/null | tail -n 1)"
  value="${value%\"}"
  value="${value#\"}"
  printf '%s' "${value:-$default}"
}

# A path as the Compose file names it: relative to containers/.
_config_path() {
  case "$2" in
    /*) printf '%s' "$2" ;;
    *) printf '%s/containers/%s' "$1" "$2" ;;
  esac
}

export_config_sums() {
  local checkout="$1" env_file="$2" secrets certs
  secrets="$(_config_path "$checkout" "$(_config_env_value "$env_file" ADMIN2_SECRETS_DIR ./secrets)")"
  certs="$(_config_path "$checkout" "$(_config_env_value "$env_file" NGINX_CERTS_DIR ./certs)")"
  ADMIN2_CONFIG_SUM_APP="$(_config_tree_sum "$secrets")"
  ADMIN2_CONFIG_SUM_NGINX="$(_config_tree_sum "$checkout/containers/nginx" "$certs")"
  ADMIN2_CONFIG_SUM_REDIS="$(_config_tree_sum "$checkout/containers/redis" "$secrets/redis_password")"
  ADMIN2_CONFIG_SUM_DB="$(_config_tree_sum "$checkout/containers/postgres")"
  export ADMIN2_CONFIG_SUM_APP ADMIN2_CONFIG_SUM_NGINX ADMIN2_CONFIG_SUM_REDIS ADMIN2_CONFIG_SUM_DB
  # The monitoring profile: a changed template or rule recreates Prometheus or Alertmanager.
  ADMIN2_CONFIG_SUM_PROMETHEUS="$(_config_tree_sum "$checkout/containers/prometheus")"
  ADMIN2_CONFIG_SUM_ALERTMANAGER="$(_config_tree_sum "$checkout/containers/alertmanager")"
  export ADMIN2_CONFIG_SUM_PROMETHEUS ADMIN2_CONFIG_SUM_ALERTMANAGER
}
