"""deploy/restore-to-new-host.sh refuses missing or wrong inputs before it runs any docker
command (a recording `docker` stands in; the restore itself is proven on the engine by
tests/deploy/test_backup_engine.py, with a wrong cipher pass and a missing bucket too)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from harness.processes import REPO
from tests.ops import recording_docker

REPOSITORY = {
    "PGBACKREST_REPO1_TYPE": "s3",
    "PGBACKREST_REPO1_S3_BUCKET": "admin2-backups",
    "PGBACKREST_REPO1_CIPHER_PASS": "a-long-random-passphrase",
}


@pytest.fixture
def host(tmp_path):
    """A new host: the checkout, its restored env file, no stack yet."""
    checkout = tmp_path / "srv-admin2"
    shutil.copytree(REPO / "deploy", checkout / "deploy", ignore=shutil.ignore_patterns(".env"))
    (checkout / "containers").mkdir()
    for name in ("docker-compose.production.yml", "image-pins"):
        shutil.copy(REPO / "containers" / name, checkout / "containers" / name)
    shutil.copytree(REPO / "containers" / "postgres", checkout / "containers" / "postgres")
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.com",
         "commit", "-q", "-m", "x"],
        check=True,
    )  # fmt: skip
    write_env(checkout, REPOSITORY)
    key = tmp_path / "operator-age-key.txt"
    key.write_text("AGE-SECRET-KEY-1TEST\n")
    bin_dir, calls = recording_docker.install(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DEPLOY_", "ADMIN2_"))}
    env.update(
        PATH=f"{bin_dir}:{env['PATH']}",
        DOCKER_CALLS=str(calls),
        DEPLOY_ENV_FILE=str(tmp_path / "deploy.env"),
        ADMIN2_HOST_STACK_FILE=str(tmp_path / "stack"),
    )
    (tmp_path / "deploy.env").write_text("BACKUP_S3_PREFIX=dumps\n")
    return checkout, env, calls, key


def write_env(checkout, values: dict[str, str]) -> None:
    text = "COMPOSE_PROJECT_NAME=admin2\n" + "".join(f"{k}={v}\n" for k, v in values.items())
    (checkout / "containers" / ".env.production").write_text(text)


def run(host, *args: str, **extra: str) -> subprocess.CompletedProcess:
    checkout, env, _, _ = host
    return subprocess.run(
        [str(checkout / "deploy" / "restore-to-new-host.sh"), *args],
        cwd=checkout, env={**env, **extra}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


def refused(host, result, says: str) -> None:
    assert result.returncode != 0
    assert says in result.stderr, result.stderr
    calls = host[2]
    assert not calls.exists() or recording_docker.recorded(calls) == [], "docker was run"


def test_without_the_operators_key_it_says_which_option_is_missing(host):
    refused(host, run(host), "--age-key FILE")


def test_an_unreadable_key_is_named(host):
    refused(host, run(host, "--age-key", "/nonexistent/key.txt"), "/nonexistent/key.txt")


def test_a_time_that_is_not_a_time_is_refused(host):
    key = str(host[3])
    refused(host, run(host, "--age-key", key, "--time", "yesterday-ish"), "is not a time")


@pytest.mark.parametrize("missing", sorted(REPOSITORY))
def test_a_missing_repository_setting_is_named_with_the_file(host, missing):
    checkout, *_ = host
    write_env(checkout, {k: v for k, v in REPOSITORY.items() if k != missing})
    result = run(host, "--age-key", str(host[3]))
    refused(host, result, f"{missing} is not in {checkout / 'containers' / '.env.production'}")


def test_the_media_needs_the_bucket_prefix_of_the_nightly_tars(host):
    result = run(host, "--age-key", str(host[3]), DEPLOY_ENV_FILE="/nonexistent")
    refused(host, result, "BACKUP_S3_PREFIX is not set")


def test_a_host_that_has_the_stacks_volumes_is_not_touched(host):
    result = run(host, "--no-media")  # the stand-in docker finds every volume it is asked for

    assert result.returncode != 0
    assert "admin2_postgres_data exists already: this is not a new host" in result.stderr
    assert recording_docker.recorded(host[2]) == [["volume", "inspect", "admin2_postgres_data"]]
