# admin2 — every command an operator or developer needs. `just --list` explains each.
# The Compose recipes work on the stack this host runs (recorded by `just install-host` in
# /etc/admin2/stack: production on the server), else staging; or as told:
#   just stack=production ps        or        ADMIN2_STACK=production just ps
# Staging on a production host is refused unless ADMIN2_ALLOW_STAGING=yes.
# They are thin: the work is in the scripts under deploy/ (docs/operations.md).

set dotenv-load := false

stack := env_var_or_default("ADMIN2_STACK", "auto")

# Show the recipes
default:
    @just --list

# Start admin2 with demo content on embedded defaults (SQLite, chDB, tasks without Redis)
demo *ARGS:
    uv run admin2 demo {{ARGS}}

# Run the whole test suite exactly as CI does (installs what is missing)
test *ARGS:
    ./scripts/test {{ARGS}}

# Build the images and run the stacks on this machine's Docker Engine (docs/containers.md)
test-containers *ARGS:
    scripts/ensure-system-deps
    DJANGO_ENVIRONMENT=test uv run pytest tests/containers tests/deploy -m engine {{ARGS}}

# Lint: ruff, formatting, import contracts, migrations (pre-commit, offline hooks)
lint:
    uv run pre-commit run --all-files

# Rebuild the SQL console's editor bundle from its pinned lockfile (Node/npm; commit the result)
editor-bundle:
    cd src/admin2_analytics/editor && npm ci --no-audit --no-fund && npm run build

# Rebuild the editor bundle and fail if it differs from the committed one (CI)
editor-bundle-check:
    scripts/check-editor-bundle

# Run the benchmarks (all, or one by name: web, web_stack, tasks_io, tasks_page, analytics_export)
bench *NAMES:
    uv run python bench/run.py {{NAMES}}

# ---- the Compose stack (this host's, else staging; stack=... to choose) --------------------

# Build and start the stack in the background (staging: hot reload, http://localhost:8071)
[positional-arguments]
up *ARGS:
    deploy/compose.sh {{stack}} up --build --detach "$@"

# Stop and remove the stack's containers (volumes and data stay)
[positional-arguments]
down *ARGS:
    deploy/compose.sh {{stack}} down "$@"

# List the stack's containers with their state and health
ps:
    deploy/compose.sh {{stack}} ps

# Follow the logs of every service, or of one: just logs web (add --since 10m etc.)
[positional-arguments]
logs *SERVICE_AND_OPTIONS:
    deploy/compose.sh {{stack}} logs --follow --tail 200 "$@"

# Open a shell in a running service's container (default: web)
shell SERVICE="web":
    deploy/compose.sh {{stack}} exec {{quote(SERVICE)}} bash

# Run a Django management command in the web container: just manage createsuperuser
[positional-arguments]
manage *ARGS:
    deploy/compose.sh {{stack}} exec web admin2 "$@"

# Check that Redis answers PING (redis-cli ping in the redis container)
check-redis:
    deploy/check.sh {{stack}} redis

# Check that the database accepts connections (pg_isready in db, then Django's own check)
check-db:
    deploy/check.sh {{stack}} db

# Every check at once: Redis, database, workers and beat, and (production) the newest backup's age
[positional-arguments]
check *ARGS:
    deploy/check.sh {{stack}} all "$@"

# Ask /healthz and /readyz through Nginx on this machine (or at BASE_URL)
health *BASE_URL:
    deploy/health.sh {{stack}} {{BASE_URL}}

# Validate the stack's Compose file with its env file (docker compose config)
config:
    deploy/check.sh {{stack}} config

# Create the stack's missing Docker secrets (random passwords, never overwrites one)
secrets:
    deploy/secrets.sh {{stack}}

# ---- production -------------------------------------------------------------------------------

# Build the production image here, tagged with the current commit (admin2:<commit>)
[positional-arguments]
build-prod *ARGS:
    deploy/build-prod.sh "$@"

# Deploy this checkout's HEAD to DEPLOY_HOST over SSH by its image digest (just release first): lock, pull, migrate, health-gated switch, auto-rollback
[positional-arguments]
deploy-prod *ARGS:
    deploy/deploy.sh deploy "$@"

# Roll production back to the previous release (or SHA), offline, never rebuilding; --force past local changes
[positional-arguments]
rollback *SHA:
    deploy/deploy.sh rollback "$@"

# Show production's current and previous release, recent releases and containers
releases:
    deploy/deploy.sh status

# Back up PostgreSQL, media and the age-encrypted config now (on the server; retention, off-site)
[positional-arguments]
backup *ARGS:
    deploy/backup.sh "$@"

# List the backups, newest first
backups:
    deploy/backup.sh list

# Restore a backup (verifies checksums, asks to type its name; --yes skips the question)
[positional-arguments]
restore FILE *ARGS:
    deploy/restore.sh "$@"

# Rotate the host's file logs now (deploy log, Nginx logs on the host); --debug only shows
[positional-arguments]
rotate-logs *ARGS:
    deploy/rotate-logs.sh "$@"

# A new host from nothing: the database from pgBackRest (latest, or --time), the media from the bucket, then the release, healthy
[positional-arguments]
restore-to-new-host *ARGS:
    deploy/restore-to-new-host.sh "$@"

# Record this host's stack; install backup/check timers, alerts, logrotate, upgrades (root, once)
[positional-arguments]
install-host *ARGS:
    deploy/install-host.sh "$@"

# ---- releases by digest (docs/operations.md, "Releases") ------------------------------------

# Build the production image once, tag it with the commit and push it to ADMIN2_REGISTRY; prints its digest
[positional-arguments]
release *ARGS:
    deploy/release-image.sh "$@"

# Pin the third-party images in containers/image-pins to their registry's current digests
pin-images:
    deploy/image-pins.sh pin

# Report pinned images whose tag moved or that have a newer patch release (exit 3 when any)
image-updates:
    deploy/image-pins.sh check

# ---- the swarm: several hosts (docs/scaling.md) ----------------------------------------------

# Make a swarm of hosts over SSH, roles labelled: just swarm-init admin@host1 admin@host2
swarm-init +HOSTS:
    deploy/swarm/init.sh {{HOSTS}}

# Deploy a release digest to the swarm, migrations first: just deploy-swarm IMAGE@sha256:...
[positional-arguments]
deploy-swarm *ARGS:
    deploy/swarm/deploy.sh "$@"

# Scale the stateless services: just scale web=4 celery=3
scale +ASSIGNMENTS:
    deploy/swarm/scale.sh {{ASSIGNMENTS}}

# The swarm's nodes, services, updates, and tasks per node with health
swarm-status:
    deploy/swarm/status.sh

# Back up the swarm's database from the db node: just swarm-backup [--label NAME] | list
[positional-arguments]
swarm-backup *ARGS:
    deploy/swarm/backup.sh "$@"

# Roll app services back to their previous digest: just swarm-rollback [web ...]
swarm-rollback *SERVICES:
    deploy/swarm/rollback.sh {{SERVICES}}
