"""deploy/pitr.sh refuses what would go wrong before pgBackRest is ever called."""

from __future__ import annotations

import os
import subprocess

from harness.processes import REPO

PITR = REPO / "deploy" / "pitr.sh"


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    # `false` stands where pgbackrest would run: a refusal must come before it
    base = {"DEPLOY_ENV_FILE": "/nonexistent", "PITR_RUN": "false", "PATH": os.environ["PATH"]}
    return subprocess.run(
        [str(PITR), *args], env={**base, **env}, capture_output=True, text=True, timeout=30
    )


def test_a_repository_without_a_cipher_is_refused():
    result = run("backup", PGBACKREST_REPO1_TYPE="s3")
    assert result.returncode != 0
    assert "PGBACKREST_REPO1_CIPHER_TYPE is not set" in result.stderr


def test_a_restore_never_goes_into_a_data_directory_that_has_files(tmp_path):
    (tmp_path / "PG_VERSION").write_text("15\n")
    result = run("restore", str(tmp_path))
    assert result.returncode != 0
    assert f"{tmp_path} is not empty" in result.stderr
    assert (tmp_path / "PG_VERSION").read_text() == "15\n", "nothing was touched"


def test_a_target_that_is_not_a_time_is_named(tmp_path):
    result = run("restore", str(tmp_path / "new"), "yesterday-ish o'clock")
    assert result.returncode != 0
    assert "'yesterday-ish o'clock' is not a time" in result.stderr


def test_bad_backup_types_and_retention_are_named():
    cipher = {"PGBACKREST_REPO1_TYPE": "s3", "PGBACKREST_REPO1_CIPHER_TYPE": "aes-256-cbc",
              "PGBACKREST_REPO1_CIPHER_PASS": "x"}  # fmt: skip
    assert "full, diff or incr, got 'weekly'" in run("backup", "weekly", **cipher).stderr
    expire = run("expire", PITR_RETENTION_FULL="all")
    assert "PITR_RETENTION_FULL must be a number of full backups, got 'all'" in expire.stderr


def test_the_nightly_run_does_nothing_until_continuous_backups_are_configured():
    result = run("nightly")
    assert result.returncode == 0, result.stderr
    assert "continuous backups are not configured" in result.stderr


def test_a_full_backup_weekday_that_is_no_weekday_is_named():
    result = run("nightly", PGBACKREST_REPO1_TYPE="s3", PITR_FULL_WEEKDAY="8")
    assert result.returncode != 0
    assert "PITR_FULL_WEEKDAY must be 1 (Monday) to 7 (Sunday), got '8'" in result.stderr
