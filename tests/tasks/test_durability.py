"""Background work survives what production throws at it: real Redis, real worker processes.

The workers run the exact production pool (eventlet) with production settings, pointed at a
private Redis and at this test run's PostgreSQL database; the tasks they run for these tests
live in tests/tasks/worker_tasks.py and record attempts and effects in Redis.
"""

from __future__ import annotations

import itertools
import time

import pytest

from admin2 import background
from admin2_tasks.models import TaskRun
from harness.celery_worker import CeleryWorker
from harness.processes import wait_until
from tests.tasks.conftest import WORKER_TASKS, app_on_broker, production_worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def eventlet_worker(redis_server, tmp_path, name, **env) -> CeleryWorker:
    return CeleryWorker(
        redis_server.url(0),
        pool="eventlet",
        concurrency=10,
        workdir=tmp_path / name,
        name=f"{name}@%h",
        env=production_worker_env(redis_server.url(2), **env),
        extra_args=["-I", WORKER_TASKS],
    )


def run_row(task_id: str) -> TaskRun:
    return TaskRun.objects.get(task_id=task_id)


@pytest.mark.timeout(90)
def test_a_task_of_a_killed_worker_completes_once_on_the_next_worker(
    redis_server, effects, tmp_path
):
    client, effect_url = effects
    first = eventlet_worker(redis_server, tmp_path, "first").start()
    with app_on_broker(redis_server.url(0)):
        task_id = background.submit(
            "tests.slow_effect", kwargs={"effect_url": effect_url, "key": "k", "seconds": 1.5}
        )
    wait_until(lambda: client.llen("k:attempts") == 1, 20, "the first worker to start the task")
    first.kill()  # SIGKILL mid-task: no acknowledgement, no shutdown, no cleanup
    assert client.get("k:completions") is None
    assert run_row(task_id).state == TaskRun.State.STARTED

    second = eventlet_worker(redis_server, tmp_path, "second").start()
    try:
        wait_until(lambda: client.get("k:completions"), 40, "the task to complete after restart")
        # Well past the visibility timeout: had the message not been acknowledged, it would
        # now be handed out again.
        time.sleep(6)
        assert int(client.get("k:completions")) == 1
        assert client.smembers("k:effects") == {task_id.encode()}
        assert [a.decode().split("@")[0] for a in client.lrange("k:attempts", 0, -1)] == [
            "first",
            "second",
        ]
        run = run_row(task_id)
        assert run.state == TaskRun.State.SUCCESS
        assert run.worker == second.node
    finally:
        second.stop()


@pytest.mark.timeout(90)
def test_queued_tasks_survive_a_redis_restart_with_aof(redis_server, effects, tmp_path):
    client, effect_url = effects
    with app_on_broker(redis_server.url(0)):
        ids = [
            background.submit(
                "tests.slow_effect", kwargs={"effect_url": effect_url, "key": "aof", "seconds": 0}
            )
            for _ in range(5)
        ]
    client.close()
    redis_server.process.signal(9)  # SIGKILL: only the append-only file keeps the queue
    redis_server.process.proc.wait(10)
    redis_server.stop()
    redis_server.start()  # same directory and port: replays the AOF

    worker = eventlet_worker(redis_server, tmp_path, "after-restart").start()
    try:
        wait_until(lambda: client.get("aof:completions") == b"5", 30, "all queued tasks to run")
        assert client.smembers("aof:effects") == {task_id.encode() for task_id in ids}
        wait_until(
            lambda: TaskRun.objects.filter(task_id__in=ids, state="SUCCESS").count() == 5,
            10,
            "their runs to be recorded",
        )
    finally:
        worker.stop()


