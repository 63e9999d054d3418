"""What deploy/install-host.sh puts on the server: the backup timer and the logrotate
configuration, checked by systemd's and logrotate's own tools."""

from __future__ import annotations

import datetime as dt
import re
import subprocess

import pytest

from harness.processes import REPO, require_binary

INSTALL = REPO / "deploy" / "install-host.sh"


@pytest.fixture
def installed(tmp_path):
    root = tmp_path / "root"
    result = subprocess.run(
        [str(INSTALL), "--root", str(root)],
        env={"PATH": "/usr/sbin:/usr/bin:/bin", "DEPLOY_ENV_FILE": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return root


def verify(*units):
    analyze = require_binary("systemd-analyze", "Debian package systemd")
    return subprocess.run(
        [analyze, "verify", "--man=no", *map(str, units)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_backup_units_are_rendered_for_this_checkout_and_verify(installed):
    units = installed / "etc" / "systemd" / "system"
    service = (units / "admin2-backup.service").read_text()
    timer = (units / "admin2-backup.timer").read_text()
    assert f"ExecStart={REPO}/deploy/backup.sh" in service
    assert f"WorkingDirectory={REPO}" in service
    assert "Type=oneshot" in service and not re.search(r"@[A-Z_]+@", service)
    assert f"User={REPO.owner()}" in service, "runs as the checkout's owner"
    assert "Unit=admin2-backup.service" in timer and "Persistent=true" in timer

    result = verify(units / "admin2-backup.service", units / "admin2-backup.timer")

    assert result.returncode == 0, result.stdout + result.stderr


def test_a_unit_pointing_at_a_missing_script_fails_verification(installed, tmp_path):
    broken = tmp_path / "admin2-backup.service"
    text = (installed / "etc" / "systemd" / "system" / "admin2-backup.service").read_text()
    broken.write_text(text.replace("deploy/backup.sh", "deploy/no-such-script.sh"))

    result = verify(broken)

    assert result.returncode != 0
    assert "no-such-script.sh" in result.stdout + result.stderr


def test_the_timer_fires_nightly():
    analyze = require_binary("systemd-analyze", "Debian package systemd")
    timer = (REPO / "deploy" / "systemd" / "admin2-backup.timer").read_text()
    calendar = next(
        line.split("=", 1)[1] for line in timer.splitlines() if line.startswith("OnCalendar=")
    )

    result = subprocess.run(
        [analyze, "calendar", "--iterations=2", calendar],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    elapses = [
        line.split(":", 1)[1].split()
        for line in result.stdout.splitlines()
        if line.strip().startswith(("Next elapse:", "Iter. #2:"))
    ]
    assert len(elapses) == 2, result.stdout
    (_, first_day, first_time, zone), (_, second_day, second_time, _) = elapses
    assert (first_time, second_time, zone) == ("03:15:00", "03:15:00", "UTC")
    days = [dt.date.fromisoformat(day) for day in (first_day, second_day)]
    assert days[1] - days[0] == dt.timedelta(days=1), "every night"


def test_the_installed_logrotate_configuration_passes_logrotates_debug(installed, tmp_path):
    logrotate = require_binary("logrotate", "Debian package logrotate")
    config = installed / "etc" / "logrotate.d" / "admin2"
    text = config.read_text()
    assert f'"{REPO}/.deploy/deploy.log"' in text
    assert '"/var/log/admin2/*.log"' in text
    assert "nginx -s reopen" in text

    result = subprocess.run(
        [logrotate, "--debug", "--state", str(tmp_path / "status"), str(config)],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_install_refuses_the_real_root_to_a_normal_user(tmp_path):
    result = subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(INSTALL)],
        env={"PATH": "/usr/sbin:/usr/bin:/bin", "DEPLOY_ENV_FILE": str(tmp_path / "none")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "run as root" in result.stderr


def test_a_failed_backup_starts_the_alert_unit_which_calls_the_hook(installed, tmp_path):
    units = installed / "etc" / "systemd" / "system"
    service = (units / "admin2-backup.service").read_text()
    assert "OnFailure=admin2-alert@%n.service" in service
    template = (units / "admin2-alert@.service").read_text()
    assert f"{REPO}/deploy/alert.sh" in template and "@DEPLOY_PATH@" not in template
    # systemd verifies a template through one of its instances
    instance = tmp_path / "admin2-alert@admin2-backup.service.service"
    instance.write_text(template)

    result = verify(units / "admin2-backup.service", instance)

    assert result.returncode == 0, result.stdout + result.stderr


def test_unattended_security_upgrades_are_configured(installed):
    config = installed / "etc" / "apt" / "apt.conf.d" / "20auto-upgrades"
    text = config.read_text()
    assert 'APT::Periodic::Unattended-Upgrade "1";' in text
    assert 'APT::Periodic::Update-Package-Lists "1";' in text
    dumped = subprocess.run(
        ["apt-config", "-c", str(config), "dump"], capture_output=True, text=True, check=False
    )
    assert dumped.returncode == 0, dumped.stderr
    assert 'APT::Periodic::Unattended-Upgrade "1";' in dumped.stdout
