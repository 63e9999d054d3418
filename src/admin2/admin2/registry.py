"""The plugin registry: what every installed app contributes, read from its declarations.

Plugins declare their parts on their app config (:mod:`admin2.plugins`); the core loads
them here once, when it is ready. Readers (``/readyz``, the admin, a task backend, the
demo) only read this and never name a plugin.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HealthCheck:
    name: str
    # Raises on failure; may return a detail for the report. Declared as a dotted path.
    check: Callable[[], object] | str
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
    every_seconds: float | str  # seconds, or the name of the setting that holds them
    kwargs: dict = field(default_factory=dict)
    queue: str | None = None


@dataclass(frozen=True)
class BackgroundTask:
    """Work a plugin hands to whichever task backend is installed (see admin2.background)."""

    name: str
    run: Callable[..., object]  # called with the keyword arguments given to submit()
    queue: str | None = None  # None: the backend's default queue
    redo_if_worker_dies: bool = True  # safe to run twice: acknowledged late, requeued
    ignore_result: bool | None = None  # None: the backend's default


@dataclass(frozen=True)
class Queue:
    """A queue a plugin's tasks use, so workers consume it without anyone naming it."""

    name: str
    purpose: str = ""


@dataclass(frozen=True)
class DemoStep:
    name: str
    run: Callable[..., None] | str  # called with (stdout,); declared as a dotted path
    order: int = 100


@dataclass(frozen=True)
class DemoProcess:
    """A companion process the demo runs beside the web server (e.g. an embedded worker)."""

    name: str
    argv: Callable[[], list[str]] | str  # declared as a dotted path


class Registry:
    def __init__(self) -> None:
        self.health_checks: dict[str, HealthCheck] = {}
        self.admin_links: list[AdminLink] = []
        self.periodic_jobs: dict[str, PeriodicJob] = {}
        self.demo_steps: dict[str, DemoStep] = {}
        self.demo_processes: dict[str, DemoProcess] = {}
        self.background_tasks: dict[str, BackgroundTask] = {}
        self.queues: dict[str, Queue] = {}
        self.metrics: list[str] = []  # dotted paths; read by the coming monitoring issue
        self.loaded = False  # admin2.plugins.load has read the declarations

    def add_health_check(self, name: str, check: Callable[[], object], *, required=True) -> None:
        self.health_checks[name] = HealthCheck(name, check, required)

    def add_admin_link(self, link: AdminLink) -> None:
        if link not in self.admin_links:
            self.admin_links.append(link)

    def add_periodic_job(self, job: PeriodicJob) -> None:
        self.periodic_jobs[job.name] = job

    def add_queue(self, queue: Queue) -> None:
        self.queues[queue.name] = queue

    def add_background_task(self, task: BackgroundTask) -> None:
        self.background_tasks[task.name] = task

    def add_demo_step(self, step: DemoStep) -> None:
        self.demo_steps[step.name] = step

    def add_demo_process(self, process: DemoProcess) -> None:
        self.demo_processes[process.name] = process

    def ordered_demo_steps(self) -> list[DemoStep]:
        return sorted(self.demo_steps.values(), key=lambda step: (step.order, step.name))


registry = Registry()
