# shellcheck shell=bash
# Release phase: check out the commit, fetching only when needed.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

# The commit is fetched only when the server does not have it yet: a rollback, or a deploy of
# a commit seen before, works while the git server is unreachable.
checkout() {
  local sha="$1"
  if git cat-file -e "$sha^{commit}" 2>/dev/null; then
    log "commit $sha is here already: no fetch needed"
  else
    log "fetching $GIT_REMOTE"
    git fetch --quiet "$GIT_REMOTE" || die "git fetch $GIT_REMOTE failed on the server, and $sha is not here"
    git cat-file -e "$sha^{commit}" 2>/dev/null \
      || die "commit $sha is not in $GIT_REMOTE as the server sees it: push it first"
  fi
  local changes
  changes="$(git status --porcelain --untracked-files=no)"
  if [ -n "$changes" ]; then
    [ "$FORCE" = 1 ] || die "the checkout in $DEPLOY_PATH has local changes (git -C $DEPLOY_PATH status); --force discards them"
    log "discarding these local changes on the server (--force):"
    printf '%s\n' "$changes" | sed 's/^/    /'
    git diff --stat HEAD | sed 's/^/    /' || true
    local saved
    saved="$STATE/discarded-$(date -u +%Y%m%dT%H%M%SZ).patch"
    git diff HEAD >"$saved" && log "the discarded changes are saved in $saved"
    git checkout --quiet --force --detach "$sha"
  else
    git checkout --quiet --detach "$sha"
  fi
  [ "$(git rev-parse HEAD)" = "$sha" ] || die "checkout of $sha did not take"
  CHECKED_OUT="$sha"
  log "checked out $sha"
}
