"""The Dockerfile: lint-clean, built the way the issue asks, and its build steps really work.

The fast first line: the instructions are checked, and the RUN steps of the builder and
production stages are replayed natively on Python 3.11 into a temporary venv. The real build
on the Docker Engine, and what runs from it, is proven in test_engine_*.py.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.dockerfile import DOCKERFILE, run_commands, stages
from harness.processes import REPO, venv_tool

SECRET_NAMES = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE|CREDENTIAL", re.I)


def test_hadolint_passes_at_warning_threshold():
    result = subprocess.run(
        [venv_tool("hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_fail_an_unpinned_apt_install(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text().replace("tini=0.19.0-1+b3", "tini"), encoding="utf-8")
    result = subprocess.run(
        [venv_tool("hadolint"), "--failure-threshold", "warning", str(bad)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "DL3008" in result.stdout


def test_multi_stage_from_python_311_slim_with_staging_and_production_targets():
    """3.11: the version the test suite runs on (MACHINE-FACTS), so what is tested is what
    ships; uv is told the same interpreter."""
    found = stages()
    assert {"base", "builder", "staging", "production"} <= set(found)
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", found["base"].base)
    assert found["builder"].env()["UV_PYTHON"] == "/usr/local/bin/python3.11"
    assert found["staging"].base == found["production"].base == "base"


def test_no_syntax_line_and_no_run_mount_so_every_builder_builds_it_offline():
    """A `# syntax=` line makes BuildKit fetch a frontend from Docker Hub (fails offline);
    `RUN --mount` fails the legacy builder behind `docker compose build` without buildx."""
    text = DOCKERFILE.read_text()
    assert not re.search(r"^#\s*syntax=", text, re.M | re.I)
    assert "--mount=" not in " ".join(a for s in stages().values() for a in s.all("RUN"))


def test_dependencies_come_from_the_lock_before_the_source_with_bytecode():
    builder = stages()["builder"]
    copies = " ".join(builder.all("COPY"))
    assert re.search(r"--from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ /uv ", copies)
    order = [(kw, args) for kw, args in builder.instructions if kw in {"COPY", "RUN"}]
    first_run = next(i for i, (kw, _) in enumerate(order) if kw == "RUN")
    before = " ".join(args for kw, args in order[:first_run] if kw == "COPY")
    for needed in (
        "uv.lock",
        "pyproject.toml",
        "src/admin2/pyproject.toml",
        "src/admin2_analytics/pyproject.toml",
        "src/admin2_tasks/pyproject.toml",
    ):
        assert needed in before, needed
    assert "COPY src ./src" not in before and "src ./src" not in before
    commands = run_commands(builder)
    assert all("uv sync --locked --no-dev" in command for command in commands)
    assert builder.env()["UV_COMPILE_BYTECODE"] == "1"


@pytest.mark.parametrize("target", ["staging", "production"])
def test_final_stages_run_as_a_non_root_user_under_tini_with_a_healthcheck(target):
    stage = stages()[target]
    (user,) = stage.all("USER")
    assert user.split(":")[0] not in {"0", "root"}
    assert stage.all("ENTRYPOINT") == ['["/usr/bin/tini", "--"]']
    (healthcheck,) = stage.all("HEALTHCHECK")
    assert "/app/containers/healthcheck.py" in healthcheck
    assert "tini" in " ".join(stages()["base"].all("RUN"))


def test_production_runs_gunicorn_with_the_project_config_and_collects_static_at_build():
    production = stages()["production"]
    assert production.all("CMD") == [
        '["gunicorn", "--config", "/app/containers/gunicorn.conf.py", "admin2.wsgi:application"]'
    ]
    (collect,) = [c for c in run_commands(production) if "collectstatic" in c]
    # The development environment's built-in key (django-insecure-...) lets settings load;
    # production refuses it at run time. No key is written in the Dockerfile at all.
    assert "DJANGO_ENVIRONMENT=development" in collect
    assert "DJANGO_SECRET_KEY" not in DOCKERFILE.read_text()


def test_no_instruction_carries_a_secret():
    for stage in stages().values():
        for keyword in ("ENV", "ARG", "LABEL"):
            for args in stage.all(keyword):
                assert not SECRET_NAMES.search(args), f"{stage.name}: {keyword} {args}"


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    ignored = (REPO / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", "containers/secrets", "containers/certs",
                  "containers/.env*", ".env", "deploy/.env*"):  # fmt: skip
        assert entry in ignored
    assert "!containers/.env.production.example" in ignored


def test_everything_the_dockerfile_copies_exists():
    for stage in stages().values():
        for args in stage.all("COPY"):
            if "--from=" in args:
                continue
            sources = [a for a in args.split() if not a.startswith("--")][:-1]
            for source in sources:
                assert source == "." or (REPO / source).exists(), source


def python_311() -> str:
    candidates = [shutil.which("python3.11"), "/usr/local/bin/python3.11", "/usr/bin/python3.11"]
    candidates += glob.glob("/root/.pyenv/versions/3.11*/bin/python3.11")
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            probe = subprocess.run(
                [candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            if probe.stdout.strip() == "True":
                return candidate
    pytest.fail("Python 3.11 is needed to replay the image build")


def _moved(command: str, app: Path, venv: Path, tmp: Path) -> str:
    """The image's paths (/app, /opt/venv, /tmp) moved under the test's directories."""
    places = {"/opt/venv": str(venv), "/tmp": str(tmp), "/app": str(app)}
    return re.sub(r"(?<![\w/.])(/opt/venv|/tmp|/app)(?=/|\b)", lambda m: places[m[1]], command)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_builder_and_production_steps_work_natively_on_python_311(tmp_path):
    found = stages()
    app, venv, tmp = tmp_path / "app", tmp_path / "venv", tmp_path / "tmp"
    for directory in (app, tmp, app / "static", app / "media", app / "var"):
        directory.mkdir(parents=True)
    # The caller's environment for uv's cache and registry settings; no Django settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{venv}/bin:/usr/local/bin:/usr/bin:/bin"
    for stage in ("base", "builder"):
        env.update({k: _moved(v, app, venv, tmp) for k, v in found[stage].env().items()})
    env.update(UV_PYTHON=python_311(), UV_PROJECT_ENVIRONMENT=str(venv), PYTHONPATH=str(app))
    # The image copies files (UV_LINK_MODE=copy) and compiles bytecode (40 s on two
    # cores); neither changes what gets installed, so the replay links and skips compiling.
    env.update(UV_LINK_MODE="hardlink", UV_COMPILE_BYTECODE="0")
    env["PATH"] = env["PATH"].replace("$PATH", "/usr/local/bin:/usr/bin:/bin")
    uv = shutil.which("uv") or pytest.fail("uv is not on PATH")
    env["PATH"] = f"{Path(uv).parent}:{env['PATH']}"

    def run(command: str) -> None:
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            cwd=app, env=env, capture_output=True, text=True, timeout=480, check=False,
        )  # fmt: skip
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}{result.stderr[-3000:]}"

    # Builder, first RUN: only the lock and the four pyproject files are there.
    shutil.copy(REPO / "uv.lock", app)
    shutil.copy(REPO / "pyproject.toml", app)
    for member in ("admin2", "admin2_analytics", "admin2_tasks"):
        (app / "src" / member).mkdir(parents=True)
        shutil.copy(REPO / "src" / member / "pyproject.toml", app / "src" / member)
    dependencies, workspace = run_commands(found["builder"])
    run(dependencies)
    assert not list(venv.glob("lib/python3.11/site-packages/admin2/"))
    # Then COPY src and the second RUN: the workspace packages as real copies, not links.
    shutil.rmtree(app / "src")
    shutil.copytree(REPO / "src", app / "src", ignore=shutil.ignore_patterns("__pycache__"))
    run(workspace)
    site = venv / "lib" / "python3.11" / "site-packages"
    for package in ("admin2", "admin2_analytics", "admin2_tasks"):
        assert (site / package / "__init__.py").is_file(), package
    assert not list(site.glob("*.pth")) or all(
        "src" not in p.read_text() for p in site.glob("_admin2*.pth")
    )
    assert not (site / "pytest").exists(), "dev tools must not reach the production venv"

    # Production stage: settings and the container scripts, then the build-time RUN.
    shutil.rmtree(app / "src")  # the production stage copies only the venv, not the source
    shutil.copytree(REPO / "settings", app / "settings", ignore=shutil.ignore_patterns("local.py"))
    (app / "containers").mkdir()
    for name in ("gunicorn.conf.py", "healthcheck.py", "release.py"):
        shutil.copy(REPO / "containers" / name, app / "containers")
    for command in run_commands(found["production"]):
        run(_moved(command, app, venv, tmp))
    manifest = app / "static" / "staticfiles.json"
    assert manifest.is_file()
    assert re.search(r"admin2/admin2\.[0-9a-f]{12}\.css", manifest.read_text())

    # The result starts as production: Gunicorn loads the app with the production settings.
    key = tmp_path / "secret_key"
    key.write_text(secrets.token_urlsafe(64))
    env.update(
        DJANGO_ENVIRONMENT="production",
        DJANGO_SECRET_KEY_FILE=str(key),
        DJANGO_ALLOWED_HOSTS="admin2.example.com",
        POSTGRES_HOST="127.0.0.1",
        REDIS_URL="redis://127.0.0.1:6379/1",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/0",
        REDIS_PASSWORD=secrets.token_urlsafe(32),
        # No embedded engine in production: a server is named (a closed port, never reached).
        CLICKHOUSE_HOST="127.0.0.1",
        CLICKHOUSE_PORT="9",
    )
    run(f"{venv}/bin/gunicorn --check-config -c {app}/containers/gunicorn.conf.py "
        "admin2.wsgi:application")  # fmt: skip
