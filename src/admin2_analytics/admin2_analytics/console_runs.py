"""The SQL console's runs: one page of values as ClickHouse writes them (Maps and one-item
Tuples as SQL that pastes back), and the history row.

Form-level refusals (too long, bad parameters) are recorded here too, with their reason, so
every statement someone tried reaches the history (docs/analytics.md).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from django.utils import timezone

from admin2_analytics import console_control, engine, history
from admin2_analytics.engine import QueryTag
from admin2_analytics.errors import AnalyticsError, QueryFailed
from admin2_analytics.sql_literals import needs_rewrite, pasteable

logger = logging.getLogger(__name__)

_NUMERIC = re.compile(
    r"^(?:Nullable\(|LowCardinality\()*(?:U?Int\d+|Float\d+|BFloat16|Decimal\d*)\b"
)


class RunStopped(QueryFailed):
    """The analyst stopped the run (Stop, or left the page) and the engine killed it."""

    kind = "cancelled"


@dataclass
class ConsoleColumn:
    name: str
    type: str

    @property
    def numeric(self) -> bool:
        return bool(_NUMERIC.match(self.type))


@dataclass
class ConsolePage:
    columns: list[ConsoleColumn]
    rows: list[tuple]  # ClickHouse's text of each value (Maps as SQL), None for NULL
    page: int
    page_size: int
    has_next: bool
    elapsed_ms: float
    ran_at: object = field(default_factory=timezone.now)

    @property
    def row_count(self) -> int:
        return len(self.rows)

    @property
    def first_row(self) -> int:
        return (self.page - 1) * self.page_size + 1

    @property
    def last_row(self) -> int:
        return self.first_row + len(self.rows) - 1


def run_page(
    sql: str, params: dict, *, user, page: int, page_size: int, run_id: str | None = None
) -> ConsolePage:
    """Run ``sql`` for rows of page ``page`` (from 1); record it; AnalyticsError on failure.

    ``run_id`` (from the page) lets another request watch the run and stop it
    (:mod:`console_control`); a stopped run is recorded as cancelled and raises RunStopped.
    """
    query_id = console_control.register(run_id, user) if run_id else engine.new_query_id()
    run = history.start(sql=sql, source="web", user=user, params=params, kind="console")
    run.query_id = query_id
    try:
        raw = engine.execute_text(
            sql,
            params or None,
            tag=QueryTag.for_user(user, "web"),
            max_rows=page_size,
            offset=(page - 1) * page_size,
            query_id=query_id,
        )
    except Exception as exc:
        seen = console_control.stopped(run_id, user)
        if seen is not None:
            stopped = RunStopped(_stopped_message(seen))
            run.finish(error=stopped, row_count=seen.get("read_rows"))
            raise stopped from exc
        if isinstance(exc, AnalyticsError):
            run.finish(error=exc)
            raise
        logger.exception("console query failed unexpectedly")
        failure = QueryFailed(f"the query failed unexpectedly ({type(exc).__name__})")
        run.finish(error=failure)
        raise failure from exc
    run.finish(row_count=len(raw.rows))
    return ConsolePage(
        columns=[ConsoleColumn(n, t) for n, t in zip(raw.columns, raw.types, strict=True)],
        rows=_pasteable_rows(raw.types, raw.rows),
        page=page,
        page_size=page_size,
        has_next=raw.truncated,
        elapsed_ms=raw.elapsed_ms,
        ran_at=run.started_at,
    )


def _pasteable_rows(types: list[str], rows: list[tuple]) -> list[tuple]:
    """Map and one-item Tuple values as SQL literals (docs/analytics.md); exports keep
    ClickHouse's own text form, which its input formats read back."""
    if not any(needs_rewrite(kind) for kind in types):
        return rows
    return [
        tuple(pasteable(kind, value) for kind, value in zip(types, row, strict=True))
        for row in rows
    ]


def _stopped_message(seen: dict) -> str:
    if "read_rows" not in seen:
        return "cancelled: stopped by the user"
    return (
        f"cancelled: stopped by the user after {seen.get('elapsed', 0):.1f} s, "
        f"{seen['read_rows']:,} rows ({seen.get('read_bytes', 0):,} bytes) read"
    )


def record_refusal(sql: str, params: dict, *, user, reason: str) -> None:
    """A statement the form refused before it reached the engine, in the history."""
    history.start(sql=sql, source="web", user=user, params=params, kind="console").finish(
        error=f"Refused: {reason}"
    )
