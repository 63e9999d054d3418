#!/usr/bin/env bash
# Build the production image here, tagged with the commit it is built from: admin2:<commit>
# (admin2:<commit>-dirty when the working tree has uncommitted changes). `just deploy-prod`
# builds on the server instead; this is for checking the image before pushing.
set -euo pipefail
# shellcheck source=deploy/lib/common.sh
. "$(dirname "$0")/lib/common.sh"

cd "$REPO_DIR"
tag="$(git rev-parse HEAD)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  tag="$tag-dirty"
  note "uncommitted changes: tagging admin2:$tag"
fi
docker build --file containers/Dockerfile --target production --tag "admin2:$tag" "$@" .
echo "built admin2:$tag"
