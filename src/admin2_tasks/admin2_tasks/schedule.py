"""The beat schedule, built from the periodic jobs plugins register in admin2.registry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from admin2.registry import PeriodicJob


def build_beat_schedule(jobs: Iterable[PeriodicJob]) -> dict[str, dict]:
    """One beat entry per job. A message not picked up before the next run is due expires,
    so a worker that was down for hours runs each job once, not once per missed slot."""
    schedule = {}
    for job in sorted(jobs, key=lambda job: job.name):
        if job.every_seconds <= 0:
            raise ValueError(f"periodic job {job.name!r}: every_seconds must be positive")
        options = {"expires": float(job.every_seconds)}
        if job.queue:
            options["queue"] = str(job.queue)
        schedule[job.name] = {
            "task": job.task,
            "schedule": timedelta(seconds=job.every_seconds),
            "kwargs": dict(job.kwargs),
            "options": options,
        }
    return schedule
