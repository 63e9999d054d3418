"""The staging worker command: the standard (prefork) pool, restarted on a Python change."""

from __future__ import annotations

import shlex

import pytest

from harness.celery_worker import CeleryWorker
from harness.processes import venv_tool, wait_until

# docs/tasks.md, with the watched directories of the image replaced by a temporary one.
STAGING_WORKER = (
    'watchfiles --filter python "celery -A admin2_tasks worker -P prefork -c 2 --loglevel INFO"'
)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_staging_worker_restarts_when_python_code_changes(redis_server, tmp_path):
    watched = tmp_path / "src"
    watched.mkdir()
    (watched / "module.py").write_text("VALUE = 1\n")
    argv = shlex.split(STAGING_WORKER)
    worker = CeleryWorker(
        redis_server.url(0),
        workdir=tmp_path / "worker",
        env={"DJANGO_ENVIRONMENT": "staging", "SQLITE_PATH": str(tmp_path / "db.sqlite3")},
        argv=[venv_tool(argv[0]), *argv[1:], str(watched)],
    ).start()
    try:
        ready = f"{worker.node} ready."
        assert worker.output().count(ready) == 1
        assert "(prefork)" in worker.output()
        (watched / "module.py").write_text("VALUE = 2\n")
        wait_until(lambda: worker.output().count(ready) == 2, 60, "the worker to restart")
        (watched / "notes.txt").write_text("not python")
        # a restarted worker says "ready." a moment before it answers pings on a slow machine
        wait_until(lambda: worker.ping(timeout=2), 30, "the restarted worker to answer")
        assert worker.output().count(ready) == 2, "a non-Python change restarted the worker"
    finally:
        worker.stop()
