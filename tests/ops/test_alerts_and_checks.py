"""The alerting floor: deploy/alert.sh (one hook for deploys, backups and checks) runs
ADMIN2_ALERT_COMMAND or mails through the production SMTP settings (tested against a local
aiosmtpd sink on 127.0.0.1), and `just check` (deploy/check.sh STACK all) reports a backup
older than its schedule and sends failures to the hook with --alert."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

from harness.processes import REPO, free_port

ALERT = REPO / "deploy" / "alert.sh"
CHECK = REPO / "deploy" / "check.sh"


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ADMIN2_", "BACKUP_", "DEPLOY_"))
    }
    env.update(
        DEPLOY_ENV_FILE=str(tmp_path / "no-deploy.env"),
        ADMIN2_HOST_STACK_FILE=str(tmp_path / "none"),
        **extra,
    )
    return env


def run(argv, env, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_alert_command_gets_the_subject_and_the_message(tmp_path):
    received = tmp_path / "received"
    hook = tmp_path / "hook"
    hook.write_text(f'#!/bin/sh\n{{ echo "subject=$1"; cat; }} >{received}\n')
    hook.chmod(0o755)

    result = run(
        [ALERT, "admin2: backup failed"],
        base_env(tmp_path, ADMIN2_ALERT_COMMAND=str(hook)),
        stdin="pg_dump: connection refused\n",
    )

    assert result.returncode == 0, result.stderr
    assert received.read_text() == "subject=admin2: backup failed\npg_dump: connection refused\n"


def test_without_a_command_the_alert_is_mailed_through_the_production_smtp_settings(
    tmp_path, smtp_sink
):
    port, inbox = smtp_sink
    env_file = tmp_path / ".env.production"
    env_file.write_text(
        f"EMAIL_HOST=127.0.0.1\nEMAIL_PORT={port}\nEMAIL_USE_TLS=false\n"
        "DEFAULT_FROM_EMAIL=admin2@admin2.example.com\n"
    )
    env = base_env(tmp_path, ADMIN2_ALERT_EMAIL="ops@example.com", ADMIN2_ENV_FILE=str(env_file))

    result = run([ALERT, "admin2: deploy on srv FAILED (exit 1)"], env, stdin="the log tail\n")

    assert result.returncode == 0, result.stderr
    (message,) = inbox.messages
    assert message["Subject"] == "admin2: deploy on srv FAILED (exit 1)"
    assert message["To"] == "ops@example.com"
    assert message["From"] == "admin2@admin2.example.com"
    assert "the log tail" in message.get_payload()


def test_an_unreachable_mail_server_fails_the_alert_loudly(tmp_path):
    env_file = tmp_path / ".env.production"
    env_file.write_text(f"EMAIL_HOST=127.0.0.1\nEMAIL_PORT={free_port()}\n")
    env = base_env(tmp_path, ADMIN2_ALERT_EMAIL="ops@example.com", ADMIN2_ENV_FILE=str(env_file))

    result = run([ALERT, "subject"], env, stdin="body")

    assert result.returncode != 0
    assert "mailing the alert to ops@example.com failed" in result.stderr


def test_no_hook_configured_is_said_not_fatal(tmp_path):
    result = run([ALERT, "admin2: something"], base_env(tmp_path), stdin="x")
    assert result.returncode == 0
    assert "no alert hook configured" in result.stderr


def make_backup(backups: Path, hours_ago: float, label: str = "") -> str:
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours_ago)).strftime("%Y%m%dT%H%M%SZ")
    name = f"admin2-{stamp}{'-' + label if label else ''}"
    (backups / name).mkdir(parents=True)
    return name


def test_a_backup_older_than_its_schedule_is_reported(tmp_path):
    backups = tmp_path / "backups"
    make_backup(backups, 30)
    make_backup(backups, 1, "pre-migrate-0123456789ab")  # database only: not the schedule's
    env = base_env(tmp_path, BACKUP_DIR=str(backups))

    stale = run([CHECK, "production", "backup"], env)

    assert stale.returncode != 0
    assert "is 30h old (limit 26h, BACKUP_MAX_AGE_HOURS)" in stale.stderr
    fresh = make_backup(backups, 2)
    current = run([CHECK, "production", "backup"], env)
    assert current.returncode == 0, current.stderr
    assert f"backup: {fresh}, 2h old (limit 26h)" in current.stdout
    assert (
        run([CHECK, "production", "backup"], {**env, "BACKUP_MAX_AGE_HOURS": "1"}).returncode != 0
    )


def test_no_backup_at_all_is_reported(tmp_path):
    result = run(
        [CHECK, "production", "backup"], base_env(tmp_path, BACKUP_DIR=str(tmp_path / "b"))
    )
    assert result.returncode != 0 and "backup: none in" in result.stderr


def test_check_all_with_alert_sends_every_failure_to_the_hook(tmp_path):
    """The hourly timer's command: a stopped stack and a stale backup, one alert naming both."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    docker = bin_dir / "docker"
    docker.write_text("#!/bin/sh\necho 'service \"celery\" is not running' >&2\nexit 1\n")
    docker.chmod(0o755)
    received = tmp_path / "received"
    hook = tmp_path / "hook"
    hook.write_text(f'#!/bin/sh\n{{ echo "subject=$1"; cat; }} >{received}\n')
    hook.chmod(0o755)
    env_file = tmp_path / ".env.production"
    env_file.write_text("DJANGO_ENVIRONMENT=production\n")
    backups = tmp_path / "backups"
    make_backup(backups, 50)
    env = base_env(
        tmp_path,
        BACKUP_DIR=str(backups),
        ADMIN2_ALERT_COMMAND=str(hook),
        ADMIN2_ENV_FILE=str(env_file),
        PATH=f"{bin_dir}:/usr/bin:/bin",
    )

    result = run([CHECK, "production", "all", "--alert"], env)

    assert result.returncode != 0
    assert "failed: redis db workers backup" in result.stderr
    text = received.read_text()
    assert text.startswith("subject=admin2 on ") and "check failed: redis db workers backup" in text
    assert "is 50h old" in text
