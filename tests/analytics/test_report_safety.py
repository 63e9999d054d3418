"""Scheduled reports mail a query's rows: they need the owner's export permission and stay
inside the allowed mail domains, both when they are saved and when they are sent."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.urls import reverse

from admin2_analytics import tasks
from admin2_analytics.forms import ScheduledReportForm
from admin2_analytics.models import QueryRun, ScheduledReport
from tests.support.analytics_pages import due_report, make_query, make_user

pytestmark = pytest.mark.django_db

EXPORTER = ("analytics.run_savedquery", "analytics.export_savedquery")


@pytest.fixture
def exporter():
    return make_user("exporter", *EXPORTER)


def _due_report(owner, **fields):
    return due_report(owner, **fields)


def _form_data(query, **fields) -> dict:
    return {
        "name": "r", "saved_query": query.pk, "format": "csv", "every": "daily",
        "interval": "1", "at_time": "07:00", "recipients": "boss@example.com", **fields,
    }  # fmt: skip


def test_a_user_without_the_export_permission_cannot_save_a_report(client):
    # Finding 4: add_scheduledreport alone had a shared query's rows mailed anywhere.
    author = make_user(
        "author", "analytics.add_scheduledreport", "analytics.view_scheduledreport",
        "analytics.run_savedquery",
    )  # fmt: skip
    query = make_query(author)
    client.force_login(author)
    response = client.post(
        reverse("admin:analytics_scheduledreport_add"),
        {**_form_data(query, every="minutes", interval="10"), "params": "", "enabled": "on"},
    )
    assert response.status_code == 200
    assert "needs the permission to export saved queries" in response.content.decode()
    assert not ScheduledReport.objects.exists()


def test_a_report_whose_owner_lost_the_export_permission_is_refused_unsent(
    exporter, analytics_engine
):
    report = _due_report(exporter)
    exporter.user_permissions.remove(
        Permission.objects.get(content_type__app_label="analytics", codename="export_savedquery")
    )
    (line,) = tasks.dispatch_due_reports()
    assert line == (
        "Weekly revenue: failed: refused: the report's owner may no longer export saved "
        "queries (analytics.export_savedquery)"
    )
    assert mail.outbox == [] and not QueryRun.objects.exists()
    report.refresh_from_db()
    assert report.last_error.startswith("refused: ") and report.last_run is not None


def test_the_report_form_names_a_recipient_outside_the_allowed_domains(exporter, settings):
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = ["example.com", "example.org"]
    data = _form_data(
        make_query(exporter), recipients="boss@example.com, team@EXAMPLE.org\nspy@elsewhere.test"
    )
    form = ScheduledReportForm(data=data, owner=exporter)
    assert not form.is_valid()
    assert form.errors["recipients"] == [
        "spy@elsewhere.test is outside the allowed mail domains (example.com, example.org)."
    ]


def test_a_report_is_not_mailed_to_a_recipient_outside_the_allowed_domains(
    exporter, settings, analytics_engine
):
    report = _due_report(exporter, recipients="boss@example.com\nspy@elsewhere.test")
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = ["example.com"]  # narrowed after it was saved
    (line,) = tasks.dispatch_due_reports()
    (message,) = mail.outbox
    assert message.to == ["boss@example.com"]
    skipped = "not sent to spy@elsewhere.test: outside the allowed mail domains (example.com)"
    assert line == f"Weekly revenue: 7 rows; {skipped}"
    report.refresh_from_db()
    assert report.last_error == skipped


def test_a_report_with_no_recipient_in_the_allowed_domains_does_not_run(
    exporter, settings, analytics_engine
):
    report = _due_report(exporter, recipients="spy@elsewhere.test")
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = ["example.com"]
    (line,) = tasks.dispatch_due_reports()
    assert line.startswith("Weekly revenue: failed: refused: no recipient is inside")
    assert mail.outbox == [] and not QueryRun.objects.exists()
    report.refresh_from_db()
    assert "spy@elsewhere.test" in report.last_error


def test_an_empty_domain_list_admits_no_recipient_where_any_domain_is_off(exporter, settings):
    """Issue 19: empty ANALYTICS_REPORT_ALLOWED_DOMAINS meant any domain, also in production."""
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = []
    settings.ANALYTICS_REPORT_ANY_DOMAIN = False  # what production derives from an empty list
    form = ScheduledReportForm(
        data=_form_data(make_query(exporter), recipients="boss@example.com"), owner=exporter
    )
    assert not form.is_valid()
    (error,) = form.errors["recipients"]
    assert "boss@example.com is outside the allowed mail domains" in error
    assert "set ANALYTICS_REPORT_ALLOWED_DOMAINS" in error


def test_an_empty_domain_list_admits_any_domain_outside_production(exporter, settings):
    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = []
    settings.ANALYTICS_REPORT_ANY_DOMAIN = True
    form = ScheduledReportForm(
        data=_form_data(make_query(exporter), recipients="boss@example.com"), owner=exporter
    )
    assert form.is_valid(), form.errors
