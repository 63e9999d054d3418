"""The demo ``events`` table: generated inside the engine, deterministic for a given size.

The SQL is ``demo_events.sql`` beside this module (the staging ClickHouse container runs the
same file): one ``INSERT ... SELECT`` over ``numbers(N)``, about a second per million rows.
"""

from __future__ import annotations

from pathlib import Path

from admin2_analytics.engine import QueryTag, maintenance_session

TABLE = "events"
DEFAULT_ROWS = 1_000_000
SQL_FILE = Path(__file__).with_name("demo_events.sql")


def statements() -> list[str]:
    """The file's statements, comments dropped (the file holds no ``;`` inside strings)."""
    code = "\n".join(
        line for line in SQL_FILE.read_text().splitlines() if not line.lstrip().startswith("--")
    )
    return [statement.strip() for statement in code.split(";") if statement.strip()]


def create_events(rows: int = DEFAULT_ROWS, *, tag: QueryTag | None = None) -> int:
    """(Re)create ``events`` with ``rows`` rows; return the row count the engine reports."""
    if rows < 1:
        raise ValueError("rows must be at least 1")
    tag = tag or QueryTag(user="admin2", source="cli")
    with maintenance_session(tag=tag) as session:
        session.command(f"DROP TABLE IF EXISTS {TABLE}")
        for statement in statements():
            # {rows:UInt64} is bound server-side like any other parameter.
            session.query(statement, {"rows": rows} if "{rows:" in statement else None)
        count = session.query(f"SELECT count() FROM {TABLE}")  # noqa: S608
        return int(count[0][0])
