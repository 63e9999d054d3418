"""The plugin's own queue, and the names of every queue a worker consumes.

Plugins declare theirs in ``PluginConfig.queues`` (the one ``Queue`` type is the core's);
the Celery app adopts them all at start-up (:mod:`admin2_tasks.declared`). A worker
started without ``-Q`` consumes them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from admin2.registry import Queue

if TYPE_CHECKING:  # apps.py imports this module: no Celery at app-loading time
    from celery import Celery

DEFAULT_QUEUE = Queue("default", "short housekeeping, and any task that names no queue")


def queue_names(app: Celery) -> tuple[str, ...]:
    return tuple(queue.name for queue in app.conf.task_queues or ())
