"""The schema browser's questions, answered through the seam from ClickHouse's ``system`` tables.

These queries are written here, not by users, so they run through
:func:`admin2_analytics.engine.run_trusted` (read-only, with limits, no guard: the guard keeps
users away from ``system`` tables). Names arrive as bound parameters.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from admin2_analytics.engine import QueryTag, run_trusted

logger = logging.getLogger(__name__)

# Server bookkeeping databases that hold no warehouse data.
HIDDEN_DATABASES = ("system", "information_schema", "INFORMATION_SCHEMA")


@dataclass(frozen=True)
class Table:
    database: str
    name: str
    engine: str
    total_rows: int | None
    total_bytes: int | None
    comment: str = ""
    sorting_key: str = ""
    partition_key: str = ""
    primary_key: str = ""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    default_kind: str
    default_expression: str
    comment: str
    position: int


def is_hidden(database: str) -> bool:
    """A bookkeeping database the browser never shows, in any letter case."""
    return database.lower() in {name.lower() for name in HIDDEN_DATABASES}


def _tag(tag: QueryTag | None) -> QueryTag:
    return tag or QueryTag(source="web")


def databases(*, tag: QueryTag | None = None) -> list[str]:
    result = run_trusted(
        "SELECT name FROM system.databases WHERE name NOT IN {hidden:Array(String)} ORDER BY name",
        {"hidden": list(HIDDEN_DATABASES)},
        tag=_tag(tag),
    )
    return [row[0] for row in result.rows]


def tables(database: str, *, tag: QueryTag | None = None) -> list[Table]:
    if is_hidden(database):
        return []
    result = run_trusted(
        "SELECT database, name, engine, total_rows, total_bytes, comment, sorting_key, "
        "partition_key, primary_key FROM system.tables "
        "WHERE database = {database:String} AND NOT is_temporary ORDER BY name",
        {"database": database},
        tag=_tag(tag),
    )
    return [Table(*row) for row in result.rows]


def columns(database: str, table: str, *, tag: QueryTag | None = None) -> list[Column]:
    if is_hidden(database):
        return []
    result = run_trusted(
        "SELECT name, type, default_kind, default_expression, comment, position "
        "FROM system.columns WHERE database = {database:String} AND table = {table:String} "
        "ORDER BY position",
        {"database": database, "table": table},
        tag=_tag(tag),
    )
    return [Column(*row) for row in result.rows]


# The catalog behind completion and the browser's search: enough for a warehouse, bounded.
CATALOG_MAX_COLUMNS = 20_000


def catalog(*, tag: QueryTag | None = None) -> list[dict]:
    """Every visible table with its keys and columns (types, comments), in one round trip."""
    result = run_trusted(
        "SELECT t.database, t.name, t.engine, t.comment, t.sorting_key, t.partition_key, "
        "t.primary_key, c.name, c.type, c.comment FROM system.tables AS t "
        "LEFT JOIN system.columns AS c ON c.database = t.database AND c.table = t.name "
        "WHERE t.database NOT IN {hidden:Array(String)} AND NOT t.is_temporary "
        "ORDER BY t.database, t.name, c.position LIMIT {cap:UInt32}",
        {"hidden": list(HIDDEN_DATABASES), "cap": CATALOG_MAX_COLUMNS},
        tag=_tag(tag),
    )
    tables: dict[tuple[str, str], dict] = {}
    for database, name, engine, comment, sorting, partition, primary, *column in result.rows:
        if is_hidden(database):
            continue
        entry = tables.setdefault(
            (database, name),
            {
                "database": database,
                "name": name,
                "engine": engine,
                "comment": comment,
                "sorting_key": sorting,
                "partition_key": partition,
                "primary_key": primary,
                "columns": [],
            },
        )
        if column[0]:
            entry["columns"].append(dict(zip(("name", "type", "comment"), column, strict=True)))
    return list(tables.values())


CATALOG_CACHE_KEY = "analytics:catalog:v1"
CATALOG_CACHE_SECONDS = 60  # a new table shows in completion within a minute


def cached_catalog(*, tag: QueryTag | None = None) -> list[dict]:
    """:func:`catalog`, kept a minute in the Django cache: every console page shows it, and
    reading ``system.columns`` costs more than the page (bench console). A cache outage only
    makes the page slower."""
    from django.core.cache import cache

    try:
        found = cache.get(CATALOG_CACHE_KEY)
    except Exception:
        logger.warning("analytics catalog cache read failed", exc_info=True)
        found = None
    if found is not None:
        return found
    fresh = catalog(tag=tag)
    try:
        cache.set(CATALOG_CACHE_KEY, fresh, CATALOG_CACHE_SECONDS)
    except Exception:
        logger.warning("analytics catalog cache write failed", exc_info=True)
    return fresh
