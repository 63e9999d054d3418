"""An alert's whole life in a real Chromium: made in the admin on a parameterised saved query,
then ok -> triggered -> still triggered -> recovered as the dispatcher runs, the changelist
showing each state and the local SMTP server counting one message per change."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from admin2_analytics import alerts
from admin2_analytics.models import Alert, SavedQuery
from tests.browser.sign_in import sign_in
from tests.support.analytics_pages import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "watcher-password-1"
SQL = "SELECT count() AS errors FROM incidents WHERE severity >= {min_severity:UInt8}"


@pytest.mark.timeout(180)
def test_an_alert_life_in_the_admin(page: Page, live_server, incidents, mail_and_hooks, artifacts):
    inbox = mail_and_hooks
    watcher = make_user("watcher", "analytics.run_savedquery", "analytics.export_savedquery",
                        "analytics.add_alert", "analytics.change_alert", "analytics.view_alert",
                        "analytics.view_savedquery")  # fmt: skip
    watcher.set_password(PASSWORD)
    watcher.save()
    query = SavedQuery.objects.create(name="Severe incidents", sql=SQL, owner=watcher,
                                      parameter_defaults={"min_severity": "1"})  # fmt: skip
    base = live_server.url
    sign_in(page, f"{base}/admin/login/?next=/admin/analytics/alert/add/", "watcher", PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/analytics/alert/add/$"))

    page.fill("#id_name", "Severe incidents over 2")
    page.select_option("#id_saved_query", str(query.pk))
    page.fill("#id_params", "min_severity=3")
    page.select_option("#id_condition", "cell")
    page.fill("#id_column", "errors")
    page.select_option("#id_operator", ">")
    page.fill("#id_threshold", "2")
    page.fill("#id_every_minutes", "5")
    page.fill("#id_recipients", "oncall@example.com")
    page.click("input[name=_save]")
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    alert = Alert.objects.get()
    assert alert.owner == watcher and alert.params == {"min_severity": "3"}

    start = timezone.now()
    state = page.locator("#result_list tbody tr").first.locator("td.field-state")

    def run(minutes: int, rows: tuple[int, ...] = (), clear: bool = False) -> None:
        if rows or clear:
            incidents(*rows, clear=clear)
        assert len(alerts.dispatch_due(start + dt.timedelta(minutes=minutes))) == 1
        page.goto(f"{base}/admin/analytics/alert/")

    run(0, (1, 1, 1, 3))  # severity 1 is below the fixed min_severity=3: 1 error
    expect(state).to_have_text("ok")
    run(10, (3, 4))
    expect(state).to_have_text("triggered")
    run(20)
    expect(state).to_have_text("triggered")
    run(30, (1,), clear=True)
    expect(state).to_have_text("ok")
    page.screenshot(path=artifacts / "analytics-alert.png", full_page=True)
    subjects = [message["Subject"] for message in inbox.messages]
    assert subjects == [
        "[admin2] Alert triggered: Severe incidents over 2",
        "[admin2] Alert recovered: Severe incidents over 2",
    ]
