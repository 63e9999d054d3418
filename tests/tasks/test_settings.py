"""The CELERY_* settings per environment, checked in real child processes."""

from __future__ import annotations

import json
import secrets

import pytest

from harness.processes import django_env, run_admin2
from tests.support import start_up

pytestmark = pytest.mark.slow

PRINT = (
    "import json; from django.conf import settings as s; print(json.dumps({k: str(getattr(s, k))"
    " for k in dir(s) if k.startswith(('CELERY_', 'ADMIN2_TASKS_'))}))"
)


def production_env(**overrides):
    env = django_env(
        DJANGO_ENVIRONMENT="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="admin2.example.com",
        POSTGRES_HOST="127.0.0.1",
        POSTGRES_DB="admin2",
        REDIS_URL="redis://127.0.0.1:6379/1",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
        CELERY_RESULT_BACKEND="redis://127.0.0.1:6379/0",
        REDIS_PASSWORD="the-redis-password",
    )
    env.update({k: v for k, v in overrides.items() if v is not None})
    for name in [k for k, v in overrides.items() if v is None]:
        env.pop(name, None)
    return env


def celery_settings(env) -> dict:
    result = run_admin2("shell", "-c", PRINT, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_is_durable_json_only_and_never_eager():
    values = celery_settings(production_env())
    assert values["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/0"
    # Redis's password beside the URLs (Celery reads the URLs from the environment itself).
    assert values["CELERY_BROKER_PASSWORD"] == values["CELERY_REDIS_PASSWORD"]
    assert values["CELERY_BROKER_PASSWORD"] == "the-redis-password"
    assert values["CELERY_TASK_ALWAYS_EAGER"] == "False"
    assert values["CELERY_TASK_ACKS_LATE"] == "True"
    assert values["CELERY_TASK_REJECT_ON_WORKER_LOST"] == "True"
    assert values["CELERY_WORKER_PREFETCH_MULTIPLIER"] == "1"
    assert values["CELERY_ACCEPT_CONTENT"] == "['json']"
    assert values["CELERY_TASK_SERIALIZER"] == values["CELERY_RESULT_SERIALIZER"] == "json"
    options = values["CELERY_BROKER_TRANSPORT_OPTIONS"]
    assert "'visibility_timeout': 1800" in options
    assert int(values["CELERY_TASK_SOFT_TIME_LIMIT"]) < int(values["CELERY_TASK_TIME_LIMIT"])
    assert int(values["CELERY_TASK_TIME_LIMIT"]) < 1800


@pytest.mark.parametrize("environment", ["production", "staging"])
def test_redis_environments_require_the_broker_url(environment):
    env = production_env(DJANGO_ENVIRONMENT=environment, CELERY_BROKER_URL=None)
    assert "CELERY_BROKER_URL: required environment variable is not set" in start_up.refusal(env)


def test_production_refuses_the_embedded_broker():
    assert "CELERY_BROKER_URL: expected a URL with scheme redis or rediss" in start_up.refusal(
        production_env(CELERY_BROKER_URL="filesystem://localhost/")
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"CELERY_TASK_TIME_LIMIT": "soon"}, "CELERY_TASK_TIME_LIMIT: expected an integer"),
        ({"CELERY_RESULT_BACKEND": "db+sqlite://"}, "CELERY_RESULT_BACKEND: expected a URL"),
        (
            {"CELERY_TASK_SOFT_TIME_LIMIT": "100", "CELERY_TASK_TIME_LIMIT": "100"},
            "CELERY_TASK_SOFT_TIME_LIMIT: must be below CELERY_TASK_TIME_LIMIT",
        ),
        (
            {"CELERY_VISIBILITY_TIMEOUT": "960"},
            "CELERY_VISIBILITY_TIMEOUT: must exceed CELERY_TASK_TIME_LIMIT",
        ),
    ],
)
def test_a_malformed_value_stops_start_up_naming_the_variable(overrides, message):
    result = run_admin2("check", env=production_env(**overrides))
    assert result.returncode != 0
    assert message in result.stderr


def test_development_uses_the_embedded_broker_under_var_dir(tmp_path):
    env = django_env(DJANGO_ENVIRONMENT="development", ADMIN2_VAR_DIR=str(tmp_path))
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    values = celery_settings(env)
    assert values["CELERY_BROKER_URL"] == "filesystem://localhost/"
    assert values["CELERY_RESULT_BACKEND"] == f"file://{tmp_path}/celery/results"
    assert (
        f"'data_folder_in': '{tmp_path}/celery/broker/queue'"
        in (values["CELERY_BROKER_TRANSPORT_OPTIONS"])
    )
    assert values["CELERY_TASK_ALWAYS_EAGER"] == "False"
