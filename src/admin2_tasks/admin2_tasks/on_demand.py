"""Which tasks staff may run on demand: the registered periodic jobs and the round trip.

A periodic job is safe to run now by construction: it runs on its own every few minutes
with the same arguments. Nothing else can be started from the page, so no form ever
carries a task name or arguments chosen by the browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from admin2.registry import registry
from admin2_tasks.queues import DEFAULT_QUEUE
from admin2_tasks.tasks import ROUND_TRIP
from admin2_tasks.tracking import UNTRACKED_TASKS


@dataclass(frozen=True)
class OnDemandTask:
    key: str
    task: str
    kwargs: dict = field(default_factory=dict)
    queue: str | None = None
    every_seconds: float | None = None


def on_demand_tasks() -> list[OnDemandTask]:
    tasks = [
        OnDemandTask(job.name, job.task, dict(job.kwargs), job.queue, job.every_seconds)
        for job in registry.periodic_jobs.values()
        if job.task not in UNTRACKED_TASKS
    ]
    tasks.append(OnDemandTask("tasks: round trip", ROUND_TRIP, {}, DEFAULT_QUEUE.name))
    return sorted(tasks, key=lambda task: task.key)


def find(key: str) -> OnDemandTask | None:
    return next((task for task in on_demand_tasks() if task.key == key), None)
