"""The staging ClickHouse container's demo data: valid ClickHouse SQL (run by chDB, the same
engine) that builds exactly the embedded demo's ``events`` table, and a clean init script."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.containers import compose
from tests.support.services import REPO, venv_tool

INITDB = compose.CONTAINERS / "clickhouse" / "initdb"

# chDB admits one data directory per process: the comparison runs in a child process.
COMPARE = r"""
import json, sys, tempfile
import clickhouse_connect

container_sql, module_path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
client = clickhouse_connect.get_client(dsn="chdb:///" + tempfile.mkdtemp())
text = open(container_sql).read()
statements = [s for s in text.split(";")
              if any(line.strip() and not line.strip().startswith("--") for line in s.splitlines())]
for statement in statements:
    client.command(statement, parameters={"rows": rows})
client.command("RENAME TABLE events TO container_events")

# The embedded demo's SQL constants, without importing Django.
source = open(module_path).read().split("def create_events")[0]
namespace = {}
exec(source.replace("from admin2_analytics.engine import QueryTag, maintenance_session", ""),
     namespace)
client.command(namespace["CREATE_TABLE"])
client.command(namespace["FILL_TABLE"], parameters={"rows": rows})

def columns(table):
    return client.query(
        "SELECT name, type, comment FROM system.columns "
        "WHERE database = currentDatabase() AND table = {t:String} ORDER BY position",
        parameters={"t": table}).result_rows

print(json.dumps({
    "statements": len(statements),
    "same_columns": columns("events") == columns("container_events"),
    "columns": len(columns("container_events")),
    "rows": client.query("SELECT count() FROM container_events").result_rows[0][0],
    "different_rows": client.query(
        "SELECT count() FROM (SELECT * FROM events EXCEPT SELECT * FROM container_events)"
    ).result_rows[0][0],
}))
"""


def test_container_demo_table_equals_the_embedded_demo_table():
    module = REPO / "src" / "admin2_analytics" / "admin2_analytics" / "demo_data.py"
    result = subprocess.run(
        [sys.executable, "-c", COMPARE, str(INITDB / "sql" / "demo_events.sql"), str(module),
         "20000"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {
        "statements": 2,
        "same_columns": True,
        "columns": 10,
        "rows": 20000,
        "different_rows": 0,
    }


def test_init_script_is_executable_and_shellcheck_clean():
    script = INITDB / "10-demo-data.sh"
    assert script.stat().st_mode & 0o111, "the image sources non-executable scripts instead"
    result = subprocess.run(
        [venv_tool("shellcheck"), "--severity=style", str(script)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout


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
