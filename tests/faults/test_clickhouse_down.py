"""ClickHouse unreachable, hung or busy: analytics pages explain it in time, the rest works.

The server faults are the two a real server shows from outside: a closed port and a server
that accepts and never answers. The embedded engine's fault is real end to end: another
process (a long export) holds the data directory, then lets it go.
"""

from __future__ import annotations

import json
import re
import threading

import pytest

from harness.processes import REPO, ManagedProcess, free_port, venv_tool, wait_until
from tests.faults.measured import note
from tests.faults.stack import (
    ADMIN_PASSWORD,
    ADMIN_USER,
    DATABASE,
    WebServer,
    prepare,
    production_env,
    run_script,
)
from tests.faults.tarpit import Tarpit

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SAVED_QUERY = """
from django.contrib.auth import get_user_model
from admin2_analytics.models import SavedQuery
query = SavedQuery.objects.create(
    owner=get_user_model().objects.get(username={user!r}), name="Events since",
    sql="SELECT count() AS events FROM events WHERE event_time >= {{since:Date}}",
    parameter_defaults={{"since": "2020-01-01"}}, shared=True, cache_ttl_seconds=0,
)
print("QUERY", query.pk)
"""
ERROR = re.compile(r'class="errornote analytics-error"[^>]*><strong>([^<]+):</strong> ([^<]*)')
SERVER_TIMEOUTS = {
    "CLICKHOUSE_CONNECT_TIMEOUT": "1",
    # Long enough that another person logs in while one page waits, on a loaded machine; the
    # watchdog (1.5x the execution time) stays after the read timeout, so that one answers.
    "CLICKHOUSE_READ_TIMEOUT": "8",
    "ANALYTICS_MAX_EXECUTION_TIME": "6",
    "CLICKHOUSE_PING_TIMEOUT": "1",
}
# Generous: this bounds "answers within the timeout", it does not measure speed.
MARGIN = 5.0


def start_stack(tmp_path, postgres, redis_server, **clickhouse) -> tuple[WebServer, int]:
    env = production_env(tmp_path, postgres=postgres, redis=redis_server, **clickhouse)
    prepare(env)
    output = run_script(env, SAVED_QUERY.format(user=ADMIN_USER))
    query_id = int(re.search(r"QUERY (\d+)", output).group(1))
    web = WebServer(tmp_path, env)
    web.start()
    return web, query_id


def analytics_error(reply) -> tuple[str, str]:
    assert reply.status == 200, (reply.status, reply.text[:500])
    found = ERROR.search(reply.text)
    assert found, reply.text[-2000:]
    return found.group(1), found.group(2)


def rest_of_the_admin_works(staff) -> None:
    for path in ("/admin/", "/admin/auth/user/", "/admin/analytics/"):
        assert staff.get(path).status == 200, path


def test_unreachable_clickhouse_is_explained_at_once(tmp_path, postgres, redis_server):
    closed = free_port()
    web, query_id = start_stack(
        tmp_path, postgres, redis_server,
        CLICKHOUSE_HOST="127.0.0.1", CLICKHOUSE_PORT=str(closed), **SERVER_TIMEOUTS,
    )  # fmt: skip
    try:
        staff = web.browser()
        staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
        page = staff.post_form(
            f"/admin/analytics/queries/{query_id}/", {"run": "1", "since": "2024-01-01"}
        )
        title, message = analytics_error(page)
        assert title == "ClickHouse is unavailable"
        assert "cannot connect to ClickHouse" in message
        assert page.seconds < float(SERVER_TIMEOUTS["CLICKHOUSE_CONNECT_TIMEOUT"]) + MARGIN
        note("ClickHouse port closed: saved query page explains", page.seconds)

        console = staff.post_form("/admin/analytics/console/", {"sql": "SELECT 1"})
        assert analytics_error(console)[0] == "ClickHouse is unavailable"
        rest_of_the_admin_works(staff)

        readiness = json.loads(staff.get("/readyz").text)
        assert readiness["status"] == "ok" and readiness["failed"] == []  # reported, not required
        assert readiness["checks"]["clickhouse"]["status"] == "down"
        failures = "SELECT count(*) FROM analytics_queryrun WHERE error LIKE 'EngineUnavailable%%'"
        assert postgres.fetch_value(failures, database=DATABASE) == 2  # both are in the history
    finally:
        web.stop()


