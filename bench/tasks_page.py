"""tasks_page: how long the "Workers and queues" page waits for the workers.

Real eventlet workers on a private redis-server; the page's remote-control calls timed as
they were (three broadcasts one after another) and as they are now. Method and findings:
docs/benchmarks.md, "tasks_page".
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import free_port, wait

TIMEOUT = 1.0  # ADMIN2_TASKS_INSPECT_TIMEOUT's default
REPEATS = 7


def sequential(app, timeout: float) -> dict:
    """The page before issue 21: each broadcast waits its full timeout in turn."""
    inspect = app.control.inspect(timeout=timeout)
    stats = inspect.stats() or {}
    inspect.active()
    inspect.active_queues()
    return stats


def timed(call) -> tuple[float, int]:
    times, answered = [], 0
    for _ in range(REPEATS):
        started = time.perf_counter()
        answered = len(call())
        times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3), answered


def measure() -> list[dict]:
    from celery import Celery

    from admin2_tasks.inspection import worker_details

    repo = Path(__file__).resolve().parent.parent
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-tasks-page-") as tmp:
        port = free_port()
        redis_proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
            "DJANGO_ENVIRONMENT": "development",
            "DJANGO_LOG_LEVEL": "warning",
            "ADMIN2_VAR_DIR": tmp,
            "ADMIN2_ANALYTICS_ENABLED": "false",
            "CELERY_BROKER_URL": url,
            "CELERY_RESULT_BACKEND": url,
        }
        app = Celery("bench", broker=url, set_as_current=False)
        workers: list[subprocess.Popen] = []
        nodes: list[str] = []
        try:
            wait("tasks_page", lambda: _ping_redis(port), 15, "redis-server")
            for count in (1, 2):
                name = f"page{count}@{socket.gethostname()}"
                workers.append(_start_worker(repo, env, name))
                nodes.append(name)
                wait("tasks_page", lambda n=name: app.control.ping([n], timeout=0.5), 60, name)
                cases = [
                    ("three broadcasts in turn (before)", lambda: sequential(app, TIMEOUT)),
                    ("at once, none expected", lambda: worker_details(app, (), TIMEOUT)),
                    ("at once, live ones expected", lambda: worker_details(app, nodes, TIMEOUT)),
                    (
                        "at once, one expected has gone",
                        lambda: worker_details(app, [*nodes, "gone@elsewhere"], TIMEOUT),
                    ),
                ]
                worker_details(app, nodes, TIMEOUT)  # warm: connections made
                for label, call in cases:
                    seconds, answered = timed(call)
                    print(f"{count} live, {label}: {seconds}s ({answered} answered)")
                    runs.append({
                        "live_workers": count, "method": label, "median_s": seconds,
                        "answered": answered, "timeout_s": TIMEOUT, "repeats": REPEATS,
                    })  # fmt: skip
        finally:
            for proc in workers:
                os.kill(proc.pid, signal.SIGTERM)
            for proc in workers:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
            redis_proc.terminate()
            redis_proc.wait(10)
    return runs


def _start_worker(repo: Path, env: dict, name: str) -> subprocess.Popen:
    argv = [
        Path(sys.executable).parent / "celery", "-A", "admin2_tasks", "worker",
        "-P", "eventlet", "-c", "100", "-n", name, "--loglevel", "WARNING",
    ]  # fmt: skip
    return subprocess.Popen(
        argv, cwd=repo, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _ping_redis(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def report(runs: list[dict]) -> None:
    from bench.common import markdown_table, publish

    before = {r["live_workers"]: r["median_s"] for r in runs if "before" in r["method"]}
    rows = [
        [r["live_workers"], r["method"], r["answered"], r["median_s"],
         f"{before[r['live_workers']] / r['median_s']:.0f}x"]
        for r in runs
    ]  # fmt: skip
    table = markdown_table(
        ["live workers", "how the page asks", "answered", "median s", "faster than before"], rows
    )
    notes = (
        f"Remote-control timeout {TIMEOUT} s (ADMIN2_TASKS_INSPECT_TIMEOUT's default), median "
        f'of {REPEATS}. "Expected" are the workers with a recent heartbeat: once that many '
        "answered, each broadcast stops waiting. With none expected, or one expected that "
        "has gone, the page still waits the timeout once (not three times)."
    )
    publish("tasks_page", runs, table, notes)


if __name__ == "__main__":
    report(measure())
