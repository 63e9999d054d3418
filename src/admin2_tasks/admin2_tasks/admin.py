"""Task runs in the admin: filterable, read-only, with "retry the failed ones"."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from admin2.background import BackgroundUnavailable
from admin2_tasks.backend import CeleryBackend
from admin2_tasks.celery import app
from admin2_tasks.models import TaskRun, WorkerHeartbeat

RETRYABLE = (TaskRun.State.FAILURE, TaskRun.State.NOT_QUEUED, TaskRun.State.REVOKED)
STATE_COLOURS = {
    TaskRun.State.SUCCESS: "#1b7f3b",
    TaskRun.State.FAILURE: "#b3261e",
    TaskRun.State.NOT_QUEUED: "#b3261e",
    TaskRun.State.RETRY: "#a15c00",
    TaskRun.State.STARTED: "#1f5fa8",
}


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = (
        "name", "state_badge", "args_summary", "queue", "queued_at", "started_at",
        "finished_at", "duration", "worker", "retries",
    )  # fmt: skip
    list_filter = ("state", "name", "queue", "worker", "queued_at")
    search_fields = ("task_id", "name", "args_summary", "error")
    date_hierarchy = "queued_at"
    list_select_related = ("submitted_by",)
    actions = ["retry_runs"]
    fields = (
        "task_id", "name", "state", "queue", "args", "kwargs", "retries", "queued_at",
        "started_at", "finished_at", "runtime", "worker", "submitted_by", "retry_of",
        "result", "error", "traceback",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="state", ordering="state")
    def state_badge(self, run: TaskRun):
        colour = STATE_COLOURS.get(run.state, "#555")
        return format_html('<b style="color:{}">{}</b>', colour, run.get_state_display())

    @admin.display(description="duration", ordering="runtime")
    def duration(self, run: TaskRun) -> str:
        return "" if run.runtime is None else f"{run.runtime:.2f} s"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_run_permission(self, request) -> bool:
        return request.user.has_perm("tasks.run_task")

    @admin.action(description="Retry the selected failed runs", permissions=["run"])
    def retry_runs(self, request, queryset):
        runs = list(queryset.filter(state__in=RETRYABLE).order_by("id"))
        skipped = queryset.count() - len(runs)
        backend = CeleryBackend(app)
        queued = 0
        for run in runs:
            try:
                backend.send(
                    run.name,
                    args=run.args,
                    kwargs=run.kwargs,
                    queue=run.queue or None,
                    user_id=request.user.pk,
                    retry_of=run.pk,
                )
            except BackgroundUnavailable as exc:
                self.message_user(
                    request,
                    f"Retry not queued: {exc}. {queued} of {len(runs)} queued before the "
                    "broker failed; the failed runs are unchanged, try again later.",
                    messages.ERROR,
                )
                return
            queued += 1
        note = f"; {skipped} skipped (only failed or unqueued runs are retried)" if skipped else ""
        self.message_user(request, f"{queued} retried as new runs{note}.", messages.SUCCESS)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker", "last_seen")
    readonly_fields = ("worker", "last_seen")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
