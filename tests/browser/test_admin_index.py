"""The admin index as a newcomer first sees it, in a real Chromium: one section per app (a
plugin's pages and models together), human names, and the same sections in the sidebar."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sign_in import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "admin-password-1"


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)


def section_names(page: Page, scope: str) -> list[str]:
    return [name.strip() for name in page.locator(f"{scope} caption").all_text_contents()]


@pytest.mark.timeout(120)
def test_index_shows_one_section_per_app(page: Page, live_server, admin_user, artifacts):
    sign_in(page, f"{live_server.url}/admin/", "admin", PASSWORD)
    expect(page.locator("#user-tools")).to_contain_text("admin")

    sections = section_names(page, "#content-main")
    assert sections.count("Analytics") == 1, sections
    assert sections.count("Background tasks") == 1, sections
    assert "Two-factor authentication" in sections
    assert len(sections) == len(set(sections)), sections
    expect(page.locator("#content-main")).not_to_contain_text("Otp_Totp")
    analytics = page.locator("#content-main .app-analytics")
    for name in ("Saved queries", "Dashboards", "Schema browser", "SQL console", "Exports"):
        expect(analytics.get_by_role("link", name=name, exact=True)).to_have_count(1)
    tasks = page.locator("#content-main .app-tasks")
    expect(tasks.get_by_role("link", name="Workers and queues", exact=True)).to_be_visible()
    expect(tasks.get_by_role("link", name="Task runs", exact=True)).to_be_visible()
    page.screenshot(path=artifacts / "admin-index.png", full_page=True)

    page.locator("#content-main .app-auth").get_by_role("link", name="Users", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin/auth/user/$"))
    # The URL changes before the new page's sidebar is in the DOM: wait for it (a loaded CI
    # machine read an empty sidebar here).
    expect(page.locator("#nav-sidebar caption")).to_have_count(len(sections))
    assert section_names(page, "#nav-sidebar") == sections
    current = page.locator("#nav-sidebar tr.current-model")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Users")
