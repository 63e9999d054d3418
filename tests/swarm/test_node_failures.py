"""Nodes leave under a request loop: a drain, then a crash (link down, all its processes
killed). Web tasks move; a drain fails no request, a crash only the one in flight on the lost
node. Seconds until the tasks run elsewhere: test-results/swarm-timings.json. Each test puts
the node back and waits for the stack to converge."""

from __future__ import annotations

import time

import pytest

from harness.processes import wait_until
from harness.swarm_stack import RequestLoop, converge, web_nodes
from tests.swarm.conftest import PASSWORD, record

pytestmark = [
    pytest.mark.slow,
    pytest.mark.engine,
    pytest.mark.own_engines,
    pytest.mark.timeout(1800),
]


def node_with_web(swarm_stack):
    """A node other than the first (PostgreSQL and Redis live there) that runs a web task:
    web spreads over the nodes, so one of the two replicas runs outside the first."""
    for node in swarm_stack.bed.nodes[1:]:
        if node.name in web_nodes(swarm_stack):
            return node
    pytest.fail(f"no web task outside the first node: {web_nodes(swarm_stack)}")


def node_state(swarm_stack, node) -> str:
    inspected = swarm_stack.docker("node", "inspect", "--format", "{{.Status.State}}", node.name)
    return inspected.stdout.strip()


def test_drain_moves_web_tasks_and_fails_no_request(swarm_stack):
    node = node_with_web(swarm_stack)
    survivors = [n for n in swarm_stack.bed.nodes if n is not node]
    with RequestLoop(swarm_stack, "boss", PASSWORD, nodes=survivors) as loop:
        time.sleep(3)
        started = time.monotonic()
        swarm_stack.docker("node", "update", "--availability", "drain", node.name)
        wait_until(lambda: len(web_nodes(swarm_stack)) == 2
                   and node.name not in web_nodes(swarm_stack), 180, "web tasks moved",
                   interval=0.5)  # fmt: skip
        record("drain_web_moved", time.monotonic() - started)
        time.sleep(3)
        summary = loop.finish()
    swarm_stack.docker("node", "update", "--availability", "active", node.name)
    converge(swarm_stack)
    assert summary["total"] > 20 and summary["failed"] == 0, summary


def test_node_loss_moves_web_tasks_and_fails_no_request(swarm_stack):
    node = node_with_web(swarm_stack)
    survivors = [n for n in swarm_stack.bed.nodes if n is not node]
    with RequestLoop(swarm_stack, "boss", PASSWORD, nodes=survivors) as loop:
        time.sleep(3)
        started = time.monotonic()
        node.crash()
        wait_until(lambda: node.name not in web_nodes(swarm_stack)
                   and len(web_nodes(swarm_stack)) == 2, 300, "web tasks rescheduled",
                   interval=0.5)  # fmt: skip
        record("node_loss_web_rescheduled", time.monotonic() - started)
        summary = loop.finish()
    record("node_loss_requests", summary["total"])
    record("node_loss_slowest_request", summary["slowest"])
    node.revive()
    wait_until(lambda: node_state(swarm_stack, node) == "ready", 180, "the node back",
               interval=1)  # fmt: skip
    converge(swarm_stack)
    # The loop sends one request at a time: the one in flight on the crashed node when it
    # dies is lost (no answer ever comes; the client gives up after 20 s). Every request
    # sent after the crash reaches a live task.
    assert summary["total"] > 20 and summary["failed"] <= 1, summary
