"""One swarm for every test in tests/swarm: 3 dockerd in network namespaces, the registry,
the production stack deployed by deploy/swarm/deploy.sh, and a superuser. Built once per
session (a swarm costs minutes of CI's budget); always taken down, unless ADMIN2_E2E_KEEP."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from harness import engine
from harness.processes import REPO
from harness.swarm import Swarm
from harness.swarm_stack import SwarmStack

PASSWORD = "a-long-swarm-password-9"  # throwaway test account
TIMINGS = REPO / "test-results" / "swarm-timings.json"


def record(name: str, seconds: float) -> None:
    engine.record_timing(TIMINGS, name, seconds)


@pytest.fixture(scope="session")
def swarm_stack():
    engine.require_engine()
    engine.ensure_images()
    engine.build_app("production", f"admin2:{engine.TEST_TAG}")
    started = time.monotonic()
    bed = Swarm(3)
    try:
        bed.up()
        stack = SwarmStack(bed, Path(tempfile.mkdtemp(prefix="admin2-swarm-")))
        stack.prepare()
        record("deploy", stack.deploy())
        stack.exec("web", "admin2", "createsuperuser", "--noinput", "--username", "boss",
                   "--email", "boss@example.com",
                   env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD})  # fmt: skip
        for step, seconds in bed.timings.items():
            record(step, seconds)
        record("up_total", time.monotonic() - started)
        yield stack
    finally:
        if os.environ.get("ADMIN2_E2E_KEEP"):
            engine.log(f"kept: swarm {bed.prefix} (sockets in {bed.run})")
        else:
            down = time.monotonic()
            bed.down()
            record("down", time.monotonic() - down)
