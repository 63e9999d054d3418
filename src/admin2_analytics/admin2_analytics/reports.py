"""Scheduled reports: run a saved query on a schedule, e-mail the file and/or keep it.

Each due report is claimed with a conditional update (never sent twice), and counts as an
export: its owner's permission and the recipients' domains are checked when it is saved and
again each time it runs (docs/security.md, "Scheduled reports").
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import timezone

from admin2_analytics import exports, history
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.models import ScheduledReport
from admin2_analytics.parameters import bind

logger = logging.getLogger(__name__)

EXPORT_PERMISSION = "analytics.export_savedquery"


class ReportRefused(Exception):
    """The report may not run, or not go where it is addressed; the message says why."""


def allowed_domains() -> str:
    if not settings.ANALYTICS_REPORT_ALLOWED_DOMAINS:
        return "none: set ANALYTICS_REPORT_ALLOWED_DOMAINS to the domains reports may mail to"
    return ", ".join(settings.ANALYTICS_REPORT_ALLOWED_DOMAINS)


def outside_allowed_domains(addresses: list[str]) -> list[str]:
    """The addresses whose domain is not in ANALYTICS_REPORT_ALLOWED_DOMAINS. Domains match
    exactly, ignoring case. An empty setting admits any domain only where
    ``ANALYTICS_REPORT_ANY_DOMAIN`` says so (not in production)."""
    allowed = settings.ANALYTICS_REPORT_ALLOWED_DOMAINS
    if not allowed:
        return [] if getattr(settings, "ANALYTICS_REPORT_ANY_DOMAIN", False) else list(addresses)
    return [address for address in addresses if address.rpartition("@")[2].lower() not in allowed]


def export_refusal(owner) -> str | None:
    """Why ``owner`` may not have a report made and sent, or None."""
    if not owner.has_perm(EXPORT_PERMISSION):
        return f"may no longer export saved queries ({EXPORT_PERMISSION})"
    return None


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


@dataclass
class Outcome:
    """What a report run got done, kept even when a later step fails."""

    rows: int = 0
    stored: str = ""  # the kept file, relative to MEDIA_ROOT
    note: str = ""  # recipients skipped


def run_report(report: ScheduledReport, *, now: dt.datetime | None = None) -> str:
    """Produce the report file, send and/or store it, and note the outcome on the report."""
    now = now or timezone.now()
    outcome, error = Outcome(), ""
    try:
        _deliver(report, now, outcome)
    except Exception as exc:  # a broken report is noted on it and logged, never fatal
        error = _failure(report, exc)
    ScheduledReport.objects.filter(pk=report.pk).update(
        last_run=now,
        last_error=error or outcome.note,
        last_file=outcome.stored or report.last_file,
    )
    if error:
        return f"failed: {error}"
    return f"{outcome.rows} rows; {outcome.note}" if outcome.note else f"{outcome.rows} rows"


def owner_refusal(owner, query) -> str | None:
    """Why ``owner`` may not have ``query`` run and its results sent (checked every run)."""
    if not owner.is_active or not query.is_visible_to(owner):
        return "may no longer see its saved query"
    return export_refusal(owner)


def _deliver(report: ScheduledReport, now: dt.datetime, outcome: Outcome) -> None:
    query = report.saved_query
    if refusal := owner_refusal(report.owner, query):
        raise ReportRefused(f"the report's owner {refusal}")
    recipients, outcome.note = _recipients(report)
    params = bind(query.sql, {**query.parameter_defaults, **report.params})
    name = exports.file_name(query, report.format, now)
    with tempfile.TemporaryDirectory(prefix="admin2-report-") as scratch:
        kept = Path(settings.MEDIA_ROOT) / settings.ANALYTICS_REPORTS_DIR / str(report.pk)
        target = (kept if report.store_to_media else Path(scratch)) / name
        outcome.rows = _produce(report, params, target)
        if report.store_to_media:
            outcome.stored = str(target.relative_to(settings.MEDIA_ROOT))
        if recipients:
            _send(report, recipients, target, outcome.rows, outcome.stored)


def _failure(report: ScheduledReport, exc: Exception) -> str:
    """The report's ``last_error`` for ``exc``; logged as fits."""
    if isinstance(exc, ReportRefused):  # nothing ran and nothing was mailed
        error = f"refused: {exc}"
        logger.warning("scheduled report %s %s", report.pk, error)
        return error
    if isinstance(exc, AnalyticsError):
        return str(exc)
    logger.exception("scheduled report %s failed", report.pk)
    return repr(exc)


def _recipients(report: ScheduledReport) -> tuple[list[str], str]:
    """The recipients inside the allowed mail domains, and a note naming the others."""
    skipped = outside_allowed_domains(report.recipient_list)
    recipients = [address for address in report.recipient_list if address not in skipped]
    if not skipped:
        return recipients, ""
    if not recipients and not report.store_to_media:
        raise ReportRefused(
            f"no recipient is inside the allowed mail domains ({allowed_domains()}): "
            f"{', '.join(skipped)}"
        )
    note = (
        f"not sent to {', '.join(skipped)}: outside the allowed mail domains ({allowed_domains()})"
    )
    return recipients, note


def _produce(report: ScheduledReport, params: dict, target: Path) -> int:
    query = report.saved_query
    with history.recorded(
        sql=query.sql, source="task", user=report.owner, saved_query=query, params=params,
        kind="report",
    ) as run:  # fmt: skip
        counter = exports.write_file(
            query.sql, params, fmt=report.format, tag=run.tag, final=target,
            query_id=run.query_id,
        )  # fmt: skip
        run.row_count = counter.records
    return counter.records


def _send(
    report: ScheduledReport, recipients: list[str], path: Path, rows: int, stored: str
) -> None:
    size = path.stat().st_size
    lines = [
        f"Scheduled report: {report.name}",
        f"Saved query: {report.saved_query.name}",
        f"Rows: {rows}",
    ]
    message = EmailMessage(
        subject=f"[{settings.ADMIN2_SITE_TITLE}] {report.name}",
        to=recipients,
    )
    if size <= settings.ANALYTICS_REPORT_MAX_ATTACHMENT_BYTES:
        message.attach(path.name, path.read_bytes(), exports.CONTENT_TYPES[report.format])
    else:
        where = f"It is kept in the admin's media as {stored}." if stored else ""
        lines.append(f"The file ({size} bytes) is too large to attach. {where}".strip())
    message.body = "\n".join(lines) + "\n"
    message.send(fail_silently=False)
