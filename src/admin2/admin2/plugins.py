"""Plugins declare what they contribute as attributes of their app config; the core reads them.

:class:`PluginConfig` names every seam; :func:`load` walks the installed app configs once
(from the core's ``ready()``), imports the declared task modules and fills the registry.
The core never imports a plugin by name: it only follows the dotted paths a plugin gives.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module
from typing import ClassVar

from django.apps import AppConfig, apps
from django.conf import settings
from django.utils.module_loading import import_string

from admin2.registry import (
    AdminLink,
    DemoProcess,
    DemoStep,
    HealthCheck,
    PeriodicJob,
    Queue,
    Registry,
    registry,
)


class PluginConfig(AppConfig):
    """An app that contributes to admin2. Every attribute is optional; empty means none."""

    # Settings the plugin needs, with their values when no settings component sets them.
    default_settings: ClassVar[dict[str, object]] = {}
    # Queues its tasks use: workers consume them without anyone naming them.
    queues: ClassVar[tuple[Queue, ...]] = ()
    # Modules whose ``@admin2.background.task`` functions are its background tasks.
    tasks: ClassVar[tuple[str, ...]] = ()
    # Work the beat runs on a schedule; ``every_seconds`` may name a setting.
    periodic_jobs: ClassVar[tuple[PeriodicJob, ...]] = ()
    # Entries in the admin's app list; ``section`` is usually the app's verbose_name.
    admin_links: ClassVar[tuple[AdminLink, ...]] = ()
    # /readyz checks, ``check`` as a dotted path to a function.
    readiness_checks: ClassVar[tuple[HealthCheck, ...]] = ()
    # What ``admin2 demo`` prepares and runs beside the web server.
    demo_steps: ClassVar[tuple[DemoStep, ...]] = ()
    demo_processes: ClassVar[tuple[DemoProcess, ...]] = ()
    # Dotted paths of the metric families it exports (read by the monitoring issue).
    metrics: ClassVar[tuple[str, ...]] = ()
    # Mount ``<app>.urls`` under the admin URL at this prefix (see admin2.urls).
    admin2_url_prefix: ClassVar[str | None] = None


def plugin_configs() -> list[PluginConfig]:
    """The installed apps that declare contributions, in INSTALLED_APPS order."""
    return [config for config in apps.get_app_configs() if isinstance(config, PluginConfig)]


def load(into: Registry = registry) -> None:
    """Read every installed plugin's declarations into ``into``; later calls do nothing."""
    if into.loaded:
        return
    into.loaded = True
    for config in plugin_configs():
        _load(config, into)


def _load(config: PluginConfig, into: Registry) -> None:
    for name, value in config.default_settings.items():
        if not hasattr(settings, name):
            setattr(settings, name, value)
    for queue in config.queues:
        into.add_queue(queue)
    for module in config.tasks:
        import_module(module)  # its @background.task decorators add the tasks
    for attribute, register in _REGISTRATIONS:
        for declared in getattr(config, attribute):
            register(into, declared)
    into.metrics.extend(config.metrics)


def _add_periodic_job(into: Registry, job) -> None:
    if isinstance(job.every_seconds, str):  # the name of a setting
        job = replace(job, every_seconds=float(getattr(settings, job.every_seconds)))
    into.add_periodic_job(job)


# Declarations after the queues and tasks they may name, in the order they are read.
_REGISTRATIONS = (
    ("periodic_jobs", _add_periodic_job),
    ("admin_links", lambda into, link: into.add_admin_link(link)),
    (
        "readiness_checks",
        lambda into, check: into.add_health_check(
            check.name, _resolve(check.check), required=check.required
        ),
    ),
    ("demo_steps", lambda into, step: into.add_demo_step(replace(step, run=_resolve(step.run)))),
    (
        "demo_processes",
        lambda into, process: into.add_demo_process(replace(process, argv=_resolve(process.argv))),
    ),
)


def _resolve(target):
    return import_string(target) if isinstance(target, str) else target
