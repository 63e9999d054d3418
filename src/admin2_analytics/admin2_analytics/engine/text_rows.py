"""User SQL (guarded) read back as ClickHouse's own text for each value: what the console shows.

The engine writes every value (time zones, Decimal scale, 64-bit integers, Map/Tuple/Array
literals) and this module only undoes the TabSeparated escaping of the top-level values.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from admin2_analytics.engine import backend, config
from admin2_analytics.engine.api import QueryResult, user_query
from admin2_analytics.engine.checking import prepare_in
from admin2_analytics.engine.streaming import chunks_of
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import ParameterError

# The same bytes the exports write (exports pin these too): Decimal keeps its scale.
TEXT_SETTINGS = {
    "output_format_decimal_trailing_zeros": 1,
    "format_tsv_null_representation": "\\N",
}
_ESCAPES = {"b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t", "0": "\0", "a": "\a", "v": "\v"}
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
# Array, Map, Tuple (and Nested) values are written as quoted ClickHouse literals, unescaped.
_COMPOUND = re.compile(r"^(?:Nullable\(|LowCardinality\()*(?:Array|Map|Tuple|Nested)\(")


def execute_text(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    tag: QueryTag,
    max_rows: int,
    offset: int = 0,
    query_id: str = "",
) -> QueryResult:
    """Rows ``offset`` .. ``offset + max_rows`` of user SQL, each value ClickHouse's text.

    A value is ``None`` for NULL, else a string; ``truncated`` says more rows follow.
    """
    if max_rows < 1 or offset < 0:
        raise ParameterError("max_rows must be at least 1 and offset at least 0")
    limits = config.query_limits()
    engine_settings = {**limits.as_settings(), **TEXT_SETTINGS}
    with user_query(engine_settings, limits, tag, query_id) as session:
        statement, values = prepare_in(session, sql, params)
        # The checked statement, wrapped: one row past the page says whether more follow.
        paged = f"SELECT * FROM (\n{statement}\n) LIMIT {int(max_rows) + 1} OFFSET {int(offset)}"  # noqa: S608
        started = time.perf_counter()
        try:
            # The run's own query (the one query_id names, so Stop can find it).
            raw = session.raw_stream(paged, values, "TabSeparatedWithNamesAndTypes")
            try:
                data = b"".join(chunks_of(raw))
            finally:
                raw.close()
        except Exception as exc:
            raise backend.current().translate(exc) from exc
        elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    columns, types, rows = parse_tsv_with_names_and_types(data)
    return QueryResult(
        columns=columns,
        types=types,
        rows=rows[:max_rows],
        elapsed_ms=elapsed_ms,
        truncated=len(rows) > max_rows,
        parameters=values,
    )


def parse_tsv_with_names_and_types(data: bytes) -> tuple[list[str], list[str], list[tuple]]:
    """Names, full types and rows of ``TabSeparatedWithNamesAndTypes`` output."""
    lines = data.decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        return [], [], []
    columns = [unescape(field) for field in lines[0].split("\t")]
    types = [unescape(field) for field in lines[1].split("\t")]
    compound = [bool(_COMPOUND.match(kind)) for kind in types]
    return columns, types, [_row(line, compound) for line in lines[2:]]


def _row(line: str, compound: list[bool]) -> tuple:
    # A compound value (Array, Map, Tuple...) stays the literal ClickHouse printed.
    return tuple(
        None if field == "\\N" else (field if literal else unescape(field))
        for field, literal in zip(line.split("\t"), compound, strict=True)
    )


def unescape(field: str) -> str:
    """Undo TabSeparated escaping (``\\t``, ``\\n``, ``\\\\``, ``\\'`` ...)."""
    if "\\" not in field:
        return field
    return _ESCAPED.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), field)
