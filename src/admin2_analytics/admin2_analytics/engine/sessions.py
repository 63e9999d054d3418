"""One engine connection for one operation, over either backend (chDB or HTTP)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from admin2_analytics.engine import config, embedded, failures
from admin2_analytics.engine import http as http_backend
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import AnalyticsError, EngineUnavailable, QueryFailed


class Session:
    """One engine connection for one operation, with the settings it runs under."""

    def __init__(self, client, per_call_settings: dict | None) -> None:
        self.client = client
        self._settings = per_call_settings  # HTTP: sent with each request; chDB: None

    def query(self, sql: str, params: dict):
        return self.client.query(sql, parameters=params or None, settings=self._settings)

    def raw_query(self, sql: str, params: dict, fmt: str) -> bytes:
        return self.client.raw_query(
            sql, parameters=params or None, settings=self._settings, fmt=fmt
        )

    def raw_stream(self, sql: str, params: dict, fmt: str):
        return self.client.raw_stream(
            sql, parameters=params or None, settings=self._settings, fmt=fmt
        )


def ordered_settings(limits: Mapping[str, Any], tag: QueryTag, readonly: int | None) -> dict:
    merged = dict(limits)
    merged["log_comment"] = tag.comment()
    if readonly is not None:
        # Last: once readonly=1 is set on a chDB session nothing after it may change settings.
        merged["readonly"] = readonly
    return merged


@contextlib.contextmanager
def open_session(
    limits: Mapping[str, Any],
    tag: QueryTag,
    *,
    readonly: bool,
    lock_timeout: float | None = None,
    announce: bool = True,
    server: config.ServerConfig | None = None,
) -> Iterator[Session]:
    if config.is_embedded():
        path = config.embedded_path()
        wait = config.lock_timeout() if lock_timeout is None else lock_timeout
        settings = ordered_settings(limits, tag, 1 if readonly else None)
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(
                    embedded.lease(path, wait, keep_open=config.keep_open(), announce=announce)
                )
                client = embedded.open_client(path, database(), settings, wait)
            except AnalyticsError:
                raise
            except Exception as exc:
                raise engine_unavailable(exc) from exc
            try:
                yield Session(client, None)
            finally:
                client.close()
        return
    server = server or config.server()
    try:
        client = http_backend.get_client(server)
    except Exception as exc:
        http_backend.forget_client(server)
        raise engine_unavailable(exc, read_timeout=server.read_timeout) from exc
    readonly_value = 2 if readonly else None
    if readonly and server_readonly(client):
        readonly_value = None  # the user is read-only on the server already: keep its level
    settings = http_backend.changeable(client, ordered_settings(limits, tag, readonly_value))
    yield Session(client, settings)


def server_readonly(client) -> bool:
    definition = (getattr(client, "server_settings", {}) or {}).get("readonly")
    return definition is not None and definition.value not in ("0", "")


def database() -> str:
    from django.conf import settings

    return settings.CLICKHOUSE_DATABASE


def engine_unavailable(exc: BaseException, read_timeout: float | None = None) -> AnalyticsError:
    translated = failures.translate(exc, read_timeout=read_timeout)
    if type(translated) is QueryFailed:
        where = "embedded chDB" if config.is_embedded() else "ClickHouse"
        return EngineUnavailable(f"cannot open {where}: {translated}")
    return translated


def read_timeout() -> float | None:
    return None if config.is_embedded() else config.server().read_timeout
