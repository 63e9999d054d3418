"""Scheduled reports: run a saved query on a schedule, e-mail the file and/or keep it.

``dispatch_due`` runs every minute (the ``admin2_analytics.dispatch_due_reports`` task). Each
due report is first *claimed* by moving its ``next_run`` forward with a conditional update,
so two dispatchers running at once (or a re-delivered task) never send a report twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from admin2_analytics import exports, history
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.models import ScheduledReport
from admin2_analytics.running import tag_for

logger = logging.getLogger(__name__)


def due(now: dt.datetime):
    return ScheduledReport.objects.filter(enabled=True, next_run__lte=now).select_related(
        "saved_query", "owner"
    )


def dispatch_due(now: dt.datetime | None = None) -> list[str]:
    """Run every due report once; return one line per report run."""
    now = now or timezone.now()
    done = []
    for report in due(now):
        following = report.following_run(now)
        claimed = ScheduledReport.objects.filter(pk=report.pk, next_run=report.next_run).update(
            next_run=following
        )
        if not claimed:
            continue  # another dispatcher took it
        report.next_run = following
        done.append(f"{report.name}: {run_report(report, now=now)}")
    return done


def run_report(report: ScheduledReport, *, now: dt.datetime | None = None) -> str:
    """Produce the report file, send and/or store it, and note the outcome on the report."""
    from admin2_analytics.forms import check_parameters

    now = now or timezone.now()
    query, owner = report.saved_query, report.owner
    error, stored, rows = "", "", 0
    try:
        if not owner.is_active or not query.is_visible_to(owner):
            raise PermissionError("the report's owner may no longer see its saved query")
        params = check_parameters(query.sql, {**query.parameter_defaults, **report.params})
        name = exports.file_name(query, report.format, now)
        with tempfile.TemporaryDirectory(prefix="admin2-report-") as scratch:
            target = (
                Path(settings.MEDIA_ROOT) / settings.ANALYTICS_REPORTS_DIR / str(report.pk) / name
                if report.store_to_media
                else Path(scratch) / name
            )
            rows = _produce(report, params, target)
            if report.store_to_media:
                stored = str(target.relative_to(settings.MEDIA_ROOT))
            if report.recipient_list:
                _send(report, target, rows, stored)
    except Exception as exc:  # a broken report is noted on it and logged, never fatal
        error = str(exc) if isinstance(exc, (AnalyticsError, PermissionError)) else repr(exc)
        if not isinstance(exc, AnalyticsError):
            logger.exception("scheduled report %s failed", report.pk)
        if hasattr(exc, "messages"):
            error = "; ".join(exc.messages)
    ScheduledReport.objects.filter(pk=report.pk).update(
        last_run=now, last_error=error, last_file=stored or report.last_file
    )
    return f"failed: {error}" if error else f"{rows} rows"


def _produce(report: ScheduledReport, params: dict, target: Path) -> int:
    query = report.saved_query
    tag = tag_for(report.owner, "task", query)
    run = history.start(
        sql=query.sql, source="task", user=report.owner, saved_query=query, params=params
    )
    try:
        counter = exports.write_file(query.sql, params, fmt=report.format, tag=tag, final=target)
    except Exception as exc:
        run.finish(error=exc)
        raise
    run.finish(row_count=counter.records)
    return counter.records


def _send(report: ScheduledReport, path: Path, rows: int, stored: str) -> None:
    size = path.stat().st_size
    lines = [
        f"Scheduled report: {report.name}",
        f"Saved query: {report.saved_query.name}",
        f"Rows: {rows}",
    ]
    message = EmailMessage(
        subject=f"[{settings.ADMIN2_SITE_TITLE}] {report.name}",
        to=report.recipient_list,
    )
    if size <= settings.ANALYTICS_REPORT_MAX_ATTACHMENT_BYTES:
        message.attach(path.name, path.read_bytes(), exports.CONTENT_TYPES[report.format])
    else:
        where = f"It is kept in the admin's media as {stored}." if stored else ""
        lines.append(f"The file ({size} bytes) is too large to attach. {where}".strip())
    message.body = "\n".join(lines) + "\n"
    message.send(fail_silently=False)
