"""Staff walk through analytics in a real Chromium: log in, open a saved query, fill its
parameters, run it, see the table and the chart, export CSV and read the file back."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from admin2_analytics.demo_content import DAILY_REVENUE, DASHBOARD
from tests.browser.sign_in import sign_in
from tests.support.analytics_pages import demo_analyst, direct_count, read_csv

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "analyst-password-1"


@pytest.fixture
def analyst(django_user_model):
    return demo_analyst(django_user_model, PASSWORD)


def _log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    sign_in(page, page.url, "analyst", PASSWORD)
    expect(page.locator("#user-tools")).to_contain_text("analyst")


@pytest.mark.timeout(180)
def test_saved_query_chart_and_csv_export(page: Page, live_server, analyst, analytics_engine,
                                          tmp_path, artifacts):  # fmt: skip
    base = live_server.url
    _log_in(page, base)

    page.get_by_role("link", name="Saved queries").click()
    expect(page.locator("#content h1")).to_have_text("Analytics")
    page.get_by_role("link", name=DAILY_REVENUE).click()

    start, end = page.locator("input[name=start]"), page.locator("input[name=end]")
    expect(start).to_have_attribute("type", "date")
    start.fill("2025-01-10")
    end.fill("2025-02-09")
    page.click("#run-button")

    params = {"start": "2025-01-10", "end": "2025-02-09"}
    sql = (
        "SELECT toDate(event_time) AS day FROM events WHERE event_time >= {start:Date} "
        "AND event_time < {end:Date} + 1 GROUP BY day"
    )
    expected = direct_count(sql, params)
    assert expected == 31
    expect(page.locator("#row-count")).to_have_text(str(expected))
    expect(page.locator("table.analytics-result tbody tr")).to_have_count(expected)
    expect(page.locator("table.analytics-result thead th").first).to_contain_text("day")

    chart = page.locator("svg.analytics-chart")
    expect(chart).to_be_visible()
    line = chart.locator("path.analytics-mark")
    expect(line).to_have_count(1)
    box = line.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 10  # drawn across the plot
    page.screenshot(path=artifacts / "analytics-saved-query.png", full_page=True)

    with page.expect_download() as download_info:
        page.click("#export-csv")
    download = download_info.value
    assert re.fullmatch(r"daily-revenue-\d{8}-\d{6}\.csv", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    rows = read_csv(saved.read_bytes())
    assert rows[0] == ["day", "revenue", "purchases"]
    assert len(rows) - 1 == expected
    assert rows[1][0] == "2025-01-10" and rows[-1][0] == "2025-02-09"


@pytest.mark.timeout(180)
def test_the_dashboard_draws_every_pinned_chart(page: Page, live_server, analyst,
                                                analytics_engine, artifacts):  # fmt: skip
    _log_in(page, live_server.url)
    page.get_by_role("link", name="Dashboards").first.click()
    page.get_by_role("link", name=DASHBOARD).click()
    panels = page.locator("section.analytics-panel")
    expect(panels).to_have_count(3)
    expect(page.locator(".errornote")).to_have_count(0)
    for index in range(3):
        marks = panels.nth(index).locator("svg.analytics-chart .analytics-mark")
        assert marks.count() >= 1
    page.screenshot(path=artifacts / "analytics-dashboard.png", full_page=True)
