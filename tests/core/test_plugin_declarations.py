"""Plugins declare their seams on their app config, and the core reads them into its registry."""

from __future__ import annotations

import importlib.util

from django.apps import apps
from django.conf import settings

from admin2 import plugins
from admin2.registry import HealthCheck, PeriodicJob, Queue, Registry, registry


def test_every_periodic_job_names_a_declared_task_on_a_declared_queue():
    for job in registry.periodic_jobs.values():
        assert job.task in registry.background_tasks, job
        assert job.queue is None or job.queue in registry.queues, job


def test_every_task_runs_on_a_declared_queue():
    for task in registry.background_tasks.values():
        assert task.queue is None or task.queue in registry.queues, task


def test_each_installed_plugin_is_read_in_settings_order():
    names = [config.name for config in plugins.plugin_configs()]
    assert names[0] == "admin2"  # the core declares its own checks the same way
    assert {"admin2_analytics", "admin2_tasks"} <= set(names)
    assert all(isinstance(c, plugins.PluginConfig) for c in plugins.plugin_configs())
    assert apps.get_app_config("analytics").metrics == ("admin2_analytics.metrics",)


def test_every_metrics_module_is_declared_in_the_plugin_slot():
    declared = set(registry.metrics)
    assert declared == {"admin2.metrics", "admin2_analytics.metrics", "admin2_tasks.metrics"}
    for module in declared:
        assert importlib.util.find_spec(module) is not None, module


def test_declared_dotted_paths_become_callables():
    for check in registry.health_checks.values():
        assert callable(check.check), check
    for step in registry.ordered_demo_steps():
        assert callable(step.run), step


def test_a_declaration_is_read_once_and_settings_defaults_never_override(monkeypatch):
    class Declared(plugins.PluginConfig):
        default_settings = {"ADMIN2_TEST_ONLY_DEFAULT": 7, "ADMIN2_URL": "elsewhere/"}
        queues = (Queue("q", "a queue"),)
        periodic_jobs = (PeriodicJob("job", "t", every_seconds="ADMIN2_TEST_ONLY_DEFAULT"),)
        readiness_checks = (HealthCheck("ping", "os.getpid", required=False),)

    config = Declared.__new__(Declared)  # declarations are class attributes: no module needed
    monkeypatch.setattr(plugins, "plugin_configs", lambda: [config])
    target = Registry()
    try:
        plugins.load(target)
        plugins.load(target)
        assert settings.ADMIN2_TEST_ONLY_DEFAULT == 7
    finally:
        del settings.ADMIN2_TEST_ONLY_DEFAULT
    assert settings.ADMIN2_URL != "elsewhere/"
    assert list(target.queues) == ["q"]
    assert target.periodic_jobs["job"].every_seconds == 7.0
    assert target.health_checks["ping"].required is False
