"""The plugin's own tasks: the heartbeat, pruning old runs, and a harmless round trip."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from admin2_tasks.models import TaskRun, WorkerHeartbeat

HEARTBEAT = "admin2_tasks.heartbeat"
PRUNE_TASK_RUNS = "admin2_tasks.prune_task_runs"
ROUND_TRIP = "admin2_tasks.round_trip"


@shared_task(name=HEARTBEAT, bind=True, ignore_result=True)
def heartbeat(self) -> None:
    """Proves beat → broker → worker → database end to end; /readyz shows its age."""
    WorkerHeartbeat.objects.update_or_create(
        worker=self.request.hostname or "unknown", defaults={"last_seen": timezone.now()}
    )


@shared_task(name=PRUNE_TASK_RUNS)
def prune_task_runs() -> int:
    """Delete finished runs older than ADMIN2_TASKS_RUN_RETENTION_DAYS; returns how many."""
    cutoff = timezone.now() - timedelta(days=settings.ADMIN2_TASKS_RUN_RETENTION_DAYS)
    deleted, _ = TaskRun.objects.filter(
        state__in=TaskRun.FINAL_STATES, queued_at__lt=cutoff
    ).delete()
    WorkerHeartbeat.objects.filter(last_seen__lt=cutoff).delete()
    return deleted


@shared_task(name=ROUND_TRIP, bind=True)
def round_trip(self) -> dict:
    """Does nothing but answer: staff run it to see a worker take a task and finish it."""
    return {"worker": self.request.hostname, "at": timezone.now().isoformat()}
