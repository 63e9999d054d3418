"""The query history: one ``QueryRun`` row per execution, failures included.

Web pages, tasks and the ``analytics_query`` command all call :func:`record` after a query
ran (or failed), so the history answers "who ran what, when, for how long, with what result".
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import DatabaseError
from django.utils import timezone

logger = logging.getLogger(__name__)


def record(
    *,
    sql: str,
    source: str,
    user=None,
    saved_query=None,
    params: dict | None = None,
    started_at: dt.datetime | None = None,
    duration_ms: float = 0,
    row_count: int | None = None,
    error: BaseException | str | None = None,
    cached: bool = False,
):
    """Write one history row and return it (None if the admin database refused the write).

    ``user`` may be None (a command run without ``--user``); ``params`` are stored as text so
    dates and decimals survive JSON. A failing history write is logged, never raised: losing a
    history row must not turn a successful query into an error page.
    """
    from admin2_analytics.models import QueryRun

    try:
        return QueryRun.objects.create(
            user=user if getattr(user, "pk", None) else None,
            saved_query=saved_query,
            sql=sql,
            params={str(k): _text(v) for k, v in (params or {}).items()},
            source=source,
            started_at=started_at or timezone.now(),
            duration_ms=max(0, round(duration_ms)),
            row_count=row_count,
            error=str(error) if error else "",
            cached=cached,
        )
    except DatabaseError:
        logger.exception("could not record the analytics query run in the history")
        return None


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)
