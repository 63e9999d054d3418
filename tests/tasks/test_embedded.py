"""No Redis, still works: the README's demo runs tasks to completion on the embedded broker
(kombu's filesystem transport under VAR_DIR) with a real worker process the demo starts."""

from __future__ import annotations

import os
import signal
import sqlite3

import psutil
import pytest

from harness.processes import (
    ManagedProcess,
    django_env,
    free_port,
    port_open,
    venv_tool,
    wait_until,
)

pytestmark = pytest.mark.slow


def task_states(database) -> dict[str, str]:
    if not database.exists():
        return {}
    with sqlite3.connect(database, timeout=5) as connection:
        try:
            return dict(connection.execute("SELECT name, state FROM tasks_taskrun").fetchall())
        except sqlite3.OperationalError:  # not migrated yet
            return {}


@pytest.mark.timeout(120)
def test_the_demo_runs_a_task_to_completion_without_redis(tmp_path):
    port = free_port()
    env = django_env(
        DJANGO_ENVIRONMENT="development",
        ADMIN2_VAR_DIR=str(tmp_path),
        # This test is about the tasks plugin; the analytics demo data is not needed here.
        ADMIN2_ANALYTICS_ENABLED="false",
    )
    for name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "REDIS_URL"):
        env.pop(name, None)
    demo = ManagedProcess(
        [venv_tool("admin2"), "demo", "--addr", f"127.0.0.1:{port}"],
        env=env,
        log=tmp_path / "demo.log",
    )
    try:
        wait_until(lambda: port_open(port), 60, "the demo web server")
        wait_until(
            lambda: (
                task_states(tmp_path / "db.sqlite3").get("admin2_tasks.round_trip") == "SUCCESS"
            ),
            60,
            "the demo worker to run the queued round trip",
        )
        log = demo.output()
        assert "starting celery worker" in log
        assert "Connected to filesystem://:**@localhost//" in log
        assert list((tmp_path / "celery" / "broker" / "queue").glob("*.default.msg")) == []
        companions = psutil.Process(demo.pid).children(recursive=True)
        assert companions  # the worker
        # SIGTERM to the demo alone, as a supervisor sends it: the demo takes its worker down.
        os.kill(demo.pid, signal.SIGTERM)
        demo.proc.wait(30)
        _, alive = psutil.wait_procs(companions, timeout=30)
        assert alive == [], [p.cmdline() for p in alive]
    finally:
        demo.stop()  # the whole process group, whatever is left
