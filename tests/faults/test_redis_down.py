"""Redis (cache and broker) goes away under a running web server and worker, then comes back."""

from __future__ import annotations

import json

import pytest

from tests.faults.stack import ADMIN_PASSWORD, ADMIN_USER, DATABASE
from tests.support.celery_worker import CeleryWorker
from tests.support.services import run_admin2, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# A web-side submission exactly as a page makes it, in a process of its own.
SUBMIT = """
import json
from admin2.background import BackgroundUnavailable, submit
try:
    print(json.dumps({"queued": submit("admin2_tasks.round_trip")}))
except BackgroundUnavailable as exc:
    print(json.dumps({"refused": str(exc)}))
"""


def submit_round_trip(env) -> dict:
    done = run_admin2("shell", "-c", SUBMIT, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def worker(tmp_path, stack_env, redis_server):
    node = CeleryWorker(
        redis_server.url(1), pool="eventlet", concurrency=4, workdir=tmp_path / "worker",
        env=stack_env,
    )  # fmt: skip
    node.start()
    yield node
    node.stop()  # before its Redis goes (fixture order): see tests/support/celery_worker.py


def task_state(postgres, task_id: str) -> str:
    sql = "SELECT state FROM tasks_taskrun WHERE task_id = %s"
    return postgres.fetch_value(sql, (task_id,), DATABASE)


def test_redis_outage_keeps_pages_up_and_refuses_tasks_clearly(
    web, worker, redis_server, postgres, stack_env
):
    staff = web.browser()
    staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
    before = submit_round_trip(stack_env)
    wait_until(lambda: task_state(postgres, before["queued"]) == "SUCCESS", 30, "a task to run")
    workers_before = web.worker_pids()

    redis_server.stop()

    readiness = staff.get("/readyz")
    assert readiness.status == 503
    report = json.loads(readiness.text)
    assert report["failed"] == ["broker", "cache"], report
    assert report["checks"]["database"]["status"] == "up"

    # Staff keep working: pages render, forms save, logins work (sessions live in PostgreSQL).
    for path in ("/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/auth/group/"):
        assert staff.get(path).status == 200, path
    added = staff.post_form(
        "/admin/auth/group/add/", {"name": "made while Redis was down", "_save": "Save"}
    )
    assert added.status == 302, added.text[:500]
    web.browser().log_in(ADMIN_USER, ADMIN_PASSWORD)

    refused = submit_round_trip(stack_env)
    assert "refused" in refused, refused
    assert "admin2_tasks.round_trip was not queued" in refused["refused"]
    assert "did not take it" in refused["refused"]
    not_queued = "SELECT count(*) FROM tasks_taskrun WHERE state = 'NOT_QUEUED'"
    assert postgres.fetch_value(not_queued, database=DATABASE) == 1  # recorded, not silently lost

    redis_server.start()  # same port, empty: nothing was persisted

    wait_until(lambda: staff.get("/readyz").status == 200, 30, "/readyz after Redis is back")
    after = submit_round_trip(stack_env)
    assert "queued" in after, after
    wait_until(
        lambda: task_state(postgres, after["queued"]) == "SUCCESS", 60, "the worker to reconnect"
    )
    assert staff.get("/admin/auth/user/").status == 200
    assert web.worker_pids() == workers_before, web.output()[-3000:]
    assert worker.alive()
