"""deploy/pitr.sh: WAL archiving and base backups through pgBackRest into S3, restored to a point
in time on a fresh data directory. Native (a private cluster with the db container's archive
settings, moto's S3 behind a TLS Nginx with the bucket set up as docs/operations.md says);
"committed before the target" is judged by PostgreSQL's own commit timestamps.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psycopg
import pytest

from harness.pitr import archiving_cluster, environment, pitr
from harness.postgres import PostgresCluster
from harness.processes import wait_until
from harness.s3 import LocalS3
from tests.deploy.test_deploy_engine import figure

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BUCKET = "admin2-pitr"


@dataclass
class Repository:
    s3: LocalS3
    primary: PostgresCluster
    env: dict[str, str]

    def pitr(self, *args: str, check: bool = True, **extra: str):
        return pitr(self.env, *args, check=check, **extra)

    def dsn(self, cluster: PostgresCluster) -> str:
        return f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    s3 = LocalS3(tmp_path_factory.mktemp("pitr-s3")).start()
    primary = None
    try:
        s3.make_protected_bucket(BUCKET)
        primary, env = archiving_cluster(s3, BUCKET)
        primary.psql("CREATE TABLE ledger (id bigserial PRIMARY KEY, note text)")
        repo = Repository(s3, primary, env)
        repo.pitr("setup")
        yield repo
    finally:
        if primary:
            primary.destroy()
        s3.stop()


class Writer:
    """One committed row every few milliseconds, until stopped."""

    def __init__(self, dsn: str):
        self.dsn, self.count = dsn, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        with psycopg.connect(self.dsn, autocommit=True) as connection:
            while not self._stop.is_set():
                connection.execute("INSERT INTO ledger (note) VALUES ('row')")
                self.count += 1
                time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=30)


def committed(dsn: str) -> dict[int, float]:
    """id -> commit time (epoch seconds) of every row, by PostgreSQL's own commit timestamps."""
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT id, extract(epoch FROM pg_xact_commit_timestamp(xmin))::float8 FROM ledger"
        ).fetchall()
    return dict(rows)


def archiver(dsn: str) -> tuple[int, str]:
    with psycopg.connect(dsn, autocommit=True) as connection:
        failed, last = connection.execute(
            "SELECT failed_count, coalesce(last_archived_wal, '') FROM pg_stat_archiver"
        ).fetchone()
    return failed, last


def switch_wal(dsn: str) -> str:
    with psycopg.connect(dsn, autocommit=True) as connection:
        return connection.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]


def restored_cluster(repo: Repository, target_time: str | None) -> PostgresCluster:
    """A fresh, empty data directory filled by deploy/pitr.sh restore, started, promoted."""
    fresh = PostgresCluster(initdb=False)
    args = ["restore", str(fresh.data)] + ([target_time] if target_time else [])
    repo.pitr(*args)
    with environment(repo.env):
        # a copy for checking must not archive into the production repository
        fresh.start(archive_mode="off")
    promoted = lambda: fresh.fetch_value("SELECT NOT pg_is_in_recovery()")  # noqa: E731
    wait_until(promoted, 120, "the restored cluster to finish recovery")
    return fresh


