"""tasks_io: which Celery pool suits admin2's background work?

200 tasks that wait on I/O, and a CPU-bound control, on one real ``celery -A admin2_tasks
worker`` per pool (eventlet, prefork, solo) on a private redis-server; makespan per pool.
Method and findings: docs/benchmarks.md, "tasks_io".
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from celery import shared_task

from bench.common import free_port, wait

IO_TASKS, IO_SECONDS = 200, 0.5
CPU_TASKS, CPU_SECONDS = 12, 0.5
POOLS = [("eventlet", 100), ("prefork", 2), ("solo", 1)]

# The tasks live here; each worker imports them with ``-I bench.tasks_io``.


@shared_task(name="bench.io_wait")
def io_wait(redis_url: str, seconds: float) -> None:
    time.sleep(seconds)  # a green sleep under eventlet: the wait on ClickHouse or SMTP
    _done(redis_url)


@shared_task(name="bench.cpu_burn")
def cpu_burn(redis_url: str, loops: int) -> None:
    total = 0
    for i in range(loops):
        total += i * i
    _done(redis_url)


_effects: dict = {}  # one Redis client per worker process, made there, not one per task


def _done(redis_url: str) -> None:
    import redis

    client = _effects.get(redis_url)
    if client is None:
        client = _effects[redis_url] = redis.Redis.from_url(redis_url)
    client.pipeline(transaction=False).incr("bench:done").set(
        "bench:last", repr(time.time())
    ).execute()


def _calibrate_loops(seconds: float) -> int:
    loops = 1_000_000
    started = time.perf_counter()
    total = 0
    for i in range(loops):
        total += i * i
    return int(loops * seconds / (time.perf_counter() - started))


class Bench:
    def __init__(self, workdir: Path):
        import redis

        self.workdir = workdir
        self.repo = Path(__file__).resolve().parent.parent
        self.bin = Path(sys.executable).parent
        port = free_port()
        self.redis_proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.broker_url = f"redis://127.0.0.1:{port}/0"
        self.effect_url = f"redis://127.0.0.1:{port}/1"
        self.effects = redis.Redis.from_url(self.effect_url)
        wait("tasks_io", self._redis_up, 15, "redis-server")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
            # Development settings: every run tracked in a SQLite TaskRun table in workdir.
            "DJANGO_ENVIRONMENT": "development",
            "DJANGO_LOG_LEVEL": "warning",
            "ADMIN2_VAR_DIR": str(workdir),
            "ADMIN2_ANALYTICS_ENABLED": "false",
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_RESULT_BACKEND": self.broker_url,
            "PYTHONPATH": str(self.repo),
        }
        subprocess.run(
            [self.bin / "admin2", "migrate", "-v0"], cwd=self.repo, env=self.env, check=True
        )
        from celery import Celery

        self.client = Celery("bench", broker=self.broker_url, set_as_current=False)

    def _redis_up(self) -> bool:
        try:
            return bool(self.effects.ping())
        except Exception:
            return False

    def run(self, pool: str, concurrency: int, task: str, count: int, kwargs: dict) -> float:
        self.effects.delete("bench:done", "bench:last")
        name = f"bench-{pool}@%h"
        worker = subprocess.Popen(
            [self.bin / "celery", "-A", "admin2_tasks", "worker", "-P", pool,
             "-c", str(concurrency), "-n", name, "-I", "bench.tasks_io", "--loglevel", "WARNING"],
            cwd=self.repo, env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        node = name.replace("%h", socket.gethostname())
        try:
            wait("tasks_io", lambda: self.client.control.ping([node], timeout=0.5), 60, f"{node}")
            started = time.time()
            for _ in range(count):
                self.client.send_task(
                    task, kwargs={"redis_url": self.effect_url, **kwargs}, queue="default"
                )
            wait(
                "tasks_io",
                lambda: int(self.effects.get("bench:done") or 0) >= count,
                600,
                "the tasks",
            )
            return round(float(self.effects.get("bench:last")) - started, 2)
        finally:
            os.kill(worker.pid, signal.SIGTERM)  # stop the worker before Redis
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()

    def close(self) -> None:
        self.redis_proc.terminate()
        self.redis_proc.wait(10)


def measure() -> list[dict]:
    loops = _calibrate_loops(CPU_SECONDS)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-tasks-io-") as tmp:
        bench = Bench(Path(tmp))
        try:
            for workload, task, count, kwargs in (
                ("io", "bench.io_wait", IO_TASKS, {"seconds": IO_SECONDS}),
                ("cpu", "bench.cpu_burn", CPU_TASKS, {"loops": loops}),
            ):
                for pool, concurrency in POOLS:
                    makespan = bench.run(pool, concurrency, task, count, kwargs)
                    print(f"{workload} {pool} c={concurrency}: {count} tasks in {makespan}s")
                    runs.append({
                        "pool": pool, "concurrency": concurrency, "tasks": count,
                        "makespan_s": makespan, "workload": workload,
                    })  # fmt: skip
        finally:
            bench.close()
    return runs


def report(runs: list[dict]) -> None:
    from bench.common import markdown_table, publish

    solo = {r["workload"]: r["makespan_s"] for r in runs if r["pool"] == "solo"}
    rows = [
        [r["workload"], r["pool"], r["concurrency"], r["tasks"], r["makespan_s"],
         f"{solo[r['workload']] / r['makespan_s']:.1f}"]
        for r in runs
    ]  # fmt: skip
    table = markdown_table(
        ["workload", "pool", "concurrency", "tasks", "makespan s", "speed-up vs solo"], rows
    )
    io = {r["pool"]: r["makespan_s"] for r in runs if r["workload"] == "io"}
    cpu = {r["pool"]: r["makespan_s"] for r in runs if r["workload"] == "cpu"}
    overhead_ms = (io["solo"] - IO_TASKS * IO_SECONDS) / IO_TASKS * 1000
    eventlet_c = dict(POOLS)["eventlet"]
    ideal = IO_TASKS * IO_SECONDS / eventlet_c
    notes = f"""
