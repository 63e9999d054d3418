"""The ClickHouse check in ``/readyz``: the engine answers ``SELECT 1`` within a short timeout."""

from __future__ import annotations

from django.conf import settings

from admin2.registry import registry


def check_clickhouse() -> str:
    from admin2_analytics import engine

    return engine.ping(float(settings.CLICKHOUSE_PING_TIMEOUT))


def register() -> None:
    # Reported, not required: the warehouse is an external system, and while it is down every
    # page but analytics works (each analytics page explains the outage). Failing readiness
    # would take healthy web replicas out of rotation and stop deploys at the health gate.
    registry.add_health_check("clickhouse", check_clickhouse, required=False)
