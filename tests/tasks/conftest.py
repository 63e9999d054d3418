"""Fixtures of the tasks plugin's tests: private Redis servers, worker environments that
share the test database, and pointing the Celery application at a given broker."""

from __future__ import annotations

import contextlib
import secrets

import pytest
import redis as redis_lib
from django.conf import settings

from harness.redis import RedisServer

WORKER_TASKS = "tests.tasks.worker_tasks"
# Short enough that a killed worker's task comes back within seconds: visibility timeout
# above the hard limit above the soft one, as the settings demand.
FAST_LIMITS = {
    "CELERY_TASK_SOFT_TIME_LIMIT": "2",
    "CELERY_TASK_TIME_LIMIT": "3",
    "CELERY_VISIBILITY_TIMEOUT": "4",
}


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis-data", appendonly=True)
    server.workdir.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def effects(redis_server):
    client = redis_lib.Redis.from_url(redis_server.url(1))
    yield client, redis_server.url(1)
    client.close()


def production_worker_env(redis_url: str, **overrides: str) -> dict[str, str]:
    """Production settings for a worker that uses the test run's PostgreSQL database."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("worker tests need the PostgreSQL test database (ADMIN2_TEST_DB=postgres)")
    env = {
        "DJANGO_ENVIRONMENT": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
        "DJANGO_ALLOWED_HOSTS": "localhost",
        "POSTGRES_HOST": database["HOST"] or "127.0.0.1",
        "POSTGRES_PORT": str(database["PORT"] or 5432),
        "POSTGRES_DB": database["NAME"],
        "POSTGRES_USER": database["USER"],
        "POSTGRES_PASSWORD": database["PASSWORD"] or "",
        "REDIS_URL": redis_url,
        "ADMIN2_ANALYTICS_ENABLED": "false",
        "DJANGO_LOG_LEVEL": "info",
        **FAST_LIMITS,
    }
    env.update(overrides)
    return env


@contextlib.contextmanager
def app_on_broker(url: str, **transport_options):
    """Point the project's Celery application (and so admin2.background) at ``url``."""
    from admin2_tasks.celery import app

    saved = (app.conf.broker_url, app.conf.broker_transport_options)
    app.conf.broker_url = url
    app.conf.broker_transport_options = {
        "socket_connect_timeout": 1,
        "visibility_timeout": 4,
        **transport_options,
    }
    app._after_fork()  # drops pooled connections to the previous broker
    try:
        yield app
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = saved
        app._after_fork()
