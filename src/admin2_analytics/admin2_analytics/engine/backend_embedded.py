"""The embedded backend: chDB in this process, on ``CLICKHOUSE_EMBEDDED_PATH`` by turns."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from admin2_analytics import guard
from admin2_analytics.engine import config, embedded
from admin2_analytics.engine.backend import Backend, killed_any
from admin2_analytics.engine.session import (
    DESCRIBE_PREFIX,
    LEX_PREFIX,
    Session,
    database,
    ordered_settings,
)
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import AnalyticsError, EngineUnavailable

# chDB drops a query_id setting: the id rides in the session's log_comment (QueryTag.comment),
# which the checks before the run share; they are told apart by their text.
_CHECKS = (guard.EXPLAIN_PREFIX, DESCRIBE_PREFIX, LEX_PREFIX)
_KILL = (
    "KILL QUERY WHERE JSONExtractString(Settings['log_comment'], 'query_id') = {query_id:String} "
    + "".join(f"AND NOT startsWith(query, '{prefix}') " for prefix in _CHECKS)
    + "ASYNC"
)
_CANCEL_TAG = QueryTag(user="cancel", source="web")
EXIT_PAST_DEADLINE = 70  # the exit status of a process that ended a runaway query
log = logging.getLogger(__name__)


class EmbeddedBackend(Backend):
    name = "embedded chDB"

    @property
    def read_timeout(self) -> float | None:
        return None

    @contextlib.contextmanager
    def session(
        self,
        limits: Mapping[str, Any],
        tag: QueryTag,
        *,
        readonly: bool,
        query_id: str = "",
        lock_timeout: float | None = None,
        announce: bool = True,
    ) -> Iterator[Session]:
        path = config.embedded_path()
        wait = config.lock_timeout() if lock_timeout is None else lock_timeout
        settings = ordered_settings(limits, tag, 1 if readonly else None, query_id)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(
                    embedded.lease(path, wait, keep_open=config.keep_open(), announce=announce)
                )
                client = embedded.open_client(path, database(), settings, wait)
            except AnalyticsError:
                raise
            except Exception as exc:
                raise self.unavailable(exc) from exc
            try:
                yield Session(client, None, query_id)
            finally:
                client.close()

    def cancel(self, query_id: str) -> bool:
        """Only a query of this process can be stopped: chDB allows one process per directory."""
        path = config.embedded_path()
        if not query_id or not embedded.in_use_here(path):
            return False
        try:
            with self.session({}, _CANCEL_TAG, readonly=False, lock_timeout=0.5) as session:
                killed = session.query(_KILL, {"query_id": query_id}).result_rows
        except EngineUnavailable:
            return False  # the turn ended meanwhile: the query did too
        except Exception as exc:
            raise self.translate(exc) from exc
        return killed_any(killed)

    def abandon(self, query_id: str) -> None:
        """chDB has nothing that interrupts a function mid-block, in its process or another:
        only ending this process frees the engine (its supervisor starts a new one)."""
        from django.conf import settings

        if not getattr(settings, "ANALYTICS_EMBEDDED_END_PROCESS_PAST_DEADLINE", True):
            log.error("query %s runs past its deadline; the process is left running", query_id)
            return
        message = (
            f"admin2: query {query_id} still ran past 1.25x ANALYTICS_MAX_EXECUTION_TIME on the "
            "embedded engine, which cannot interrupt it; ending this process"
        )
        log.critical(message)
        with contextlib.suppress(Exception):
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        os._exit(EXIT_PAST_DEADLINE)

    def ping(self, timeout: float) -> str:
        path = config.embedded_path()
        limits = {"max_execution_time": max(1.0, float(timeout))}
        try:
            # A probe looks, it does not ask the process whose turn it is to hand over.
            with self.session(
                limits, _PING_TAG, readonly=True, lock_timeout=min(timeout, 0.5), announce=False
            ) as session:
                session.query("SELECT 1", {})
        except EngineUnavailable:
            holder = embedded.holder_of(path)
            if holder:  # another process has its turn on the directory: the engine is alive
                return f"embedded chDB at {path}, busy: {holder}"
            raise
        return f"embedded chDB at {path}"

    def check_writable(self) -> None:
        return None


_PING_TAG = QueryTag(user="readyz", source="web")
