"""Reads: user SQL (guarded) with :func:`execute`, code-authored SQL with :func:`run_trusted`."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from admin2_analytics.engine import backend, config, slots, watchdog
from admin2_analytics.engine.checking import prepare_in
from admin2_analytics.engine.session import Session
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import ParameterError


@dataclass
class QueryResult:
    """Rows of one query, as the engine returned them or as the result cache kept them."""

    columns: list[str]
    types: list[str]
    rows: list[tuple]
    elapsed_ms: float
    truncated: bool = False  # more rows existed than ``max_rows`` asked for
    parameters: dict[str, Any] = field(default_factory=dict)
    ran_at: dt.datetime = field(default_factory=timezone.now)
    cached_at: dt.datetime | None = None  # set when the rows came from the result cache

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def from_cache(self) -> bool:
        return self.cached_at is not None

    @property
    def typed_columns(self) -> list[tuple[str, str]]:
        return list(zip(self.columns, self.types, strict=False))

    def cacheable(self) -> dict[str, Any]:
        """What the result cache keeps (plain values; the bound parameters stay out)."""
        kept = dataclasses.asdict(self)
        del kept["parameters"], kept["cached_at"]
        return kept


@contextlib.contextmanager
def user_query(
    engine_settings: dict[str, Any], limits: config.Limits, tag: QueryTag, query_id: str
) -> Iterator[Session]:
    """A read-only session for one user query: a slot of the person's, small blocks, and the
    deadline that cancels (or abandons) it. ``engine_settings`` start from ``limits``."""
    if limits.max_block_size:
        # The time limit is checked as blocks pass: small blocks bound what one row costs.
        engine_settings["max_block_size"] = limits.max_block_size
    seconds = float(engine_settings["max_execution_time"])
    query_id = query_id or watchdog.new_query_id()
    engine = backend.current()
    with (
        slots.slot(tag.user, seconds),
        engine.session(engine_settings, tag, readonly=True, query_id=query_id) as session,
        # The deadline counts the checks too: the bound is on what the person waits for.
        watchdog.deadline(query_id, seconds, engine.cancel, engine.abandon),
    ):
        yield session


def execute(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    tag: QueryTag,
    max_rows: int | None = None,
    timeout: float | None = None,
    query_id: str = "",
) -> QueryResult:
    """Run user SQL (guarded) and return its rows.

    ``query_id`` (from :func:`new_query_id`) lets another thread or request :func:`cancel` it.

    Without ``max_rows`` a result over ``ANALYTICS_MAX_RESULT_ROWS`` raises
    :class:`ResultTooLarge`. With ``max_rows`` (at most that limit) the engine stops soon
    after ``max_rows`` rows and the result says ``truncated`` when there were more.
    """
    limits = config.query_limits()
    engine_settings = limits.as_settings()
    if max_rows is not None:
        if max_rows < 1:
            raise ParameterError("max_rows must be at least 1")
        keep = min(max_rows, limits.max_result_rows)
        # 'break' stops at a block boundary past the limit: we learn "there is more" cheaply.
        engine_settings.update(max_result_rows=keep + 1, result_overflow_mode="break")
    else:
        keep = None
    if timeout is not None:
        engine_settings["max_execution_time"] = float(timeout)
    with user_query(engine_settings, limits, tag, query_id) as session:
        statement, values = prepare_in(session, sql, params)
        result = _run(session, statement, values)
    if keep is not None and len(result.rows) > keep:
        result.rows = result.rows[:keep]
        result.truncated = True
    return result


def run_trusted(sql: str, params: Mapping[str, Any] | None = None, *, tag: QueryTag) -> QueryResult:
    """Run code-authored read SQL (no guard: it may read ``system`` tables), read-only.

    Never pass user text here: this is for SQL written in this package (schema browser).
    """
    return _query(sql, dict(params or {}), config.query_limits().as_settings(), tag)


def ping(timeout: float) -> str:
    """Check the engine answers ``SELECT 1`` within ``timeout``; return a short detail."""
    return backend.current().ping(timeout)


def cancel(query_id: str) -> bool:
    """Stop the query running as ``query_id`` (see :func:`execute`); False when none was found.

    The engine stops it at its next block boundary; on the embedded engine only a query of
    this process can be found (chDB runs in one process at a time).
    """
    return backend.current().cancel(query_id)


def new_query_id() -> str:
    return watchdog.new_query_id()


def _query(sql: str, params: dict, limits: Mapping[str, Any], tag: QueryTag) -> QueryResult:
    with backend.current().session(limits, tag, readonly=True) as session:
        return _run(session, sql, params)


def _run(session: Session, sql: str, params: dict) -> QueryResult:
    # Timed from here: opening the embedded engine is not the query's own duration.
    started = time.perf_counter()
    try:
        result = session.run(sql, params)
        rows = [tuple(row) for row in result.result_rows]
    except Exception as exc:
        raise backend.current().translate(exc) from exc
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return QueryResult(
        columns=list(result.column_names),
        types=[column_type.name for column_type in result.column_types],
        rows=rows,
        elapsed_ms=elapsed_ms,
        parameters=params,
    )
