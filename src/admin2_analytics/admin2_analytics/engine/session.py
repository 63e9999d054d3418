"""One engine connection for one operation, and the settings it runs under."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from admin2_analytics.engine.tags import QueryTag

# The checks that run before a user query in its session (lexer, tree, header): a cancel
# targets the run itself, never these.
LEX_PREFIX = "SELECT tokenizeQuery("
LEX_SQL = LEX_PREFIX + "{sql:String})"
DESCRIBE_PREFIX = "DESCRIBE TABLE ("


class Session:
    """One engine connection for one operation (opened by a backend's ``session``).

    ``query``/``raw_query`` are for checks and code-authored SQL; ``run``/``raw_stream`` run the
    operation's own query, the one ``query_id`` names.
    """

    def __init__(
        self, client, per_call_settings: dict | None, query_id: str = "", run_settings=None
    ) -> None:
        self.client = client
        self.query_id = query_id
        self._settings = per_call_settings  # HTTP: sent with each request; chDB: None
        self._run_settings = per_call_settings if run_settings is None else run_settings

    def query(self, sql: str, params: dict):
        return self.client.query(sql, parameters=params or None, settings=self._settings)

    def run(self, sql: str, params: dict):
        return self.client.query(sql, parameters=params or None, settings=self._run_settings)

    def raw_query(self, sql: str, params: dict, fmt: str) -> bytes:
        return self.client.raw_query(
            sql, parameters=params or None, settings=self._settings, fmt=fmt
        )

    def raw_stream(self, sql: str, params: dict, fmt: str):
        return self.client.raw_stream(
            sql, parameters=params or None, settings=self._run_settings, fmt=fmt
        )

    def command(self, sql: str) -> None:
        self.client.command(sql)


def ordered_settings(
    limits: Mapping[str, Any], tag: QueryTag, readonly: int | None, query_id: str = ""
) -> dict:
    merged = dict(limits)
    # The id rides in the tag too: chDB has no query_id of its own to kill a query by.
    merged["log_comment"] = tag.comment(query_id)
    if readonly is not None:
        # Last: once readonly=1 is set on a chDB session nothing after it may change settings.
        merged["readonly"] = readonly
    return merged


def database() -> str:
    from django.conf import settings

    return settings.CLICKHOUSE_DATABASE
