"""Dashboards with filters in a real Chromium: a date range changes every panel that declares
it (row counts equal to the engine's own), a link reproduces the view, a dependent dropdown
narrows, and every chart kind renders with no Content Security Policy violation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from admin2 import charts
from admin2_analytics.demo_content import EXPLORER
from admin2_analytics.models import Dashboard, SavedQuery
from admin2_analytics.parameters import find_parameters
from tests.browser.sign_in import sign_in
from tests.support.analytics_pages import csp_reports, demo_analyst, direct_count

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "analyst-password-1"


@pytest.fixture
def analyst(django_user_model):
    return demo_analyst(django_user_model, PASSWORD)


def _open(page: Page, base: str, board: Dashboard) -> list[str]:
    """Log in, open ``board``; the CSP violations the console reports from then on."""
    found = csp_reports(page)
    sign_in(
        page,
        f"{base}/admin/login/?next=/admin/analytics/dashboards/{board.pk}/",
        "analyst",
        PASSWORD,
    )
    expect(page.locator("#content h1")).to_have_text(board.name)
    return found


def _rows(page: Page, query: SavedQuery) -> int:
    meta = page.locator(f'section.analytics-panel[data-query="{query.pk}"] .analytics-meta')
    return int(meta.get_attribute("data-rows"))


def _expected(query: SavedQuery, chosen: dict[str, str]) -> int:
    declared = {parameter.name for parameter in find_parameters(query.sql)}
    params = {**query.parameter_defaults, **{k: v for k, v in chosen.items() if k in declared}}
    return direct_count(query.sql, params)


def _pinned(board: Dashboard) -> list[SavedQuery]:
    return [pin.saved_query for pin in board.pins.select_related("saved_query")]


@pytest.mark.timeout(240)
def test_a_date_filter_changes_every_bound_panel(page: Page, live_server, analyst,
                                                 analytics_engine, artifacts):  # fmt: skip
    board = Dashboard.objects.get(name=EXPLORER)
    _open(page, live_server.url, board)
    daily = SavedQuery.objects.get(name="Daily revenue")
    assert _rows(page, daily) == 90  # the filter's default: the whole first quarter

    page.select_option("#filter-start-preset", "custom")
    page.fill("#filter-start", "2025-02-03")
    page.fill("#filter-end", "2025-02-16")
    page.click("#apply-filters")
    expect(page).to_have_url(re.compile(r"start=2025-02-03&end=2025-02-16"))
    chosen = {"start": "2025-02-03", "end": "2025-02-16", "country": "DE"}
    bound = 0
    for query in _pinned(board):
        assert _rows(page, query) == _expected(query, chosen), query.name
        bound += "{start:Date}" in query.sql
    assert bound >= 5 and _rows(page, daily) == 14
    expect(page.locator(".errornote")).to_have_count(0)
    page.screenshot(path=artifacts / "analytics-dashboard-filters.png", full_page=True)


@pytest.mark.timeout(240)
def test_a_link_with_filters_reproduces_the_view(page: Page, live_server, analyst,
                                                 analytics_engine):  # fmt: skip
    board = Dashboard.objects.get(name=EXPLORER)
    _open(page, live_server.url, board)
    page.select_option("#filter-start-preset", "custom")
    page.fill("#filter-start", "2025-03-01")
    page.fill("#filter-end", "2025-03-09")
    page.select_option("#filter-country", "JP")
    page.select_option("#auto-refresh", "300")
    page.click("#apply-filters")
    expect(page.locator("#filter-country")).to_have_value("JP")
    counts = {query.pk: _rows(page, query) for query in _pinned(board)}
    marks = page.locator("svg.analytics-chart").evaluate_all(
        "svgs => svgs.map(svg => svg.dataset.kind + ':' + svg.dataset.marks)"
    )
    link = page.locator("#view-link").get_attribute("href")

    other = page.context.new_page()
    other.goto(live_server.url + link)
    expect(other.locator("#filter-country")).to_have_value("JP")
    expect(other.locator("#filter-start")).to_have_value("2025-03-01")
    expect(other.locator("#filter-end")).to_have_value("2025-03-09")
    expect(other.locator("#auto-refresh")).to_have_value("300")
    assert {query.pk: _rows(other, query) for query in _pinned(board)} == counts
    assert (
        other.locator("svg.analytics-chart").evaluate_all(
            "svgs => svgs.map(svg => svg.dataset.kind + ':' + svg.dataset.marks)"
        )
        == marks
    )
    assert counts[SavedQuery.objects.get(name="Daily revenue").pk] == 9


@pytest.mark.timeout(240)
def test_a_dependent_dropdown_narrows(page: Page, live_server, analyst, analytics_engine):
    owner = analyst
    months = SavedQuery.objects.create(
        name="Months", owner=owner, shared=True, parameter_defaults={},
        sql="SELECT DISTINCT toStartOfMonth(event_time) AS month FROM events ORDER BY month",
    )  # fmt: skip
    days = SavedQuery.objects.create(
        name="Days", owner=owner, shared=True, parameter_defaults={"month": "2025-01-01"},
        sql="SELECT DISTINCT toDate(event_time) AS day FROM events\n"
            "WHERE toStartOfMonth(event_time) = {month:Date} ORDER BY day",
    )  # fmt: skip
    board = Dashboard.objects.create(name="One day", owner=owner, shared=True)
    board.filters.create(name="month", widget="dropdown", type="Date", options_query=months,
                         default="2025-01-01", position=1)  # fmt: skip
    board.filters.create(name="day", widget="dropdown", type="Date", options_query=days,
                         default="2025-01-20", position=2)  # fmt: skip
    _open(page, live_server.url, board)
    day_options = page.locator("#filter-day option")
    expect(day_options).to_have_count(31)
    expect(page.locator("#filter-day")).to_have_value("2025-01-20")
    page.select_option("#filter-month", "2025-02-01")
    page.click("#apply-filters")
    expect(day_options).to_have_count(28)
    assert day_options.all_inner_texts() == [f"2025-02-{d:02d}" for d in range(1, 29)]
    expect(page.locator("#filter-day")).to_have_value("2025-02-01")


@pytest.mark.timeout(240)
def test_every_chart_kind_renders_without_a_csp_violation(page: Page, live_server, analyst,
                                                          analytics_engine, artifacts):  # fmt: skip
    board = Dashboard.objects.get(name=EXPLORER)
    violations = _open(page, live_server.url, board)
    for kind in charts.names():
        chart = page.locator(f'svg.analytics-chart[data-kind="{kind}"]')
        expect(chart).to_have_count(1)
        box = chart.bounding_box()
        assert box and box["width"] > 200 and box["height"] > 100, kind
        assert chart.locator(".analytics-mark").count() >= 1, kind
        assert chart.locator("title").count() >= 2, kind  # the chart's and its hover values
    page.screenshot(path=artifacts / "analytics-chart-kinds.png", full_page=True)
    assert violations == []
