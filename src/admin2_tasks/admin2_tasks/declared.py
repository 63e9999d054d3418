"""What the plugins declare, made Celery's: every queue and background task in the registry."""

from __future__ import annotations

from celery import Celery
from kombu import Exchange
from kombu import Queue as KombuQueue

from admin2.registry import BackgroundTask, Queue, Registry


def adopt_all(app: Celery, registry: Registry) -> None:
    """Runs once at start-up, after the core has read every plugin's declarations and
    before a worker selects the queues it consumes."""
    for queue in registry.queues.values():
        adopt_queue(app, queue)
    for task in registry.background_tasks.values():
        adopt_task(app, task)


def adopt_queue(app: Celery, queue: Queue) -> None:
    queues = list(app.conf.task_queues or ())
    if queue.name not in {known.name for known in queues}:
        app.conf.task_queues = [*queues, kombu_queue(queue.name)]


def adopt_task(app: Celery, item: BackgroundTask) -> None:
    options = {"name": item.name, "shared": False}
    if item.redo_if_worker_dies:
        options.update(acks_late=True, reject_on_worker_lost=True)
    if item.ignore_result is not None:
        options["ignore_result"] = item.ignore_result
    if item.queue:
        options["queue"] = item.queue
        app.conf.task_routes = {**(app.conf.task_routes or {}), item.name: {"queue": item.queue}}
    app.task(**options)(item.run)


def kombu_queue(name: str) -> KombuQueue:
    return KombuQueue(name, Exchange(name, type="direct"), routing_key=name)
