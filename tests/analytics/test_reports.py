"""Scheduled reports: due ones run once, mail a CSV and/or keep it in media, note the outcome."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from admin2_analytics import reports, tasks
from admin2_analytics.forms import ScheduledReportForm
from admin2_analytics.models import QueryRun, ScheduledReport
from tests.support.analytics_pages import (
    DAILY_SQL,
    direct_count,
    due_report,
    make_query,
    make_user,
    read_csv,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    # A report is an export that runs by itself: its owner needs the export permission.
    return make_user("owner", "analytics.run_savedquery", "analytics.export_savedquery")


def _report(owner, **fields):
    return due_report(owner, **{"recipients": "boss@example.com\nteam@example.com", **fields})


def test_a_due_report_mails_its_csv_and_moves_on(owner, analytics_engine):
    report = _report(owner)
    before = timezone.now()
    assert tasks.dispatch_due_reports() == ["Weekly revenue: 7 rows"]

    (message,) = mail.outbox
    assert message.to == ["boss@example.com", "team@example.com"]
    assert "Weekly revenue" in message.subject and "Rows: 7" in message.body
    ((name, content, mimetype),) = message.attachments
    assert name.endswith(".csv") and mimetype.startswith("text/csv")
    rows = read_csv(content)
    params = {"start": "2025-01-01", "end": "2025-01-07"}
    assert rows[0] == ["day", "revenue", "events"]
    assert len(rows) - 1 == direct_count(DAILY_SQL, params)

    report.refresh_from_db()
    assert report.last_error == "" and report.last_run >= before
    assert report.next_run >= before + dt.timedelta(hours=6)
    run = QueryRun.objects.get()
    assert (run.source, run.user, run.row_count) == ("task", owner, 7)


def test_a_report_runs_once_even_when_dispatched_twice(owner, analytics_engine):
    _report(owner)
    tasks.dispatch_due_reports()
    assert tasks.dispatch_due_reports() == []
    assert len(mail.outbox) == 1


def test_a_claimed_report_is_not_run_by_a_second_dispatcher(owner, analytics_engine):
    report = _report(owner)
    stale = list(reports.due(timezone.now()))  # a second dispatcher read the same row...
    tasks.dispatch_due_reports()  # ...but the first one claimed it
    report.refresh_from_db()
    claimed = ScheduledReport.objects.filter(pk=report.pk, next_run=stale[0].next_run).update(
        next_run=timezone.now()
    )
    assert claimed == 0
    assert len(mail.outbox) == 1


def test_a_report_can_be_kept_in_media_without_mail(owner, settings, analytics_engine):
    report = _report(owner, recipients="", store_to_media=True, format="jsonl")
    tasks.dispatch_due_reports()
    assert mail.outbox == []
    report.refresh_from_db()
    stored = Path(settings.MEDIA_ROOT) / report.last_file
    assert report.last_file.startswith(f"reports/{report.pk}/") and stored.suffix == ".jsonl"
    assert len(stored.read_text().splitlines()) == 7


def test_a_file_too_large_to_attach_is_named_instead(owner, settings, analytics_engine):
    settings.ANALYTICS_REPORT_MAX_ATTACHMENT_BYTES = 10
    report = _report(owner, store_to_media=True)
    tasks.dispatch_due_reports()
    (message,) = mail.outbox
    assert message.attachments == []
    report.refresh_from_db()
    assert "too large to attach" in message.body and report.last_file in message.body


def test_a_failing_report_notes_the_reason_and_sends_nothing(owner, settings, analytics_engine):
    settings.ANALYTICS_EXPORT_MAX_EXECUTION_TIME = 0.5
    query = make_query(
        owner,
        name="Endless",
        sql="SELECT count() FROM numbers(100000000000) WHERE sipHash64(number) = 3",
        parameter_defaults={},
        chart_kind="none",
    )
    report = _report(owner, saved_query=query, params={})
    (line,) = tasks.dispatch_due_reports()
    assert line.startswith("Weekly revenue: failed: ")
    assert mail.outbox == []
    report.refresh_from_db()
    assert "time" in report.last_error.lower() and report.last_run is not None
    assert QueryRun.objects.get().error.startswith("QueryTimeout")


def test_an_owner_who_lost_sight_of_the_query_gets_no_report(owner, analytics_engine):
    private = make_query(make_user("other"), shared=False)
    report = _report(owner, saved_query=private, params={})
    tasks.dispatch_due_reports()
    report.refresh_from_db()
    assert "may no longer see" in report.last_error
    assert mail.outbox == [] and not QueryRun.objects.exists()


def test_disabled_and_future_reports_wait(owner, analytics_engine):
    _report(owner, enabled=False)
    future = _report(owner, name="Later")
    ScheduledReport.objects.filter(pk=future.pk).update(
        next_run=timezone.now() + dt.timedelta(minutes=5)
    )
    assert tasks.dispatch_due_reports() == []


def test_schedules_compute_the_next_moment(settings, owner):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = ZoneInfo("Europe/Berlin")
    query = make_query(owner)
    daily = ScheduledReport(saved_query=query, every="daily", at_time=dt.time(7, 30))
    morning = dt.datetime(2025, 3, 29, 6, 0, tzinfo=berlin)
    assert daily.following_run(morning) == dt.datetime(2025, 3, 29, 7, 30, tzinfo=berlin)
    evening = dt.datetime(2025, 3, 29, 20, 0, tzinfo=berlin)
    # Across the switch to summer time the report still comes at 07:30 local time.
    following = daily.following_run(evening)
    assert following.astimezone(berlin).replace(tzinfo=None) == dt.datetime(2025, 3, 30, 7, 30)
    hourly = ScheduledReport(saved_query=query, every="hours", interval=3)
    assert hourly.following_run(morning) == morning + dt.timedelta(hours=3)
    minutes = ScheduledReport(saved_query=query, every="minutes", interval=15)
    assert minutes.following_run(morning) == morning + dt.timedelta(minutes=15)


def test_a_new_report_is_scheduled_on_save(owner):
    report = ScheduledReport.objects.create(
        name="x", saved_query=make_query(owner), every="minutes", interval=5,
        recipients="a@example.com", owner=owner,
    )  # fmt: skip
    assert timezone.now() < report.next_run <= timezone.now() + dt.timedelta(minutes=5)


def report_form(owner, **changes):
    base = {"name": "r", "saved_query": make_query(owner).pk, "format": "csv", "every": "daily",
            "interval": "1", "at_time": "07:00", "recipients": "a@example.com"}  # fmt: skip
    return ScheduledReportForm(data={**base, **changes}, owner=owner)


def test_the_report_form_accepts_a_daily_report_to_one_address(owner):
    assert report_form(owner).is_valid()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"recipients": "a@example.com, not-an-address"}, "recipients",
         "'not-an-address' is not an e-mail address"),
        ({"at_time": ""}, "at_time", "needs a time of day"),
        ({"params": "end=someday"}, "params", "'end' (Date)"),
        ({"recipients": ""}, "recipients", "Give recipients, store to media, or both."),
    ],
    ids=["bad-recipient", "daily-without-time", "untyped-parameter", "nowhere-to-send"],
)  # fmt: skip
def test_the_report_form_refuses_with_the_reason(owner, changes, field, message):
    form = report_form(owner, **changes)

    assert not form.is_valid()
    assert message in " ".join(form.errors[field])


def test_the_admin_schedules_a_report_for_its_author(client, analytics_engine):
    author = make_user(
        "author", "analytics.add_scheduledreport", "analytics.view_scheduledreport",
        "analytics.run_savedquery", "analytics.export_savedquery",
    )  # fmt: skip
    query = make_query(author)
    client.force_login(author)
    response = client.post(
        reverse("admin:analytics_scheduledreport_add"),
        {"name": "Daily", "saved_query": query.pk, "format": "csv", "every": "minutes",
         "interval": "10", "recipients": "a@example.com", "params": "", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    report = ScheduledReport.objects.get()
    assert report.owner == author and report.next_run > timezone.now()
