"""Redis's password end to end, as the stacks wire it: deploy/secrets.sh makes the
``redis_password`` secret, the redis service starts with it, and the application
containers' settings (REDIS_PASSWORD_FILE from Compose) reach the cache and the Celery
broker with it, while a client without it is refused."""

from __future__ import annotations

import os
import re
import stat
import subprocess

import pytest

from harness import compose
from harness.native import service_env, start_redis
from harness.processes import REPO, django_env, free_port, run_admin2

CONNECT = """
from django.conf import settings
from django.core.cache import cache
cache.set("admin2:password-check", {"ok": (1, 2)}, 30)
assert cache.get("admin2:password-check") == {"ok": (1, 2)}
from admin2_tasks.celery import app
with app.connection_for_write() as connection:
    connection.ensure_connection(max_retries=1)
    connection.default_channel.client.ping()
app.backend.client.ping()  # the result backend (Redis in staging and production)
print("CONNECTED", settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])
"""


def make_secrets(stack: str, directory, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(REPO / "deploy" / "secrets.sh"), stack, *extra],
        env={**os.environ, "ADMIN2_SECRETS_DIR": str(directory)},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


def test_deploy_secrets_makes_the_redis_password_once(tmp_path):
    directory = tmp_path / "secrets"
    assert make_secrets("staging", directory).returncode == 0
    secret = directory / "redis_password"
    password = secret.read_text()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}\n", password)
    assert stat.S_IMODE(secret.stat().st_mode) == 0o444
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    again = make_secrets("staging", directory)
    assert again.returncode == 0 and secret.read_text() == password  # never overwritten

    production = make_secrets("production", directory)
    assert {p.name for p in directory.iterdir()} == {
        "redis_password", "django_secret_key", "postgres_password",
    }  # fmt: skip
    assert secret.read_text() == password
    assert production.returncode != 0, "the ClickHouse password cannot be generated"
    assert "clickhouse_password is missing" in production.stderr


@pytest.mark.slow
@pytest.mark.parametrize("stack", compose.STACKS)
def test_the_application_reaches_redis_only_with_the_secret(stack, tmp_path):
    state = tmp_path / "app"
    state.mkdir()
    assert make_secrets("staging", state / "secrets").returncode == 0
    port = free_port()
    env = django_env(
        **service_env(
            stack, "web", state, redis_url=f"redis://127.0.0.1:{port}",
            CLICKHOUSE_HOST="", DJANGO_ALLOWED_HOSTS="localhost",
        )
    )  # fmt: skip
    assert env["REDIS_PASSWORD_FILE"] == str(state / "secrets" / "redis_password")
    assert "@" not in env["REDIS_URL"] + env["CELERY_BROKER_URL"], "no password in the env file"
    (tmp_path / "redis").mkdir()
    server = start_redis(stack, tmp_path / "redis", port, state / "secrets" / "redis_password")
    try:
        result = run_admin2("shell", "-c", CONNECT, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "CONNECTED RedisCache" in result.stdout

        without = {k: v for k, v in env.items() if k != "REDIS_PASSWORD_FILE"}
        refused = run_admin2("shell", "-c", CONNECT, env=without)
        assert refused.returncode != 0
        if stack == "production":
            assert "REDIS_PASSWORD: production refuses Redis without a password" in refused.stderr
        else:
            assert re.search(r"Authentication|NOAUTH|authenticated", refused.stderr), (
                refused.stderr[-2000:]
            )
    finally:
        server.stop()
