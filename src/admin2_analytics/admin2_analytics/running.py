"""Run queries for the pages and tasks: the engine seam plus history, the result cache and
readable errors. Nothing here talks to ClickHouse except through ``engine``."""

from __future__ import annotations

from admin2_analytics import engine, history, result_cache
from admin2_analytics.engine import QueryResult
from admin2_analytics.errors import AnalyticsError, QueryFailed


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
                row_count=len(hit["rows"]),
                cached=True,
            )
            return QueryResult(**hit)
    result = run_sql(
        saved_query.sql,
        params,
        user=user,
        saved_query=saved_query,
        max_rows=max_rows,
        source=source,
    )
    result_cache.put(saved_query, params, max_rows, result.cacheable())
    return result


def run_sql(
    sql: str, params: dict, *, user, max_rows: int, saved_query=None, source="web"
) -> QueryResult:
    """Run ``sql`` through the engine, record it in the history, return its rows.

    Every failure leaves as an ``AnalyticsError`` with a message fit for the page; anything
    unexpected is logged with its traceback and reported as a failed query.
    """
    try:
        with history.recorded(
            sql=sql, source=source, user=user, saved_query=saved_query, params=params
        ) as run:
            result = engine.execute(
                sql, params or None, tag=run.tag, max_rows=max_rows, query_id=run.query_id
            )
            result.ran_at = run.started_at
            run.row_count = result.row_count
    except AnalyticsError:
        raise
    except Exception as exc:
        raise QueryFailed(f"the query failed unexpectedly ({type(exc).__name__})") from exc
    return result
