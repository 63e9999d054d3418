"""What other plugins declare in the core registry, made Celery's: queues and tasks."""

from __future__ import annotations

from celery import Celery
from kombu import Exchange
from kombu import Queue as KombuQueue

from admin2.registry import BackgroundTask, Queue


def adopt(app: Celery, item: Queue | BackgroundTask) -> None:
    if isinstance(item, Queue):
        queues = list(app.conf.task_queues or ())
        if item.name not in {queue.name for queue in queues}:
            app.conf.task_queues = [*queues, kombu_queue(item.name)]
        # A worker fixes its queues before it imports task modules (-I): join them too, and
        # consume it unless the worker was told to consume only some (-Q).
        known = app.amqp.queues
        if item.name not in known:
            consumes_all = set(known.consume_from) == set(known)
            (known.select_add if consumes_all else known.add)(kombu_queue(item.name))
        return
    options = {"name": item.name, "shared": False}
    if item.redo_if_worker_dies:
        options.update(acks_late=True, reject_on_worker_lost=True)
    if item.queue:
        options["queue"] = item.queue
        app.conf.task_routes = {**(app.conf.task_routes or {}), item.name: {"queue": item.queue}}
    app.task(**options)(item.run)


def kombu_queue(name: str) -> KombuQueue:
    return KombuQueue(name, Exchange(name, type="direct"), routing_key=name)
