"""Queues and tasks come from what plugins declare, never from names the tasks plugin knows."""

from __future__ import annotations

import secrets

import pytest

from admin2 import background
from admin2.registry import registry
from admin2_tasks import inspection
from admin2_tasks.queues import queue_names
from harness.celery_worker import CeleryWorker
from harness.processes import wait_until
from tests.tasks.conftest import app_on_broker, production_worker_env

# Not imported here: the stand-in's task would join this process's registry.
PLUGIN = "tests.tasks.renamed_queue_plugin.RenamedQueuePlugin"

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_worker_consumes_every_queue_the_plugins_declare():
    from admin2_tasks.celery import app

    assert set(registry.queues) <= set(queue_names(app))
    assert "default" in queue_names(app)


@pytest.mark.timeout(90)
def test_a_renamed_queue_is_served_without_touching_the_tasks_plugin(
    redis_server, effects, tmp_path
):
    client, effect_url = effects
    renamed = f"renamed-{secrets.token_hex(4)}"
    worker = CeleryWorker(
        redis_server.url(0),
        pool="eventlet",
        concurrency=4,
        workdir=tmp_path / "worker",
        name="renamed@%h",
        env=production_worker_env(
            redis_server.url(2), ADMIN2_TEST_QUEUE=renamed, ADMIN2_PLUGINS=PLUGIN
        ),
    ).start()
    try:
        with app_on_broker(redis_server.url(0)) as app:
            background.submit(
                "tests.renamed_queue.record",
                kwargs={"effect_url": effect_url, "key": "seen"},
                queue=renamed,
            )
            wait_until(lambda: client.llen("seen") == 1, 30, "the worker to run the task")
            assert client.lrange("seen", 0, -1) == [renamed.encode()]
            # The message went to the renamed queue, which the worker declared and drained.
            assert inspection.broker_state(app).queues.get(renamed, 0) == 0
    finally:
        worker.stop()
