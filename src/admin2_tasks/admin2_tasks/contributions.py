"""What the tasks plugin contributes at start-up, in every process that loads Django."""

from __future__ import annotations

import functools
from pathlib import Path


def register() -> None:
    """Install the Celery background backend, readiness checks, admin links, periodic jobs
    and the demo worker."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from admin2 import background
    from admin2.registry import AdminLink, DemoProcess, DemoStep, PeriodicJob, registry
    from admin2_tasks import declared, demo, green_limits, readiness, tracking  # noqa: F401
    from admin2_tasks.backend import CeleryBackend
    from admin2_tasks.celery import app
    from admin2_tasks.queues import Queue
    from admin2_tasks.tasks import HEARTBEAT, PRUNE_TASK_RUNS

    if settings.CELERY_TASK_ALWAYS_EAGER and settings.ENVIRONMENT in ("staging", "production"):
        raise ImproperlyConfigured(
            "CELERY_TASK_ALWAYS_EAGER: tasks never run inline in staging or production"
        )
    _ensure_embedded_directories(settings)

    background.install(CeleryBackend(app))
    registry.watch_background(functools.partial(declared.adopt, app))
    registry.add_health_check("broker", readiness.check_broker, required=True)
    registry.add_health_check("workers", readiness.check_workers, required=False)
    registry.add_admin_link(
        AdminLink("Background tasks", "Workers and queues", "tasks:status", "tasks.view_taskrun")
    )
    registry.add_admin_link(
        AdminLink("Background tasks", "Run a task now", "tasks:run", "tasks.run_task")
    )
    registry.add_periodic_job(
        PeriodicJob(
            "tasks: heartbeat", HEARTBEAT, settings.ADMIN2_TASKS_HEARTBEAT_SECONDS,
            queue=Queue.DEFAULT.value,
        )
    )  # fmt: skip
    registry.add_periodic_job(PeriodicJob("tasks: prune old task runs", PRUNE_TASK_RUNS, 6 * 3600))
    registry.add_demo_process(DemoProcess("celery worker", demo.worker_argv))
    registry.add_demo_step(DemoStep("tasks: queue a round trip", demo.queue_round_trip, 900))


def _ensure_embedded_directories(settings) -> None:
    """The embedded broker's folders and result files, when they are in use (development).
    Nothing is created otherwise: a web container may well have no writable VAR_DIR."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    folders = [Path(options[key]) for key in ("data_folder_in", "control_folder") if key in options]
    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        folders.append(Path(settings.CELERY_RESULT_BACKEND.removeprefix("file://")))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
