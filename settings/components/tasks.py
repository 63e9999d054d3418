"""Celery tasks plugin, composed in unless ADMIN2_TASKS_ENABLED=false."""

from settings.env import env_bool

ADMIN2_TASKS_ENABLED = env_bool("ADMIN2_TASKS_ENABLED", True)

if ADMIN2_TASKS_ENABLED:
    INSTALLED_APPS += ["admin2_tasks"]  # noqa: F821
