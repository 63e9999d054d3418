"""The plugin registry: how plugins contribute to the core without the core importing them.

A plugin's ``AppConfig.ready()`` registers its parts here: readiness checks for ``/readyz``,
links for the admin index, periodic jobs for the scheduler and steps for the demo command.
The core only reads the registry; it never names a plugin.
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
    task: str  # registered task name, e.g. "admin2_analytics.cleanup_expired_exports"
    every_seconds: float
    kwargs: dict = field(default_factory=dict)
    queue: str | None = None


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

    def add_health_check(self, name: str, check: Callable[[], object], *, required=True) -> None:
        self.health_checks[name] = HealthCheck(name, check, required)

    def add_admin_link(self, link: AdminLink) -> None:
        if link not in self.admin_links:
            self.admin_links.append(link)

    def add_periodic_job(self, job: PeriodicJob) -> None:
        self.periodic_jobs[job.name] = job

    def add_demo_step(self, step: DemoStep) -> None:
        self.demo_steps[step.name] = step

    def add_demo_process(self, process: DemoProcess) -> None:
        self.demo_processes[process.name] = process

    def ordered_demo_steps(self) -> list[DemoStep]:
        return sorted(self.demo_steps.values(), key=lambda step: (step.order, step.name))


registry = Registry()
