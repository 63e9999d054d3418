"""/readyz reports the broker (required) and the workers (reported, not required)."""

from __future__ import annotations

import re

import pytest

from admin2_tasks import readiness
from admin2_tasks.models import WorkerHeartbeat
from harness.celery_worker import CeleryWorker
from harness.processes import free_port
from tests.support.readyz import detailed_readyz
from tests.tasks.conftest import app_on_broker, production_worker_env


@pytest.mark.django_db
def test_readyz_shows_the_broker_up_and_no_workers_without_failing(client, settings):
    body = detailed_readyz(client, settings).json()
    assert body["checks"]["broker"]["status"] == "up"
    assert body["checks"]["broker"]["required"] is True
    # The in-process memory broker keeps what earlier tests queued: counts vary.
    assert re.search(
        r"queued: default=\d+, exports=\d+, reports=\d+$", body["checks"]["broker"]["detail"]
    )
    workers = body["checks"]["workers"]
    assert (workers["status"], workers["required"]) == ("down", False)
    assert "no worker answered a ping" in workers["error"]
    assert "workers" not in body["failed"]


@pytest.mark.django_db
def test_readyz_fails_when_the_broker_is_down(client, settings):
    with app_on_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = detailed_readyz(client, settings)
    assert response.status_code == 503
    assert "broker" in response.json()["failed"]
    assert "OperationalError" in response.json()["checks"]["broker"]["error"]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_workers_check_lists_live_workers_and_the_heartbeat_age(redis_server, tmp_path):
    env = production_worker_env(redis_server.url(2))
    worker = CeleryWorker(
        redis_server.url(0), "prefork", 1, workdir=tmp_path / "w", name="ready@%h", env=env
    ).start()
    try:
        with app_on_broker(redis_server.url(0)):
            from admin2 import background

            background.submit("admin2_tasks.heartbeat")
            from harness.processes import wait_until

            wait_until(WorkerHeartbeat.objects.exists, 20, "the worker to record a heartbeat")
            detail = readiness.check_workers()
    finally:
        worker.stop()
    assert detail.startswith(f"1 live: {worker.node}; last heartbeat ")
