"""Dashboard filters: bound to same-named, same-typed placeholders only, values from the URL
(presets relative to today), dropdowns listed by a saved query and narrowed by the filters
before them, part of the cache key; "Refresh all" leaves no cache bypass behind."""

from __future__ import annotations

import datetime as dt
import re
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from admin2_analytics import dashboard_filters
from admin2_analytics.models import Dashboard, DashboardFilter
from tests.support.analytics_pages import (
    COUNTRY_SQL,
    DAILY_SQL,
    direct_count,
    make_query,
    make_user,
)

pytestmark = pytest.mark.django_db

MONTHS_SQL = "SELECT DISTINCT toStartOfMonth(event_time) AS month FROM events ORDER BY month"
DAYS_SQL = (
    "SELECT DISTINCT toDate(event_time) AS day FROM events\n"
    "WHERE toStartOfMonth(event_time) = {month:Date} ORDER BY day"
)
TOTAL_SQL = "SELECT count() AS events FROM events WHERE toDate(event_time) = {day:Date}"


@pytest.fixture
def viewer(logged_in):
    return logged_in("analytics.run_savedquery", username="viewer")


def _board(owner, *pins, **range_fields) -> Dashboard:
    board = Dashboard.objects.create(name="Filtered", owner=owner)
    board.filters.create(
        name="start", end_name="end", widget="date_range", label="Period",
        **{"default": "2025-01-01..2025-01-31", "type": "Date", **range_fields},
    )  # fmt: skip
    for position, query in enumerate(pins):
        board.pins.create(saved_query=query, position=position)
    return board


def _row_counts(page: str) -> dict[str, int]:
    found = re.findall(r'data-query="(\d+)">.*?data-rows="(\d+)"', page, flags=re.S)
    return {pk: int(rows) for pk, rows in found}


def test_a_date_filter_sets_every_panel_that_declares_it(client, viewer, analytics_engine):
    daily = make_query(viewer)
    weekly = make_query(
        viewer, name="Weekly", chart_kind="bar", chart_x="week", chart_y=["events"],
        sql="SELECT toMonday(event_time) AS week, count() AS events FROM events\n"
            "WHERE event_time >= {start:Date} AND event_time < {end:Date} + 1 GROUP BY week",
    )  # fmt: skip
    countries = make_query(viewer, name="Countries", sql=COUNTRY_SQL, chart_kind="none",
                           parameter_defaults={"event_type": "click"})  # fmt: skip
    board = _board(viewer, daily, weekly, countries)
    url = reverse("analytics:dashboard", args=[board.pk])
    page = client.get(url, {"start": "2025-02-03", "end": "2025-02-16"}).content.decode()
    counts = _row_counts(page)
    params = {"start": "2025-02-03", "end": "2025-02-16"}
    assert counts[str(daily.pk)] == direct_count(DAILY_SQL, params) == 14
    assert counts[str(weekly.pk)] == direct_count(weekly.sql, params) == 2
    assert counts[str(countries.pk)] == direct_count(COUNTRY_SQL, {"event_type": "click"})
    assert 'value="2025-02-03"' in page and "errornote" not in page


def test_a_same_named_parameter_of_another_type_is_left_alone(client, viewer, analytics_engine):
    stamped = make_query(
        viewer, name="Stamped", chart_kind="none",
        parameter_defaults={"start": "2025-03-01 00:00:00"},
        sql="SELECT count() AS events FROM events WHERE event_time >= {start:DateTime}",
    )  # fmt: skip
    board = _board(viewer, stamped)
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    assert "The filter start (Date) is not applied: this query declares {start:DateTime}" in page
    assert "errornote" not in page


def test_presets_are_relative_to_today(viewer):
    board = _board(viewer, default="last_7_days")
    today = dt.date(2025, 1, 3)

    def values(**data):
        state = dashboard_filters.resolve(board, data, viewer, today=today).states[0]
        return state.preset, state.values

    assert values() == ("last_7_days", {"start": "2024-12-28", "end": "2025-01-03"})
    assert values(start_preset="last_month") == (
        "last_month", {"start": "2024-12-01", "end": "2024-12-31"},
    )  # fmt: skip
    assert values(start_preset="this_quarter")[1] == {"start": "2025-01-01", "end": "2025-01-03"}
    # Dates typed over a preset win: the no-JavaScript form sends both.
    typed = values(start_preset="this_month", start="2024-11-05", end="2024-11-09")
    assert typed == ("custom", {"start": "2024-11-05", "end": "2024-11-09"})


