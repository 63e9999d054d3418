"""The Celery application: ``celery -A admin2_tasks worker|beat`` finds ``app`` here.

Configuration comes from Django settings (``CELERY_*``, see settings/components/tasks.py);
tasks come from every installed app's ``tasks`` module, so a plugin that is switched off
contributes none. This module never imports another plugin.
"""

from __future__ import annotations

from admin2.bootstrap import configure

# Before Celery is created: its Django fix-up looks for DJANGO_SETTINGS_MODULE at creation.
configure()

from celery import Celery  # noqa: E402

from admin2_tasks import green  # noqa: E402
from admin2_tasks.declared import kombu_queue  # noqa: E402
from admin2_tasks.queues import DEFAULT_QUEUE  # noqa: E402


class Admin2Celery(Celery):
    """Celery with one result backend per eventlet worker, not one per task.

    Celery keeps a result backend per thread; eventlet makes every task's green thread a
    new thread, so each task built a backend of its own (a Redis client, and the redis
    package's metadata read from disk): a few milliseconds of the worker's one core per
    task (celery/celery#7960). A Redis client is safe to share between green threads.
    """

    _green_backend = None

    @property
    def backend(self):
        if not green.patched():
            return super().backend
        if self._green_backend is None:
            self._green_backend = self._get_backend()
        return self._green_backend


def _queue_defaults() -> dict:
    return {
        "task_default_queue": DEFAULT_QUEUE.name,
        "task_default_exchange": DEFAULT_QUEUE.name,
        "task_default_routing_key": DEFAULT_QUEUE.name,
        # Every plugin's declared queues join at start-up (admin2_tasks.declared).
        "task_queues": [kombu_queue(DEFAULT_QUEUE.name)],
    }


def create_app(main: str = "admin2", *, set_as_current: bool = True, **overrides) -> Admin2Celery:
    """Build an application from the Django settings; ``overrides`` win (tests only)."""
    celery_app = Admin2Celery(main, set_as_current=set_as_current)
    celery_app.config_from_object("django.conf:settings", namespace="CELERY")
    celery_app.add_defaults(_queue_defaults)
    if overrides:
        celery_app.conf.update(overrides)
    celery_app.autodiscover_tasks()
    return celery_app


app = create_app()

# The eventlet worker sweeps lost tasks back to their queues itself (worker_ready).
from admin2_tasks import unacked_sweep  # noqa: E402, F401
