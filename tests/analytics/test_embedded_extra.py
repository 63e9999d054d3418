"""The embedded engine is an extra: a production install leaves it out, and embedded mode
without it stops start-up naming the extra.

The install is real: a fresh virtualenv from the lock's production set (no dev group, no
extras), as the production image installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.processes import REPO

pytestmark = pytest.mark.slow
WORKSPACE = ("admin2", "admin2-analytics", "admin2-tasks")


def _uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    assert found, "uv is installed by ./scripts/test"
    return found


@pytest.fixture(scope="module")
def production_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("prod") / "venv"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_PROJECT_ENVIRONMENT": str(venv)}
    subprocess.run(
        [_uv(), "sync", "--locked", "--no-dev", "--no-editable", "--python", sys.executable,
         # uv keys its cached build of a workspace member on pyproject.toml: a module added
         # since the last build would be missing from a reused wheel.
         *(f"--reinstall-package={name}" for name in WORKSPACE)],
        cwd=REPO, env=env, check=True, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    return venv


def _admin2_check(venv: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CLICKHOUSE_"))}
    return subprocess.run(
        [str(venv / "bin" / "admin2"), "check"],
        cwd=REPO,
        env={**clean, "DJANGO_ENVIRONMENT": "development", "ADMIN2_VAR_DIR": str(venv / "var"),
             **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_production_install_has_no_embedded_engine(production_venv):
    site = next((production_venv / "lib").glob("python3*/site-packages"))
    for package in ("chdb", "pyarrow", "pandas", "numpy"):
        assert not (site / package).exists(), package
    assert (site / "clickhouse_connect").exists()


def test_the_analytics_plugin_needs_no_celery_and_the_engine_only_as_an_extra(production_venv):
    site = next((production_venv / "lib").glob("python3*/site-packages"))
    metadata = next(site.glob("admin2_analytics-*.dist-info")) / "METADATA"
    requires = [
        line for line in metadata.read_text().splitlines() if line.startswith("Requires-Dist")
    ]
    assert not [line for line in requires if "celery" in line]
    (engine,) = [line for line in requires if "chdb" in line]
    assert "extra == 'embedded'" in engine or 'extra == "embedded"' in engine


def test_embedded_mode_without_the_extra_stops_start_up_naming_it(production_venv):
    result = _admin2_check(production_venv)
    assert result.returncode != 0
    assert "CLICKHOUSE_HOST" in result.stderr
    assert "admin2-analytics[embedded]" in result.stderr


def test_a_configured_server_needs_no_extra(production_venv):
    result = _admin2_check(production_venv, CLICKHOUSE_HOST="127.0.0.1", CLICKHOUSE_PORT="9")
    assert result.returncode == 0, result.stderr[-2000:]
