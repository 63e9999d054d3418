"""The status page asks live workers once and stops waiting when the expected ones answered."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from admin2_tasks.inspection import worker_details
from admin2_tasks.models import WorkerHeartbeat
from harness.celery_worker import CeleryWorker
from tests.tasks.conftest import app_on_broker

STATUS = "/admin/tasks/status/"


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.timeout(90)
def test_status_page_is_quick_with_live_workers_and_names_the_silent_ones(
    redis_server, tmp_path, client, superuser, settings
):
    settings.ADMIN2_TASKS_INSPECT_TIMEOUT = 2.0  # waiting it out would show in the timing
    worker = CeleryWorker(redis_server.url(0), workdir=tmp_path / "w", name="quick@%h").start()
    try:
        WorkerHeartbeat.objects.create(worker=worker.node, last_seen=timezone.now())
        client.force_login(superuser)
        with app_on_broker(redis_server.url(0)) as app:
            worker_details(app, [worker.node])  # connections made, as in a running server
            started = time.perf_counter()
            details = worker_details(app, [worker.node])
            asked = time.perf_counter() - started
            started = time.perf_counter()
            page = client.get(STATUS).content.decode()
            served = time.perf_counter() - started
            # A worker that sent a heartbeat a minute ago and has gone since.
            gone = "gone@elsewhere"
            WorkerHeartbeat.objects.create(
                worker=gone, last_seen=timezone.now() - timedelta(minutes=1)
            )
            silent_page = client.get(STATUS).content.decode()
    finally:
        worker.stop()
    assert asked < 0.5, f"asking one live worker took {asked:.2f}s"
    assert served < 0.5, f"the status page took {served:.2f}s"
    info = details[worker.node]
    assert info["pool"] == "eventlet" and info["concurrency"] == 100
    assert "default" in info["queues"]
    assert f"<td>{worker.node}</td><td>eventlet</td>" in page
    assert "Did not answer" not in page
    assert f"<td>{worker.node}</td><td>eventlet</td>" in silent_page
    assert f"Did not answer (heartbeat seen recently): {gone}" in silent_page
