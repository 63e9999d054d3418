"""Task executions on the test swarm, counted by PostgreSQL itself.

Test-only triggers log a row per heartbeat execution (its ``tasks_workerheartbeat`` write:
one per beat fire) and per task start (``tasks_taskrun`` moving to STARTED) into
``swarm_test_runs``; the application is unchanged."""

from __future__ import annotations

import itertools
import json
import uuid

import pytest

from harness.swarm_stack import STACK, SwarmStack

SERVICE_LABEL = "com.docker.swarm.service.name"

LOG = """
CREATE TABLE IF NOT EXISTS swarm_test_runs (
    kind text NOT NULL, key text NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE OR REPLACE FUNCTION swarm_test_log_heartbeat() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO swarm_test_runs (kind, key) VALUES ('heartbeat', NEW.worker); RETURN NEW; END $$;
CREATE OR REPLACE FUNCTION swarm_test_log_start() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO swarm_test_runs (kind, key) VALUES ('started', NEW.task_id); RETURN NEW; END $$;
DROP TRIGGER IF EXISTS swarm_test_heartbeat ON tasks_workerheartbeat;
CREATE TRIGGER swarm_test_heartbeat AFTER INSERT OR UPDATE ON tasks_workerheartbeat
    FOR EACH ROW EXECUTE FUNCTION swarm_test_log_heartbeat();
DROP TRIGGER IF EXISTS swarm_test_start ON tasks_taskrun;
CREATE TRIGGER swarm_test_start AFTER INSERT OR UPDATE OF state ON tasks_taskrun
    FOR EACH ROW WHEN (NEW.state = 'STARTED') EXECUTE FUNCTION swarm_test_log_start();
"""

# Published from a web task as the application publishes (TaskRun rows QUEUED on the way).
QUEUE = """
import itertools
import json
import uuid
from admin2_tasks.celery import app
ids = [app.send_task("admin2_tasks.round_trip").id for _ in range({count})]
print(json.dumps(ids))
"""


def psql(stack: SwarmStack, sql: str) -> list[list[str]]:
    done = stack.exec("db", "psql", "-v", "ON_ERROR_STOP=1", "-U", "admin2", "-d", "admin2",
                      "-At", "-F", "\t", "-c", sql)  # fmt: skip
    return [line.split("\t") for line in done.stdout.splitlines() if line]


def install(stack: SwarmStack) -> None:
    psql(stack, LOG)


def now(stack: SwarmStack) -> float:
    """The database's clock (epoch seconds): the log's times are on it."""
    return float(psql(stack, "SELECT extract(epoch FROM clock_timestamp())")[0][0])


def heartbeats(stack: SwarmStack, since: float, until: float) -> list[float]:
    since, until = float(since), float(until)  # numbers only go into the query
    rows = psql(stack, "SELECT extract(epoch FROM at) FROM swarm_test_runs WHERE kind = "  # noqa: S608
                f"'heartbeat' AND at BETWEEN to_timestamp({since}) AND to_timestamp({until}) "
                "ORDER BY at")  # fmt: skip
    return [float(row[0]) for row in rows]


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 2) for earlier, later in itertools.pairwise(times)]


def queue_round_trips(stack: SwarmStack, count: int, nodes) -> list[str]:
    """Publish ``count`` round trips from a web task on one of ``nodes``; their ids."""
    for node in nodes:
        found = node.docker("ps", "-q", "--filter", f"label={SERVICE_LABEL}={STACK}_web",
                            timeout=30).stdout.split()  # fmt: skip
        if found:
            done = node.docker("exec", found[0], "admin2", "shell", "-c",
                               QUEUE.format(count=count), timeout=600)  # fmt: skip
            return json.loads(done.stdout.strip().splitlines()[-1])
    pytest.fail(f"no web task on {[node.name for node in nodes]}")


def containers(node, service: str) -> list[str]:
    """Short ids (a task's hostname, so Celery's worker name) of ``service`` on ``node``."""
    found = node.docker("ps", "-q", "--filter", f"label={SERVICE_LABEL}={STACK}_{service}",
                        timeout=30).stdout.split()  # fmt: skip
    return [container[:12] for container in found]


def outcome(stack: SwarmStack, task_ids: list[str]) -> dict[str, tuple[int, str, str]]:
    """{task id: (times started, TaskRun state, worker)} for ``task_ids``."""
    listed = ",".join(f"'{uuid.UUID(task_id)}'" for task_id in task_ids)  # ids only
    rows = psql(stack, "SELECT r.task_id, r.state, r.worker, (SELECT count(*) FROM "  # noqa: S608
                "swarm_test_runs s WHERE s.kind = 'started' AND s.key = r.task_id) FROM "
                f"tasks_taskrun r WHERE r.task_id IN ({listed})")  # fmt: skip
    found = {task_id: (int(count), state, worker) for task_id, state, worker, count in rows}
    missing = set(task_ids) - set(found)
    if missing:
        pytest.fail(f"{len(missing)} queued tasks have no TaskRun row, e.g. {sorted(missing)[:3]}")
    return found


def not_run(found: dict[str, tuple[int, str, str]], lost_workers: set[str]) -> tuple[dict, dict]:
    """Of ``outcome``'s tasks that did not succeed: (those lost with the dead worker: never
    started, or started on it; the others)."""
    lost, strays = {}, {}
    for task_id, (_, state, worker) in found.items():
        if state == "SUCCESS":
            continue
        with_the_worker = (state, worker) == ("QUEUED", "") or _short(worker) in lost_workers
        (lost if with_the_worker else strays)[task_id] = (state, worker)
    return lost, strays


def _short(worker: str) -> str:  # Celery names a worker celery@<hostname: the container id>
    return worker.split("@")[-1]
