"""The example env files list every variable and, as Compose passes them, configure Django."""

from __future__ import annotations

import re

import pytest

from harness import compose
from harness.native import service_env
from harness.processes import REPO, django_env, run_admin2
from tests.support.settings_variables import settings_variables

# Read only by the test settings or the development demo.
NOT_FOR_CONTAINERS = {"ADMIN2_TEST_DB"}


def mentioned(text: str) -> set[str]:
    return set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", text))


def test_the_scanner_finds_settings_variables():
    assert {"DJANGO_SECRET_KEY", "POSTGRES_HOST", "CELERY_BROKER_URL"} <= settings_variables()


@pytest.mark.parametrize("stack", compose.STACKS)
def test_example_lists_every_variable_settings_read(stack):
    listed = mentioned(compose.example_env_file(stack).read_text())
    wanted = settings_variables() - NOT_FOR_CONTAINERS
    if stack == "production":
        wanted -= {"ADMIN2_DEMO_USER", "ADMIN2_DEMO_PASSWORD"}  # the demo refuses production
    assert sorted(wanted - listed) == []


@pytest.mark.parametrize("stack", compose.STACKS)
def test_example_lists_every_variable_the_compose_file_interpolates(stack):
    interpolated = set(re.findall(r"\$\{([A-Z0-9_]+)", compose.compose_file(stack).read_text()))
    listed = mentioned(compose.example_env_file(stack).read_text())
    assert sorted(interpolated - listed) == []


def test_production_example_lists_every_gunicorn_variable():
    config = (REPO / "containers" / "gunicorn.conf.py").read_text()
    knobs = set(re.findall(r"\b(GUNICORN_[A-Z_]+|PORT_WEB)\b", config))
    assert knobs
    assert sorted(knobs - mentioned(compose.example_env_file("production").read_text())) == []


SECRETS = (
    "DJANGO_SECRET_KEY",
    "DJANGO_SECRET_KEY_FALLBACKS",
    "POSTGRES_PASSWORD",
    "CLICKHOUSE_PASSWORD",
    "EMAIL_HOST_PASSWORD",
    "REDIS_PASSWORD",
    "ADMIN2_S3_SECRET_ACCESS_KEY",
)


def test_production_example_holds_no_secret_value():
    active = [
        line
        for line in compose.example_env_file("production").read_text().splitlines()
        if line.split("=", 1)[0] in SECRETS
    ]
    assert active == []


@pytest.mark.slow
def test_production_env_passes_djangos_deployment_checks(tmp_path):
    env = django_env(**service_env("production", "web", tmp_path))
    result = run_admin2("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.slow
def test_staging_env_passes_djangos_checks(tmp_path):
    env = django_env(**service_env("staging", "web", tmp_path))
    result = run_admin2("check", env=env)
    assert result.returncode == 0, result.stderr + result.stdout
