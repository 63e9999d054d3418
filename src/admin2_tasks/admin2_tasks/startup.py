"""What the tasks plugin does at start-up, in every process that loads Django: install the
Celery backend and make every declared queue and task Celery's."""

from __future__ import annotations

from pathlib import Path


def start() -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from admin2 import background, plugins
    from admin2.registry import registry
    from admin2_tasks import declared, green_limits, tracking  # noqa: F401
    from admin2_tasks.backend import CeleryBackend
    from admin2_tasks.celery import app

    if settings.CELERY_TASK_ALWAYS_EAGER and settings.ENVIRONMENT in ("staging", "production"):
        raise ImproperlyConfigured(
            "CELERY_TASK_ALWAYS_EAGER: tasks never run inline in staging or production"
        )
    _ensure_embedded_directories(settings)

    background.install(CeleryBackend(app))
    plugins.load()  # done already by the core, which comes first; a no-op then
    declared.adopt_all(app, registry)


def _ensure_embedded_directories(settings) -> None:
    """The embedded broker's folders and result files, when they are in use (development).
    Nothing is created otherwise: a web container may well have no writable VAR_DIR."""
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    folders = [Path(options[key]) for key in ("data_folder_in", "control_folder") if key in options]
    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        folders.append(Path(settings.CELERY_RESULT_BACKEND.removeprefix("file://")))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
