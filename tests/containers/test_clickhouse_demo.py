"""The staging ClickHouse container's demo data: the embedded demo's own SQL file, mounted,
and a clean init script."""

from __future__ import annotations

from harness import compose

INITDB = compose.CONTAINERS / "clickhouse" / "initdb"


def test_the_container_runs_the_demo_sql_the_embedded_demo_runs():
    """One source: the staging container mounts the package's SQL file and its init script
    reads exactly that mount (the embedded demo reads the same file: test_commands_demo_data)."""
    from admin2_analytics.demo_data import SQL_FILE

    volumes = compose.resolved("staging")["services"]["clickhouse"]["volumes"]
    mounted = [v for v in volumes if str(v.get("source", "")).endswith("demo_events.sql")]
    assert len(mounted) == 1, volumes
    assert mounted[0]["source"] == str(SQL_FILE)
    assert mounted[0].get("read_only")
    script = (INITDB / "10-demo-data.sh").read_text()
    assert f"--queries-file {mounted[0]['target']}" in script
    assert not (INITDB / "sql").exists(), "a second copy of the demo SQL"


def test_init_script_is_executable():
    # The image sources a non-executable script instead of running it; ShellCheck runs as a
    # pre-commit hook.
    assert (INITDB / "10-demo-data.sh").stat().st_mode & 0o111


def test_the_container_gets_what_the_init_script_requires():
    environment = compose.resolved("staging")["services"]["clickhouse"]["environment"]
    script = (INITDB / "10-demo-data.sh").read_text()
    for name in ("CLICKHOUSE_DB", "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD",
                 "CLICKHOUSE_READER_USER", "CLICKHOUSE_READER_PASSWORD"):  # fmt: skip
        assert f"${{{name}:?}}" in script
        assert environment.get(name), name
    # The application's read-only account is the one the script creates.
    app = compose.resolved("staging")["services"]["web"]["environment"]
    assert environment["CLICKHOUSE_DB"] == app.get("CLICKHOUSE_DATABASE", "analytics")
