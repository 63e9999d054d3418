# shellcheck shell=bash
# Release phase: keep the last releases' images, remove the rest of those this install deployed
# (its releases.log): an admin2 image it never recorded, a second install's or one loaded by
# hand for a rollback, is not its to remove.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

prune_images() {
  local keep=() refs=() known=() tag line
  for tag in "$(read_state current)" "$(read_state previous)"; do
    [ -z "$tag" ] || keep+=("$tag")
  done
  if [ -f "$STATE/releases.log" ]; then
    while read -r line; do
      tag="$(echo "$line" | awk '{print $3}')"
      [ "${#keep[@]}" -lt "$KEEP" ] || break
      [[ " ${keep[*]} " == *" $tag "* ]] || keep+=("$tag")
    done < <(grep ' ok ' "$STATE/releases.log" | tac)
    mapfile -t known < <(awk '{print $3}' "$STATE/releases.log" | sort -u)
  fi
  while read -r tag; do
    is_sha "$tag" || continue
    [[ " ${keep[*]} " == *" $tag "* ]] && continue
    [[ " ${known[*]} " == *" $tag "* ]] || continue
    # Also its registry name (REPO@DIGEST): a pulled image is only gone when both are.
    mapfile -t refs < <(docker image inspect --format '{{range .RepoDigests}}{{println .}}{{end}}' "$IMAGE:$tag" 2>/dev/null | grep . || true)
    if docker image rm "$IMAGE:$tag" "${refs[@]}" >/dev/null 2>&1; then
      log "pruned image $IMAGE:$tag"
    else
      log "could not prune $IMAGE:$tag (still in use?)"
    fi
  done < <(docker image ls "$IMAGE" --format '{{.Tag}}')
  log "keeping images of ${#keep[@]} release(s): ${keep[*]}"
}
