"""What the production (eventlet) worker spends on each task besides the task itself.

Every green thread is a new thread to Django and Celery, so per-thread state is per-task
state there: these tests count the database connections, result backends and stored results
a task makes in a real eventlet worker with production settings and a private Redis.
"""

from __future__ import annotations

import pytest
import redis
from django.db import connection

from admin2 import background
from admin2_tasks.models import TaskRun
from harness.celery_worker import CeleryWorker
from harness.processes import wait_until
from tests.tasks.conftest import WORKER_TASKS, app_on_broker, production_worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TASKS = 20
# libpq names the worker's connections by this (PGAPPNAME), so the count below is the worker's
# alone: the session's live server thread may hold a connection to the same test database.
WORKER_APP = "admin2-overhead-worker"


@pytest.fixture
def worker(redis_server, tmp_path):
    worker = CeleryWorker(
        redis_server.url(0),
        pool="eventlet",
        concurrency=10,
        workdir=tmp_path / "worker",
        env={**production_worker_env(redis_server.url(2)), "PGAPPNAME": WORKER_APP},
        extra_args=["-I", WORKER_TASKS],
    ).start()
    yield worker
    worker.stop()


def _report(redis_server, client, effect_url: str, task: str, key: str) -> int:
    with app_on_broker(redis_server.url(0)):
        background.submit(task, kwargs={"effect_url": effect_url, "key": key})
    _, value = client.blpop(key, timeout=30) or (None, None)
    assert value is not None, f"{task} did not report"
    return int(value)


def _submit_and_finish(redis_server, count: int) -> None:
    with app_on_broker(redis_server.url(0)):
        ids = [background.submit("tests.sleep", kwargs={"seconds": 0.2}) for _ in range(count)]
    wait_until(
        lambda: (
            TaskRun.objects.filter(task_id__in=ids, state=TaskRun.State.SUCCESS).count() == count
        ),
        60,
        f"{count} tasks to succeed",
    )


def _worker_backends() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND application_name = %s",
            [WORKER_APP],
        )
        return cursor.fetchone()[0]


@pytest.mark.timeout(120)
def test_tasks_share_one_tracking_connection_closed_when_idle(worker, redis_server, effects):
    client, effect_url = effects
    # The worker opens its database connections through Django, so ``connection_created`` in
    # the worker (tests/tasks/worker_tasks.py) counts them all.
    before = _report(redis_server, client, effect_url, "tests.connections_opened", "opened")
    _submit_and_finish(redis_server, TASKS)
    after = _report(redis_server, client, effect_url, "tests.connections_opened", "opened")
    # Every TaskRun write goes through the worker's one tracking connection (open since the
    # first report; at most reopened once if it idled out): none per task. It used to be one
    # per task, and two before that.
    assert after - before <= 1
    # An idle worker gives its connection back: none is left to pile up.
    wait_until(lambda: _worker_backends() == 0, 30, "the worker to close its connections")


@pytest.mark.timeout(120)
def test_the_worker_builds_one_result_backend_and_stores_no_results(worker, redis_server, effects):
    client, effect_url = effects
    seen = [
        _report(redis_server, client, effect_url, "tests.backends_seen", "backends")
        for _ in range(3)
    ]
    assert seen == [1, 1, 1]
    _submit_and_finish(redis_server, 5)
    # The outcome lives in TaskRun: nothing was written to the result backend.
    results = redis.Redis.from_url(redis_server.url(0))  # the worker's result backend
    assert results.keys("celery-task-meta-*") == []
    results.close()


@pytest.mark.timeout(120)
def test_the_consumer_holds_one_message_more_and_a_broker_connection_per_green_thread(
    worker, redis_server
):
    with app_on_broker(redis_server.url(0)) as app:
        stats = app.control.inspect([worker.node], timeout=5).stats() or {}
    assert list(stats) == [worker.node]
    info = stats[worker.node]
    # Concurrency 10: the eleventh message waits in the consumer for the first free green
    # thread, not in Redis for the consumer's next poll.
    assert info["prefetch_count"] == 11
    # Ten green threads acknowledging at once found kombu's pool of ten connections empty.
    assert info["broker"]["transport_options"]["max_connections"] >= 11
