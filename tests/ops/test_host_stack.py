"""The server knows what it is: deploy/install-host.sh records the host's stack.

The recipes default to it, staging on a production host needs an explicit flag, and a
missing env file is an error naming it (never a silent fallback to the committed example).
Run from a temporary checkout with a recording `docker` first on PATH.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from harness.processes import REPO, VENV_BIN
from tests.ops import recording_docker
from tests.ops.test_justfile import just


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A server checkout: deploy/ and containers/ (Compose files, examples), no env files."""
    root = tmp_path / "srv-admin2"
    shutil.copytree(REPO / "deploy", root / "deploy", ignore=shutil.ignore_patterns(".env"))
    (root / "containers").mkdir()
    for name in ("docker-compose.staging.yml", "docker-compose.production.yml",
                 ".env.staging.example", ".env.production.example"):  # fmt: skip
        shutil.copy(REPO / "containers" / name, root / "containers" / name)
    return root


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    bin_dir, calls = recording_docker.install(tmp_path)
    return {
        "PATH": f"{bin_dir}:{VENV_BIN}:/usr/bin:/bin",
        "DOCKER_CALLS": str(calls),
        "HOME": str(tmp_path),
        "DEPLOY_ENV_FILE": str(tmp_path / "no-deploy-env"),
        "ADMIN2_HOST_STACK_FILE": str(tmp_path / "etc" / "admin2" / "stack"),
    }


def compose_calls(env: dict) -> list[list[str]]:
    calls = Path(env["DOCKER_CALLS"])
    if not calls.exists():
        return []
    return [c for c in recording_docker.recorded(calls) if c[:2] == ["compose", "-f"]]


def run(checkout: Path, env: dict, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(checkout / "deploy" / "compose.sh"), *args], cwd=checkout, env={**env, **extra},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def install_host(checkout: Path, env: dict, root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(checkout / "deploy" / "install-host.sh"), "--root", str(root), *args],
        env={**env, "PATH": "/usr/sbin:/usr/bin:/bin"}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "recorded"), [((), "production\n"), (("--stack", "staging"), "staging\n")],
    ids=["default", "staging-when-asked"],
)  # fmt: skip
def test_install_host_records_the_hosts_stack(checkout, env, tmp_path, args, recorded):
    env = {k: v for k, v in env.items() if k != "ADMIN2_HOST_STACK_FILE"}

    result = install_host(checkout, env, tmp_path / "root", *args)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "root" / "etc" / "admin2" / "stack").read_text() == recorded


def test_install_host_refuses_an_unknown_stack(checkout, env, tmp_path):
    env = {k: v for k, v in env.items() if k != "ADMIN2_HOST_STACK_FILE"}

    refused = install_host(checkout, env, tmp_path / "root", "--stack", "prod")

    assert refused.returncode != 0 and "--stack takes production or staging" in refused.stderr
    assert not (tmp_path / "root" / "etc" / "admin2" / "stack").exists()


def test_on_a_production_host_the_default_stack_is_production(checkout, env):
    stack_file = Path(env["ADMIN2_HOST_STACK_FILE"])
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text("production\n")
    (checkout / "containers" / ".env.production").write_text("DJANGO_ENVIRONMENT=production\n")

    result = run(checkout, env, "auto", "ps")

    assert result.returncode == 0, result.stderr
    (call,) = compose_calls(env)
    assert call[2] == str(checkout / "containers" / "docker-compose.production.yml")
    assert call[4] == str(checkout / "containers" / ".env.production")


def test_the_justfile_default_is_the_hosts_stack(env, tmp_path):
    stack_file = Path(env["ADMIN2_HOST_STACK_FILE"])
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text("production\n")
    env_file = tmp_path / "env.production"
    env_file.write_text("DJANGO_ENVIRONMENT=production\n")

    result = just("ps", env={**env, "ADMIN2_ENV_FILE": str(env_file)})

    assert result.returncode == 0, result.stderr
    (call,) = compose_calls(env)
    assert call[2] == str(REPO / "containers" / "docker-compose.production.yml")


def test_without_a_recorded_stack_the_default_is_staging(checkout, env):
    (checkout / "containers" / ".env.staging").write_text("DJANGO_ENVIRONMENT=staging\n")

    result = run(checkout, env, "auto", "ps")

    assert result.returncode == 0, result.stderr
    (call,) = compose_calls(env)
    assert call[2] == str(checkout / "containers" / "docker-compose.staging.yml")


def test_staging_on_a_production_host_needs_the_explicit_flag(checkout, env):
    stack_file = Path(env["ADMIN2_HOST_STACK_FILE"])
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text("production\n")
    (checkout / "containers" / ".env.staging").write_text("DJANGO_ENVIRONMENT=staging\n")

    refused = run(checkout, env, "staging", "up", "--detach")

    assert refused.returncode != 0
    assert "this host is a production host" in refused.stderr
    assert "ADMIN2_ALLOW_STAGING=yes" in refused.stderr
    assert compose_calls(env) == [], "nothing reached Compose"

    allowed = run(checkout, env, "staging", "ps", ADMIN2_ALLOW_STAGING="yes")
    assert allowed.returncode == 0, allowed.stderr
    assert compose_calls(env)[0][2].endswith("docker-compose.staging.yml")


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_a_missing_env_file_is_an_error_naming_it_never_the_example(checkout, env, stack):
    result = run(checkout, env, stack, "ps")

    assert result.returncode != 0
    assert f"{checkout}/containers/.env.{stack} is missing" in result.stderr
    assert f"copy containers/.env.{stack}.example" in result.stderr
    assert compose_calls(env) == [], "the example was not used"


def test_a_garbled_stack_file_is_named(checkout, env):
    stack_file = Path(env["ADMIN2_HOST_STACK_FILE"])
    stack_file.parent.mkdir(parents=True)
    stack_file.write_text("prod\n")

    result = run(checkout, env, "auto", "ps")

    assert result.returncode != 0
    assert f"{stack_file} says 'prod'" in result.stderr