def test_a_bad_filter_value_is_named_and_the_default_used(client, viewer, analytics_engine):
    board = _board(viewer, make_query(viewer))
    url = reverse("analytics:dashboard", args=[board.pk])
    page = client.get(url, {"start": "2025-13-01", "end": "2025-01-31"}).content.decode()
    assert "parameter &#x27;start&#x27; (Date): expected a date" in page
    assert "default used" in page and 'value="2025-01-01"' in page
    backwards = client.get(url, {"start": "2025-02-01", "end": "2025-01-31"}).content.decode()
    assert "Period starts after it ends; the default is used." in backwards


def test_a_dependent_dropdown_narrows(client, viewer, analytics_engine):
    months = make_query(viewer, name="Months", sql=MONTHS_SQL, parameter_defaults={},
                        chart_kind="none")  # fmt: skip
    days = make_query(viewer, name="Days", sql=DAYS_SQL, chart_kind="none",
                      parameter_defaults={"month": "2025-01-01"})  # fmt: skip
    total = make_query(viewer, name="Total", sql=TOTAL_SQL, chart_kind="none",
                       parameter_defaults={"day": "2025-01-01"})  # fmt: skip
    board = Dashboard.objects.create(name="Days", owner=viewer)
    board.filters.create(name="month", widget="dropdown", type="Date", options_query=months,
                         default="2025-01-01", position=1)  # fmt: skip
    board.filters.create(name="day", widget="dropdown", type="Date", options_query=days,
                         default="2025-01-15", position=2)  # fmt: skip
    board.pins.create(saved_query=total)
    url = reverse("analytics:dashboard", args=[board.pk])

    def state(**query):
        page = client.get(url, query).content.decode()
        select = re.search(r'<select name="day".*?</select>', page, flags=re.S).group(0)
        options = re.findall(r"<option( selected)?>([\d-]+)</option>", select)
        return [day for _, day in options], next(day for chosen, day in options if chosen)

    january, chosen = state()
    assert len(january) == 31 and chosen == "2025-01-15"
    february, chosen = state(month="2025-02-01", day="2025-01-15")
    assert february == [f"2025-02-{d:02d}" for d in range(1, 29)]
    assert chosen == "2025-02-01"  # January's day is no choice in February: the first is
    assert "choices; narrow the query" not in client.get(url).content.decode()


def test_a_dropdown_lists_a_limited_number_of_choices(client, viewer, analytics_engine):
    many = make_query(viewer, name="Many", chart_kind="none", parameter_defaults={},
                      sql="SELECT toString(number) AS n FROM numbers(1000)")  # fmt: skip
    board = Dashboard.objects.create(name="Many", owner=viewer)
    board.filters.create(name="n", widget="dropdown", options_query=many, default="7")
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    options = re.findall(r"<option( selected)?>(\d+)</option>", page)
    assert len(options) == dashboard_filters.OPTIONS_LIMIT and ("selected", "7") in [
        (chosen.strip(), value) for chosen, value in options
    ]
    assert f"The first {dashboard_filters.OPTIONS_LIMIT} choices" in page


def test_filter_values_are_part_of_the_cache_key(client, viewer, analytics_engine):
    board = _board(viewer, make_query(viewer))
    url = reverse("analytics:dashboard", args=[board.pk])
    first = {"start": "2025-01-01", "end": "2025-01-10"}
    assert "cached at" not in client.get(url, first).content.decode()
    other = client.get(url, {**first, "end": "2025-01-11"}).content.decode()
    assert "cached at" not in other and 'data-rows="11"' in other
    again = client.get(url, first).content.decode()
    assert "cached at" in again and 'data-rows="10"' in again


def test_refresh_all_reruns_then_goes_back_to_the_plain_url(client, viewer, analytics_engine):
    board = _board(viewer, make_query(viewer))
    url = reverse("analytics:dashboard", args=[board.pk])
    page = client.get(url, {"start_preset": "custom", "start": "2025-01-05", "end": "2025-01-09"})
    assert 'id="refresh-form"' in page.content.decode() and "?refresh" not in page.content.decode()
    response = client.post(url, {"start": "2025-01-05", "end": "2025-01-09"})
    assert response.status_code == 302
    assert response["Location"] == f"{url}?start=2025-01-05&end=2025-01-09"
    after = client.get(response["Location"]).content.decode()
    assert "cached at" in after and 'data-rows="5"' in after  # the refresh rewrote the cache


def test_auto_refresh_takes_an_interval(client, viewer, analytics_engine):
    board = _board(viewer)
    url = reverse("analytics:dashboard", args=[board.pk])
    assert 'http-equiv="refresh"' not in client.get(url).content.decode()
    assert (
        '<meta http-equiv="refresh" content="60">'
        in client.get(url, {"every": "60"}).content.decode()
    )
    assert 'content="10"' in client.get(url, {"every": "2"}).content.decode()  # the floor
    board.refresh_seconds = 300
    board.save()
    page = client.get(url).content.decode()
    assert 'content="300"' in page and "every=300" in page  # and in the link to the view


