"""The server backend: a ClickHouse server over HTTP(S), read-only for admin2."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from admin2_analytics.engine import config
from admin2_analytics.engine import http as http_backend
from admin2_analytics.engine.backend import Backend, killed_any
from admin2_analytics.engine.session import Session, ordered_settings
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import EngineUnavailable

_KILL = "KILL QUERY WHERE query_id = {query_id:String} ASYNC"
_PING_TAG = QueryTag(user="readyz", source="web")


class ServerBackend(Backend):
    name = "ClickHouse"

    @property
    def read_timeout(self) -> float | None:
        return config.server().read_timeout

    @contextlib.contextmanager
    def session(
        self,
        limits: Mapping[str, Any],
        tag: QueryTag,
        *,
        readonly: bool,
        query_id: str = "",
        lock_timeout: float | None = None,
        server: config.ServerConfig | None = None,
    ) -> Iterator[Session]:
        server = server or config.server()
        try:
            client = http_backend.get_client(server)
        except Exception as exc:
            http_backend.forget_client(server)
            raise self.unavailable(exc, read_timeout=server.read_timeout) from exc
        readonly_value = 2 if readonly else None
        if readonly and server_readonly(client):
            readonly_value = None  # the user is read-only on the server already: keep its level
        settings = http_backend.changeable(
            client, ordered_settings(limits, tag, readonly_value, query_id)
        )
        # Only the run carries the id: a cancel must not land on the checks before it.
        run_settings = {**settings, "query_id": query_id} if query_id else settings
        yield Session(client, settings, query_id, run_settings)

    def cancel(self, query_id: str) -> bool:
        """``KILL QUERY`` by id (a user may always kill its own queries), from any process."""
        if not query_id:
            return False
        try:
            client = http_backend.get_client(config.server())
            killed = client.query(_KILL, parameters={"query_id": query_id}).result_rows
        except Exception as exc:
            raise self.translate(exc) from exc
        return killed_any(killed)

    def ping(self, timeout: float) -> str:
        # A client of its own whose socket gives up at the probe's timeout: a hung server must
        # not hold the readiness check for the (long, export-sized) read timeout.
        configured = config.server()
        server = dataclasses.replace(
            configured,
            read_timeout=float(timeout),
            connect_timeout=min(configured.connect_timeout, float(timeout)),
        )
        limits = {"max_execution_time": max(1.0, float(timeout))}
        with self.session(limits, _PING_TAG, readonly=True, server=server) as session:
            session.query("SELECT 1", {})
        return f"{'https' if server.secure else 'http'}://{server.host}:{server.port}"

    def check_writable(self) -> None:
        raise EngineUnavailable(
            "writing demo data needs the embedded engine; CLICKHOUSE_HOST points at a server, "
            "which admin2 only reads"
        )


def server_readonly(client) -> bool:
    definition = (getattr(client, "server_settings", {}) or {}).get("readonly")
    return definition is not None and definition.value not in ("0", "")
