"""A private PostgreSQL cluster that archives through pgBackRest into a LocalS3 bucket, with
the settings docs/operations.md gives the production db container, and deploy/pitr.sh run
against it natively (``PITR_RUN=runuser -u postgres --``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.postgres import PostgresCluster
from harness.processes import REPO
from harness.s3 import LocalS3

PITR = REPO / "deploy" / "pitr.sh"
ARCHIVING = {
    "wal_level": "replica",
    "archive_mode": "on",
    "archive_command": "'pgbackrest archive-push %p'",
    "archive_timeout": "'60s'",
    "track_commit_timestamp": "on",
}


def repository_env(s3: LocalS3, bucket: str, ca_file: str) -> dict[str, str]:
    """The bucket, as the operator configures it for the db container and deploy/pitr.sh."""
    server = s3.users["server"]
    return {
        "PGBACKREST_STANZA": "admin2",
        "PGBACKREST_REPO1_TYPE": "s3",
        "PGBACKREST_REPO1_PATH": "/pgbackrest",
        "PGBACKREST_REPO1_S3_BUCKET": bucket,
        "PGBACKREST_REPO1_S3_ENDPOINT": "localhost",
        "PGBACKREST_REPO1_STORAGE_PORT": str(s3.port),
        "PGBACKREST_REPO1_S3_REGION": "us-east-1",
        "PGBACKREST_REPO1_S3_URI_STYLE": "path",
        "PGBACKREST_REPO1_STORAGE_CA_FILE": ca_file,
        "PGBACKREST_REPO1_S3_KEY": server.key,
        "PGBACKREST_REPO1_S3_KEY_SECRET": server.secret,
        "PGBACKREST_REPO1_CIPHER_TYPE": "aes-256-cbc",
        "PGBACKREST_REPO1_CIPHER_PASS": "a-long-random-passphrase-for-the-test",
        # An unreachable bucket fails an archive-push after this long (60 s by default), and
        # PostgreSQL runs it again: short, so an outage in a test is seconds, not minutes.
        "PGBACKREST_IO_TIMEOUT": "5",
    }


def pgbackrest_env(s3: LocalS3, bucket: str, work: Path, pg: PostgresCluster) -> dict[str, str]:
    """The bucket plus a native cluster's paths, and deploy/pitr.sh running natively."""
    return {
        **repository_env(s3, bucket, str(work / "s3-ca.pem")),
        "DEPLOY_ENV_FILE": "/nonexistent",  # only what is given here
        "PITR_RUN": "runuser -u postgres --",
        "PGBACKREST_PG1_PATH": str(pg.data),
        "PGBACKREST_PG1_PORT": str(pg.port),
        "PGBACKREST_PG1_SOCKET_PATH": str(pg.root),
        "PGBACKREST_LOG_PATH": str(work / "log"),
        "PGBACKREST_LOCK_PATH": str(work / "lock"),
        "PGBACKREST_LOG_LEVEL_FILE": "off",
        "PGBACKREST_LOG_LEVEL_CONSOLE": "warn",
    }


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """The postmaster runs archive_command (and a restored one restore_command) with the
    PGBACKREST_* variables in its environment, as the container has them from its env file."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        yield


def archiving_cluster(s3: LocalS3, bucket: str) -> tuple[PostgresCluster, dict[str, str]]:
    """A started cluster that archives into ``bucket``, and deploy/pitr.sh's environment."""
    cluster = PostgresCluster()
    work = cluster.root / "pgbackrest"  # reachable by the postgres user
    work.mkdir()
    (work / "s3-ca.pem").write_bytes(s3.ca_file.read_bytes())
    subprocess.run(["chown", "-R", "postgres:postgres", str(work)], check=True)
    env = pgbackrest_env(s3, bucket, work, cluster)
    with (cluster.data / "postgresql.auto.conf").open("a") as conf:
        conf.writelines(f"{name} = {value}\n" for name, value in ARCHIVING.items())
    with environment(env):
        cluster.start()
    return cluster, env


def pitr(env: dict[str, str], *args: str, check: bool = True, **extra: str):
    result = subprocess.run(
        [str(PITR), *args],
        env={**os.environ, **env, **extra},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"deploy/pitr.sh {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result
