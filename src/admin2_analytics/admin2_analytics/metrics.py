"""Prometheus series of the analytics plugin: ClickHouse queries by kind and outcome.

Every run that reaches the engine ends in ``history.PendingRun.finish``, which calls
:func:`observe`; kinds are console, saved_query, export and report.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from admin2_analytics.errors import QueryRefused, QueryTimeout

KINDS = ("console", "saved_query", "export", "report")
OUTCOMES = ("ok", "refused", "failed", "timed_out")

QUERIES = Counter(
    "admin2_analytics_queries", "ClickHouse queries run, by kind and outcome", ["kind", "outcome"]
)
DURATION = Histogram(
    "admin2_analytics_query_duration_seconds", "Time a ClickHouse query took, by kind",
    ["kind"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)  # fmt: skip
ROWS = Counter("admin2_analytics_query_rows", "Rows the queries returned, by kind", ["kind"])


def outcome(error: BaseException | str | None) -> str:
    if error is None or error == "":
        return "ok"
    if isinstance(error, QueryRefused):
        return "refused"
    if isinstance(error, QueryTimeout):
        return "timed_out"
    return "failed"


def observe(kind: str, seconds: float, *, row_count=None, error=None) -> None:
    QUERIES.labels(kind, outcome(error)).inc()
    DURATION.labels(kind).observe(seconds)
    if row_count:
        ROWS.labels(kind).inc(row_count)
