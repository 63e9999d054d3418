"""Every ClickHouse query counts in admin2_analytics_queries_total by kind and outcome."""

from __future__ import annotations

import pytest
from django.urls import reverse
from prometheus_client import REGISTRY

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(logged_in):
    return logged_in("analytics.run_adhoc_sql", username="analyst")


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def console(client, sql: str):
    return client.post(reverse("analytics:console"), {"sql": sql, "params": ""})


def outcomes(kind: str) -> dict[str, float]:
    return {
        outcome: value("admin2_analytics_queries_total", kind=kind, outcome=outcome)
        for outcome in ("ok", "refused", "failed", "timed_out")
    }


def test_a_refused_console_query_counts_as_refused_with_its_kind(client, analyst, analytics_engine):
    before = outcomes("console")
    assert "Refused" in console(client, "DROP TABLE events").content.decode()
    after = outcomes("console")
    assert after["refused"] == before["refused"] + 1
    assert {k: after[k] for k in ("ok", "failed")} == {k: before[k] for k in ("ok", "failed")}


def test_console_queries_count_their_outcome_rows_and_duration(client, analyst, analytics_engine):
    before = outcomes("console")
    rows = value("admin2_analytics_query_rows_total", kind="console")
    timed = value("admin2_analytics_query_duration_seconds_count", kind="console")
    console(client, "SELECT number FROM numbers(7)")
    console(client, "SELECT no_such_column FROM events")
    after = outcomes("console")
    assert (after["ok"], after["failed"]) == (before["ok"] + 1, before["failed"] + 1)
    assert value("admin2_analytics_query_rows_total", kind="console") == rows + 7
    assert value("admin2_analytics_query_duration_seconds_count", kind="console") == timed + 2
