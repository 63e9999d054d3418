# shellcheck shell=bash
# Release phase: pending migrations, the pre-migration backup, migrate.
# Sent after deploy/remote/release.sh in one bundle (deploy/lib/release-bundle.sh): its
# settings and log/die apply here. Functions only; main calls them.
# shellcheck disable=SC2034,SC2153  # release.sh's globals: shellcheck sees them in the bundle

# Migrations pending for this release's code (Django's `migrate --check` in a one-off container
# of its image): 0 none, 1 some.
migrations_pending() {
  local tag="$1"
  if compose_tag "$tag" run --rm --no-deps migrate admin2 migrate --check >/dev/null 2>&1; then
    return 1
  fi
  return 0
}

migrate() {
  local tag="$1"
  # `up -d` also recreates db or redis when their configuration changed (config-sum labels);
  # --wait: a configuration they cannot run with fails here, before anything migrates.
  compose_tag "$tag" up -d --wait "${BACKING_SERVICES[@]}" \
    || die "db and redis did not start healthy with this release's configuration ('just logs db', 'just logs redis')"
  if [ "$PRE_MIGRATION_BACKUP" = 1 ] && [ -n "$(read_state current)" ] && migrations_pending "$tag"; then
    local label="pre-migrate-${tag:0:12}"
    log "migrations are pending: database backup first (label $label)"
    deploy/backup.sh --label "$label" --no-media \
      || die "the pre-migration backup failed: nothing was migrated (--no-pre-migration-backup skips it)"
  fi
  log "migrating with $IMAGE:$tag (one-shot service migrate)"
  compose_tag "$tag" run --rm migrate || die "the migration (service migrate) failed"
}
