"""containers/postgres/Dockerfile on the real engine: PostgreSQL archives WAL through the
pgBackRest in its own image into the bucket (moto behind TLS, harness/s3.py), and a fresh
container on an empty volume restores the latest state from the bucket alone."""

from __future__ import annotations

import secrets
import time

import pytest

from harness import engine
from harness.pitr import repository_env
from harness.processes import REPO, free_port, wait_until
from harness.s3 import LocalS3, serving_protected_bucket
from tests.deploy.test_deploy_engine import figure

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(1200)]

BUCKET = "admin2-pitr-container"
BASE = "postgres:15-bookworm"
CA_IN_CONTAINER = "/etc/admin2/s3-ca.pem"


class DbContainer:
    """One db container of the image, on the host's network (moto's proxy is on loopback)."""

    def __init__(
        self, image: str, env: dict[str, str], mounts: list[str], port: int, *settings: str
    ):
        self.name = f"admin2-pitr22-{secrets.token_hex(4)}"
        self.port = port
        options = ["-c", f"port={port}", "-c", "listen_addresses=127.0.0.1", *settings]
        flags = [f"--env={k}={v}" for k, v in env.items()]
        engine.docker(
            "run", "-d", "--name", self.name, "--network", "host", "--read-only",
            "--tmpfs", "/tmp", "--tmpfs", "/var/run/postgresql",
            *mounts, *flags, image, "postgres", *options,
        )  # fmt: skip

    def sql(self, query: str, *, check: bool = True) -> str:
        result = engine.docker(
            "exec", "-u", "postgres", self.name, "psql", "-p", str(self.port), "-U", "postgres",
            "-Atc", query, check=check,
        )  # fmt: skip
        return result.stdout.decode().strip() if result.returncode == 0 else ""

    def ready(self) -> bool:
        return self.sql("SELECT NOT pg_is_in_recovery()", check=False) == "t"

    def pgbackrest(self, *args: str) -> str:
        return engine.docker(
            "exec", "-u", "postgres", self.name, "pgbackrest", *args
        ).stdout.decode()

    def remove(self) -> None:
        engine.docker("rm", "-f", self.name, check=False)


@pytest.fixture(scope="module")
def image():
    engine.require_engine()
    engine.ensure_image(BASE)
    tag = "admin2-issue22/db-pgbackrest:test"
    engine.build_image(REPO / "containers/postgres/Dockerfile", REPO / "containers/postgres",
                       tag, build_args={"POSTGRES_IMAGE": BASE})  # fmt: skip
    yield tag
    engine.docker("image", "rm", "-f", tag, check=False)


@pytest.fixture(scope="module")
def bucket(tmp_path_factory):
    with serving_protected_bucket(tmp_path_factory.mktemp("pitr-container-s3"), BUCKET) as s3:
        yield s3


def container_env(s3: LocalS3) -> dict[str, str]:
    """What the operator puts into the db container's env file (docs/operations.md)."""
    return {**repository_env(s3, BUCKET, CA_IN_CONTAINER), "POSTGRES_PASSWORD": "test-only"}


def test_the_db_image_archives_to_the_bucket_and_a_fresh_volume_restores_from_it(
    image, bucket, tmp_path
):
    ca = tmp_path / "s3-ca.pem"
    ca.write_bytes(bucket.ca_file.read_bytes())
    ca.chmod(0o644)
    env = container_env(bucket)
    volumes = [f"admin2-pitr22-{secrets.token_hex(4)}" for _ in range(2)]
    mount = ["--volume", f"{ca}:{CA_IN_CONTAINER}:ro"]
    containers: list[DbContainer] = []
    try:
        port = free_port()
        env_with_port = {**env, "PGBACKREST_PG1_PORT": str(port)}
        data = lambda volume: ["--volume", f"{volume}:/var/lib/postgresql/data"]  # noqa: E731
        primary = DbContainer(
            image, env_with_port, [*mount, *data(volumes[0])], port,
            "-c", "wal_level=replica", "-c", "archive_mode=on",
            "-c", "archive_command=pgbackrest archive-push %p", "-c", "archive_timeout=60s",
        )  # fmt: skip
        containers.append(primary)
        wait_until(primary.ready, 120, "the primary db container")
        primary.pgbackrest("stanza-create")
        primary.pgbackrest("--type=full", "backup")
        primary.sql(
            "CREATE TABLE ledger (id int); INSERT INTO ledger SELECT generate_series(1, 500)"
        )
        segment = primary.sql("SELECT pg_walfile_name(pg_switch_wal())")
        archived = lambda: primary.sql("SELECT last_archived_wal FROM pg_stat_archiver") >= segment  # noqa: E731
        wait_until(archived, 120, f"WAL {segment} archived from the container")
        primary.remove()  # the host is gone; only the bucket is left

        fresh_port = free_port()
        started = time.monotonic()
        restore = engine.docker(
            "run", "--rm", "--network", "host", "-u", "postgres", *mount, *data(volumes[1]),
            *[f"--env={k}={v}" for k, v in env.items()], image,
            "pgbackrest", "--pg1-path=/var/lib/postgresql/data", "restore", timeout=600,
        )  # fmt: skip
        assert restore.returncode == 0
        fresh = DbContainer(
            image, env, [*mount, *data(volumes[1])], fresh_port, "-c", "archive_mode=off"
        )
        containers.append(fresh)
        wait_until(fresh.ready, 180, "the restored db container to finish recovery")
        figure("pitr_container_restore_seconds", round(time.monotonic() - started, 1))

        assert fresh.sql("SELECT count(*), min(id), max(id) FROM ledger") == "500|1|500"
    finally:
        for container in containers:
            container.remove()
        for volume in volumes:
            engine.docker("volume", "rm", "-f", volume, check=False)
