"""``python -m admin2_tasks.health worker|beat``: the container health checks."""

from __future__ import annotations

import os
import shlex
import subprocess
import time

import pytest
import redis as redis_lib

from admin2_tasks import health
from harness.celery_worker import CeleryBeat, CeleryWorker
from harness.processes import REPO, django_env, free_port, venv_tool, wait_until
from tests.tasks.conftest import production_worker_env

# The worker command the production Compose file runs, word for word (docs/tasks.md).
PRODUCTION_WORKER = shlex.split("celery -A admin2_tasks worker -P eventlet -c 100 --loglevel INFO")
PRODUCTION_BEAT = shlex.split("celery -A admin2_tasks beat --loglevel INFO")


def run_health(role: str, env: dict, *args: str):
    return subprocess.run(
        [venv_tool("python"), "-m", "admin2_tasks.health", role, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(90)
def test_worker_health_follows_the_production_worker(redis_server, tmp_path):
    env = production_worker_env(redis_server.url(2))
    worker = CeleryWorker(
        redis_server.url(0),
        workdir=tmp_path / "worker",
        env=env,
        argv=[venv_tool(PRODUCTION_WORKER[0]), *PRODUCTION_WORKER[1:]],
    ).start()
    check_env = {**worker.env}
    try:
        healthy = run_health("worker", check_env)
        assert healthy.returncode == 0, healthy.stderr
        assert healthy.stdout.startswith(f"ok: {worker.node} answered a ping")
    finally:
        worker.stop()
    gone = run_health("worker", check_env, "--timeout", "1")
    assert gone.returncode == 1
    assert gone.stderr.strip() == f"unhealthy: {worker.node} did not answer a ping within 1s"


@pytest.mark.slow
def test_worker_health_names_an_unreachable_broker(tmp_path):
    port = free_port()
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(tmp_path),
        CELERY_BROKER_URL=f"redis://127.0.0.1:{port}/0",
        CELERY_RESULT_BACKEND=f"redis://127.0.0.1:{port}/0",
    )
    result = run_health("worker", env)
    assert result.returncode == 1
    assert result.stderr.startswith(f"unhealthy: broker redis://:**@127.0.0.1:{port}/0 unreachable")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_beat_touches_its_heartbeat_and_sends_the_heartbeat_task(redis_server, tmp_path):
    beat = CeleryBeat(
        redis_server.url(0),
        workdir=tmp_path / "beat",
        env={"DJANGO_ENVIRONMENT": "development", "ADMIN2_TASKS_HEARTBEAT_SECONDS": "1"},
        argv=[venv_tool(PRODUCTION_BEAT[0]), *PRODUCTION_BEAT[1:]],
    )
    subprocess.run(
        [venv_tool("admin2"), "migrate", "-v0"], cwd=REPO, env=beat.env, check=True, timeout=120
    )
    beat.start()
    try:
        healthy = run_health("beat", beat.env)
        assert healthy.returncode == 0, healthy.stderr
        assert healthy.stdout.startswith("ok: beat heartbeat")
        broker = redis_lib.Redis.from_url(redis_server.url(0))
        wait_until(lambda: broker.llen("default") >= 2, 20, "beat to send heartbeat tasks")
    finally:
        beat.stop()


def test_beat_health_is_ok_with_a_fresh_heartbeat(settings, tmp_path, capsys):
    settings.ADMIN2_TASKS_BEAT_HEARTBEAT_FILE = tmp_path / "beat.heartbeat"
    settings.ADMIN2_TASKS_BEAT_HEARTBEAT_FILE.touch()
    assert health.main(["beat"]) == 0
    assert capsys.readouterr().out.startswith("ok: beat heartbeat 0s old")


def test_beat_health_fails_with_a_stale_heartbeat(settings, tmp_path, capsys):
    settings.ADMIN2_TASKS_BEAT_HEARTBEAT_FILE = path = tmp_path / "beat.heartbeat"
    settings.ADMIN2_TASKS_BEAT_MAX_AGE = 60
    path.touch()
    stale = time.time() - 300
    os.utime(path, (stale, stale))
    assert health.main(["beat"]) == 1
    assert capsys.readouterr().err == f"unhealthy: beat heartbeat {path} is 300s old (limit 60s)\n"


def test_beat_health_fails_when_beat_never_ran(settings, tmp_path, capsys):
    settings.ADMIN2_TASKS_BEAT_HEARTBEAT_FILE = path = tmp_path / "beat.heartbeat"
    assert health.main(["beat"]) == 1
    assert f"beat heartbeat file {path} does not exist" in capsys.readouterr().err
