"""Run queries for the pages and tasks: the engine seam plus history, the result cache and
readable errors. Nothing here talks to ClickHouse except through ``engine``."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

from django.utils import timezone

from admin2_analytics import engine, history, result_cache
from admin2_analytics.errors import AnalyticsError, QueryFailed

logger = logging.getLogger(__name__)


@dataclass
class ResultSet:
    columns: list[str]
    types: list[str]
    rows: list[tuple]
    row_count: int
    elapsed_ms: float
    truncated: bool = False
    ran_at: object = field(default_factory=timezone.now)
    cached_at: object = None  # set when the rows came from the result cache

    @property
    def from_cache(self) -> bool:
        return self.cached_at is not None

    @property
    def typed_columns(self) -> list[tuple[str, str]]:
        return list(zip(self.columns, self.types, strict=False))


def tag_for(user, source: str, saved_query=None) -> engine.QueryTag:
    """The ``log_comment`` tag: who (username), which saved query (name), web/task/cli."""
    return engine.QueryTag(
        user=user.get_username() if getattr(user, "pk", None) else "",
        source=source,
        saved_query=saved_query.name if saved_query is not None else "",
    )


def run_saved(saved_query, params: dict, *, user, max_rows: int, refresh=False, source="web"):
    """Run a saved query with typed ``params``, answering from the cache when allowed.

    ``refresh`` bypasses the cache and rewrites the entry. The caller has already checked
    that ``user`` may see ``saved_query`` (see ``result_cache`` on why that matters).
    """
    if not refresh:
        hit = result_cache.get(saved_query, params, max_rows)
        if hit is not None:
            history.record(
                sql=saved_query.sql,
                source=source,
                user=user,
                saved_query=saved_query,
                params=params,
                row_count=hit["row_count"],
                cached=True,
            )
            return ResultSet(**hit)
    result = run_sql(
        saved_query.sql,
        params,
        user=user,
        saved_query=saved_query,
        max_rows=max_rows,
        source=source,
    )
    stored = asdict(result)
    stored.pop("cached_at")
    result_cache.put(saved_query, params, max_rows, stored)
    return result


def run_sql(sql: str, params: dict, *, user, max_rows: int, saved_query=None, source="web"):
    """Run ``sql`` through the engine, record it in the history, return a ResultSet.

    Every failure leaves as an ``AnalyticsError`` with a message fit for the page; anything
    unexpected is logged with its traceback and reported as a failed query.
    """
    run = history.start(sql=sql, source=source, user=user, saved_query=saved_query, params=params)
    tag = tag_for(user, source, saved_query)
    try:
        raw = engine.execute(sql, params or None, tag=tag, max_rows=max_rows)
    except AnalyticsError as exc:
        run.finish(error=exc)
        raise
    except Exception as exc:
        logger.exception("analytics query failed unexpectedly")
        failure = QueryFailed(f"the query failed unexpectedly ({type(exc).__name__})")
        run.finish(error=failure)
        raise failure from exc
    rows = [tuple(row) for row in raw.rows]
    truncated = bool(getattr(raw, "truncated", False)) or len(rows) > max_rows
    rows = rows[:max_rows]
    result = ResultSet(
        columns=list(raw.columns),
        types=[str(t) for t in raw.types],
        rows=rows,
        row_count=len(rows),
        elapsed_ms=float(getattr(raw, "elapsed_ms", 0) or 0),
        truncated=truncated,
        ran_at=run.started_at,
    )
    run.finish(row_count=result.row_count)
    return result