@pytest.fixture(scope="module")
def history(repository):
    """Writes go on through a base backup, a chosen target time and a storage outage."""
    dsn = repository.dsn(repository.primary)
    with Writer(dsn) as writer:
        time.sleep(1)
        started = time.monotonic()
        repository.pitr("backup", "full")
        figure("pitr_full_backup_seconds", round(time.monotonic() - started, 1))
        time.sleep(2)
        target = repository.primary.fetch_value("SELECT clock_timestamp()::text")
        target_epoch = repository.primary.fetch_value(
            "SELECT extract(epoch FROM %s::timestamptz)::float8", (target,)
        )
        time.sleep(2)

        # the storage drops off the network: archiving fails, PostgreSQL keeps the WAL and
        # retries, and everything arrives once the storage is back
        repository.s3.stop_proxy()
        failed_before, _ = archiver(dsn)
        segment = switch_wal(dsn)
        wait_until(lambda: archiver(dsn)[0] > failed_before, 60, "an archive failure")
        repository.s3.start_proxy()
        # After three failures in a row the archiver pauses a minute before trying again; a
        # reload wakes it now (in production it simply tries again a minute later).
        repository.primary.psql("SELECT pg_reload_conf()")
        archived = lambda: archiver(dsn)[1] >= segment  # noqa: E731
        wait_until(archived, 120, f"WAL {segment} archived after the outage")
        failures = archiver(dsn)[0] - failed_before
        time.sleep(3)
    assert writer.count > 100, "writes went on all along"
    rows = committed(dsn)
    # the disaster: the primary is gone, with whatever it had not archived yet
    repository.primary.stop("immediate")
    return {"target": target, "target_epoch": target_epoch, "rows": rows, "failures": failures}


def test_a_failed_upload_is_retried_until_the_wal_is_in_the_bucket(history):
    assert history["failures"] >= 1


def test_the_restore_to_a_time_has_every_row_committed_before_it_and_none_after(
    repository, history
):
    started = time.monotonic()
    restored = restored_cluster(repository, history["target"])
    figure("pitr_restore_seconds", round(time.monotonic() - started, 1))
    try:
        back = set(committed(repository.dsn(restored)))
    finally:
        restored.destroy()
    before = {i for i, at in history["rows"].items() if at <= history["target_epoch"]}
    after = set(history["rows"]) - before
    assert before and after, "rows on both sides of the target"
    assert back == before


def test_the_latest_restore_loses_less_than_five_minutes_of_commits(repository, history):
    restored = restored_cluster(repository, None)
    try:
        back = committed(repository.dsn(restored))
    finally:
        restored.destroy()
    newest_written = max(history["rows"].values())
    newest_back = max(back.values())
    rpo = newest_written - newest_back
    figure("pitr_rpo_seconds", round(rpo, 1))
    # what came back is a prefix of what was written, and the gap is inside the objective
    assert set(back) == {i for i, at in history["rows"].items() if at <= newest_back}
    assert 0 <= rpo < 300


def test_what_is_in_the_bucket_is_encrypted(repository, history):
    s3 = repository.s3.client(repository.s3.users["server"])
    listing = s3.list_objects_v2(Bucket=BUCKET, Prefix="pgbackrest/archive")["Contents"]
    keys = [o["Key"] for o in listing]
    wal = next(k for k in keys if "/0000" in k and not k.endswith(".history"))
    body = s3.get_object(Bucket=BUCKET, Key=wal)["Body"].read()
    assert body.startswith(b"Salted__"), "openssl-compatible aes-256-cbc, not a WAL segment"


def all_versions(s3) -> list[dict]:
    pages = s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix="pgbackrest/")
    return [version for page in pages for version in page.get("Versions", [])]


def test_the_servers_credentials_cannot_delete_a_backup(repository, history):
    from botocore.exceptions import ClientError

    s3 = repository.s3.client(repository.s3.users["server"])
    versions = all_versions(s3)
    victim = next(v for v in versions if v["Key"].endswith("backup.manifest"))
    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=BUCKET, Key=victim["Key"], VersionId=victim["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # a plain delete (pgBackRest's own, or an attacker's) only hides the object behind a marker
    s3.delete_object(Bucket=BUCKET, Key=victim["Key"])
    # and the retention, run with the server's credentials, destroys nothing either
    repository.pitr("expire", check=False, PITR_RETENTION_FULL="1")

    assert {v["VersionId"] for v in versions} <= {v["VersionId"] for v in all_versions(s3)}
    kept = s3.get_object(Bucket=BUCKET, Key=victim["Key"], VersionId=victim["VersionId"])
    assert kept["Body"].read().startswith(b"Salted__")
