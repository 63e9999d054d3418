"""Real Celery worker and beat processes for tests: start, wait until ready, stop or kill.

``CeleryWorker(redis_url, pool="eventlet", concurrency=100, workdir=..., env=...)`` and
``CeleryBeat``: ``start()`` returns once the node is ready, ``stop()`` is a warm shutdown and
``kill()`` SIGKILLs the whole process group. More: docs/testing.md, "Support helpers".
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from harness.processes import ManagedProcess, django_env, venv_tool, wait_until


class CeleryProcess:
    role = "celery"

    def __init__(self, broker_url: str, *, workdir: Path, env=None, argv=None, result_backend=None):
        self.broker_url = broker_url
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        # `env` overrides any of these: pass the database and DJANGO_ENVIRONMENT there (the
        # default, development, uses SQLite under workdir). `argv` replaces the command line.
        base = {"CELERY_BROKER_URL": broker_url, "ADMIN2_VAR_DIR": str(self.workdir)}
        results = result_backend or _default_results(broker_url)
        if results:
            base["CELERY_RESULT_BACKEND"] = results
        self.env = django_env(**{**base, **(env or {})})
        self.argv = list(argv) if argv else self.default_argv()
        self.process: ManagedProcess | None = None

    def default_argv(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60) -> CeleryProcess:
        log = self.workdir / f"{self.role}-{uuid.uuid4().hex[:6]}.log"
        self.process = ManagedProcess(self.argv, env=self.env, log=log)
        wait_until(self._ready_or_dead, timeout, f"{self.role} to be ready ({log})")
        if not self.alive():
            pytest.fail(f"{self.role} exited with {self.process.proc.returncode}:\n{self.output()}")
        return self

    def _ready_or_dead(self) -> bool:
        return not self.alive() or self.ready()

    def ready(self) -> bool:
        raise NotImplementedError

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def output(self) -> str:
        return self.process.output() if self.process else ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 30) -> None:
        """Warm shutdown: running tasks finish, reserved ones go back to the broker."""
        # Stop workers before their Redis: with the broker gone a worker may ignore TERM for
        # a minute.
        if self.process is None:
            return
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.signal(signal.SIGKILL)
                self.process.proc.wait(10)
        self.process.stop()  # reaps children left in the group, closes the log

    def kill(self) -> None:
        """SIGKILL the whole process group: what an OOM killer or a power cut does."""
        if self.process is None:
            return
        self.process.signal(signal.SIGKILL)
        self.process.proc.wait(10)
        self.process.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class CeleryWorker(CeleryProcess):
    role = "worker"

    def __init__(
        self,
        broker_url: str,
        pool: str = "eventlet",
        concurrency: int = 100,
        *,
        workdir: Path,
        env=None,
        argv=None,
        name: str | None = None,
        result_backend=None,
        extra_args=(),
    ):
        self.pool, self.concurrency = pool, concurrency
        self.name = name or f"test-{uuid.uuid4().hex[:8]}@%h"
        self.extra_args = list(extra_args)
        super().__init__(
            broker_url, workdir=workdir, env=env, argv=argv, result_backend=result_backend
        )
        self.node = _node_name(self.argv)
        self._control = None

    def default_argv(self) -> list[str]:
        return [
            venv_tool("celery"), "-A", "admin2_tasks", "worker", "-P", self.pool,
            "-c", str(self.concurrency), "-n", self.name, "--loglevel", "INFO",
            *self.extra_args,
        ]  # fmt: skip

    def ready(self) -> bool:
        if self.broker_url.startswith("redis"):
            return self.ping()
        return f"{self.node} ready." in self.output()

    def ping(self, timeout: float = 0.5) -> bool:
        """Does this node answer a remote-control ping through the broker (Redis only)?"""
        if self._control is None:
            from celery import Celery

            self._control = Celery("test-control", broker=self.broker_url, set_as_current=False)
            self._control.conf.broker_connection_timeout = 1
            self._control.conf.broker_transport_options = {"socket_connect_timeout": 1}
        try:
            replies = self._control.control.ping(destination=[self.node], timeout=timeout)
        except Exception:
            return False
        return any(self.node in reply for reply in replies or [])


class CeleryBeat(CeleryProcess):
    role = "beat"

    def default_argv(self) -> list[str]:
        return [venv_tool("celery"), "-A", "admin2_tasks", "beat", "--loglevel", "INFO"]

    @property
    def heartbeat_file(self) -> Path:
        return self.workdir / "celery" / "beat.heartbeat"

    def ready(self) -> bool:
        return self.heartbeat_file.exists()


def _default_results(broker_url: str) -> str | None:
    if broker_url.startswith("redis"):
        return broker_url
    return None


def _node_name(argv: list[str]) -> str:
    name = "celery@%h"
    for index, arg in enumerate(argv):
        if arg in ("-n", "--hostname") and index + 1 < len(argv):
            name = argv[index + 1]
        elif arg.startswith("--hostname="):
            name = arg.split("=", 1)[1]
    return name.replace("%h", socket.gethostname())
