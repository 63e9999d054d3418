"""What the plugin declares and does at start-up, and what it refuses."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from admin2 import background
from admin2.registry import registry
from admin2_tasks import startup
from admin2_tasks.backend import CeleryBackend


def test_the_celery_backend_fills_the_background_slot():
    assert background.is_available()
    assert isinstance(background._backend, CeleryBackend)


def test_broker_is_a_required_readiness_check_and_workers_a_reported_one():
    assert registry.health_checks["broker"].required is True
    assert registry.health_checks["workers"].required is False


def test_the_demo_starts_a_worker_with_embedded_beat():
    argv = registry.demo_processes["celery worker"].argv()
    assert argv[1:6] == ["-m", "celery", "-A", "admin2_tasks", "worker"]
    assert "-B" in argv and argv[argv.index("-P") + 1] == "threads"


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_eager_tasks_are_refused_where_redis_runs(settings, environment):
    settings.ENVIRONMENT = environment
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with pytest.raises(ImproperlyConfigured, match="tasks never run inline"):
        startup.start()
