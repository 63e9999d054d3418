"""Admin pages of the tasks plugin: workers and queues, and running a task on demand."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from admin2 import background
from admin2_tasks.celery import app
from admin2_tasks.inspection import broker_state, worker_details
from admin2_tasks.models import TaskRun, WorkerHeartbeat
from admin2_tasks.on_demand import find, on_demand_tasks


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied


def _attempt(call):
    try:
        return call(), None
    except Exception as exc:  # the page shows what is down instead of failing
        return None, f"{type(exc).__name__}: {exc}"


def status(request):
    _require(request, "tasks.view_taskrun")
    now = timezone.now()
    beats = list(WorkerHeartbeat.objects.all())
    # Workers whose heartbeat is recent are expected to answer; the remote-control calls stop
    # waiting once that many have (one worker takes each heartbeat, so the window is wide).
    recent = now - timedelta(seconds=10 * settings.ADMIN2_TASKS_HEARTBEAT_SECONDS)
    expected = sorted(beat.worker for beat in beats if beat.last_seen >= recent)
    broker, broker_error = _attempt(lambda: broker_state(app))
    workers, workers_error = (None, "broker unavailable") if broker_error else (None, None)
    if not broker_error:
        workers, workers_error = _attempt(lambda: worker_details(app, expected))
    silent = [name for name in expected if name not in (workers or {})]
    since = timezone.now() - timedelta(hours=24)
    counts = dict(
        TaskRun.objects.filter(queued_at__gte=since)
        .values_list("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )
    heartbeats = [
        {"worker": beat.worker, "age": (now - beat.last_seen).total_seconds()} for beat in beats
    ]
    context = {
        **admin.site.each_context(request),
        "title": "Workers and queues",
        "broker": broker,
        "broker_error": broker_error,
        "workers": workers,
        "workers_error": workers_error,
        "silent": silent,
        "heartbeats": heartbeats,
        "counts": [(label, counts.get(value, 0)) for value, label in TaskRun.State.choices],
        "failed": TaskRun.objects.filter(state=TaskRun.State.FAILURE)[:10],
    }
    return TemplateResponse(request, "admin2_tasks/status.html", context)


@require_http_methods(["GET", "POST"])
def run(request):
    _require(request, "tasks.run_task")
    if request.method == "POST":
        task = find(request.POST.get("key", ""))
        if task is None:
            messages.error(request, "No such task can be run on demand.")
            return redirect("tasks:run")
        try:
            task_id = background.submit(
                task.task, kwargs=task.kwargs, queue=task.queue, user_id=request.user.pk
            )
        except background.BackgroundUnavailable as exc:
            messages.error(request, f"Not queued: {exc}. Nothing ran; try again when it is up.")
            return redirect("tasks:run")
        messages.success(request, f"{task.task} queued.")
        run = TaskRun.objects.filter(task_id=task_id).first()
        if run is not None:
            return redirect(reverse("admin:tasks_taskrun_change", args=[run.pk]))
        return redirect("tasks:run")
    context = {
        **admin.site.each_context(request),
        "title": "Run a task now",
        "tasks": on_demand_tasks(),
        "recent": TaskRun.objects.filter(submitted_by=request.user)[:10],
    }
    return TemplateResponse(request, "admin2_tasks/run.html", context)
