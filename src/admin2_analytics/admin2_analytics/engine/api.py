"""Reads: user SQL (guarded) with :func:`execute`, code-authored SQL with :func:`run_trusted`."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from admin2_analytics.engine import config, embedded, failures, slots, watchdog
from admin2_analytics.engine.checking import prepare_in
from admin2_analytics.engine.sessions import Session, open_session, read_timeout
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import EngineUnavailable, ParameterError


@dataclass
class QueryResult:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    elapsed_ms: float
    truncated: bool = False  # more rows existed than ``max_rows`` asked for
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def row_count(self) -> int:
        return len(self.rows)


def execute(
    sql: str,
    params: Mapping[str, Any] | None = None,
    *,
    tag: QueryTag,
    max_rows: int | None = None,
    timeout: float | None = None,
) -> QueryResult:
    """Run user SQL (guarded) and return its rows.

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
    if limits.max_block_size:
        # The time limit is checked as blocks pass: small blocks bound what one row costs.
        engine_settings["max_block_size"] = limits.max_block_size
    seconds = float(engine_settings["max_execution_time"])
    query_id = watchdog.new_query_id()
    if not config.is_embedded():
        engine_settings["query_id"] = query_id
    with (
        slots.slot(tag.user, seconds),
        open_session(engine_settings, tag, readonly=True) as session,
    ):
        statement, values = prepare_in(session, sql, params)
        with _deadline(session, query_id, seconds):
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
    tag = QueryTag(user="readyz", source="web")
    limits = {"max_execution_time": max(1.0, float(timeout))}
    if config.is_embedded():
        path = config.embedded_path()
        try:
            # A probe looks, it does not ask the process whose turn it is to hand over.
            with open_session(
                limits, tag, readonly=True, lock_timeout=min(timeout, 0.5), announce=False
            ) as session:
                session.query("SELECT 1", {})
        except EngineUnavailable:
            if embedded.lock_path(path).exists() and embedded.holder_of(path):
                # Another process has its turn on the directory: the engine is alive.
                return f"embedded chDB at {path}, busy: {embedded.holder_of(path)}"
            raise
        return f"embedded chDB at {path}"
    # A client of its own whose socket gives up at the probe's timeout: a hung server must not
    # hold the readiness check for the (long, export-sized) read timeout.
    configured = config.server()
    server = dataclasses.replace(
        configured,
        read_timeout=float(timeout),
        connect_timeout=min(configured.connect_timeout, float(timeout)),
    )
    with open_session(limits, tag, readonly=True, server=server) as session:
        session.query("SELECT 1", {})
    return f"{'https' if server.secure else 'http'}://{server.host}:{server.port}"


def _deadline(session: Session, query_id: str, seconds: float):
    """On a server, kill the query if it outlives its limit (see :mod:`.watchdog`)."""
    if config.is_embedded():
        return contextlib.nullcontext()
    return watchdog.deadline(query_id, seconds, watchdog.kill_on_server(session.client))


def _query(sql: str, params: dict, limits: Mapping[str, Any], tag: QueryTag) -> QueryResult:
    with open_session(limits, tag, readonly=True) as session:
        return _run(session, sql, params)


def _run(session: Session, sql: str, params: dict) -> QueryResult:
    # Timed from here: opening the embedded engine is not the query's own duration.
    started = time.perf_counter()
    try:
        result = session.query(sql, params)
        rows = [tuple(row) for row in result.result_rows]
    except Exception as exc:
        raise failures.translate(exc, read_timeout=read_timeout()) from exc
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    return QueryResult(
        columns=list(result.column_names),
        types=[column_type.name for column_type in result.column_types],
        rows=rows,
        elapsed_ms=elapsed_ms,
        parameters=params,
    )
