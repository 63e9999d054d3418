"""Gunicorn's /metrics sums every worker's requests, also of workers recycled by max_requests."""

from __future__ import annotations

import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.stack import WebServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

REQUESTS = 30
MAX_REQUESTS = 4  # each of the two workers is recycled several times during the test


def scrape(port: int) -> dict[str, list]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def total(samples, name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_request_counter_equals_the_requests_sent_across_worker_restarts(tmp_path, stack_env):
    env = {
        **stack_env,
        "GUNICORN_MAX_REQUESTS": str(MAX_REQUESTS),
        "GUNICORN_MAX_REQUESTS_JITTER": "0",
        "ADMIN2_COMMIT": "0123abc",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
    }
    web = WebServer(tmp_path, env, workers=2, threads=1)
    web.start()
    try:
        first_pids = web.worker_pids()
        browser = web.browser()
        statuses = [browser.get("/admin/login/").status for _ in range(REQUESTS)]
        restarted = first_pids - web.worker_pids()
        metrics = scrape(int(env["ADMIN2_METRICS_PORT"]))
        on_the_site = browser.get("/metrics").status
    finally:
        web.stop()
    # The same directory for the next start: a Gunicorn start empties it.
    web = WebServer(tmp_path, env, workers=2, threads=1)
    web.start()
    try:
        after_restart = scrape(int(env["ADMIN2_METRICS_PORT"]))
    finally:
        web.stop()
    assert statuses == [200] * REQUESTS
    assert restarted, "max_requests recycled no worker: the test proves nothing"
    requests = metrics["admin2_http_requests"]
    login = {"view": "admin:login", "method": "GET"}
    assert total(requests, "admin2_http_requests_total", **login, status="200") == REQUESTS
    latency = metrics["admin2_http_request_duration_seconds"]
    assert total(latency, "admin2_http_request_duration_seconds_count", **login) == REQUESTS
    queries = metrics["admin2_http_request_db_queries"]
    assert total(queries, "admin2_http_request_db_queries_count", view="admin:login") == REQUESTS
    build = metrics["admin2_build_info"]
    assert [(s.labels, s.value) for s in build] == [({"commit": "0123abc"}, 1.0)]
    assert on_the_site == 404  # not one of the public URLs
    login_after = total(
        after_restart["admin2_http_requests"], "admin2_http_requests_total", **login
    )
    assert login_after == 0  # nothing counted twice from the previous run's files
