"""The ClickHouse check in ``/readyz``: the engine answers ``SELECT 1`` within a short timeout."""

from __future__ import annotations

from django.conf import settings


def check_clickhouse() -> str:
    from admin2_analytics import engine

    return engine.ping(float(settings.CLICKHOUSE_PING_TIMEOUT))
