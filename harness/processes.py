"""Local processes for the tests: free ports, waiting, managed process groups, admin2 runs.

The services built on these (PostgreSQL, Redis, Nginx, sshd, Celery workers) live in
their own modules beside this one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


def require_binary(name: str, hint: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if not path:
        pytest.fail(f"{name} is not installed: {hint} (scripts/test installs it)")
    return path


class ManagedProcess:
    """A child process in its own process group, stopped with everything it spawned."""

    def __init__(self, argv: list[str], *, env: dict | None = None, cwd=REPO, log: Path):
        self.argv = argv
        self.log_path = log
        self._log = open(log, "ab")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 15) -> None:
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(5)
        # Whatever the leader left in its group when it died first (a test's own failure).
        self.signal(signal.SIGKILL)
        self._log.close()


def venv_tool(name: str) -> str:
    return str(VENV_BIN / name)


def django_env(**overrides: str) -> dict[str, str]:
    """Environment for a child admin2 process, without the test run's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ADMIN2_TEST"))}
    env.update({"PYTHONPATH": str(REPO), "DJANGO_SETTINGS_MODULE": "settings"})
    env.update(overrides)
    return env


def run_admin2(*args: str, env: dict[str, str], timeout: float = 120, cwd=REPO):
    return subprocess.run(
        [venv_tool("admin2"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
