"""Prometheus series of the core: requests by view, their latency and database queries, logins.

Under Gunicorn every worker writes to PROMETHEUS_MULTIPROC_DIR and the master serves the sum
on ADMIN2_METRICS_PORT (containers/gunicorn.conf.py); docs/operations.md, "Metrics".
"""

from __future__ import annotations

import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app, multiprocess
from prometheus_client.core import GaugeMetricFamily

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
QUERY_BUCKETS = (0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

REQUESTS = Counter(
    "admin2_http_requests", "Requests answered, by view (route name), method and status",
    ["view", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "admin2_http_request_duration_seconds", "Time to answer a request, by view",
    ["view", "method"], buckets=LATENCY_BUCKETS,
)  # fmt: skip
DB_QUERIES = Histogram(
    "admin2_http_request_db_queries", "Database queries made while answering a request",
    ["view"], buckets=QUERY_BUCKETS,
)  # fmt: skip
LOGIN_FAILURES = Counter("admin2_login_failures", "Failed logins (wrong credentials or locked)")
LOCKOUTS = Counter("admin2_login_lockouts", "Logins refused because the account is locked out")

UNRESOLVED = "<unresolved>"  # no route matched (a 404): one series, not one per path


class MetricsMiddleware:
    """Counts and times every request by its route name, with its database queries."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        queries = 0

        def count(execute, sql, params, many, context):
            nonlocal queries
            queries += 1
            return execute(sql, params, many, context)

        started = time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        elapsed = time.perf_counter() - started
        match = getattr(request, "resolver_match", None)
        view = match.view_name if match is not None else UNRESOLVED
        REQUESTS.labels(view, request.method, str(response.status_code)).inc()
        LATENCY.labels(view, request.method).observe(elapsed)
        DB_QUERIES.labels(view).observe(queries)
        return response


def count_login_failure(sender, **kwargs) -> None:
    LOGIN_FAILURES.inc()


def count_lockout(sender, **kwargs) -> None:
    LOCKOUTS.inc()


# Connected when the middleware is first imported, which ADMIN2_METRICS_ENABLED decides.
user_login_failed.connect(count_login_failure, dispatch_uid="admin2.metrics.login_failed")
user_locked_out.connect(count_lockout, dispatch_uid="admin2.metrics.locked_out")


class BuildInfo:
    """``admin2_build_info{commit=...} 1``: which commit the serving processes run."""

    def __init__(self, commit: str):
        self.commit = commit

    def collect(self):
        family = GaugeMetricFamily("admin2_build_info", "The deployed commit", labels=["commit"])
        family.add_metric([self.commit], 1)
        yield family


def registry(commit: str) -> CollectorRegistry:
    """Every process's series summed from PROMETHEUS_MULTIPROC_DIR, plus the build info."""
    collected = CollectorRegistry()
    multiprocess.MultiProcessCollector(collected)
    collected.register(BuildInfo(commit))
    return collected


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every 15 s would flood the error log
        pass


def serve(host: str, port: int, commit: str) -> WSGIServer:
    """Start the /metrics server in a daemon thread; the caller closes its socket in forks."""
    import threading

    server = make_server(
        host, port, make_wsgi_app(registry(commit)), WSGIServer, handler_class=QuietHandler
    )
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
