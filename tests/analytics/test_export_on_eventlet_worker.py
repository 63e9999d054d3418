"""An export requested in the admin runs to completion on a real eventlet worker.

The worker runs the exact production command line and settings on a private Redis, this
run's PostgreSQL test database and the analytics fixture's chDB directory, which it shares
with this test process through the engine's cross-process lease (docs/clickhouse.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.urls import reverse

from admin2_analytics.models import QueryRun
from admin2_tasks.models import TaskRun
from harness.celery_worker import CeleryWorker
from harness.processes import REPO, venv_tool
from tests.support.analytics_pages import make_query, make_user, read_csv
from tests.support.worker_exports import EXPORT_TIME_LIMITS, export_on_worker
from tests.tasks.conftest import production_worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COMPOSE = REPO / "containers" / "docker-compose.production.yml"


def production_worker_command() -> list[str]:
    """The worker command exactly as the production Compose file runs it."""
    command = yaml.safe_load(COMPOSE.read_text())["services"]["celery"]["command"]
    assert command == [
        "celery",
        "-A",
        "admin2_tasks",
        "worker",
        "-P",
        "eventlet",
        "-c",
        "100",
        "--loglevel",
        "INFO",
    ]  # fmt: skip  (docs/tasks.md says the same)
    return [venv_tool(command[0]), *command[1:]]


@pytest.mark.timeout(150)
def test_an_admin_export_completes_on_the_production_worker(
    client, settings, redis_server, analytics_engine, tmp_path
):
    exporter = make_user("exporter", "analytics.run_savedquery", "analytics.export_savedquery")
    query = make_query(
        exporter, name="All events", sql="SELECT * FROM events ORDER BY event_time",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    worker = CeleryWorker(
        redis_server.url(0),
        workdir=tmp_path / "worker",
        argv=production_worker_command(),
        env=production_worker_env(
            redis_server.url(2),
            ADMIN2_ANALYTICS_ENABLED="true",
            CLICKHOUSE_HOST="",
            CLICKHOUSE_EMBEDDED_PATH=str(analytics_engine.path),
            DJANGO_MEDIA_ROOT=str(settings.MEDIA_ROOT),
            **EXPORT_TIME_LIMITS,
        ),
    )
    worker.start()
    export = export_on_worker(client, exporter, query, worker, redis_server.url(0))
    assert export.task_id
    written = Path(settings.MEDIA_ROOT) / export.file.name
    rows = read_csv(written.read_bytes())
    assert rows[0][:3] == ["event_time", "user_id", "session_id"]
    assert len(rows) - 1 == export.row_count == analytics_engine.rows
    assert export.size_bytes == written.stat().st_size
    assert not list(written.parent.glob(".*.part"))
    run = TaskRun.objects.get(task_id=export.task_id)
    assert (run.name, run.state) == ("admin2_analytics.run_export", TaskRun.State.SUCCESS)
    history = QueryRun.objects.get(source="task")
    assert (history.user, history.row_count) == (exporter, analytics_engine.rows)

    download = client.get(reverse("analytics:download", args=[export.pk]))
    assert b"".join(download.streaming_content) == written.read_bytes()
