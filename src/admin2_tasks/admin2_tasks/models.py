"""What the admin shows about background work: one row per task run, one per live worker."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TaskRun(models.Model):
    """One task, from the moment it is handed to the broker until it ends.

    Rows are written by Celery signal handlers (admin2_tasks.tracking) in whichever process
    publishes or runs the task; each handler tolerates the row being missing or ahead of it.
    """

    class State(models.TextChoices):
        QUEUED = "QUEUED", "queued"
        NOT_QUEUED = "NOT_QUEUED", "not queued (broker unavailable)"
        STARTED = "STARTED", "running"
        RETRY = "RETRY", "waiting to retry"
        SUCCESS = "SUCCESS", "succeeded"
        FAILURE = "FAILURE", "failed"
        REVOKED = "REVOKED", "revoked"

    FINAL_STATES = (State.NOT_QUEUED, State.SUCCESS, State.FAILURE, State.REVOKED)

    task_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=255, db_index=True)
    queue = models.CharField(max_length=100, blank=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    args_summary = models.CharField(max_length=300, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, db_index=True)
    retries = models.PositiveIntegerField(default=0)
    queued_at = models.DateTimeField(null=True, blank=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    runtime = models.FloatField(null=True, blank=True, help_text="seconds")
    worker = models.CharField(max_length=255, blank=True)
    result = models.TextField(blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retried_as"
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        permissions = [("run_task", "Can run a registered task on demand or retry a failed run")]

    def __str__(self) -> str:
        return f"{self.name} [{self.task_id}]"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class WorkerHeartbeat(models.Model):
    """The last time each worker ran the periodic heartbeat task: beat → broker → worker."""

    worker = models.CharField(max_length=255, unique=True)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["worker"]

    def __str__(self) -> str:
        return self.worker