def _definition(**fields):
    values = {"name": "start", "end_name": "", "widget": "value", "type": "String",
              "default": "", "options_query": None}  # fmt: skip
    return SimpleNamespace(Widget=DashboardFilter.Widget, **{**values, **fields})


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"widget": "date_range", "type": "Date"}, "end_name", "name the end one"),
        ({"widget": "date_range", "end_name": "end"}, "type", "not String"),
        ({"widget": "date_range", "type": "Date", "end_name": "end", "default": "soon"},
         "default", "first..last day"),
        ({"widget": "dropdown"}, "options_query", "from a saved query"),
        ({"type": "UInt8", "default": "300"}, "default", "between 0 and 255"),
        ({"name": "every"}, "name", "reserved"),
    ],
)  # fmt: skip
def test_a_filter_definition_is_checked_on_save(fields, field, message):
    from admin2_analytics.filter_rules import check_filter

    with pytest.raises(ValidationError) as caught:
        check_filter(_definition(**fields))
    assert message in " ".join(caught.value.message_dict[field])


def test_a_dropdown_listed_by_a_query_the_viewer_cannot_see_is_a_text_box(
    client, viewer, analytics_engine
):
    private = make_query(
        make_user("owner"), name="Private list", shared=False, sql="SELECT 'x' AS country",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    board = Dashboard.objects.create(name="Board", owner=viewer)
    board.filters.create(name="country", widget="dropdown", type="String",
                         options_query=private, default="DE")  # fmt: skip
    page = client.get(reverse("analytics:dashboard", args=[board.pk])).content.decode()
    assert "The choices of country come from a query you cannot see." in page
    assert '<input type="text" name="country" id="filter-country" value="DE">' in page
    assert "Private list" not in page


def test_the_admin_checks_a_filter_before_saving_it(client, superuser):
    client.force_login(superuser)
    url = reverse("admin:analytics_dashboard_add")
    assert "Dashboard filters" in client.get(url).content.decode()
    forms = {
        f"{prefix}-{key}": value
        for prefix in ("filters", "pins")
        for key, value in (("TOTAL_FORMS", "1" if prefix == "filters" else "0"),
                           ("INITIAL_FORMS", "0"), ("MIN_NUM_FORMS", "0"),
                           ("MAX_NUM_FORMS", "1000"))
    }  # fmt: skip
    board = {"name": "B", "refresh_seconds": "0", **forms, "filters-0-position": "0",
             "filters-0-widget": "date_range", "filters-0-name": "start", "filters-0-type": "Date",
             "filters-0-default": "this_month"}  # fmt: skip
    refused = client.post(url, board)
    assert refused.status_code == 200 and not Dashboard.objects.exists()
    assert "A date range sets two parameters: name the end one." in refused.content.decode()
    assert client.post(url, {**board, "filters-0-end_name": "end"}).status_code == 302
    saved = DashboardFilter.objects.get()
    assert saved.parameter_names == ["start", "end"] and saved.dashboard.name == "B"


def test_a_datetime_range_covers_its_whole_last_day(client, viewer, analytics_engine):
    sql = (
        "SELECT count() AS events FROM events\n"
        "WHERE event_time >= {start:DateTime} AND event_time <= {end:DateTime}"
    )
    stamped = make_query(viewer, name="Stamped", sql=sql, chart_kind="none",
                         parameter_defaults={"start": "2025-01-01 00:00:00",
                                             "end": "2025-01-01 00:00:00"})  # fmt: skip
    board = _board(viewer, stamped, type="DateTime")
    url = reverse("analytics:dashboard", args=[board.pk])
    page = client.get(url, {"start": "2025-01-02", "end": "2025-01-03"}).content.decode()
    expected = direct_count(
        "SELECT event_time FROM events\n"
        "WHERE toDate(event_time) BETWEEN '2025-01-02' AND '2025-01-03'"
    )
    assert expected > 100  # the whole of both days, the last one included
    assert re.search(rf'<td class="analytics-num">{expected}</td>', page)
    assert '<input type="date" name="start" id="filter-start" value="2025-01-02">' in page


def test_a_chosen_auto_refresh_survives_refresh_all(client, viewer, analytics_engine):
    board = _board(viewer, make_query(viewer))
    url = reverse("analytics:dashboard", args=[board.pk])
    page = client.get(url, {"every": "60"}).content.decode()
    assert '<input type="hidden" name="every" value="60">' in page
    response = client.post(url, {"every": "60", "start": "2025-01-01", "end": "2025-01-02"})
    assert response["Location"] == f"{url}?start=2025-01-01&end=2025-01-02&every=60"
