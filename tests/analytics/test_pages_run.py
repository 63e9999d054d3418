"""Running a saved query from its page: typed parameter form, table, chart, readable errors."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from admin2_analytics.models import QueryRun
from harness.processes import free_port
from tests.support.analytics_pages import (
    COUNTRY_SQL,
    DAILY_SQL,
    direct_count,
    make_query,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def runner(logged_in):
    return logged_in("analytics.run_savedquery", "analytics.export_savedquery", username="runner")


def test_the_parameter_form_has_typed_inputs_and_defaults(client, runner, analytics_engine):
    query = make_query(
        runner,
        sql=DAILY_SQL + "\nLIMIT {limit:UInt32}",
        parameter_defaults={"start": "2025-01-01", "end": "2025-01-31", "limit": "100"},
    )
    page = client.get(reverse("analytics:run", args=[query.pk])).content.decode()
    assert re.search(r'<input type="date" name="start" value="2025-01-01"', page)
    assert re.search(r'<input type="date" name="end" value="2025-01-31"', page)
    assert re.search(r'<input type="number" name="limit" value="100"[^>]*min="0"', page)
    assert 'id="result"' not in page  # opening the page does not run the query yet
    assert not QueryRun.objects.exists()


def test_running_shows_rows_duration_and_a_line_chart(client, runner, analytics_engine):
    query = make_query(runner)
    params = {"start": "2025-01-10", "end": "2025-01-19"}
    response = client.post(reverse("analytics:run", args=[query.pk]), {**params, "run": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    expected = direct_count(DAILY_SQL, params)
    assert expected == 10
    assert f'<strong id="row-count">{expected}</strong>' in page
    assert re.search(r'id="duration">[\d.]+ ms', page)
    assert page.count("<tr><td>2025-01-1") == expected
    svg = re.search(r'<svg class="analytics-chart" data-kind="line" data-marks="(\d+)"', page)
    assert svg and int(svg.group(1)) >= 1
    assert 'class="analytics-line analytics-mark"' in page
    run = QueryRun.objects.get()
    assert (run.saved_query, run.user, run.source, run.row_count) == (query, runner, "web", 10)
    assert run.params == params and not run.error


def test_a_bar_chart_draws_one_bar_per_category(client, runner, analytics_engine):
    query = make_query(
        runner, sql=COUNTRY_SQL, parameter_defaults={"event_type": "purchase"},
        chart_kind="bar", chart_x="country", chart_y=["events"],
    )  # fmt: skip
    page = client.post(
        reverse("analytics:run", args=[query.pk]), {"event_type": "click", "run": "1"}
    ).content.decode()
    countries = direct_count(COUNTRY_SQL, {"event_type": "click"})
    assert page.count('class="analytics-bar analytics-mark"') == countries == 10


def test_results_are_paginated(client, runner, settings, analytics_engine):
    settings.ANALYTICS_PAGE_SIZE = 7
    query = make_query(runner)
    url = reverse("analytics:run", args=[query.pk])
    params = {"start": "2025-01-01", "end": "2025-01-20", "run": "1"}
    first = client.post(url, params).content.decode()
    assert "page 1 of 3" in first
    assert first.count("<tr><td>2025-01-") == 7
    third = client.post(url, {**params, "page": "3"}).content.decode()
    assert third.count("<tr><td>2025-01-") == 6
    assert "<tr><td>2025-01-20</td>" in third


def test_a_bad_parameter_value_is_a_form_error_and_nothing_runs(client, runner, analytics_engine):
    query = make_query(runner)
    response = client.post(
        reverse("analytics:run", args=[query.pk]),
        {"start": "yesterday", "end": "2025-01-31", "run": "1"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "expected a date like 2025-01-31" in page
    assert not QueryRun.objects.exists()


def test_a_quote_filled_string_parameter_stays_a_value(client, runner, analytics_engine):
    query = make_query(
        runner, sql=COUNTRY_SQL, parameter_defaults={"event_type": "click"}, chart_kind="none"
    )
    evil = "x' OR 1=1 --"
    response = client.post(
        reverse("analytics:run", args=[query.pk]), {"event_type": evil, "run": "1"}
    )
    assert '<strong id="row-count">0</strong>' in response.content.decode()


def test_a_refused_statement_is_explained_on_the_page(client, runner, analytics_engine):
    # Stored directly: the form would refuse it, but SQL can predate a stricter guard.
    query = make_query(
        runner, sql="SELECT * FROM file('/etc/passwd')", parameter_defaults={}, chart_kind="none"
    )
    response = client.post(reverse("analytics:run", args=[query.pk]), {"run": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Refused:</strong>" in page
    assert "file" in page
    run = QueryRun.objects.get()
    assert run.error.startswith("QueryRefused")


def test_a_timeout_is_explained_on_the_page(client, runner, settings, analytics_engine):
    settings.ANALYTICS_MAX_EXECUTION_TIME = 0.5
    query = make_query(
        runner,
        sql="SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 1",
        parameter_defaults={},
        chart_kind="none",
    )
    response = client.post(reverse("analytics:run", args=[query.pk]), {"run": "1"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>Timed out:</strong>" in page
    assert QueryRun.objects.get().error.startswith("QueryTimeout")


def test_an_unreachable_engine_is_explained_on_the_page(client, runner, settings, db):
    # A ClickHouse server address where nothing listens: a real refused connection.
    settings.CLICKHOUSE_HOST = "127.0.0.1"
    settings.CLICKHOUSE_PORT = free_port()
    settings.CLICKHOUSE_CONNECT_TIMEOUT = 1.0
    query = make_query(runner)
    response = client.post(
        reverse("analytics:run", args=[query.pk]), {"run": "1", **query.parameter_defaults}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<strong>ClickHouse is unavailable:</strong>" in page


def test_more_rows_than_the_page_limit_are_cut_with_a_note(
    client, runner, settings, analytics_engine
):
    settings.ANALYTICS_PAGE_MAX_ROWS = 25
    query = make_query(
        runner, sql="SELECT user_id, revenue FROM events ORDER BY event_time",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    page = client.post(reverse("analytics:run", args=[query.pk]), {"run": "1"}).content.decode()
    assert '<strong id="row-count">25</strong>' in page
    assert "cut at 25 rows" in page


def test_a_datetime_parameter_takes_the_browsers_local_value(client, runner, analytics_engine):
    query = make_query(
        runner,
        sql="SELECT count() AS n FROM events WHERE event_time >= {since:DateTime}",
        parameter_defaults={"since": "2025-03-01 00:00:00"},
        chart_kind="none",
    )
    page = client.get(reverse("analytics:run", args=[query.pk])).content.decode()
    assert re.search(r'<input type="datetime-local" name="since"', page)
    page = client.post(
        reverse("analytics:run", args=[query.pk]), {"since": "2025-03-31T12:00", "run": "1"}
    ).content.decode()
    expected = direct_count(
        "SELECT * FROM events WHERE event_time >= {since:DateTime}",
        {"since": "2025-03-31 12:00:00"},
    )
    assert expected > 0
    assert f'<td class="analytics-num">{expected}</td>' in page


def test_a_get_never_runs_the_query(client, runner, analytics_engine):
    """Issue 19: running a saved query was a GET, so a link or an <img> could make it work."""
    query = make_query(runner)
    url = reverse("analytics:run", args=[query.pk])
    page = client.get(url, {"start": "2025-01-10", "end": "2025-01-19", "run": "1"})
    assert page.status_code == 200 and 'id="result"' not in page.content.decode()
    assert not QueryRun.objects.exists()


def test_running_and_exporting_need_the_csrf_token(runner, analytics_engine):
    from django.test import Client

    checked = Client(enforce_csrf_checks=True)
    checked.force_login(runner)
    query = make_query(runner)
    params = {"start": "2025-01-10", "end": "2025-01-19", "run": "1"}
    assert checked.post(reverse("analytics:run", args=[query.pk]), params).status_code == 403
    export = reverse("analytics:export", args=[query.pk])
    assert checked.get(export, {"format": "csv"}).status_code in (403, 405)
    assert not QueryRun.objects.exists()
    form = checked.get(reverse("analytics:run", args=[query.pk])).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    page = checked.post(
        reverse("analytics:run", args=[query.pk]), {**params, "csrfmiddlewaretoken": token}
    )
    assert '<strong id="row-count">10</strong>' in page.content.decode()
