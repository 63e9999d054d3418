"""Exports and reports on S3-compatible media storage (ADMIN2_MEDIA_STORAGE=s3).

moto's S3 server behind a TLS Nginx (harness/s3.py) stands in for the bucket (no S3 service
can exist here); everything else is real: a production-settings Celery worker writes the
export into the bucket, and a separate Gunicorn process, sharing no disk with it, serves it.
"""

from __future__ import annotations

import http.client
import os
import secrets
import time
from dataclasses import dataclass

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.urls import reverse

from admin2_analytics import exports, reports, stored_files, tasks
from admin2_analytics.models import Export, ScheduledReport
from harness.celery_worker import CeleryWorker
from harness.processes import run_admin2
from harness.s3 import REGION, LocalS3
from settings import media_storage
from tests.faults.stack import WebServer
from tests.support.analytics_pages import due_report, make_query, make_user, read_csv
from tests.support.worker_exports import EXPORT_TIME_LIMITS, export_on_worker
from tests.tasks.conftest import production_worker_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

PASSWORD = secrets.token_urlsafe(16)
EXPORTER = ("analytics.run_savedquery", "analytics.export_savedquery", "analytics.view_export")


@dataclass
class MediaBucket:
    """A bucket of the local S3 and the environment that points admin2's media at it."""

    s3: LocalS3
    name: str

    @property
    def client(self):
        return self.s3.client()

    @property
    def env(self) -> dict[str, str]:
        return {
            "ADMIN2_MEDIA_STORAGE": "s3",
            "ADMIN2_S3_BUCKET": self.name,
            # Over TLS, as to a provider: the local S3's Nginx, with its own certificate.
            "ADMIN2_S3_ENDPOINT_URL": self.s3.endpoint,
            "AWS_CA_BUNDLE": str(self.s3.ca_file),
            "ADMIN2_S3_REGION": REGION,
            "ADMIN2_S3_ADDRESSING_STYLE": "path",
            "ADMIN2_S3_ACCESS_KEY_ID": "admin2-media",
            "ADMIN2_S3_SECRET_ACCESS_KEY": "admin2-media-secret",
        }

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """One local S3 for the module; each test has a bucket of its own."""
    server = LocalS3(tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture
def bucket(s3) -> MediaBucket:
    name = f"admin2-media-{secrets.token_hex(4)}"
    s3.client().create_bucket(Bucket=name)
    return MediaBucket(s3, name)


@pytest.fixture
def media_in_bucket(settings, monkeypatch, tmp_path, s3, bucket):
    """This test process's media in the bucket too, configured the way a deployment is."""
    settings.VAR_DIR = tmp_path / "var"  # the spools
    for name, value in bucket.env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": media_storage.default_storage("test")}
    assert settings.STORAGES["default"]["BACKEND"] == media_storage.S3_BACKEND


def _engine_env(engine) -> dict[str, str]:
    return {
        "ADMIN2_ANALYTICS_ENABLED": "true",
        "CLICKHOUSE_HOST": "",
        "CLICKHOUSE_EMBEDDED_PATH": str(engine.path),
    }


def _download(port: int, path: str, cookies: dict[str, str]) -> tuple[int, bytes]:
    """GET as the logged-in browser, keeping the body's bytes exactly as sent."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(
            "GET", path, headers={
                "Host": f"127.0.0.1:{port}", "X-Forwarded-Proto": "https",
                "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
            },
        )  # fmt: skip
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)  # the worker and web processes see the rows
def test_a_worker_export_lands_in_the_bucket_and_another_web_process_serves_it(
    client, settings, tmp_path, redis_server, analytics_engine, s3, bucket
):
    exporter = make_user("s3-exporter", *EXPORTER)
    # Hashed the way production checks it (this process's test settings use a fast MD5).
    exporter.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
    exporter.save(update_fields=["password"])
    query = make_query(
        exporter, name="All events", sql="SELECT * FROM events ORDER BY event_time",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    media = bucket.env
    worker = CeleryWorker(
        redis_server.url(0),
        workdir=tmp_path / "worker",
        env=production_worker_env(
            redis_server.url(2),
            **_engine_env(analytics_engine),
            **media,
            DJANGO_MEDIA_ROOT=str(tmp_path / "worker-media"),
            **EXPORT_TIME_LIMITS,
        ),
    )
    worker.start()
    export = export_on_worker(client, exporter, query, worker, redis_server.url(0), timeout=120)
    assert bucket.keys() == [export.file.name]
    stored = bucket.read(export.file.name)
    assert len(stored) == export.size_bytes
    assert len(read_csv(stored)) - 1 == export.row_count == analytics_engine.rows
    assert not (tmp_path / "worker-media").exists()  # nothing went to the worker's disk

    web_env = production_worker_env(
        redis_server.url(3), **_engine_env(analytics_engine), **media,
        DJANGO_ALLOWED_HOSTS="127.0.0.1", DJANGO_BEHIND_TLS_PROXY="true",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"), DJANGO_MEDIA_ROOT=str(tmp_path / "web-media"),
        ADMIN2_VAR_DIR=str(tmp_path / "web-var"), DJANGO_LOG_LEVEL="warning",
        CELERY_BROKER_URL=redis_server.url(0), CELERY_RESULT_BACKEND=redis_server.url(0),
    )  # fmt: skip
    collected = run_admin2("collectstatic", "--noinput", "-v", "0", env=web_env)
    assert collected.returncode == 0, collected.stderr
    web = WebServer(tmp_path, web_env, workers=1)
    web.start()
    try:
        browser = web.browser()
        browser.log_in("s3-exporter", PASSWORD)
        url = reverse("analytics:download", args=[export.pk])
        status, body = _download(web.port, url, browser.cookies)
    finally:
        web.stop()
    assert status == 200, body[:500]
    assert body == stored
    assert not (tmp_path / "web-media").exists()


def test_a_failed_export_leaves_no_object(exporter_on_s3, s3, bucket, analytics_engine):
    # The engine fails after it has streamed earlier blocks: the spool had bytes in it.
    query = make_query(
        exporter_on_s3,
        sql="SELECT number, throwIf(number = 300000, 'broken on purpose') AS x "
        "FROM numbers(400000)",
        parameter_defaults={}, chart_kind="none",
    )  # fmt: skip
    export = Export.objects.create(saved_query=query, requested_by=exporter_on_s3)
    assert tasks.run_export(export_id=export.pk).startswith("failed: ")
    export.refresh_from_db()
    assert export.state == Export.State.FAILED and not export.file
    assert "broken on purpose" in export.error
    assert bucket.keys() == []
    assert list(stored_files.spool_dir().iterdir()) == []  # and no spool left on disk


def test_cleanup_sweeps_spools_a_killed_worker_left(exporter_on_s3, settings):
    abandoned = stored_files.spool_dir() / "admin2-spool-abandoned"
    writing = stored_files.spool_dir() / "admin2-spool-writing"
    for spool in (abandoned, writing):
        spool.mkdir()
        (spool / "x.csv").write_bytes(b"partial")
    long_ago = time.time() - 3 * 24 * 3600
    os.utime(abandoned, (long_ago, long_ago))

    exports.cleanup_expired()

    assert not abandoned.exists() and (writing / "x.csv").exists()


def test_the_download_streams_the_object_and_a_missing_one_is_not_found(
    client, exporter_on_s3, s3, bucket, analytics_engine
):
    export = Export.objects.create(
        saved_query=make_query(exporter_on_s3), requested_by=exporter_on_s3
    )
    tasks.run_export(export_id=export.pk)
    export.refresh_from_db()
    client.force_login(exporter_on_s3)
    url = reverse("analytics:download", args=[export.pk])

    response = client.get(url)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200 and body == bucket.read(export.file.name)
    assert response["Content-Length"] == str(export.size_bytes)

    bucket.client.delete_object(Bucket=bucket.name, Key=export.file.name)
    assert client.get(url).status_code == 404


def test_cleanup_deletes_expired_exports_from_the_bucket(exporter_on_s3, s3, bucket,
                                                          analytics_engine):  # fmt: skip
    query = make_query(exporter_on_s3)
    export = Export.objects.create(saved_query=query, requested_by=exporter_on_s3)
    assert tasks.run_export(export_id=export.pk).endswith(" rows")
    export.refresh_from_db()
    assert bucket.keys() == [export.file.name]
    assert tasks.run_export(export_id=export.pk) == "already done"  # found in the bucket

    Export.objects.filter(pk=export.pk).update(expires_at=export.finished_at)
    assert exports.cleanup_expired() == 1
    assert bucket.keys() == []


def test_a_stored_report_goes_to_the_bucket(exporter_on_s3, s3, bucket, analytics_engine):
    report = due_report(exporter_on_s3, store_to_media=True, recipients="", format="jsonl")
    assert reports.run_report(report).endswith(" rows")
    report = ScheduledReport.objects.get(pk=report.pk)
    assert report.last_error == ""
    assert bucket.keys() == [report.last_file]
    assert report.last_file.startswith(f"reports/{report.pk}/")
    assert bucket.read(report.last_file).count(b"\n") >= 1


@pytest.fixture
def exporter_on_s3(media_in_bucket):
    return make_user("s3-exporter", *EXPORTER)
