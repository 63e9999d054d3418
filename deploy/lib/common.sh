# shellcheck shell=bash
# Shared by the scripts under deploy/ (sourced, not run). Bash only.
# Configuration comes from the environment, then from deploy/.env (the environment wins),
# so a value is never hard-coded here and a missing one is named in the error.

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$SCRIPTS_DIR/.." && pwd)"

die() {
  echo "error: $*" >&2
  exit 1
}

note() {
  echo "==> $*" >&2
}

# KEY=VALUE lines (comments and blanks ignored, optional quotes stripped); a variable that is
# already set in the environment keeps its value. DEPLOY_ENV_FILE points elsewhere (tests).
load_env_file() {
  local file="${DEPLOY_ENV_FILE:-$SCRIPTS_DIR/.env}" line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line="${line#"${line%%[![:space:]]*}"}"
    case "$line" in '' | '#'*) continue ;; esac
    line="${line#export }"
    key="${line%%=*}"
    value="${line#*=}"
    [[ "$key" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "$file: not a KEY=VALUE line: $line"
    if [[ "$value" =~ ^\"(.*)\"$ ]] || [[ "$value" =~ ^\'(.*)\'$ ]]; then
      value="${BASH_REMATCH[1]}"
    fi
    if [ -z "${!key+x}" ]; then
      export "$key=$value"
    fi
  done <"$file"
}

require_var() {
  local name="$1" hint="${2:-}"
  if [ -z "${!name:-}" ]; then
    die "$name is not set: export it or put it in deploy/.env (see deploy/.env.example)${hint:+; $hint}"
  fi
}

# The value of KEY in an env file (last one wins), or DEFAULT.
env_file_value() {
  local file="$1" key="$2" default="${3:-}" value
  value="$(sed -n "s/^[[:space:]]*\(export[[:space:]]\+\)\?$key=//p" "$file" 2>/dev/null | tail -n 1)"
  value="${value%\"}"
  value="${value#\"}"
  value="${value%\'}"
  value="${value#\'}"
  printf '%s' "${value:-$default}"
}

# shellcheck source=deploy/lib/compose-cli.sh
. "$(dirname "${BASH_SOURCE[0]}")/compose-cli.sh"

# What this host runs, as deploy/install-host.sh recorded it (ADMIN2_HOST_STACK_FILE, default
# /etc/admin2/stack): "production" on the server, nothing on a laptop.
host_stack() {
  local file="${ADMIN2_HOST_STACK_FILE:-/etc/admin2/stack}" value
  [ -f "$file" ] || return 0
  value="$(tr -d '[:space:]' <"$file")"
  case "$value" in
    staging | production) printf '%s' "$value" ;;
    *) die "$file says '$value': it must say staging or production (deploy/install-host.sh --stack)" ;;
  esac
}

# The stack a recipe acts on: "auto" (the justfile's default) is the host's recorded stack,
# else staging. Staging on a host recorded as production needs ADMIN2_ALLOW_STAGING=yes: it
# would publish a DEBUG site on the production server.
resolve_stack() {
  local wanted="${1:-auto}" recorded
  recorded="$(host_stack)"
  case "$wanted" in
    auto) wanted="${recorded:-staging}" ;;
    staging | production) ;;
    *) die "unknown environment '$wanted' (staging, production or auto)" ;;
  esac
  if [ "$wanted" = staging ] && [ "$recorded" = production ] && [ "${ADMIN2_ALLOW_STAGING:-}" != yes ]; then
    die "this host is a production host (${ADMIN2_HOST_STACK_FILE:-/etc/admin2/stack}): refusing the staging stack here; set ADMIN2_ALLOW_STAGING=yes if you really mean it"
  fi
  printf '%s' "$wanted"
}

# The env file Compose interpolates from: ADMIN2_ENV_FILE, else containers/.env.ENV. Never the
# committed example: a missing file is an error that names it.
compose_env_file() {
  local env="$1" file
  if [ -n "${ADMIN2_ENV_FILE:-}" ]; then
    [ -f "$ADMIN2_ENV_FILE" ] || die "ADMIN2_ENV_FILE=$ADMIN2_ENV_FILE does not exist"
    # absolute: Compose resolves it from two different directories
    printf '%s/%s' "$(cd "$(dirname "$ADMIN2_ENV_FILE")" && pwd)" "$(basename "$ADMIN2_ENV_FILE")"
    return
  fi
  file="$REPO_DIR/containers/.env.$env"
  [ -f "$file" ] || die "$file is missing: copy containers/.env.$env.example to it and fill it in (or point ADMIN2_ENV_FILE at your env file)"
  printf '%s' "$file"
}

compose_file() {
  local env="$1" file
  case "$env" in
    staging | production) ;;
    *) die "unknown environment '$env' (staging or production)" ;;
  esac
  file="$REPO_DIR/containers/docker-compose.$env.yml"
  [ -f "$file" ] || die "$file is missing"
  printf '%s' "$file"
}
