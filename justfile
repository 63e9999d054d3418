# admin2 — every command an operator or developer needs. `just --list` explains each.

set dotenv-load := false

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
