# shellcheck shell=bash
# The script deploy/deploy.sh sends to the server: deploy/remote/release.sh, the service list
# (deploy/lib/services.sh with deploy/services inlined: the server's checkout may predate it),
# the Compose CLI finder (deploy/lib/compose-cli.sh), the db image's tag (deploy/lib/db-image.sh),
# every phase under deploy/remote/release/, then the call to main. Self-contained.
#   release_bundle DEPLOY_DIR   writes the bundle to stdout

release_bundle() {
  local dir="$1" phase
  cat "$dir/remote/release.sh"
  printf 'services_table() {\n  cat <<'"'"'ADMIN2_SERVICES'"'"'\n'
  SERVICE_LIST_FILE="$dir/services" bash -c '. "$1/lib/services.sh"; services_table' _ "$dir"
  printf 'ADMIN2_SERVICES\n}\n'
  cat "$dir/lib/services.sh"
  cat "$dir/lib/compose-cli.sh"
  cat "$dir/lib/db-image.sh"
  for phase in "$dir"/remote/release/*.sh; do
    cat "$phase"
  done
  printf 'main "$@"\n'
}