@pytest.mark.timeout(90)
def test_a_failing_task_retries_with_backoff_and_ends_failed_with_its_error(
    redis_server, effects, tmp_path
):
    client, effect_url = effects
    worker = eventlet_worker(redis_server, tmp_path, "retrying").start()
    try:
        with app_on_broker(redis_server.url(0)):
            task_id = background.submit(
                "tests.always_fails", kwargs={"effect_url": effect_url, "key": "f"}
            )
        wait_until(
            lambda: TaskRun.objects.filter(task_id=task_id, state="FAILURE").exists(),
            30,
            "the run to end failed",
        )
        run = run_row(task_id)
        assert run.retries == 2
        assert run.error == "RuntimeError: attempt 3 failed on purpose"
        assert "RuntimeError" in run.traceback
        assert run.worker == worker.node and run.finished_at is not None
        attempts = [float(a) for a in client.lrange("f:attempts", 0, -1)]
        assert len(attempts) == 3
        # Exponential backoff: 1 s, then 2 s (retry_backoff=1, no jitter).
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        assert gaps[0] >= 0.9 and gaps[1] >= 1.9, gaps
    finally:
        worker.stop()


@pytest.mark.timeout(90)
def test_the_eventlet_worker_enforces_the_soft_time_limit_and_is_monkey_patched(
    redis_server, tmp_path
):
    worker = eventlet_worker(redis_server, tmp_path, "limits").start()
    try:
        with app_on_broker(redis_server.url(0)):
            sleeper = background.submit("tests.sleep", kwargs={"seconds": 10})
            patching = background.submit("tests.patching")
        wait_until(
            lambda: TaskRun.objects.filter(task_id=sleeper, state="FAILURE").exists(),
            20,
            "the sleeping task to hit its soft time limit",
        )
        run = run_row(sleeper)
        assert run.error == "SoftTimeLimitExceeded: soft time limit (2s)"
        assert run.runtime < 10
        wait_until(
            lambda: TaskRun.objects.filter(task_id=patching, state="SUCCESS").exists(),
            10,
            "the patching report",
        )
        assert run_row(patching).result == '{"socket": true, "thread": true}'
    finally:
        worker.stop()


def test_submitting_with_the_broker_down_raises_and_records_the_run_as_not_queued(
    staff_user,
):
    from harness.processes import free_port

    with app_on_broker(f"redis://127.0.0.1:{free_port()}/0"):
        started = time.monotonic()
        with pytest.raises(background.BackgroundUnavailable) as error:
            background.submit("admin2_tasks.round_trip", user_id=staff_user.pk)
        waited = time.monotonic() - started
    assert "admin2_tasks.round_trip was not queued: the broker redis://" in str(error.value)
    assert "Connection refused" in str(error.value)
    assert waited < 30  # one bounded attempt, not a retry loop that hangs the request
    run = TaskRun.objects.get(name="admin2_tasks.round_trip")
    assert run.state == TaskRun.State.NOT_QUEUED
    assert run.submitted_by == staff_user
    assert "Connection refused" in run.error


@pytest.mark.timeout(90)
def test_a_task_whose_pool_process_dies_is_requeued_at_once(redis_server, effects, tmp_path):
    import psutil

    client, effect_url = effects
    worker = CeleryWorker(
        redis_server.url(0),
        pool="prefork",
        concurrency=1,
        workdir=tmp_path / "prefork",
        name="prefork@%h",
        # Limits far above the task: the loss must be noticed as a lost process, not a timeout.
        env=production_worker_env(
            redis_server.url(2),
            CELERY_TASK_SOFT_TIME_LIMIT="20",
            CELERY_TASK_TIME_LIMIT="25",
            CELERY_VISIBILITY_TIMEOUT="60",
        ),
        extra_args=["-I", WORKER_TASKS],
    ).start()
    try:
        with app_on_broker(redis_server.url(0)):
            task_id = background.submit(
                "tests.slow_effect", kwargs={"effect_url": effect_url, "key": "c", "seconds": 1.5}
            )
        wait_until(lambda: client.llen("c:attempts") == 1, 20, "the pool process to start it")
        (child,) = psutil.Process(worker.pid).children()
        child.kill()  # the pool process dies mid-task; the worker itself lives on
        wait_until(lambda: client.get("c:completions"), 30, "the requeued task to complete")
        assert int(client.get("c:completions")) == 1
        assert client.llen("c:attempts") == 2
        wait_until(
            lambda: run_row(task_id).state == TaskRun.State.SUCCESS, 10, "the run to succeed"
        )
    finally:
        worker.stop()
