"""Celery reads JSON only: a pickled message planted in the Redis queue never runs
(security issue 12 checked this side of Redis; the settings already said JSON only)."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from kombu import Connection

from admin2_tasks.queues import DEFAULT_QUEUE
from admin2_tasks.tasks import HEARTBEAT
from harness.celery_worker import CeleryWorker
from harness.processes import wait_until


class RunsACommand:
    """Unpickling it runs ``touch MARKER``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return subprocess.check_call, (["touch", self.marker],)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_pickled_task_message_in_the_queue_is_refused_unread(redis_server, tmp_path):
    marker = tmp_path / "pickled-message-ran"
    worker = CeleryWorker(
        redis_server.url(0),
        workdir=tmp_path / "worker",
        env={"DJANGO_ENVIRONMENT": "development", "ADMIN2_ANALYTICS_ENABLED": "false"},
    ).start()
    try:
        with Connection(redis_server.url(0)) as connection:
            connection.Producer().publish(
                ((RunsACommand(marker),), {}, {}),
                serializer="pickle",
                exchange=DEFAULT_QUEUE.name,
                routing_key=DEFAULT_QUEUE.name,
                headers={"task": HEARTBEAT, "id": str(uuid.uuid4()), "lang": "py"},
            )
        refusal = "ContentDisallowed: Refusing to deserialize untrusted content of type pickle"
        wait_until(lambda: refusal in worker.output(), 30, "the worker to refuse the message")
        assert worker.alive()
        assert not marker.exists(), "the worker unpickled a message from Redis"
    finally:
        worker.stop()
    assert not marker.exists()
