# admin2 — every command an operator or developer needs. `just --list` explains each.
# The Compose recipes work on the staging stack unless told otherwise:
#   just stack=production ps        or        ADMIN2_STACK=production just ps
# They are thin: the work is in the scripts under deploy/ (docs/operations.md).

set dotenv-load := false

stack := env_var_or_default("ADMIN2_STACK", "staging")

# Show the recipes
default:
    @just --list

# Start admin2 with demo content on embedded defaults (SQLite, chDB, tasks without Redis)
demo *ARGS:
    uv run admin2 demo {{ARGS}}

# Run the whole test suite exactly as CI does (installs what is missing)
test *ARGS:
    ./scripts/test {{ARGS}}

# Lint: ruff, formatting, import contracts, migrations (pre-commit, offline hooks)
lint:
    uv run pre-commit run --all-files

# Run the benchmarks (all, or one by name: web, web_stack, tasks_io, analytics_export)
bench *NAMES:
    uv run python bench/run.py {{NAMES}}

# ---- the Compose stack (staging unless stack=production) ----------------------------------

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

# Ask /healthz and /readyz through Nginx on this machine (or at BASE_URL)
health *BASE_URL:
    deploy/health.sh {{stack}} {{BASE_URL}}

# Validate the stack's Compose file with its env file (docker compose config)
config:
    deploy/compose.sh {{stack}} config --quiet && echo "{{stack}}: Compose configuration is valid"

# ---- production -------------------------------------------------------------------------------

# Build the production image here, tagged with the current commit (admin2:<commit>)
[positional-arguments]
build-prod *ARGS:
    deploy/build-prod.sh "$@"

# Deploy this checkout's HEAD to DEPLOY_HOST over SSH: lock, build, migrate, health-gated switch, auto-rollback
[positional-arguments]
deploy-prod *ARGS:
    deploy/deploy.sh deploy "$@"

# Roll production back to the previous release (or to the release SHA given)
[positional-arguments]
rollback *SHA:
    deploy/deploy.sh rollback "$@"

# Show production's current and previous release, recent releases and containers
releases:
    deploy/deploy.sh status

# Back up PostgreSQL and media now (on the server; retention and off-site copy as configured)
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

# Install the nightly backup timer and the logrotate config on this server (root, once)
[positional-arguments]
install-host *ARGS:
    deploy/install-host.sh "$@"
