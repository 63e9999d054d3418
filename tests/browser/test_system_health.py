"""The System health page in Chromium, with a real Prometheus (Debian's, natively) up and
then down: alerts, services and charts, then the message that says Prometheus is gone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sign_in import sign_in
from tests.core import native_prometheus

prometheus = native_prometheus.prometheus  # the fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "admin-password-1"


@pytest.mark.timeout(180)
def test_health_page_with_prometheus_up_then_down(
    page: Page, live_server, django_user_model, settings, prometheus, artifacts
):
    django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)
    settings.ADMIN2_PROMETHEUS_URL = prometheus.url
    sign_in(page, f"{live_server.url}/admin/", "admin", PASSWORD)
    page.get_by_role("link", name="System health", exact=True).click()

    expect(page.locator("h1")).to_have_text("System health")
    expect(page.locator("#health-alerts")).to_contain_text("Watchdog")
    services = page.locator("#health-services")
    expect(services).to_contain_text("admin2-web")
    expect(services.locator("strong", has_text="down")).to_have_count(1)  # admin2-celery
    expect(page.locator("#health-series figure")).to_have_count(6)
    expect(page.locator("#health-series figure svg").first).to_be_visible()
    page.screenshot(path=artifacts / "system-health-up.png", full_page=True)

    prometheus.stop()
    page.reload()
    expect(page.locator(".errornote")).to_contain_text("Prometheus is unavailable")
    expect(page.locator("#health-series")).to_have_count(0)
    page.screenshot(path=artifacts / "system-health-down.png", full_page=True)