def test_hung_clickhouse_times_out_within_the_read_timeout(tmp_path, postgres, redis_server):
    with Tarpit() as hung:
        web, query_id = start_stack(
            tmp_path, postgres, redis_server,
            CLICKHOUSE_HOST="127.0.0.1", CLICKHOUSE_PORT=str(hung.port), **SERVER_TIMEOUTS,
        )  # fmt: skip
        try:
            staff = web.browser()
            staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
            read_timeout = float(SERVER_TIMEOUTS["CLICKHOUSE_READ_TIMEOUT"])

            # While one request waits on ClickHouse, other staff are served.
            waiting: dict = {}
            query_page = f"/admin/analytics/queries/{query_id}/"
            fields = {"run": "1", "since": "2024-01-01"}
            worker = threading.Thread(
                target=lambda: waiting.update(reply=staff.post_form(query_page, fields))
            )
            worker.start()
            wait_until(lambda: hung.accepted >= 1, 10, "the web to reach the hung ClickHouse")
            other = web.browser()
            other.log_in(ADMIN_USER, ADMIN_PASSWORD)
            assert other.get("/admin/auth/user/").status == 200
            assert worker.is_alive(), "the analytics page should still be waiting"
            worker.join(read_timeout + MARGIN + 5)

            title, message = analytics_error(waiting["reply"])
            assert title == "Timed out"
            assert f"ClickHouse did not answer within {read_timeout:g}s" in message
            assert waiting["reply"].seconds < read_timeout + MARGIN
            note(f"ClickHouse hung (read timeout {read_timeout:g} s): page explains",
                 waiting["reply"].seconds)  # fmt: skip

            rest_of_the_admin_works(staff)
            readiness = staff.get("/readyz")
            report = json.loads(readiness.text)
            assert readiness.status == 200 and report["failed"] == []
            assert report["checks"]["clickhouse"]["status"] == "down"
        finally:
            web.stop()


HOLDER = """
import os, time
from admin2_analytics import engine
stream = engine.stream("SELECT e.* FROM events AS e, numbers(100) AS n",
                       tag=engine.QueryTag(user="exporter", source="task"), fmt="csv")
next(stream)
print("HOLDING", flush=True)
while not os.path.exists({release!r}):
    time.sleep(0.05)
stream.close()
print("RELEASED", flush=True)
"""


def test_busy_embedded_engine_is_explained_then_works_when_released(
    tmp_path, postgres, redis_server
):
    web, query_id = start_stack(
        tmp_path, postgres, redis_server, CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT="1"
    )
    demo = run_script(web.env, "from django.core.management import call_command\n"
                      "call_command('analytics_demo_data', rows=2000)")  # fmt: skip
    assert "2,000 rows" in demo
    staff = web.browser()
    staff.log_in(ADMIN_USER, ADMIN_PASSWORD)
    query_page = f"/admin/analytics/queries/{query_id}/"
    run_fields = {"run": "1", "since": "2000-01-01"}
    release = tmp_path / "release-engine"
    holder = ManagedProcess(
        [venv_tool("admin2"), "shell", "-c", HOLDER.format(release=str(release))],
        env=web.env, cwd=REPO, log=tmp_path / "holder.log",
    )  # fmt: skip
    try:
        wait_until(lambda: "HOLDING" in holder.output(), 60, "the exporter to hold the engine")

        busy = staff.post_form(query_page, run_fields)
        title, message = analytics_error(busy)
        assert title == "ClickHouse is unavailable"
        assert "embedded engine busy" in message and "admin2 shell" in message  # who holds it
        assert busy.seconds < 1 + MARGIN
        note("embedded engine busy (lock timeout 1 s): page explains", busy.seconds)
        rest_of_the_admin_works(staff)

        release.touch()
        wait_until(lambda: "RELEASED" in holder.output(), 30, "the exporter to let go")
        page = staff.post_form(query_page, run_fields)
        note("embedded engine released: the same page runs the query", page.seconds)
        assert page.status == 200
        assert '<strong id="row-count">1</strong>' in page.text
        assert "analytics-error" not in page.text
    finally:
        release.touch()
        holder.stop()
        web.stop()


def test_the_readiness_ping_gives_up_at_its_own_timeout(settings):
    """A hung server must not hold the /readyz check (and its thread) for the read timeout.

    /readyz answers in time either way (run_checks stops waiting at ADMIN2_READYZ_TIMEOUT),
    but an abandoned check thread would stay blocked until the read timeout, one per probe.
    """
    import time

    from admin2_analytics import engine
    from admin2_analytics.engine import config
    from admin2_analytics.engine import http as http_backend
    from admin2_analytics.errors import AnalyticsError

    with Tarpit() as hung:
        settings.CLICKHOUSE_HOST = "127.0.0.1"
        settings.CLICKHOUSE_PORT = hung.port
        settings.CLICKHOUSE_CONNECT_TIMEOUT = 1.0
        settings.CLICKHOUSE_READ_TIMEOUT = 6.0
        started = time.monotonic()
        try:
            with pytest.raises(AnalyticsError):
                engine.ping(1.0)
        finally:
            http_backend.forget_client(config.server())
        assert time.monotonic() - started < 1.0 + 2.0
