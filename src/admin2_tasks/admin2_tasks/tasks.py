"""The plugin's own tasks: the heartbeat, pruning old runs, and a harmless round trip."""

from __future__ import annotations

from datetime import timedelta

from celery import current_task
from django.conf import settings
from django.utils import timezone

from admin2.background import task
from admin2_tasks.models import TaskRun, WorkerHeartbeat

HEARTBEAT = "admin2_tasks.heartbeat"
PRUNE_TASK_RUNS = "admin2_tasks.prune_task_runs"
ROUND_TRIP = "admin2_tasks.round_trip"


# Declared like any plugin's tasks; redo_if_worker_dies=False keeps Celery's settings as
# they were under @shared_task (each is harmless to run twice all the same).
@task(HEARTBEAT, redo_if_worker_dies=False, ignore_result=True)
def heartbeat() -> None:
    """Proves beat → broker → worker → database end to end; /readyz shows its age."""
    WorkerHeartbeat.objects.update_or_create(
        worker=current_task.request.hostname or "unknown", defaults={"last_seen": timezone.now()}
    )


@task(PRUNE_TASK_RUNS, redo_if_worker_dies=False)
def prune_task_runs() -> int:
    """Delete finished runs older than ADMIN2_TASKS_RUN_RETENTION_DAYS; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.ADMIN2_TASKS_RUN_RETENTION_DAYS)
    deleted, _ = TaskRun.objects.filter(
        state__in=TaskRun.FINAL_STATES, queued_at__lt=cutoff
    ).delete()
    WorkerHeartbeat.objects.filter(last_seen__lt=cutoff).delete()
    return deleted


@task(ROUND_TRIP, redo_if_worker_dies=False)
def round_trip() -> dict:
    """Does nothing but answer: staff run it to see a worker take a task and finish it."""
    return {"worker": current_task.request.hostname, "at": timezone.now().isoformat()}
