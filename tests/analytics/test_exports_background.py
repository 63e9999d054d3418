"""Large exports run as a background task: queued from the page, written to media whole or
not at all, downloadable by their owner until they expire, then cleaned up."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from celery import Celery
from django.urls import reverse
from django.utils import timezone

from admin2 import background
from admin2_analytics import exports, tasks
from admin2_analytics.models import Export, QueryRun
from harness.processes import free_port
from tests.support.analytics_pages import DAILY_SQL, direct_count, make_query, make_user, read_csv

pytestmark = pytest.mark.django_db

PARAMS = {"start": "2025-01-05", "end": "2025-03-01"}


@pytest.fixture
def exporter(logged_in):
    return logged_in(
        "analytics.run_savedquery",
        "analytics.export_savedquery",
        "analytics.view_export",
        username="exporter",
    )


@pytest.fixture
def dead_broker():
    """The real Celery backend, aimed at a loopback port where no Redis listens."""
    from admin2_tasks.backend import CeleryBackend

    app = Celery("dead-broker", broker=f"redis://127.0.0.1:{free_port()}/0")
    app.conf.broker_connection_timeout = 1
    app.conf.broker_transport_options = {"socket_connect_timeout": 1}
    previous = background._backend
    background.install(CeleryBackend(app))
    yield
    background.install(previous)


@pytest.fixture
def no_task_plugin():
    previous = background._backend
    background.install(None)
    yield
    background.install(previous)


def _queue(client, query, fmt="csv", **params):
    return client.post(
        reverse("analytics:export", args=[query.pk]), {**params, "format": fmt}, follow=True
    )


def _export_files(settings) -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "exports"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_queued_export_is_written_whole_and_downloadable(client, exporter, settings,
                                                           analytics_engine):  # fmt: skip
    assert background.is_available()  # the tasks plugin (memory broker in tests)
    query = make_query(exporter)
    page = _queue(client, query, **PARAMS).content.decode()
    export = Export.objects.get()
    assert f"Export #{export.pk} (CSV) is queued" in page
    assert export.state == Export.State.QUEUED and export.task_id
    assert export.params == PARAMS and export.requested_by == exporter

    assert tasks.run_export(export_id=export.pk) == "56 rows"  # what the worker runs

    export.refresh_from_db()
    assert export.state == Export.State.DONE
    (written,) = _export_files(settings)
    assert written == Path(settings.MEDIA_ROOT) / export.file.name
    assert not written.name.startswith(".")
    rows = read_csv(written.read_bytes())
    assert rows[0] == ["day", "revenue", "events"]
    assert export.row_count == len(rows) - 1 == direct_count(DAILY_SQL, PARAMS)
    assert export.size_bytes == written.stat().st_size
    expected_expiry = export.finished_at + dt.timedelta(hours=settings.ANALYTICS_EXPORT_TTL_HOURS)
    assert export.expires_at == expected_expiry
    run = QueryRun.objects.get(source="task")
    assert (run.user, run.saved_query, run.row_count, run.error) == (exporter, query, 56, "")

    listing = client.get(reverse("admin:analytics_export_changelist")).content.decode()
    download_url = reverse("analytics:download", args=[export.pk])
    assert download_url in listing
    response = client.get(download_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == written.read_bytes()
    assert response["Content-Disposition"].startswith('attachment; filename="daily-revenue')


def test_running_the_task_again_changes_nothing(exporter, settings, analytics_engine):
    export = Export.objects.create(
        saved_query=make_query(exporter), params=PARAMS, requested_by=exporter
    )
    tasks.run_export(export_id=export.pk)
    (first,) = _export_files(settings)
    stamp = first.stat().st_mtime_ns
    assert tasks.run_export(export_id=export.pk) == "already done"
    assert _export_files(settings) == [first] and first.stat().st_mtime_ns == stamp


def test_an_interrupted_export_is_redone_from_scratch(exporter, settings, analytics_engine):
    # A worker died mid-write: the row says running and a partial file lies about.
    export = Export.objects.create(
        saved_query=make_query(exporter), params=PARAMS, requested_by=exporter,
        state=Export.State.RUNNING,
    )  # fmt: skip
    folder = Path(settings.MEDIA_ROOT) / "exports"
    folder.mkdir(parents=True)
    (folder / ".stale.csv.deadbeef.part").write_bytes(b'"day"\n2025-')
    assert tasks.run_export(export_id=export.pk) == "56 rows"
    export.refresh_from_db()
    assert export.state == Export.State.DONE and export.row_count == 56


def test_a_deleted_export_makes_the_task_return_quietly(db):
    assert tasks.run_export(export_id=987654) == "gone"


def test_a_failing_export_leaves_no_file_and_says_why(exporter, settings, analytics_engine):
    settings.ANALYTICS_EXPORT_MAX_EXECUTION_TIME = 0.5
    query = make_query(
        exporter,
        sql="SELECT number FROM numbers(100000000000) WHERE sipHash64(number) = 7",
        parameter_defaults={},
        chart_kind="none",
    )
    export = Export.objects.create(saved_query=query, requested_by=exporter)
    assert tasks.run_export(export_id=export.pk).startswith("failed: ")
    export.refresh_from_db()
    assert export.state == Export.State.FAILED
    assert "time" in export.error.lower() and not export.file
    assert export.expires_at is not None  # failed rows are cleaned up too
    assert _export_files(settings) == []
    assert QueryRun.objects.get().error.startswith("QueryTimeout")


def test_the_task_refuses_a_query_the_requester_may_no_longer_see(exporter, analytics_engine):
    query = make_query(make_user("owner"), shared=False)
    export = Export.objects.create(saved_query=query, requested_by=exporter)
    assert "may no longer see" in tasks.run_export(export_id=export.pk)
    assert not QueryRun.objects.exists()


def test_a_broker_outage_is_reported_and_the_export_marked_failed(client, exporter, dead_broker,
                                                                   analytics_engine):  # fmt: skip
    query = make_query(exporter)
    page = _queue(client, query, **PARAMS).content.decode()
    assert "The export could not be queued" in page
    assert "Nothing was exported" in page
    export = Export.objects.get()
    assert export.state == Export.State.FAILED
    assert "could not queue the export" in export.error and "did not take it" in export.error


def test_without_the_tasks_plugin_the_export_streams(client, exporter, no_task_plugin,
                                                      analytics_engine):  # fmt: skip
    query = make_query(exporter)
    response = _queue(client, query, **PARAMS)
    assert response.streaming
    assert len(read_csv(b"".join(response.streaming_content))) == 57
    assert not Export.objects.exists()


def test_a_large_result_offers_only_the_background_export(client, exporter, settings,
                                                          analytics_engine):  # fmt: skip
    settings.ANALYTICS_EXPORT_BACKGROUND_ROWS = 20
    query = make_query(exporter)
    url = reverse("analytics:run", args=[query.pk])
    large = client.post(url, {**PARAMS, "run": "1"}).content.decode()
    assert 'id="export-background"' in large and 'id="export-csv"' not in large
    small = client.post(url, {"start": "2025-01-01", "end": "2025-01-05", "run": "1"})
    assert 'id="export-csv"' in small.content.decode()


def test_only_the_requester_may_download(client, exporter, settings, analytics_engine):
    export = Export.objects.create(
        saved_query=make_query(exporter), params=PARAMS, requested_by=exporter
    )
    tasks.run_export(export_id=export.pk)
    client.force_login(make_user("colleague", "analytics.export_savedquery"))
    assert client.get(reverse("analytics:download", args=[export.pk])).status_code == 404


def test_cleanup_removes_expired_exports_and_keeps_fresh_ones(exporter, settings, analytics_engine):
    query = make_query(exporter)
    old, fresh = (Export.objects.create(saved_query=query, requested_by=exporter) for _ in "ab")
    for export in (old, fresh):
        tasks.run_export(export_id=export.pk)
    Export.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    old.refresh_from_db()
    old_file = Path(settings.MEDIA_ROOT) / old.file.name

    assert tasks.cleanup_expired_exports() == "1 expired exports removed"

    assert not old_file.exists()
    assert list(Export.objects.values_list("pk", flat=True)) == [fresh.pk]
    fresh.refresh_from_db()
    assert (Path(settings.MEDIA_ROOT) / fresh.file.name).exists()
    assert exports.cleanup_expired() == 0


def test_cleanup_removes_abandoned_parts_but_not_ones_being_written(settings):
    parts = Path(settings.MEDIA_ROOT) / "exports"
    parts.mkdir(parents=True, exist_ok=True)
    abandoned, writing = parts / ".x.csv.0000.part", parts / ".y.csv.0000.part"
    for part in (abandoned, writing):
        part.write_bytes(b"partial")
    long_ago = (timezone.now() - dt.timedelta(days=3)).timestamp()
    os.utime(abandoned, (long_ago, long_ago))

    exports.cleanup_expired()

    assert not abandoned.exists() and writing.exists()


def test_an_expired_export_is_not_offered(client, exporter, analytics_engine):
    export = Export.objects.create(
        saved_query=make_query(exporter), params=PARAMS, requested_by=exporter
    )
    tasks.run_export(export_id=export.pk)
    Export.objects.filter(pk=export.pk).update(expires_at=timezone.now())
    assert client.get(reverse("analytics:download", args=[export.pk])).status_code == 404


def test_the_task_refuses_a_requester_who_lost_the_export_permission(exporter, analytics_engine):
    """Issue 19: the permission was checked when the export was queued, not when it ran."""
    from django.contrib.auth.models import Permission

    query = make_query(exporter)
    export = Export.objects.create(saved_query=query, requested_by=exporter)
    exporter.user_permissions.remove(Permission.objects.get(codename="export_savedquery"))
    exporter.groups.clear()
    outcome = tasks.run_export(export_id=export.pk)
    assert "may no longer export saved queries" in outcome
    export.refresh_from_db()
    assert export.state == Export.State.FAILED and not export.file
    assert not QueryRun.objects.exists()
