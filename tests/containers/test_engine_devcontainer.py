"""The devcontainer on the real Docker Engine, the way VS Code opens it.

``devcontainer up`` (the CLI VS Code uses) builds and starts the staging stack with the
devcontainer override on a copy of the checkout; ``devcontainer exec`` then runs ``admin2
check`` and a small pytest selection as the image user (uid 10001).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from harness import engine
from harness.engine_stack import parse_env
from harness.processes import free_port, venv_tool
from tests.containers.test_engine_staging import copy_checkout

pytestmark = [pytest.mark.slow, pytest.mark.engine, pytest.mark.timeout(1500)]

CLI = "@devcontainers/cli@0.89"


def devcontainer(checkout: Path, command: str, *args: str, timeout: float = 1200):
    """``devcontainer COMMAND --workspace-folder CHECKOUT ARGS...`` (options before the
    command that ``exec`` runs)."""
    npx = shutil.which("npx") or pytest.fail("npx is missing (Node 20)")
    # The CLI builds with the venv's docker-compose: the legacy builder, as this engine has
    # no buildx (so the Dockerfile must not use RUN --mount).
    env = {**os.environ, "PATH": f"{Path(venv_tool('docker-compose')).parent}:{os.environ['PATH']}"}
    return subprocess.run(
        [npx, "-y", CLI, command, "--workspace-folder", str(checkout), *args],
        capture_output=True, text=True, timeout=timeout, check=False, env=env,
    )  # fmt: skip


@pytest.fixture(scope="module")
def workspace():
    engine.require_engine()
    engine.ensure_images()
    root = Path(tempfile.mkdtemp(prefix="admin2-e2e-devc-"))
    checkout = root / "admin2"
    copy_checkout(checkout)
    containers = checkout / "containers"
    env = parse_env((containers / ".env.staging.example").read_text())
    env.update(
        ADMIN2_PUBLISH_ADDRESS="127.0.0.1",
        PORT_NGINX=str(free_port()),
        ADMIN2_REDIS_HOST_PORT=str(free_port()),
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT="9",
        ADMIN2_SECRETS_DIR=str(containers / "secrets"),
    )
    if engine.image_labels("nginx:1.28-bookworm").get(engine.LABEL):
        env["NGINX_UPSTREAM_RESOLVE"] = ""  # Debian's Nginx 1.22 stand-in
    (containers / ".env.staging").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    made = subprocess.run([str(checkout / "deploy" / "secrets.sh"), "staging"], cwd=checkout,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert made.returncode == 0, made.stderr
    up = devcontainer(checkout, "up", "--log-level", "info")
    result = json.loads(up.stdout.strip().splitlines()[-1]) if up.stdout.strip() else {}
    project = result.get("composeProjectName")
    try:
        assert result.get("outcome") == "success", up.stdout[-4000:] + up.stderr[-4000:]
        yield checkout
    finally:
        if project:
            subprocess.run(
                [venv_tool("docker-compose"), "--project-name", project,
                 "-f", str(containers / "docker-compose.staging.yml"),
                 "-f", str(checkout / ".devcontainer" / "docker-compose.devcontainer.yml"),
                 "--env-file", str(containers / ".env.staging"), "down", "-v", "--timeout", "5"],
                capture_output=True, timeout=300, check=False,
                env={**os.environ, "ADMIN2_ENV_FILE": str(containers / ".env.staging")},
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


def test_devcontainer_exec_runs_admin2_check_and_tests_as_the_image_user(workspace):
    ran = devcontainer(
        workspace, "exec", "sh", "-c",
        "id -u && uv run admin2 check && "
        "uv run pytest -q -p no:cacheprovider tests/core/test_health_endpoints.py",
        timeout=600,
    )  # fmt: skip
    output = ran.stdout + ran.stderr
    assert ran.returncode == 0, output[-4000:]
    assert output.splitlines()[0].strip() == "10001" or "\n10001\n" in output
    assert "System check identified no issues" in output
    assert " passed" in output and " failed" not in output
