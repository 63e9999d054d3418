"""Redis (cache and broker) goes away under a running web server and worker, then comes back."""

from __future__ import annotations

import json

import pytest

from tests.faults.measured import note, timed
from tests.faults.stack import ADMIN_PASSWORD, ADMIN_USER, DATABASE, run_script
from tests.support.celery_worker import CeleryWorker
from tests.support.processes import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# A saved query whose results the Redis cache keeps: its page reads and writes the cache.
CACHED_QUERY = """
from django.contrib.auth import get_user_model
from django.core.management import call_command
from admin2_analytics.models import SavedQuery
call_command("analytics_demo_data", rows=1000)
query = SavedQuery.objects.create(
    owner=get_user_model().objects.get(username={user!r}), name="Events by type",
    sql="SELECT event_type, count() AS n FROM events GROUP BY event_type ORDER BY event_type",
    parameter_defaults={{}}, shared=True, cache_ttl_seconds=300, chart_kind="none",
)
print("QUERY", query.pk)
"""
ROUND_TRIP = "tasks: round trip"  # the on-demand task every install has
RUN_PAGE = "/admin/tasks/run/"


def run_now(staff):
    """Press "Run now" for the round trip, as staff do; return the page it leads to."""
    posted = staff.post_form(RUN_PAGE, {"key": ROUND_TRIP})
    assert posted.status == 302, posted.text[:500]
    return posted.header("Location"), staff.get(posted.header("Location"))


@pytest.fixture
def worker(tmp_path, stack_env, redis_server):
    node = CeleryWorker(
        redis_server.url(1), pool="eventlet", concurrency=4, workdir=tmp_path / "worker",
        env=stack_env,
    )  # fmt: skip
    node.start()
    yield node
    node.stop()  # before its Redis goes (fixture order): see tests/support/celery_worker.py


def task_states(postgres) -> list[str]:
    sql = "SELECT string_agg(state, ',' ORDER BY state) FROM tasks_taskrun"
    return (postgres.fetch_value(sql, database=DATABASE) or "").split(",")


def test_redis_outage_keeps_pages_up_and_refuses_tasks_clearly(web, worker, redis_server, postgres):
    output = run_script(web.env, CACHED_QUERY.format(user=ADMIN_USER))
    analytics_page = f"/admin/analytics/queries/{output.split('QUERY ')[1].split()[0]}/?run=1"
    staff = web.browser()
    staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
    assert 'id="ran-at"' in staff.get(analytics_page).text
    assert 'id="cached-at"' in staff.get(analytics_page).text  # the second view: from Redis
    location, _ = run_now(staff)
    assert "/admin/tasks/taskrun/" in location  # queued: the run's own page
    wait_until(lambda: task_states(postgres) == ["SUCCESS"], 30, "the first task to run")
    workers_before = web.worker_pids()

    redis_server.stop()

    readiness = staff.get("/readyz")
    assert readiness.status == 503
    note("Redis down: /readyz answers 503", readiness.seconds)
    report = json.loads(readiness.text)
    assert report["failed"] == ["broker", "cache"], report
    assert report["checks"]["database"]["status"] == "up"

    # Staff keep working: pages render, forms save, logins work (sessions live in PostgreSQL).
    for path in ("/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/tasks/taskrun/"):
        assert staff.get(path).status == 200, path
    added = staff.post_form(
        "/admin/auth/group/add/", {"name": "made while Redis was down", "_save": "Save"}
    )
    assert added.status == 302, added.text[:500]
    web.browser().log_in(ADMIN_USER, ADMIN_PASSWORD)
    uncached = staff.get(analytics_page)  # the cache cannot answer: the engine does
    assert uncached.status == 200
    assert '<strong id="row-count">5</strong>' in uncached.text
    assert 'id="ran-at"' in uncached.text
    status_page = staff.get("/admin/tasks/status/")
    assert status_page.status == 200
    assert "Broker unavailable:" in status_page.text

    with timed("Redis down: Run now answers with the reason"):
        location, page = run_now(staff)
    assert location == RUN_PAGE  # back to the form, with the reason
    assert "Not queued: admin2_tasks.round_trip was not queued" in page.text
    assert "did not take it" in page.text and "Nothing ran" in page.text
    assert task_states(postgres) == ["NOT_QUEUED", "SUCCESS"]  # recorded, not silently lost

    redis_server.start()  # same port, empty: nothing was persisted

    with timed("Redis back: until /readyz is 200 again"):
        wait_until(lambda: staff.get("/readyz").status == 200, 30, "/readyz after Redis is back")
    location, _ = run_now(staff)
    assert "/admin/tasks/taskrun/" in location
    with timed("Redis back: a task submitted then is run by the same worker"):
        wait_until(
            lambda: task_states(postgres).count("SUCCESS") == 2, 60, "the worker to reconnect"
        )
    assert staff.get("/admin/tasks/status/").status == 200
    assert web.worker_pids() == workers_before, web.output()[-3000:]
    assert worker.alive()
