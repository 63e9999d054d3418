"""The write path: demo data and the benchmark's ceiling on the embedded engine, never user SQL."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from admin2_analytics.engine import backend, failures
from admin2_analytics.engine.session import Session
from admin2_analytics.engine.tags import QueryTag


class MaintenanceSession:
    """Writes to the embedded engine (create tables, INSERT ... SELECT). Not for user SQL."""

    def __init__(self, session: Session) -> None:
        self._client = session.client

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise failures.translate(exc) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[tuple]:
        try:
            return [tuple(r) for r in self._client.query(sql, parameters=params).result_rows]
        except Exception as exc:
            raise failures.translate(exc) from exc


@contextlib.contextmanager
def maintenance_session(*, tag: QueryTag) -> Iterator[MaintenanceSession]:
    """A writable session on the embedded engine; refused when a server is configured."""
    engine = backend.current()
    engine.check_writable()
    limits = {"max_execution_time": 600}
    with engine.session(limits, tag, readonly=False) as session:
        yield MaintenanceSession(session)
