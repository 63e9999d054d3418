"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

The system Chromium, kept off any network service of its own; Django's async-safety check
off for this process; the analytics engine fixture shared with the live server.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.processes import REPO

# The analytics engine fixture, so the live server (a thread of this process) reads the same
# chDB demo directory.
from tests.analytics.conftest import (  # noqa: F401 (fixtures)
    _demo_engine,
    analytics_engine,
    fresh_engine,
    incidents,
    mail_and_hooks,
)

# Playwright's sync API runs an asyncio event loop in the test thread, and Django refuses
# ORM calls from a thread with a running loop (SynchronousOnlyOperation) because that is
# usually a mistake in async code. Here the test code is plain synchronous code that merely
# shares the thread with Playwright's loop, so the check is off for this test process.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# The system Chromium (scripts/ensure-system-deps installs it), never Playwright's own
# downloads; the flags keep it from reaching any network service of its own (updates, sync,
# metrics).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = REPO / "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test installs it)")
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (gitignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
