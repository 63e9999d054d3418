"""Hover values in a real Chromium: pointing at a line chart's point and a bar chart's bar on
the demo dashboard shows that mark's value in a page-sized box (admin2/chart-hover.js), equal
to the engine's own value for that row, with no Content Security Policy violation; the SVG
titles, the no-script fallback, say the same and stay in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from admin2.charts.frame import exact, label
from admin2_analytics import engine
from admin2_analytics.demo_content import EXPLORER
from admin2_analytics.models import Dashboard, SavedQuery
from admin2_analytics.parameters import find_parameters
from tests.browser.sign_in import sign_in
from tests.support.analytics_pages import csp_reports, demo_analyst

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "analyst-password-1"
FILTERS = ("start", "end", "country")  # the demo dashboard's filters


def _engine_values(page: Page, query: SavedQuery) -> dict[tuple[str, str], float]:
    """(x label, y column) -> value, as the engine answers the panel's query directly with
    the filter values the page shows."""
    declared = {parameter.name for parameter in find_parameters(query.sql)}
    chosen = {name: page.locator(f"#filter-{name}").input_value() for name in FILTERS}
    params = {**query.parameter_defaults, **{k: v for k, v in chosen.items() if k in declared}}
    result = engine.execute(query.sql, params, tag=engine.QueryTag(user="test", source="cli"))
    x = result.columns.index(query.chart_x)
    return {
        (label(row[x]), name): float(row[result.columns.index(name)])
        for row in result.rows
        for name in query.chart_y
    }


def _panel_query(page: Page, chart: Locator) -> SavedQuery:
    panel = page.locator("section.analytics-panel", has=chart)
    return SavedQuery.objects.get(pk=int(panel.get_attribute("data-query")))


def _shown(page: Page) -> tuple[str, str, str]:
    """The hover box's x label, column and value ("2025-02-14 · revenue: 12,345.7")."""
    box = page.locator(".chart-hover")
    expect(box).to_be_visible()
    x, rest = box.inner_text().split(" · ", 1)
    name, value = rest.rsplit(": ", 1)
    return x, name, value


def _check(page: Page, mark: Locator, values: dict) -> str:
    x, name, value = _shown(page)
    expected = values[(x, name)]
    assert value == exact(expected)
    assert float(value.replace(",", "")) == pytest.approx(expected, rel=1e-5)
    page.mouse.move(1, 1)  # away: the box goes, the title (the no-script text) is back
    expect(page.locator(".chart-hover")).to_be_hidden()
    assert mark.locator("title").text_content() == f"{x} · {name}: {value}"
    return x


@pytest.mark.timeout(240)
def test_hovering_a_point_and_a_bar_shows_the_engine_value(
    page: Page, live_server, django_user_model, analytics_engine, artifacts
):
    demo_analyst(django_user_model, PASSWORD)
    board = Dashboard.objects.get(name=EXPLORER)
    violations = csp_reports(page)
    next_url = f"/admin/analytics/dashboards/{board.pk}/"
    sign_in(page, f"{live_server.url}/admin/login/?next={next_url}", "analyst", PASSWORD)
    expect(page.locator("#content h1")).to_have_text(board.name)

    line = page.locator('svg.analytics-chart[data-kind="line"]')
    values = _engine_values(page, _panel_query(page, line))
    points = line.locator("circle.analytics-point")
    assert points.count() == len(values) > 20
    middle = points.nth(points.count() // 2)
    middle.hover()
    box_px = page.locator(".chart-hover").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert box_px >= 13  # readable whatever the chart's scale on the dashboard
    page.screenshot(path=artifacts / "analytics-chart-hover-line.png")
    x = _check(page, middle, values)
    # Below the point, off its small dot: the line's point nearest along x, so still it.
    centre = middle.bounding_box()
    page.mouse.move(centre["x"] + centre["width"] / 2, centre["y"] + centre["height"] / 2 + 8)
    assert _shown(page)[0] == x
    page.mouse.move(1, 1)

    bar = page.locator('svg.analytics-chart[data-kind="bar"]')
    values = _engine_values(page, _panel_query(page, bar))
    bars = bar.locator("rect.analytics-bar")
    assert bars.count() == len(values) > 1
    for mark in (bars.first, bars.last):
        mark.hover()
        _check(page, mark, values)
    assert violations == []
