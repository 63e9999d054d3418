"""The ad-hoc SQL console: the guard and limits of saved queries, readable errors."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import Permission
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


def test_console_results_page_past_the_row_limit(client, analyst, settings, analytics_engine):
    settings.ANALYTICS_CONSOLE_MAX_ROWS = 30
    sql = "SELECT number FROM numbers(100) ORDER BY number"
    page = _run(client, sql).content.decode()
    assert '<strong id="row-count">30</strong>' in page and "1\u201330</span>, more follow" in page
    assert 'name="page" value="2"' in page
    last = client.post(reverse("analytics:console"), {"sql": sql, "params": "", "page": "4"})
    text = last.content.decode()
    assert '<strong id="row-count">10</strong>' in text and "91\u2013100</span>)" in text
    assert '<td class="analytics-num">99</td>' in text and "more follow" not in text


def test_the_schema_browser_prefills_the_console(client, analyst):
    page = client.get(reverse("analytics:console"), {"sql": "SELECT 42"}).content.decode()
    assert ">\nSELECT 42</textarea>" in page or ">SELECT 42</textarea>" in page


def test_array_parameters_take_clickhouse_literals(client, analyst, analytics_engine):
    page = _run(
        client,
        "SELECT arrayJoin({c:Array(String)}) AS c, {n:Array(UInt8)} AS n",
        "c=['DE','it''s']\nn=[1, 2]",
    ).content.decode()
    assert '<strong id="row-count">2</strong>' in page
    assert "<td>it&#x27;s</td>" in page
    bad = _run(client, "SELECT {c:Array(UInt8)} AS c", "c=['x']").content.decode()
    assert "c" in bad and "item 1" in bad and 'id="row-count"' not in bad


@pytest.mark.parametrize(
    ("sql", "params", "reason"),
    [
        ("INSERT INTO events SELECT * FROM events LIMIT 1", "", "Refused"),
        ("SELECT * FROM system.users", "", "Refused"),
        ("SELECT 1; SELECT 2", "", "Refused"),
        ("SELEC 1", "", "does not parse"),
        ("SELECT {c:UInt8} AS c", "c=x", "Refused: params"),
        ("SELECT {c:UInt8} AS c", "", "Refused: params"),
    ],
)
def test_every_refusal_reaches_the_history(client, analyst, analytics_engine, sql, params,
                                           reason):  # fmt: skip
    _run(client, sql, params)
    run = QueryRun.objects.get()
    assert run.sql == sql and run.error and reason in run.error
    assert run.user == analyst


def test_a_link_reopens_the_query_without_running_it(client, analyst, analytics_engine):
    sql = "SELECT {c:Array(String)} AS c"
    page = _run(client, sql, "c=['DE']").content.decode()
    link = re.search(r'<a href="([^"]+)" id="permalink">', page).group(1)
    opened = client.get(html.unescape(link)).content.decode()
    assert "SELECT {c:Array(String)} AS c</textarea>" in opened
    assert "c=[&#x27;DE&#x27;]</textarea>" in opened
    assert 'id="row-count"' not in opened
    assert QueryRun.objects.count() == 1  # the run, not the link


def test_console_exports_write_values_as_the_grid_shows_them(client, analyst,
                                                             analytics_engine):  # fmt: skip
    analyst.user_permissions.add(
        Permission.objects.get(codename="export_savedquery", content_type__app_label="analytics")
    )
    sql = (
        "SELECT toUInt64('18446744073709551615') AS u, toDecimal64('221280.10', 2) AS d, "
        "toDateTime('2025-01-01 12:00:00', 'America/New_York') AS t"
    )
    page = _run(client, sql).content.decode()
    assert '<td class="analytics-num">18446744073709551615</td>' in page
    assert '<td class="analytics-num">221280.10</td>' in page
    assert (
        "<td>2025-01-01 12:00:00</td>" in page and "DateTime(&#x27;America/New_York&#x27;)" in page
    )
    response = client.post(
        reverse("analytics:console_export"), {"sql": sql, "params": "", "format": "csv"}
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    assert body == '"u","d","t"\n18446744073709551615,221280.10,"2025-01-01 12:00:00"\n'
    expected = {
        "tsv": "u\td\tt\n18446744073709551615\t221280.10\t2025-01-01 12:00:00\n",
        "jsonl": '{"u":18446744073709551615,"d":221280.10,"t":"2025-01-01 12:00:00"}\n',
    }
    for fmt, text in expected.items():
        streamed = client.post(
            reverse("analytics:console_export"), {"sql": sql, "params": "", "format": fmt}
        )
        assert b"".join(streamed.streaming_content).decode() == text
    assert QueryRun.objects.filter(error="").count() == 4
    ids = list(QueryRun.objects.values_list("query_id", flat=True))  # the run and each export
    assert len(set(ids)) == 4 and all(query_id.startswith("admin2-") for query_id in ids)


def test_the_catalog_serves_columns_with_types_and_comments(client, analyst, analytics_engine):
    catalog = client.get(reverse("analytics:console_catalog")).json()
    events = next(t for t in catalog["tables"] if t["name"] == "events")
    event_time = next(c for c in events["columns"] if c["name"] == "event_time")
    assert event_time["type"].startswith("DateTime")
    assert events["sorting_key"]
    assert "count" in catalog["functions"] and "toStartOfDay" in catalog["functions"]


def test_save_as_query_prefills_the_admin_form(client, logged_in, analytics_engine):
    logged_in("analytics.run_adhoc_sql", "analytics.add_savedquery", username="author")
    page = _run(client, "SELECT 42 AS answer").content.decode()
    link = html.unescape(re.search(r'<a href="([^"]+)" id="save-as-query">', page).group(1))
    form = client.get(link).content.decode()
    assert "SELECT 42 AS answer</textarea>" in form


def test_history_and_saved_queries_open_in_the_console(client, logged_in, analytics_engine):
    from admin2_analytics.models import SavedQuery

    user = logged_in(
        "analytics.run_adhoc_sql", "analytics.view_queryrun", "analytics.run_savedquery",
        username="analyst",
    )  # fmt: skip
    _run(client, "SELECT {c:String} AS c", "c=DE")
    history = client.get(reverse("admin:analytics_queryrun_changelist")).content.decode()
    link = html.unescape(re.search(r'<a href="([^"]+)">Open in console</a>', history).group(1))
    opened = client.get(link).content.decode()
    assert "SELECT {c:String} AS c</textarea>" in opened and "c=DE</textarea>" in opened
    saved = SavedQuery.objects.create(
        name="by day", sql="SELECT {d:Date} AS d", parameter_defaults={"d": "2025-01-01"},
        owner=user, shared=True,
    )  # fmt: skip
    run_page = client.get(reverse("analytics:run", args=[saved.pk])).content.decode()
    link = html.unescape(re.search(r'<a href="([^"]+)" id="open-in-console">', run_page).group(1))
    assert "d=2025-01-01</textarea>" in client.get(link).content.decode()


def test_a_chart_preview_draws_the_page(client, analyst, analytics_engine):
    sql = (
        "SELECT toDate(event_time) AS day, sum(revenue) AS revenue FROM events "
        "GROUP BY day ORDER BY day"
    )
    page = client.post(
        reverse("analytics:console"),
        {"sql": sql, "params": "", "chart_kind": "line", "chart_x": "day", "chart_y": "revenue"},
    ).content.decode()
    assert '<svg class="analytics-chart" data-kind="line"' in page
    assert "<option selected>revenue</option>" in page
