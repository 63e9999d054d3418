"""Celery tasks of the analytics plugin, found by the worker's ``autodiscover_tasks()``.

They take ids, return quietly when the row is gone and are safe to run twice, which is why
they acknowledge late and ask to be re-queued if the worker dies mid-task. The tasks plugin
schedules the periodic ones from the registry (see ``contributions``).
"""

from __future__ import annotations

from celery import shared_task

from admin2_analytics import exports, reports


@shared_task(name="admin2_analytics.run_export", acks_late=True, reject_on_worker_lost=True)
def run_export(export_id: int) -> str:
    return exports.run_export(export_id)


@shared_task(
    name="admin2_analytics.cleanup_expired_exports", acks_late=True, reject_on_worker_lost=True
)
def cleanup_expired_exports() -> str:
    return f"{exports.cleanup_expired()} expired exports removed"


@shared_task(
    name="admin2_analytics.dispatch_due_reports", acks_late=True, reject_on_worker_lost=True
)
def dispatch_due_reports() -> list[str]:
    return reports.dispatch_due()
