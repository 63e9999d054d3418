"""A production-configured admin2 on loopback for benchmarks: PostgreSQL database, users, session.

Shared by the benchmarks that need Django under the production settings. Creates (and drops)
its own database on the local PostgreSQL server and runs its own password-protected Redis.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from harness.redis import RedisServer

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

SEED_USERS = """
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
User = get_user_model()
User.objects.bulk_create(
    [User(username=f"user{i:04d}", email=f"user{i:04d}@example.com") for i in range(__USERS__)],
    ignore_conflicts=True,
)
admin, _ = User.objects.get_or_create(
    username="bench-admin", defaults={"is_staff": True, "is_superuser": True}
)
session = SessionStore()
session[SESSION_KEY] = str(admin.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = admin.get_session_auth_hash()
session.create()
print("SESSION=" + session.session_key)
"""


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-qc", sql],
        check=True,
        capture_output=True,
    )


def production_env(
    database: str, static_root: Path, var_dir: Path, redis: RedisServer
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_ENVIRONMENT="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_BEHIND_TLS_PROXY="true",
        DJANGO_LOG_LEVEL="warning",
        DJANGO_STATIC_ROOT=str(static_root),
        ADMIN2_VAR_DIR=str(var_dir),
        POSTGRES_HOST="127.0.0.1",
        POSTGRES_DB=database,
        POSTGRES_USER="postgres",
        # A private password-protected Redis: production refuses one without a password.
        REDIS_URL=redis.url(1),
        CELERY_BROKER_URL=redis.url(0),
        CELERY_RESULT_BACKEND=redis.url(0),
        PYTHONPATH=str(REPO),
        # Gunicorn's /metrics server, as in production, on a loopback port of its own.
        ADMIN2_METRICS_BIND="127.0.0.1",
        ADMIN2_METRICS_PORT=str(_free_port()),
    )
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def production_app(users: int = 1000):
    """Yield (env, session_key) for a migrated production database with ``users`` users.

    The logged-in superuser is one of them, so a "Show all" changelist has exactly ``users`` rows.
    """
    database = f"admin2_bench_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {database}")
    psql(f"CREATE DATABASE {database}")
    with tempfile.TemporaryDirectory(prefix="admin2-bench-") as tmp:
        redis = RedisServer(Path(tmp))
        redis.start()
        env = production_env(database, Path(tmp) / "static", Path(tmp) / "var", redis)
        try:
            admin2 = str(BIN / "admin2")
            subprocess.run([admin2, "migrate", "-v0"], env=env, cwd=REPO, check=True)
            subprocess.run(
                [admin2, "collectstatic", "--noinput", "-v0"], env=env, cwd=REPO, check=True
            )
            out = subprocess.run(
                [admin2, "shell", "-c", SEED_USERS.replace("__USERS__", str(users - 1))],
                env=env, cwd=REPO, check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            session = next(
                line.split("=", 1)[1] for line in out.splitlines() if line.startswith("SESSION=")
            )
            yield env, session
        finally:
            redis.stop()
            psql(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@contextmanager
def gunicorn(app: str, port: int, env: dict[str, str], config: Path):
    argv = [str(BIN / "gunicorn"), "-c", str(config), "--bind", f"127.0.0.1:{port}", app]
    with tempfile.TemporaryFile() as log:
        yield from _serve(argv, port, env, log)


def _serve(argv, port, env, log):
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode()[-3000:]
                    raise SystemExit(f"gunicorn did not start:\n{tail}") from None
                time.sleep(0.2)
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)
