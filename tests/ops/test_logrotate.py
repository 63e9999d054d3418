"""deploy/logrotate/admin2 through logrotate itself (debug and forced runs on real files)."""

from __future__ import annotations

import grp
import gzip
import os
import subprocess
from pathlib import Path

import pytest

from harness.processes import REPO, require_binary

ROTATE = REPO / "deploy" / "rotate-logs.sh"


@pytest.fixture
def layout(tmp_path):
    logs = tmp_path / "log" / "admin2"
    (logs / "nginx").mkdir(parents=True)
    state = tmp_path / "srv" / ".deploy"
    state.mkdir(parents=True)
    env = {
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "ADMIN2_LOG_DIR": str(logs),
        "ADMIN2_STATE_DIR": str(state),
        "ADMIN2_NGINX_REOPEN_CMD": f"echo reopened >> {tmp_path / 'reopen.calls'}",
        "ADMIN2_LOGROTATE_STATE": str(tmp_path / "logrotate.status"),
        "DEPLOY_ENV_FILE": str(tmp_path / "no-deploy.env"),
    }
    return tmp_path, logs, state, env


def run(env, *args):
    require_binary("logrotate", "Debian package logrotate")
    return subprocess.run(
        [str(ROTATE), *args], env=env, capture_output=True, text=True, check=False, timeout=60
    )


def test_the_rendered_configuration_names_real_paths_and_passes_logrotates_debug(layout):
    tmp_path, logs, state, env = layout
    rendered = run(env, "render")
    assert rendered.returncode == 0, rendered.stderr
    assert "@" not in rendered.stdout.replace("admin2@", "")
    assert f'"{state}/deploy.log"' in rendered.stdout
    assert f'"{logs}/*.log" "{logs}/nginx/*.log"' in rendered.stdout
    (logs / "nginx" / "access.log").write_text("line\n")

    debug = run(env, "--debug")

    assert debug.returncode == 0, debug.stderr
    report = debug.stdout + debug.stderr
    assert "error" not in report.lower(), report
    assert f"considering log {logs}/nginx/access.log" in report
    assert (logs / "nginx" / "access.log").read_text() == "line\n", "debug changes nothing"
    assert not (tmp_path / "reopen.calls").exists()


def test_a_forced_rotation_moves_compresses_and_reopens(layout):
    tmp_path, logs, state, env = layout
    access = logs / "nginx" / "access.log"
    deploy_log = state / "deploy.log"
    access.write_text('{"status": 200}\n' * 100)
    deploy_log.write_text("[2026-11-25T10:00:00Z] deploy started\n")
    (logs / "nginx" / "error.log").write_text("")  # empty: notifempty leaves it

    first = run(env)
    assert first.returncode == 0, first.stderr
    assert (logs / "nginx" / "access.log.1").read_text() == '{"status": 200}\n' * 100
    assert access.exists() and access.stat().st_size == 0, "a fresh file for Nginx"
    assert (state / "deploy.log.1").read_text().startswith("[2026-11-25T10:00:00Z]")
    assert not (logs / "nginx" / "error.log.1").exists()
    assert (tmp_path / "reopen.calls").read_text() == "reopened\n", "one reopen for all files"

    access.write_text("second day\n")
    second = run(env)
    assert second.returncode == 0, second.stderr
    # delaycompress: yesterday's file is compressed one rotation later
    with gzip.open(logs / "nginx" / "access.log.2.gz", "rt") as old:
        assert old.read() == '{"status": 200}\n' * 100
    assert (logs / "nginx" / "access.log.1").read_text() == "second day\n"
    assert Path(env["ADMIN2_LOGROTATE_STATE"]).read_text().count(str(access)) == 1


def test_releases_log_is_never_rotated(layout):
    _, _, state, env = layout
    (state / "releases.log").write_text("2026-11-25T10:00:00Z deploy abc ok root\n")
    assert run(env).returncode == 0
    assert (state / "releases.log").read_text().startswith("2026-11-25")
    assert not (state / "releases.log.1").exists()


def test_a_group_writable_log_directory_is_rotated_not_skipped(layout):
    """Without `su`, logrotate skips logs in a group-writable directory ("insecure
    permissions"): the deploy log of a checkout shared by a deploy group never rotated."""
    _, logs, state, env = layout
    group = grp.getgrnam("users").gr_gid  # a group other than root's: logrotate's check
    for directory in (state, logs):
        os.chown(directory, -1, group)
        directory.chmod(0o775)
    (state / "deploy.log").write_text("deploy line\n" * 10)
    (logs / "app.log").write_text("app line\n")

    result = run(env)

    assert result.returncode == 0, result.stdout + result.stderr
    report = result.stdout + result.stderr
    assert "insecure permissions" not in report, report
    assert (state / "deploy.log.1").exists(), report
    assert (logs / "app.log.1").exists(), report
