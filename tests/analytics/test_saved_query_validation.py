"""Saving a saved query validates its SQL, its parameter defaults and its chart settings."""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin2_analytics.forms import SavedQueryForm
from admin2_analytics.models import SavedQuery
from tests.support.analytics_pages import COUNTRY_SQL, DAILY_SQL, make_query, make_user

pytestmark = pytest.mark.django_db


def _form(user=None, **fields):
    data = {
        "name": "Revenue",
        "description": "",
        "sql": DAILY_SQL,
        "parameter_defaults": "start=2025-01-01\nend=2025-01-31",
        "shared": "on",
        "cache_ttl_seconds": "300",
        "chart_kind": "line",
        "chart_x": "day",
        "chart_y": "revenue",
    }
    data.update(fields)
    return SavedQueryForm(data=data, user=user)


def test_a_valid_query_saves_with_typed_defaults_and_chart(superuser, analytics_engine):
    form = _form(chart_y="revenue, events")
    assert form.is_valid(), form.errors
    query = form.save(commit=False)
    query.owner = superuser
    query.save()
    assert query.parameter_defaults == {"start": "2025-01-01", "end": "2025-01-31"}
    assert query.chart_y == ["revenue", "events"]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("INSERT INTO events SELECT * FROM events", "INSERT"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT * FROM url('http://127.0.0.1/')", "url"),
        ("SELECT 1 SETTINGS readonly = 0", "SETTINGS"),
    ],
)
def test_refused_sql_is_a_field_error(sql, message, analytics_engine):
    form = _form(sql=sql, parameter_defaults="", chart_kind="none")
    assert not form.is_valid()
    assert message.lower() in " ".join(form.errors["sql"]).lower()


def test_every_placeholder_needs_a_default(analytics_engine):
    form = _form(parameter_defaults="start=2025-01-01")
    assert not form.is_valid()
    assert "end (Date) needs a value" in " ".join(form.errors["parameter_defaults"])


def test_a_default_must_fit_its_type(analytics_engine):
    form = _form(parameter_defaults="start=2025-01-01\nend=soon")
    assert not form.is_valid()
    assert "'end' (Date)" in " ".join(form.errors["parameter_defaults"])


def test_a_default_for_no_placeholder_is_refused(analytics_engine):
    form = _form(parameter_defaults="start=2025-01-01\nend=2025-01-31\nlimit=5")
    assert not form.is_valid()
    assert "unknown parameter 'limit'" in " ".join(form.errors["parameter_defaults"])


def test_malformed_default_lines_are_refused(analytics_engine):
    form = _form(parameter_defaults="start 2025-01-01")
    assert not form.is_valid()
    assert "name=value" in " ".join(form.errors["parameter_defaults"])


def test_a_chart_needs_x_and_y(analytics_engine):
    form = _form(chart_x="", chart_y="")
    assert not form.is_valid()
    assert "x column" in " ".join(form.errors["chart_x"])
    assert "y column" in " ".join(form.errors["chart_y"])


def test_chart_columns_must_exist_in_the_result(analytics_engine):
    form = _form(chart_x="date", chart_y="revenue")
    assert not form.is_valid()
    assert "no column date (columns: day, revenue, events)" in " ".join(form.errors["chart_x"])


def test_chart_y_columns_must_be_numeric(analytics_engine):
    form = _form(
        sql=COUNTRY_SQL,
        parameter_defaults="event_type=click",
        chart_kind="bar",
        chart_x="events",
        chart_y="country",
    )
    assert not form.is_valid()
    assert "country is LowCardinality(String), not a number" in " ".join(form.errors["chart_y"])


def test_a_query_clickhouse_cannot_plan_is_refused(analytics_engine):
    form = _form(sql=DAILY_SQL.replace("revenue", "no_such_column"), chart_y="events")
    assert not form.is_valid()
    assert "ClickHouse cannot run this query" in " ".join(form.errors["sql"])


def test_the_admin_sets_the_owner_and_validates(client, analytics_engine):
    author = make_user(
        "author", "analytics.add_savedquery", "analytics.change_savedquery",
        "analytics.view_savedquery",
    )  # fmt: skip
    client.force_login(author)
    url = reverse("admin:analytics_savedquery_add")
    data = {
        "name": "By country",
        "description": "",
        "sql": COUNTRY_SQL,
        "parameter_defaults": "event_type=purchase",
        "cache_ttl_seconds": "60",
        "chart_kind": "bar",
        "chart_x": "country",
        "chart_y": "events",
    }
    refused = client.post(url, {**data, "sql": "DROP TABLE events"})
    assert refused.status_code == 200 and not SavedQuery.objects.exists()
    assert client.post(url, data).status_code == 302
    saved = SavedQuery.objects.get()
    assert saved.owner == author and not saved.shared


def test_only_the_owner_may_change_a_shared_query(client, analytics_engine):
    owner = make_user("owner")
    query = make_query(owner)
    colleague = make_user("colleague", "analytics.change_savedquery", "analytics.view_savedquery")
    client.force_login(colleague)
    url = reverse("admin:analytics_savedquery_change", args=[query.pk])
    page = client.get(url)
    assert page.status_code == 200  # visible (shared), read-only
    client.post(url, {"name": "Hijacked", "sql": "SELECT 1", "parameter_defaults": ""})
    query.refresh_from_db()
    assert query.name == "Daily revenue (test)"


def test_private_queries_of_others_are_absent_from_the_admin(client, analytics_engine):
    make_query(make_user("owner"), name="Secret", shared=False)
    client.force_login(make_user("colleague", "analytics.view_savedquery"))
    page = client.get(reverse("admin:analytics_savedquery_changelist")).content.decode()
    assert "Secret" not in page
