"""containers/release.py, the Compose `migrate` job: migrations once, under a lock, and the
image's static files published into the volume Nginx serves without removing older ones."""

from __future__ import annotations

import runpy
import subprocess
import time

import psycopg
import pytest

from harness.native import service_env
from harness.processes import REPO, ManagedProcess, django_env, venv_tool, wait_until

RELEASE = REPO / "containers" / "release.py"
release = runpy.run_path(str(RELEASE))


def collected(root, files: dict[str, str]):
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "staticfiles.json").write_text('{"paths": {}}')
    return root


def test_publishing_copies_new_files_and_keeps_the_previous_release(tmp_path):
    volume = tmp_path / "volume"
    first = collected(
        tmp_path / "v1", {"admin2/app.1111111111aa.css": "v1", "admin2/app.css": "v1"}
    )
    assert release["publish_static"](first, volume) == (3, 0)
    second = collected(
        tmp_path / "v2", {"admin2/app.2222222222bb.css": "v2", "admin2/app.css": "v2"}
    )
    assert release["publish_static"](second, volume) == (2, 1)  # manifest content unchanged
    assert (volume / "admin2/app.1111111111aa.css").read_text() == "v1"  # old pages still work
    assert (volume / "admin2/app.2222222222bb.css").read_text() == "v2"
    assert (volume / "admin2/app.css").read_text() == "v2"
    assert oct((volume / "admin2/app.css").stat().st_mode & 0o777) == "0o644"  # Nginx reads it
    assert not list(volume.rglob("*.partial"))
    assert release["publish_static"](second, volume) == (0, 3)


def test_publishing_refuses_a_directory_without_collected_files(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit, match=r"staticfiles\.json"):
        release["publish_static"](tmp_path / "empty", tmp_path / "volume")


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_second_release_waits_for_the_migration_lock(app_database, tmp_path):
    env = django_env(**service_env("production", "migrate", tmp_path, POSTGRES_DB=app_database,
                                   DJANGO_LOG_LEVEL="warning"))  # fmt: skip
    key = release["RELEASE_LOCK_KEY"]
    holder = psycopg.connect(
        host="127.0.0.1", user="postgres", dbname=app_database, autocommit=True
    )
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [key])
        job = ManagedProcess([venv_tool("python"), str(RELEASE)], env=env, log=tmp_path / "out")
        waiting = (
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
            "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s"
        )
        wait_until(
            lambda: holder.execute(waiting, [app_database]).fetchone()[0] == 1 or not job.alive(),
            60, "the release job to queue for the lock",
        )  # fmt: skip
        time.sleep(1.5)
        assert job.alive(), job.output()
        assert "holding the migration lock" not in job.output()
        holder.execute("SELECT pg_advisory_unlock(%s)", [key])
        wait_until(lambda: not job.alive(), 180, "the release job")
    finally:
        holder.close()
    assert job.proc.returncode == 0, job.output()
    waited = float(job.output().split("waited ")[1].split("s)")[0])
    assert waited >= 1.5
    result = subprocess.run(
        [venv_tool("admin2"), "migrate", "--check"], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, "migrations left unapplied: " + result.stdout


def test_a_configuration_error_stops_the_release_in_one_line(tmp_path):
    env = django_env(**service_env("production", "migrate", tmp_path, DJANGO_DEBUG="true"))
    result = subprocess.run(
        [venv_tool("python"), str(RELEASE)], env=env, cwd=REPO,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "release: configuration error: DJANGO_DEBUG: must be false in production"
    )
