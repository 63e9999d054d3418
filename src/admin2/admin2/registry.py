"""The plugin registry: how plugins contribute to the core without the core importing them.

A plugin's ``AppConfig.ready()`` registers its parts here: readiness checks, admin links,
periodic jobs, background tasks and their queues, demo steps. The core only reads it and
never names a plugin; a task backend watches it for the tasks and queues it must serve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HealthCheck:
    name: str
    check: Callable[[], object]  # raises on failure; may return a detail for the report
    required: bool = True


@dataclass(frozen=True)
class AdminLink:
    section: str
    title: str
    url_name: str
    permission: str | None = None  # "app_label.codename"; None: any staff user


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    task: str  # registered task name, e.g. "myplugin.cleanup"
    every_seconds: float
    kwargs: dict = field(default_factory=dict)
    queue: str | None = None


@dataclass(frozen=True)
class BackgroundTask:
    """Work a plugin hands to whichever task backend is installed (see admin2.background)."""

    name: str
    run: Callable[..., object]  # called with the keyword arguments given to submit()
    queue: str | None = None  # None: the backend's default queue
    redo_if_worker_dies: bool = True  # safe to run twice: acknowledged late, requeued


@dataclass(frozen=True)
class Queue:
    """A queue a plugin's tasks use, so workers consume it without anyone naming it."""

    name: str
    purpose: str = ""


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[..., None]  # called with (stdout,)
    order: int = 100


@dataclass(frozen=True)
class DemoProcess:
    """A companion process the demo runs beside the web server (e.g. an embedded worker)."""

    name: str
    argv: Callable[[], list[str]]


class Registry:
    def __init__(self) -> None:
        self.health_checks: dict[str, HealthCheck] = {}
        self.admin_links: list[AdminLink] = []
        self.periodic_jobs: dict[str, PeriodicJob] = {}
        self.demo_steps: dict[str, DemoStep] = {}
        self.demo_processes: dict[str, DemoProcess] = {}
        self.background_tasks: dict[str, BackgroundTask] = {}
        self.queues: dict[str, Queue] = {}
        self._watchers: list[Callable[[Queue | BackgroundTask], None]] = []

    def add_health_check(self, name: str, check: Callable[[], object], *, required=True) -> None:
        self.health_checks[name] = HealthCheck(name, check, required)

    def add_admin_link(self, link: AdminLink) -> None:
        if link not in self.admin_links:
            self.admin_links.append(link)

    def add_periodic_job(self, job: PeriodicJob) -> None:
        self.periodic_jobs[job.name] = job

    def add_queue(self, queue: Queue) -> None:
        self.queues[queue.name] = queue
        self._tell(queue)

    def add_background_task(self, task: BackgroundTask) -> None:
        self.background_tasks[task.name] = task
        self._tell(task)

    def watch_background(self, watcher: Callable[[Queue | BackgroundTask], None]) -> None:
        """Call ``watcher`` with every queue and task declared so far and each one after:
        apps become ready in settings order, so a backend may come before the plugins."""
        self._watchers.append(watcher)
        for item in [*self.queues.values(), *self.background_tasks.values()]:
            watcher(item)

    def _tell(self, item: Queue | BackgroundTask) -> None:
        for watcher in self._watchers:
            watcher(item)

    def add_demo_step(self, step: DemoStep) -> None:
        self.demo_steps[step.name] = step

    def add_demo_process(self, process: DemoProcess) -> None:
        self.demo_processes[process.name] = process

    def ordered_demo_steps(self) -> list[DemoStep]:
        return sorted(self.demo_steps.values(), key=lambda step: (step.order, step.name))


registry = Registry()
