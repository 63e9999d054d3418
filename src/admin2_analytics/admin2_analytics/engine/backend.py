"""The engine backend: embedded chDB or a ClickHouse server, chosen once per configuration.

Every module opens sessions, cancels, pings and asks for writes through :func:`current`; only
:mod:`.backend_embedded` and :mod:`.backend_server` know which engine they drive.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any

from django.core.signals import setting_changed

from admin2_analytics.engine import config, failures
from admin2_analytics.engine.session import Session
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import AnalyticsError, EngineUnavailable, QueryFailed


class Backend(abc.ABC):
    """What the rest of the engine package may ask of an engine."""

    name: str  # for messages: "embedded chDB", "ClickHouse"

    @abc.abstractmethod
    def session(
        self,
        limits: Mapping[str, Any],
        tag: QueryTag,
        *,
        readonly: bool,
        query_id: str = "",
        lock_timeout: float | None = None,
    ) -> AbstractContextManager[Session]:
        """One connection for one operation; its queries carry ``query_id`` for :meth:`cancel`."""

    @abc.abstractmethod
    def cancel(self, query_id: str) -> bool:
        """Ask the engine to stop the query running as ``query_id``; False when none was found.

        The engine stops it at its next block boundary (docs/clickhouse.md).
        """

    def abandon(self, query_id: str) -> None:
        """The query outlived its kill (see :mod:`.watchdog`): free the engine another way."""
        return None

    @abc.abstractmethod
    def ping(self, timeout: float) -> str:
        """Check the engine answers ``SELECT 1`` within ``timeout``; return a short detail."""

    @abc.abstractmethod
    def check_writable(self) -> None:
        """Raise EngineUnavailable unless admin2 may write to this engine (demo data)."""

    @property
    @abc.abstractmethod
    def read_timeout(self) -> float | None:
        """Seconds a client waits for an answer (None: no socket in between)."""

    def translate(self, exc: BaseException) -> AnalyticsError:
        return failures.translate(exc, read_timeout=self.read_timeout)

    def unavailable(self, exc: BaseException, read_timeout: float | None = None) -> AnalyticsError:
        """An error met while opening the engine, told as such."""
        translated = failures.translate(exc, read_timeout=read_timeout)
        if type(translated) is QueryFailed:
            return EngineUnavailable(f"cannot open {self.name}: {translated}")
        return translated


def killed_any(rows) -> bool:
    """Whether ``KILL QUERY`` found a query: its rows start with a status ("waiting", ...).

    Through chDB a kill that found none still answers one row of counters.
    """
    return any(row and isinstance(row[0], str) for row in rows)


_chosen: Backend | None = None
_lock = threading.Lock()


def current() -> Backend:
    """The backend for ``CLICKHOUSE_HOST``: unset, embedded chDB; set, that server."""
    global _chosen
    with _lock:
        if _chosen is None:
            if config.is_embedded():
                from admin2_analytics.engine.backend_embedded import EmbeddedBackend

                _chosen = EmbeddedBackend()
            else:
                from admin2_analytics.engine.backend_server import ServerBackend

                _chosen = ServerBackend()
        return _chosen


def _forget(*, setting: str, **_kwargs) -> None:
    # Tests and the benchmark point the engine elsewhere with override_settings.
    global _chosen
    if setting == "CLICKHOUSE_HOST":
        with _lock:
            _chosen = None


setting_changed.connect(_forget, dispatch_uid="admin2_analytics.engine.backend")
