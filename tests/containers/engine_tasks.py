"""A test-only task for the real-engine stack tests, mounted into the worker container by a
test override (``-I e2e_engine_tasks``; see test_engine_production.py). It records every
attempt and every completion as lines in files under ``ADMIN2_VAR_DIR/e2e`` (the stack's
``app_var`` volume), so a test counts them from outside, across container restarts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from celery import shared_task


def _record(name: str, line: str) -> None:
    directory = Path(os.environ.get("ADMIN2_VAR_DIR", "/app/var")) / "e2e"
    directory.mkdir(exist_ok=True)
    with (directory / name).open("a") as handle:
        handle.write(line + "\n")


@shared_task(name="e2e.slow_effect", bind=True)
def slow_effect(self, key: str, seconds: float) -> str:
    _record(f"{key}.attempts", f"{self.request.hostname} {self.request.id}")
    time.sleep(seconds)
    _record(f"{key}.completions", self.request.id)
    return "done"
