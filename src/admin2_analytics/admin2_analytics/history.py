"""The query history: one ``QueryRun`` row per execution, failures included.

Pages, tasks and the ``analytics_query`` command run each query inside :func:`recorded`, so
the history answers "who ran what, when, for how long, with what result".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


def record(
    *,
    sql: str,
    source: str,
    user=None,
    os_user: str = "",
    saved_query=None,
    params: dict | None = None,
    started_at: dt.datetime | None = None,
    duration_ms: float = 0,
    row_count: int | None = None,
    error: BaseException | str | None = None,
    cached: bool = False,
    raise_errors: bool = False,
    query_id: str = "",
):
    """Write one history row and return it (None if the admin database refused the write).

    ``user`` may be None (a command run without ``--user``); ``os_user`` names the shell
    account of a command-line run; ``params`` are stored as text so dates and decimals survive
    JSON. A failing history write is logged, never raised: losing a history row must not turn
    a successful query into an error page. ``raise_errors`` hands the ``DatabaseError`` to a
    caller that reports it itself (the command's log handler writes to its stdout).
    """
    from admin2_analytics.models import QueryRun

    try:
        # A savepoint: a refused write must not break the caller's transaction.
        with transaction.atomic():
            return QueryRun.objects.create(
                user=user if getattr(user, "pk", None) else None,
                os_user=_storable(os_user),
                saved_query=saved_query,
                sql=_storable(sql),
                params={_storable(str(k)): _storable(_text(v)) for k, v in (params or {}).items()},
                source=source,
                started_at=started_at or timezone.now(),
                duration_ms=max(0, round(duration_ms)),
                row_count=row_count,
                error=_storable(str(error)) if error else "",
                cached=cached,
                query_id=query_id,
            )
    except DatabaseError:
        if raise_errors:
            raise
        logger.exception("could not record the analytics query run in the history")
        return None


@dataclass
class PendingRun:
    """A query run being timed; :meth:`finish` writes its history row once it ended."""

    sql: str
    source: str
    user: object = None
    saved_query: object = None
    params: dict | None = None
    os_user: str = ""
    kind: str = ""  # for the metrics: export or report; else console or saved_query
    query_id: str = ""  # the engine's id of the run, when the caller chose it
    started_at: dt.datetime = field(default_factory=timezone.now)
    _clock: float = field(default_factory=time.perf_counter)
    row_count: int | None = None  # set by the block of :func:`recorded` when rows came back
    tag: object = None  # the engine's QueryTag for this run (see :func:`recorded`)
    unrecorded: BaseException | None = None  # why the history row could not be written
    handed_over: bool = False  # see :meth:`hand_over`

    def hand_over(self) -> None:
        """The run goes on past the ``recorded`` block (a download): its owner finishes it."""
        self.handed_over = True

    def finish(
        self,
        *,
        row_count: int | None = None,
        error: BaseException | str | None = None,
        raise_errors: bool = False,
    ):
        from admin2_analytics import metrics

        seconds = time.perf_counter() - self._clock
        kind = self.kind or ("saved_query" if self.saved_query is not None else "console")
        metrics.observe(kind, seconds, row_count=row_count, error=error)
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        return record(
            sql=self.sql,
            source=self.source,
            user=self.user,
            os_user=self.os_user,
            saved_query=self.saved_query,
            params=self.params,
            started_at=self.started_at,
            duration_ms=seconds * 1000,
            row_count=row_count,
            error=error,
            raise_errors=raise_errors,
            query_id=self.query_id,
        )


def start(
    *, sql: str, source: str, user=None, saved_query=None, params=None, os_user="", kind=""
) -> PendingRun:
    """Start timing a run now; call ``finish(row_count=...)`` or ``finish(error=...)``."""
    return PendingRun(sql, source, user, saved_query, params, os_user, kind)


@contextlib.contextmanager
def recorded(
    *,
    sql: str,
    source: str,
    user=None,
    saved_query=None,
    params=None,
    os_user: str = "",
    kind: str = "",
    quiet: bool = False,
    query_id: str = "",
) -> Iterator[PendingRun]:
    """Time the block as one run and write its history row when it ends.

    ``run.query_id`` (``query_id``, else a new one) is the id the block hands the engine
    (``execute``/``stream``/``write_file``), so every history row names its query in
    ClickHouse's ``system.processes`` and ``query_log``. The block sets ``run.row_count``
    (and may replace ``run.params`` once bound); an exception is recorded (an unexpected one
    as "failed unexpectedly", with its traceback in the log) and raised on unchanged.
    ``run.tag`` is the engine's tag for the run. A history write that fails is logged and
    left in ``run.unrecorded``, never raised. ``quiet``: log nothing, the caller reports
    (the command's log handler writes to its stdout, the data's stream).
    """
    from admin2_analytics.engine import QueryTag, new_query_id
    from admin2_analytics.errors import AnalyticsError, QueryFailed

    run = start(
        sql=sql, source=source, user=user, saved_query=saved_query, params=params,
        os_user=os_user, kind=kind,
    )  # fmt: skip
    run.query_id = query_id or new_query_id()
    run.tag = (
        QueryTag(user=f"cli:{os_user}", source=source, saved_query=getattr(saved_query, "name", ""))
        if os_user
        else QueryTag.for_user(user, source, saved_query)
    )
    try:
        yield run
    except BaseException as exc:
        error = exc
        unexpected = isinstance(exc, Exception) and not isinstance(exc, AnalyticsError)
        if unexpected and not quiet:
            logger.exception("analytics query failed unexpectedly")
            error = QueryFailed(f"the query failed unexpectedly ({type(exc).__name__})")
        _finish(run, quiet, error=error)
        raise
    if not run.handed_over:
        _finish(run, quiet, row_count=run.row_count)


def _finish(run: PendingRun, quiet: bool, **outcome) -> None:
    try:
        run.finish(**outcome, raise_errors=True)
    except Exception as exc:  # losing a history row must not turn a run into an error
        if not quiet:
            logger.exception("could not record the analytics query run in the history")
        run.unrecorded = exc


def _storable(text: str) -> str:
    """PostgreSQL text and JSON cannot hold NUL: keep the row, mark where the NUL was."""
    return text.replace("\x00", "\ufffd")


def _text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(item) for item in value) + "]"
    return str(value)
