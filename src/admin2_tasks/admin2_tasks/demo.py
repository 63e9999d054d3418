"""What ``admin2 demo`` runs for background tasks: a worker with embedded beat, and one task."""

from __future__ import annotations

import sys


def worker_argv() -> list[str]:
    # Threads: several tasks at once without forking, fine on the embedded broker and SQLite.
    # -B runs beat inside the worker, so the demo's periodic jobs run too.
    return [
        sys.executable, "-m", "celery", "-A", "admin2_tasks", "worker", "-B",
        "-P", "threads", "-c", "4", "-n", "demo@%h", "--loglevel", "INFO",
    ]  # fmt: skip


def queue_round_trip(stdout) -> None:
    from admin2 import background
    from admin2_tasks.tasks import ROUND_TRIP

    task_id = background.submit(ROUND_TRIP)
    stdout.write(f"queued {ROUND_TRIP} ({task_id}); the demo worker will run it")
