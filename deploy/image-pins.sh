#!/usr/bin/env bash
# The third-party images' digest pins (containers/image-pins; docs/containers.md):
#   deploy/image-pins.sh pin     refresh every pin from its registry (then commit the file)
#   deploy/image-pins.sh check   report moved tags and newer patch releases (exit 3 when any)
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"
load_env_file
[ $# -eq 1 ] || die "usage: deploy/image-pins.sh pin|check"
exec python3 "$SCRIPTS_DIR/lib/image_pins.py" "$1" "$REPO_DIR/containers/image-pins"
