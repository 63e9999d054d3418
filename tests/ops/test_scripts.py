"""The scripts under deploy/: strict bash, clean under ShellCheck, and the container logs
rotate by the Compose logging options they rely on."""

from __future__ import annotations

import json
import subprocess

import pytest

from harness.processes import REPO, venv_tool

SCRIPTS = sorted([*(REPO / "deploy").glob("*.sh"), *(REPO / "deploy" / "remote").glob("*.sh")])


def test_there_are_scripts_to_check():
    names = {p.name for p in SCRIPTS}
    assert {"deploy.sh", "release.sh", "backup.sh", "restore.sh", "rotate-logs.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_each_script_is_strict_executable_bash(script):
    lines = script.read_text().splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines[:30]
    assert script.stat().st_mode & 0o111, f"{script.name} is not executable"


def test_shellcheck_would_notice_a_mistake(tmp_path):
    sloppy = tmp_path / "sloppy.sh"
    sloppy.write_text("#!/usr/bin/env bash\nrm -rf $1/*\n")
    result = subprocess.run(
        [venv_tool("shellcheck"), str(sloppy)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0 and "SC2086" in result.stdout


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_every_container_log_rotates_by_its_compose_logging_options(stack):
    env_file = REPO / "containers" / f".env.{stack}.example"
    result = subprocess.run(
        [
            venv_tool("docker-compose"),
            "-f",
            str(REPO / "containers" / f"docker-compose.{stack}.yml"),
            "--env-file",
            str(env_file),
            "--profile",
            "*",
            "config",
            "--format",
            "json",
        ],
        env={"PATH": "/usr/bin:/bin", "ADMIN2_ENV_FILE": str(env_file)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name, service in services.items():
        logging = service.get("logging", {})
        assert logging.get("driver") == "json-file", f"{stack}/{name}: {logging}"
        assert {"max-size", "max-file"} <= set(logging.get("options", {})), f"{stack}/{name}"