One worker per row, fed by a private Redis, each task tracked in the TaskRun table as in
production; "io" tasks sleep {IO_SECONDS} s (a wait on I/O), "cpu" tasks compute for about
{solo["cpu"] / CPU_TASKS:.2f} s each (pure Python, calibrated at the start of the run). The
machine's 2 cores were shared with other work during the run: read the ratios.

- **I/O-bound** (the shape of admin2's work: waiting on ClickHouse, PostgreSQL, SMTP):
  eventlet finished {IO_TASKS} waits in {io["eventlet"]} s, {io["eventlet"] / ideal:.1f} times
  the ideal {ideal:g} s ({IO_TASKS} x {IO_SECONDS} s / {eventlet_c} green threads),
  {io["prefork"] / io["eventlet"]:.1f} times faster than prefork with 2 processes
  ({io["prefork"]} s) and {io["solo"] / io["eventlet"]:.1f} times faster than solo
  ({io["solo"]} s). A green thread costs a few kilobytes; a prefork process costs a
  Python interpreter, so 100 of them are not an option. What is not waiting runs in
  eventlet's one process, one task at a time: Celery's bookkeeping (Redis round trips to
  take and to acknowledge each message) and the TaskRun writes, which the green threads
  queue to one writer that commits them together on one connection
  (`admin2_tasks.group_commit`: the database driver does not yield to eventlet, so a
  connection and two commits per task stalled every green thread). The consumer holds one
  message beyond its green threads, so a finished task's place is refilled at once, not at
  the consumer's next poll of Redis, up to 2 s later (`admin2_tasks.green_consumer`).
  Solo, which writes each task's rows itself, spends about {overhead_ms:.0f} ms per task
  beyond its sleep.
- **CPU-bound control**: eventlet ({cpu["eventlet"]} s) is no faster than solo
  ({cpu["solo"]} s): green threads share one core and a computing task never yields, so it
  also stalls every other task and the worker's heartbeats while it runs (and the green time
  limits cannot interrupt it). Prefork runs {min(2, os.cpu_count() or 1)} tasks at once on
  separate cores ({cpu["prefork"]} s). Work that computes belongs on a prefork worker (a
  queue of its own), not on the eventlet one.
"""
    publish("tasks_io", runs, table, notes)


def main() -> None:
    report(measure())


if __name__ == "__main__":
    main()
