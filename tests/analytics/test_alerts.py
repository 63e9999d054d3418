"""Alerts on saved queries: a whole life (ok -> triggered -> still triggered -> reminder ->
recovered) with the messages counted at a local SMTP server and a loopback webhook, the
owner's permission checked every run, and two real dispatchers at once sending once."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from admin2_analytics import alerts, tasks
from admin2_analytics.forms import AlertForm
from admin2_analytics.models import Alert, SavedQuery
from tests.support.alerts import Webhook
from tests.support.analytics_pages import make_user

SQL = "SELECT count() AS errors FROM incidents WHERE severity >= {min_severity:UInt8}"


def _alert(webhook: Webhook, **fields) -> Alert:
    owner = make_user("owner", "analytics.run_savedquery", "analytics.export_savedquery")
    query = SavedQuery.objects.create(
        name="Severe incidents", sql=SQL, parameter_defaults={"min_severity": "1"}, owner=owner
    )
    values = {
        "name": "Too many severe incidents",
        "saved_query": query,
        "params": {"min_severity": "3"},  # a parameterised query, with a fixed value
        "condition": Alert.Condition.CELL,
        "column": "errors",
        "operator": ">",
        "threshold": 2,
        "recipients": "oncall@example.com, someone@elsewhere.org",
        "webhook_url": webhook.url,
        "owner": owner,
    }
    values.update(fields)
    return Alert.objects.create(**values)


@pytest.mark.django_db
def test_an_alert_life_sends_one_message_per_change(incidents, mail_and_hooks):
    inbox = mail_and_hooks
    webhook = Webhook()
    alert = _alert(webhook)
    start = timezone.now()

    def run(minutes: int) -> str:
        (line,) = (
            tasks.dispatch_due_reports()
            if minutes == 0
            else alerts.dispatch_due(start + dt.timedelta(minutes=minutes))
        )
        alert.refresh_from_db()
        return line

    try:
        assert run(0) == "Too many severe incidents: ok" and alert.last_value == "0"
        incidents(1, 1, 1, 1, 3, 3)  # severity 1 does not count with min_severity=3
        assert run(10) == "Too many severe incidents: ok" and alert.last_value == "2"
        incidents(4)
        assert run(20) == "Too many severe incidents: triggered (triggered sent)"
        assert alert.state == "triggered" and alert.last_value == "3"
        assert len(inbox.messages) == 1 and webhook.events() == ["triggered"]
        assert run(30) == "Too many severe incidents: triggered"  # still: nothing sent
        assert len(inbox.messages) == 1 and len(webhook.bodies) == 1

        Alert.objects.filter(pk=alert.pk).update(
            remind_every_minutes=30, muted_until=start + dt.timedelta(minutes=55)
        )
        assert run(50) == "Too many severe incidents: triggered (still triggered, muted)"
        assert run(60) == "Too many severe incidents: triggered (still triggered sent)"
        assert run(70) == "Too many severe incidents: triggered"  # next reminder at 90
        incidents(1, clear=True)
        assert run(80) == "Too many severe incidents: ok (recovered sent)"
        # The recipient outside the allowed domains is named, never mailed.
        assert "not sent to someone@elsewhere.org" in alert.last_error
        assert run(90) == "Too many severe incidents: ok"
    finally:
        webhook.close()

    assert webhook.events() == ["triggered", "still triggered", "recovered"]
    assert [m["Subject"] for m in inbox.messages] == [
        f"[admin2] Alert {event}: Too many severe incidents"
        for event in ("triggered", "still triggered", "recovered")
    ]
    assert all(m["To"] == "oncall@example.com" for m in inbox.messages)
    assert "value: 3" in inbox.messages[0].get_payload()
    assert webhook.bodies[0]["value"] == "3" and webhook.bodies[0]["threshold"] == "2"


@pytest.mark.django_db
def test_the_owner_permission_is_checked_on_every_run(incidents, mail_and_hooks):
    webhook = Webhook()
    alert = _alert(webhook, condition=Alert.Condition.ROWS, column="", operator=">=",
                   threshold=1)  # fmt: skip
    alert.owner.user_permissions.clear()
    try:
        (line,) = alerts.dispatch_due()
    finally:
        webhook.close()
    alert.refresh_from_db()
    assert "refused: the alert's owner may no longer" in line
    assert alert.state == "ok" and "refused" in alert.last_error and webhook.bodies == []
    assert not mail_and_hooks.messages


@pytest.mark.django_db
def test_a_change_condition_compares_with_the_last_run(incidents, mail_and_hooks):
    webhook = Webhook()
    alert = _alert(webhook, condition=Alert.Condition.CHANGE, threshold=1, recipients="")
    start = timezone.now()
    try:
        incidents(3)
        assert alerts.dispatch_due(start) == ["Too many severe incidents: ok"]  # first: no change
        incidents(3, 3)
        assert alerts.dispatch_due(start + dt.timedelta(minutes=5))[0].endswith("(triggered sent)")
    finally:
        webhook.close()
    alert.refresh_from_db()
    assert (alert.last_observed, alert.last_value) == ("3", "2")


@pytest.mark.slow  # PostgreSQL's row locks (SKIP LOCKED): not in the SQLite pass
@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_send_once(incidents, mail_and_hooks):
    inbox = mail_and_hooks
    webhook = Webhook(hold=True)
    _alert(webhook, threshold=0)
    incidents(3)
    now = timezone.now()
    results: dict[str, list[str]] = {}

    def dispatcher(name: str) -> None:
        try:
            results[name] = alerts.dispatch_due(now)
        finally:
            connection.close()

    first = threading.Thread(target=dispatcher, args=("first",))
    first.start()
    try:
        # The first dispatcher holds the alert's row lock while its webhook call waits.
        assert webhook.arrived.wait(60), "the first dispatcher never sent"
        second = threading.Thread(target=dispatcher, args=("second",))
        second.start()
        second.join(60)
        assert results["second"] == []  # skipped the locked alert instead of waiting
    finally:
        webhook.release.set()
        first.join(60)
        webhook.close()
    assert results["first"] == ["Too many severe incidents: triggered (triggered sent)"]
    assert alerts.dispatch_due(now) == []  # and after the first committed, it is not due
    assert len(inbox.messages) == 1 and len(webhook.bodies) == 1


@pytest.mark.django_db
def test_the_form_refuses_what_an_alert_cannot_do(settings, analytics_engine):
    settings.ANALYTICS_ALERT_WEBHOOK_HOSTS = ["hooks.example.com"]
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = ["example.com"]
    owner = make_user("owner", "analytics.export_savedquery")
    query = SavedQuery.objects.create(
        name="Q", sql="SELECT count() AS n FROM events WHERE country = {c:String}",
        parameter_defaults={"c": "DE"}, owner=owner,
    )  # fmt: skip
    data = {
        "name": "A", "saved_query": query.pk, "params": "c=FR\nnope=1", "condition": "cell",
        "column": "", "operator": ">", "threshold": "1", "every_minutes": "0",
        "remind_every_minutes": "0", "recipients": "x@evil.test",
        "webhook_url": "http://10.0.0.1/hook", "enabled": "on",
    }  # fmt: skip
    form = AlertForm(data, owner=make_user("nobody"))
    assert not form.is_valid()
    assert "allowed mail domains" in str(form.errors["recipients"])
    assert "10.0.0.1 is not an allowed webhook host" in str(form.errors["webhook_url"])
    assert "needs a column" in str(form.errors["column"])
    assert "at least every minute" in str(form.errors["every_minutes"])
    assert "nope" in str(form.errors["params"])
    assert "permission to export" in str(form.errors["__all__"])
    good = {
        **data,
        "params": "c=FR",
        "column": "n",
        "every_minutes": "5",
        "recipients": "ops@example.com",
        "webhook_url": "https://hooks.example.com/x",
    }
    assert AlertForm(good, owner=owner).is_valid()


@pytest.mark.django_db
def test_the_admin_lists_and_adds_alerts(client, incidents, mail_and_hooks):
    webhook = Webhook()
    webhook.close()
    alert = _alert(webhook)
    client.force_login(make_user("root", superuser=True))
    listing = client.get("/admin/analytics/alert/")
    assert listing.status_code == 200 and "errors &gt; 2" in listing.content.decode()
    assert client.get(f"/admin/analytics/alert/{alert.pk}/change/").status_code == 200
    assert client.get("/admin/analytics/alert/add/").status_code == 200
