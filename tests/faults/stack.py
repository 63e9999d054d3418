"""admin2 under the production settings on loopback, with services the test owns.

Every fault test starts its own PostgreSQL and Redis on free ports, prepares the database as
a deploy does and runs Gunicorn with ``containers/gunicorn.conf.py``. Settings reach the
server only through its environment.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from harness.postgres import PostgresCluster
from harness.processes import (
    REPO,
    ManagedProcess,
    django_env,
    free_port,
    run_admin2,
    venv_tool,
    wait_until,
)
from harness.redis import RedisServer
from tests.faults.browser import Browser

GUNICORN_CONFIG = REPO / "containers" / "gunicorn.conf.py"
ADMIN_USER = "fault-admin"
ADMIN_PASSWORD = secrets.token_urlsafe(16)
# What a monitor presents to read /readyz's details (a session cannot be checked while
# PostgreSQL, which keeps the sessions, is down).
READYZ_TOKEN = secrets.token_urlsafe(32)
DATABASE = "admin2"


def production_env(
    workdir: Path, *, postgres: PostgresCluster, redis: RedisServer, **overrides: str
) -> dict[str, str]:
    return django_env(
        DJANGO_ENVIRONMENT="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_BEHIND_TLS_PROXY="true",
        DJANGO_LOG_LEVEL="warning",
        DJANGO_STATIC_ROOT=str(workdir / "static"),
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
        ADMIN2_VAR_DIR=str(workdir / "var"),
        POSTGRES_HOST=postgres.host,
        POSTGRES_PORT=str(postgres.port),
        POSTGRES_DB=DATABASE,
        POSTGRES_USER="postgres",
        POSTGRES_CONNECT_TIMEOUT="2",
        REDIS_URL=redis.url(0),
        CELERY_BROKER_URL=redis.url(1),
        CELERY_RESULT_BACKEND=redis.url(1),
        ADMIN2_READYZ_TOKEN=READYZ_TOKEN,
        # Gunicorn's /metrics server: a port of this stack's own, on loopback.
        **{"ADMIN2_METRICS_PORT": str(free_port()), "ADMIN2_METRICS_BIND": "127.0.0.1"},
        **overrides,
    )


PREPARE = """
from django.contrib.auth import get_user_model
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
call_command("collectstatic", interactive=False, verbosity=0)
get_user_model().objects.create_superuser({user!r}, "fault-admin@example.com", {password!r})
"""


def prepare(env: dict[str, str]) -> None:
    """What a deploy does before the web starts: schema, static files, and a login.

    One process for all three: each ``admin2`` start loads Django and both plugins.
    """
    script = PREPARE.format(user=ADMIN_USER, password=ADMIN_PASSWORD)
    done = run_admin2("shell", "-c", script, env=env)
    assert done.returncode == 0, f"preparing the database failed:\n{done.stdout}\n{done.stderr}"


def run_script(env: dict[str, str], script: str) -> str:
    """Run Python inside ``admin2 shell`` with the stack's settings; return its output."""
    done = run_admin2("shell", "-c", script, env=env)
    assert done.returncode == 0, f"admin2 shell failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@dataclass
class WebServer:
    """Gunicorn running ``admin2.wsgi:application`` with the production configuration."""

    workdir: Path
    env: dict[str, str]
    workers: int = 2
    threads: int = 2
    port: int = 0
    process: ManagedProcess | None = None

    def start(self) -> None:
        self.port = self.port or free_port()
        argv = [
            venv_tool("gunicorn"), "-c", str(GUNICORN_CONFIG),
            "--bind", f"127.0.0.1:{self.port}", "admin2.wsgi:application",
        ]  # fmt: skip
        env = {
            **self.env,
            "GUNICORN_WORKERS": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            "GUNICORN_ACCESS_LOG": "false",
        }
        self.process = ManagedProcess(argv, env=env, log=self.workdir / f"gunicorn-{self.port}.log")
        wait_until(self._answers, 60, f"Gunicorn on port {self.port}")
        # Every worker booted: the pid set is what "no restart" is measured against.
        wait_until(lambda: len(self.worker_pids()) == self.workers, 30, "all Gunicorn workers")

    def _answers(self) -> bool:
        if self.process and not self.process.alive():
            raise AssertionError(f"Gunicorn exited:\n{self.output()[-3000:]}")
        try:
            return self.browser().get("/healthz").status == 200
        except OSError:
            return False

    def browser(self) -> Browser:
        return Browser(self.port)

    def worker_pids(self) -> set[int]:
        try:
            return {child.pid for child in psutil.Process(self.process.pid).children()}
        except psutil.NoSuchProcess:
            return set()

    def output(self) -> str:
        return self.process.output() if self.process else ""

    def stop(self) -> None:
        if self.process:
            self.process.stop()


@contextlib.contextmanager
def private_stack(tmp: Path) -> Iterator[tuple[PostgresCluster, RedisServer, WebServer]]:
    """PostgreSQL, Redis and the web server of the caller's own, stopped in reverse order."""
    postgres, redis, web = PostgresCluster(), RedisServer(tmp), None
    try:
        postgres.start()
        postgres.create_database(DATABASE)
        redis.start()
        env = production_env(tmp, postgres=postgres, redis=redis)
        prepare(env)
        web = WebServer(tmp, env)
        web.start()
        yield postgres, redis, web
    finally:
        if web:
            web.stop()
        redis.stop()
        postgres.destroy()
