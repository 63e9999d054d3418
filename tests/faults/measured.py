"""Durations the fault tests observe, printed at the end of the run for docs/reliability.md.

The tests assert only generous upper bounds (a page answers within its timeout); what they
saw is reported here, not asserted.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

seen: list[tuple[str, float]] = []


def note(what: str, seconds: float) -> None:
    seen.append((what, seconds))


@contextmanager
def timed(what: str):
    started = time.monotonic()
    yield
    note(what, time.monotonic() - started)


def export() -> list:
    """This process's durations, for the xdist controller (see ``tests/conftest.py``)."""
    return [list(entry) for entry in seen]


def merge(exported: list) -> None:
    seen.extend((what, seconds) for what, seconds in exported)


def summary_lines() -> list[str]:
    width = max((len(what) for what, _ in seen), default=0)
    return [f"{what:<{width}}  {seconds:7.2f} s" for what, seconds in seen]
