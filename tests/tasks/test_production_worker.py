"""The eventlet worker, started with the exact production command line, runs an analytics
export to completion: the analytics task is discovered, reaches the engine, writes the file."""

from __future__ import annotations

import shlex

import pytest

from admin2_tasks.models import TaskRun
from harness.celery_worker import CeleryWorker
from harness.processes import venv_tool, wait_until
from tests.tasks.conftest import app_on_broker, production_worker_env

PRODUCTION_WORKER = shlex.split("celery -A admin2_tasks worker -P eventlet -c 100 --loglevel INFO")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(240)
def test_the_production_worker_command_runs_an_analytics_export(redis_server, tmp_path, superuser):
    from admin2_analytics import exports
    from admin2_analytics.models import Export, SavedQuery

    env = production_worker_env(
        redis_server.url(2),
        ADMIN2_ANALYTICS_ENABLED="true",  # the embedded engine under the worker's VAR_DIR
        # The engine's first start takes a while on a busy machine: production limits.
        CELERY_TASK_SOFT_TIME_LIMIT="900",
        CELERY_TASK_TIME_LIMIT="960",
        CELERY_VISIBILITY_TIMEOUT="1800",
    )
    worker = CeleryWorker(
        redis_server.url(0),
        workdir=tmp_path / "worker",
        env=env,
        argv=[venv_tool(PRODUCTION_WORKER[0]), *PRODUCTION_WORKER[1:]],
    ).start(timeout=90)
    try:
        query = SavedQuery.objects.create(
            name="numbers", sql="SELECT number AS n FROM numbers(1000)", owner=superuser
        )
        with app_on_broker(redis_server.url(0)):
            export = exports.queue_export(query, {}, "csv", user=superuser)
        wait_until(
            lambda: Export.objects.get(pk=export.pk).state in ("done", "failed"),
            150,
            f"the export to finish (worker log: {worker.process.log_path})",
        )
        export.refresh_from_db()
        assert export.state == "done", export.error
        assert export.row_count == 1000
        lines = (worker.workdir / "media" / export.file.name).read_text().splitlines()
        assert lines[:3] == ['"n"', "0", "1"] and len(lines) == 1001
        run = TaskRun.objects.get(task_id=export.task_id)
        assert (run.name, run.queue, run.state) == (
            "admin2_analytics.run_export",
            "exports",
            "SUCCESS",
        )
        assert run.worker == worker.node
    finally:
        worker.stop()
