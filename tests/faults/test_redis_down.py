"""Redis (cache and broker) goes away under a running web server and worker, then comes back.

The outage is lived through once (the module fixture records what staff saw); each test
checks one behaviour of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from harness.celery_worker import CeleryWorker
from harness.processes import wait_until
from tests.faults.measured import note, timed
from tests.faults.stack import ADMIN_PASSWORD, ADMIN_USER, DATABASE, private_stack, run_script

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


def task_states(postgres) -> list[str]:
    sql = "SELECT string_agg(state, ',' ORDER BY state) FROM tasks_taskrun"
    return (postgres.fetch_value(sql, database=DATABASE) or "").split(",")


@dataclass
class Outage:
    """What staff saw before, during and after one Redis outage (module-scoped: run once)."""

    observed: dict[str, object] = field(default_factory=dict)
    states: dict[str, list[str]] = field(default_factory=dict)
    workers_before: set[int] = field(default_factory=set)
    workers_after: set[int] = field(default_factory=set)
    worker_alive: bool = False


@pytest.fixture(scope="module")
def outage(tmp_path_factory) -> Outage:
    tmp = tmp_path_factory.mktemp("redis-outage")
    with private_stack(tmp) as (postgres, redis_server, web):
        worker = CeleryWorker(
            redis_server.url(1), pool="eventlet", concurrency=4, workdir=tmp / "worker", env=web.env
        )
        worker.start()
        try:
            yield live_through_an_outage(web, worker, redis_server, postgres)
        finally:
            worker.stop()  # before its Redis goes: see harness/celery_worker.py


def live_through_an_outage(web, worker, redis_server, postgres) -> Outage:
    result = Outage()
    output = run_script(web.env, CACHED_QUERY.format(user=ADMIN_USER))
    analytics_page = f"/admin/analytics/queries/{output.split('QUERY ')[1].split()[0]}/"
    staff = web.browser()
    staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
    result.observed["first view"] = staff.post_form(analytics_page, {"run": "1"}).text
    result.observed["second view"] = staff.post_form(analytics_page, {"run": "1"}).text
    result.observed["run before"], _ = run_now(staff)
    wait_until(lambda: task_states(postgres) == ["SUCCESS"], 30, "the first task to run")
    result.workers_before = web.worker_pids()

    redis_server.stop()

    readiness = staff.get("/readyz")
    note("Redis down: /readyz answers 503", readiness.seconds)
    result.observed["readyz down"] = readiness
    for path in ("/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/tasks/taskrun/"):
        result.observed[path] = staff.get(path).status
    result.observed["group added"] = staff.post_form(
        "/admin/auth/group/add/", {"name": "made while Redis was down", "_save": "Save"}
    )
    web.browser().log_in(ADMIN_USER, ADMIN_PASSWORD)  # fails the scenario if logins break
    result.observed["uncached view"] = staff.post_form(analytics_page, {"run": "1"})
    result.observed["status down"] = staff.get("/admin/tasks/status/")
    with timed("Redis down: Run now answers with the reason"):
        result.observed["run during"] = run_now(staff)
    result.states["during"] = task_states(postgres)

    redis_server.start()  # same port, empty: nothing was persisted

    with timed("Redis back: until /readyz is 200 again"):
        wait_until(lambda: staff.get("/readyz").status == 200, 30, "/readyz after Redis is back")
    result.observed["run after"], _ = run_now(staff)
    with timed("Redis back: a task submitted then is run by the same worker"):
        wait_until(
            lambda: task_states(postgres).count("SUCCESS") == 2, 60, "the worker to reconnect"
        )
    result.observed["status after"] = staff.get("/admin/tasks/status/").status
    result.workers_after = web.worker_pids()
    result.worker_alive = worker.alive()
    return result


def test_before_the_outage_the_second_view_comes_from_the_cache(outage):
    assert 'id="ran-at"' in outage.observed["first view"]
    assert 'id="cached-at"' in outage.observed["second view"]
    assert "/admin/tasks/taskrun/" in outage.observed["run before"]  # queued: the run's own page


def test_readyz_names_the_broker_and_the_cache_and_keeps_the_database_up(outage):
    readiness = outage.observed["readyz down"]
    assert readiness.status == 503
    report = json.loads(readiness.text)
    assert report["failed"] == ["broker", "cache"], report
    assert report["checks"]["database"]["status"] == "up"


def test_staff_pages_and_forms_keep_working(outage):
    for path in ("/admin/", "/admin/auth/user/", "/admin/auth/user/add/", "/admin/tasks/taskrun/"):
        assert outage.observed[path] == 200, path
    added = outage.observed["group added"]
    assert added.status == 302, added.text[:500]


def test_a_cached_analytics_page_is_answered_by_the_engine(outage):
    uncached = outage.observed["uncached view"]
    assert uncached.status == 200
    assert '<strong id="row-count">5</strong>' in uncached.text
    assert 'id="ran-at"' in uncached.text


def test_the_status_page_says_the_broker_is_unavailable(outage):
    status_page = outage.observed["status down"]
    assert status_page.status == 200
    assert "Broker unavailable:" in status_page.text


def test_run_now_says_why_nothing_was_queued_and_records_it(outage):
    location, page = outage.observed["run during"]
    assert location == RUN_PAGE  # back to the form, with the reason
    assert "Not queued: admin2_tasks.round_trip was not queued" in page.text
    assert "did not take it" in page.text and "Nothing ran" in page.text
    assert outage.states["during"] == ["NOT_QUEUED", "SUCCESS"]  # recorded, not silently lost


def test_when_redis_returns_the_same_worker_runs_new_tasks(outage):
    assert "/admin/tasks/taskrun/" in outage.observed["run after"]
    assert outage.observed["status after"] == 200
    assert outage.worker_alive


def test_no_web_worker_restarted(outage):
    assert outage.workers_after == outage.workers_before
