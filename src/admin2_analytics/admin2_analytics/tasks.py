"""The analytics plugin's background work, declared through the core's seam (no Celery here).

Each takes ids, returns quietly when the row is gone and is safe to run twice.
"""

from __future__ import annotations

from admin2.background import task
from admin2_analytics import alerts, exports, reports

REPORT_QUEUE = "reports"
CLEANUP_EXPIRED_EXPORTS = "admin2_analytics.cleanup_expired_exports"
DISPATCH_DUE_REPORTS = "admin2_analytics.dispatch_due_reports"


@task(exports.EXPORT_TASK, queue=exports.EXPORT_QUEUE)
def run_export(export_id: int) -> str:
    return exports.run_export(export_id)


@task(CLEANUP_EXPIRED_EXPORTS)
def cleanup_expired_exports() -> str:
    return f"{exports.cleanup_expired()} expired exports removed"


@task(DISPATCH_DUE_REPORTS, queue=REPORT_QUEUE)
def dispatch_due_reports() -> list[str]:
    """Due scheduled reports, then due alerts (one dispatcher for both, every minute)."""
    return reports.dispatch_due() + alerts.dispatch_due()
