"""Learn a query's result columns without running it, to validate chart settings on save."""

from __future__ import annotations

from admin2_analytics import engine


def result_columns(sql: str, params: dict, *, tag: engine.QueryTag) -> dict[str, str]:
    """``{column: ClickHouse type}`` of the result of ``sql``, in order.

    The guard checks the user's SQL first (raising QueryRefused); ``DESCRIBE TABLE (...)``
    then makes ClickHouse plan the query without reading any data. The guard refuses
    DESCRIBE in user text, hence the trusted path, used here only around guarded SQL.
    """
    statement, bound = engine.prepare(sql, params, tag=tag)
    result = engine.run_trusted(f"DESCRIBE TABLE (\n{statement}\n)", bound, tag=tag)
    name_at, type_at = result.columns.index("name"), result.columns.index("type")
    return {row[name_at]: row[type_at] for row in result.rows}
