"""The ad-hoc SQL console: the guard and limits of saved queries, readable errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from admin2_analytics.models import QueryRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst(logged_in):
    return logged_in("analytics.run_adhoc_sql", username="analyst")


def _run(client, sql, params=""):
    return client.post(reverse("analytics:console"), {"sql": sql, "params": params})


def test_the_console_runs_a_read_and_shows_the_rows(client, analyst, analytics_engine):
    page = _run(client, "SELECT event_type, count() AS n FROM events GROUP BY event_type "
                        "ORDER BY event_type").content.decode()  # fmt: skip
    assert '<strong id="row-count">5</strong>' in page
    assert "<td>add_to_cart</td>" in page and "UInt64" in page


def test_the_console_binds_typed_parameters(client, analyst, analytics_engine):
    page = _run(
        client,
        "SELECT count() AS n FROM events WHERE country = {c:String} AND user_id < {u:UInt32}",
        "c=DE\nu=1000",
    ).content.decode()
    assert '<strong id="row-count">1</strong>' in page
    missing = _run(client, "SELECT {c:String} AS c").content.decode()
    assert "c (String) needs a value" in missing


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO events SELECT * FROM events LIMIT 1",
        "DROP TABLE events",
        "SELECT * FROM file('/etc/passwd')",
        "SYSTEM SHUTDOWN",
        "SELECT 1; DROP TABLE events",
    ],
)
def test_writes_and_outbound_reads_are_refused_on_the_page(client, analyst, sql,
                                                           analytics_engine):  # fmt: skip
    response = _run(client, sql)
    assert response.status_code == 200
    assert "Refused" in response.content.decode()
    assert 'id="row-count"' not in response.content.decode()


def test_an_engine_error_is_shown_not_raised(client, analyst, analytics_engine):
    page = _run(client, "SELECT no_such_column FROM events").content.decode()
    assert "<strong>The query failed:</strong>" in page
    assert "no_such_column" in page
    assert QueryRun.objects.get().error.startswith("QueryFailed")


def test_console_results_are_cut_at_its_row_limit(client, analyst, settings, analytics_engine):
    settings.ANALYTICS_CONSOLE_MAX_ROWS = 30
    page = _run(client, "SELECT number FROM numbers(100)").content.decode()
    assert '<strong id="row-count">30</strong>' in page and "(cut at 30)" in page


def test_the_schema_browser_prefills_the_console(client, analyst):
    page = client.get(reverse("analytics:console"), {"sql": "SELECT 42"}).content.decode()
    assert ">\nSELECT 42</textarea>" in page or ">SELECT 42</textarea>" in page
