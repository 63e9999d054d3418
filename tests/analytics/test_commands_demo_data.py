"""``admin2 analytics_demo_data``: the demo events table, generated inside the engine."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag
from harness.processes import django_env, run_admin2

TAG = QueryTag(user="t", source="cli")


def test_the_console_script_fills_the_engine_then_a_query_sees_it(fresh_engine, tmp_path):
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(tmp_path / "var"),
        CLICKHOUSE_EMBEDDED_PATH=str(fresh_engine.path),
    )
    env.pop("CLICKHOUSE_HOST", None)
    result = run_admin2("analytics_demo_data", "--rows", "20000", env=env)
    assert result.returncode == 0, result.stderr
    assert "events: 20,000 rows in" in result.stdout
    # No database migrated in this fresh var/: the saved queries wait, the table is there.
    assert "demo saved queries skipped" in result.stderr
    assert engine.execute("SELECT count() FROM events", tag=TAG).rows == [(20_000,)]


@pytest.mark.django_db
def test_the_data_is_realistic_and_deterministic(fresh_engine):
    call_command(
        "analytics_demo_data", "--rows", "5000", stdout=io.StringIO(), stderr=io.StringIO()
    )
    summary = (
        "SELECT count(), uniqExact(user_id), min(event_time), max(event_time), "
        "sum(revenue), groupUniqArray(event_type) FROM events"
    )
    first = engine.execute(summary, tag=TAG).rows[0]
    rows, users, start, end, revenue, kinds = first
    assert rows == 5000 and users > 4000
    assert start.isoformat().startswith("2025-01-01") and end.isoformat() < "2025-04-01"
    assert revenue > 0
    assert sorted(kinds) == ["add_to_cart", "click", "page_view", "purchase", "signup"]
    no_revenue = engine.execute(
        "SELECT count() FROM events WHERE event_type != 'purchase' AND revenue != 0", tag=TAG
    )
    assert no_revenue.rows == [(0,)]
    call_command(
        "analytics_demo_data", "--rows", "5000", stdout=io.StringIO(), stderr=io.StringIO()
    )
    assert engine.execute(summary, tag=TAG).rows[0] == first  # same N, same data


def test_it_refuses_zero_rows(fresh_engine):
    with pytest.raises(CommandError, match="--rows must be at least 1"):
        call_command("analytics_demo_data", "--rows", "0")


def test_it_refuses_to_write_to_a_server(settings):
    settings.CLICKHOUSE_HOST = "clickhouse.example.com"
    with pytest.raises(CommandError, match="needs the embedded engine"):
        call_command("analytics_demo_data", "--rows", "10")


@pytest.mark.django_db
def test_it_loads_the_pages_demo_content_when_present(fresh_engine, superuser):
    out = io.StringIO()
    call_command("analytics_demo_data", "--rows", "1000", stdout=out, stderr=io.StringIO())
    from admin2_analytics.models import SavedQuery

    assert SavedQuery.objects.exists()
    assert "events: 1,000 rows" in out.getvalue()
