"""One swarm for every test in tests/swarm: 3 dockerd in network namespaces, the registry,
the swarm formed by `just swarm-init` over SSH, the production stack deployed by
deploy/swarm/deploy.sh (media in a bucket of moto in the hub: harness/swarm_s3.py), and a
superuser. Built once per session (a swarm costs minutes of CI's budget); always taken down,
unless ADMIN2_E2E_KEEP."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from harness import engine, swarm_runs
from harness.processes import REPO, wait_until
from harness.swarm import Swarm
from harness.swarm_s3 import HubS3
from harness.swarm_ssh import SwarmSsh
from harness.swarm_stack import HEARTBEAT_SECONDS, IMAGES, SwarmStack, app_with_embedded_engine

PASSWORD = "a-long-swarm-password-9"  # throwaway test account
TIMINGS = REPO / "test-results" / "swarm-timings.json"


def record(name: str, seconds: float) -> None:
    engine.record_timing(TIMINGS, name, seconds)


def assert_beat_fired_once_per_period(stack, since: float, until: float, what: str) -> None:
    """Each heartbeat execution is one fire of beat: two closer than half a period would be
    two schedulers (or one fire run twice). Beat must also fire again after ``until``."""
    wait_until(lambda: swarm_runs.heartbeats(stack, until, until + 3600),
               4 * HEARTBEAT_SECONDS + 60, f"a heartbeat after the {what}", interval=2)  # fmt: skip
    # From two periods before ``since``: the gap that spans the disruption starts at a fire
    # before it, which must count.
    fires = swarm_runs.heartbeats(stack, since - 2 * HEARTBEAT_SECONDS, swarm_runs.now(stack))
    gaps = swarm_runs.gaps(fires)
    record(f"beat_longest_gap_{what}", max(gaps))
    assert len(fires) >= 3, fires
    assert min(gaps) >= HEARTBEAT_SECONDS / 2, (what, gaps)


@pytest.fixture(scope="session")
def swarm_stack():
    engine.require_engine()
    engine.ensure_images()
    engine.build_app("production", f"admin2:{engine.TEST_TAG}")
    app = app_with_embedded_engine()  # a worker's exports need an engine on the bed
    started = time.monotonic()
    bed = Swarm(3)
    s3 = None
    try:
        bed.up({**IMAGES, "app": app}, join=False)
        workdir = Path(tempfile.mkdtemp(prefix="admin2-swarm-"))
        s3 = HubS3(bed, workdir / "s3")
        bucket = s3.start()
        ssh = SwarmSsh(bed, workdir / "ssh")
        ssh.start()
        record("swarm_init", ssh.swarm_init())
        # Media (exports included) in the bucket, its secret key as a swarm secret.
        engine_env = {"CLICKHOUSE_HOST": "", "CLICKHOUSE_DATABASE": "default"}  # chDB
        stack = SwarmStack(bed, workdir, env={**bucket.env, **engine_env},
                           s3_secret=bucket.secret)  # fmt: skip
        stack.s3 = s3
        stack.prepare(label_nodes=False)
        record("deploy", stack.deploy())
        stack.exec("web", "admin2", "createsuperuser", "--noinput", "--username", "boss",
                   "--email", "boss@example.com",
                   env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD})  # fmt: skip
        swarm_runs.install(stack)
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
            if s3:
                s3.stop()
