"""A release deployed under a request loop through every edge node: web and the workers
update start-first, health-gated, with no failed request; afterwards every app service
runs the new digest and login still works. Beat (updated stop-first) fires its heartbeat
never twice in one period across the update, and again once the update is done."""

from __future__ import annotations

import json

import pytest

from harness import swarm_runs
from harness.swarm_stack import RequestLoop, new_release
from tests.swarm.conftest import PASSWORD, assert_beat_fired_once_per_period, record

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.own_engines,
    pytest.mark.timeout(1800),
]


def test_rolling_update_under_load_fails_no_request(swarm_stack):
    release = new_release(swarm_stack, "2")
    since = swarm_runs.now(swarm_stack)
    with RequestLoop(swarm_stack, "boss", PASSWORD) as loop:
        record("rolling_update", swarm_stack.deploy(release))
        summary = loop.finish()
    updated = swarm_runs.now(swarm_stack)
    record("rolling_update_requests", summary["total"])
    record("rolling_update_slowest_request", summary["slowest"])
    record("rolling_update_refused_then_served", summary["refused_then_served"])
    assert summary["total"] > 50, summary  # the loop ran through the whole update
    edges = swarm_stack.docker(
        "service", "ps", "--format", "{{.Node}} {{.CurrentState}} {{.Error}}", "admin2_nginx"
    ).stdout
    assert summary["failed"] == 0, (summary, edges)
    # An edge refusing connections is a gap a single-address client would see: rare, or a bug.
    assert summary["refused_then_served"] <= 3, (summary, edges)
    for service in ("web", "celery", "celery-beat", "migrate"):
        image = swarm_stack.docker("service", "inspect", "--format",
                                   "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                                   f"admin2_{service}").stdout.strip()  # fmt: skip
        assert image == release, (service, image)
    answer = json.loads(swarm_stack.client("login", f"https://{swarm_stack.bed.nodes[2].address}:8443",
                                           "boss", PASSWORD))  # fmt: skip
    assert answer["ok"], answer
    assert_beat_fired_once_per_period(swarm_stack, since, updated, "update")
