"""A worker serves admin2_task_runs_total and task durations by task and state on its port."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from admin2_tasks.models import TaskRun
from harness.celery_worker import CeleryWorker
from harness.processes import free_port, wait_until
from tests.tasks.conftest import app_on_broker, production_worker_env


def samples(port: int) -> list:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    except OSError:
        return []
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list, name: str, **labels: str) -> float:
    return sum(s.value for s in found if s.name == name and s.labels == labels)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_worker_counts_runs_by_task_and_state_with_durations(redis_server, tmp_path):
    port = free_port()
    env = production_worker_env(
        redis_server.url(2), ADMIN2_METRICS_ENABLED="true", ADMIN2_METRICS_PORT=str(port),
        ADMIN2_METRICS_BIND="127.0.0.1", ADMIN2_COMMIT="feedbee",
    )  # fmt: skip
    worker = CeleryWorker(redis_server.url(0), workdir=tmp_path / "w", env=env).start()
    try:
        with app_on_broker(redis_server.url(0)):
            from admin2 import background

            background.submit("admin2_tasks.round_trip")
            background.submit("admin2_tasks.round_trip")
        ran = dict(task="admin2_tasks.round_trip", state="SUCCESS")
        wait_until(
            lambda: value(samples(port), "admin2_task_runs_total", **ran) == 2, 30, "two runs"
        )
        found = samples(port)
    finally:
        worker.stop()
    assert TaskRun.objects.filter(state=TaskRun.State.SUCCESS).count() == 2
    assert value(found, "admin2_task_duration_seconds_count", **ran) == 2
    assert value(found, "admin2_build_info", commit="feedbee") == 1
