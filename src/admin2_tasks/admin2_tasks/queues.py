"""The plugin's own queue, and the names of every queue a worker consumes.

Other plugins declare theirs in the core registry (``registry.add_queue``); the Celery app
adopts them at start-up (:mod:`admin2_tasks.declared`). A worker started without ``-Q``
consumes them all.
"""

from __future__ import annotations

from enum import StrEnum

from celery import Celery


class Queue(StrEnum):
    DEFAULT = "default"  # short housekeeping, and any task that names no queue


def queue_names(app: Celery) -> tuple[str, ...]:
    return tuple(queue.name for queue in app.conf.task_queues or ())
