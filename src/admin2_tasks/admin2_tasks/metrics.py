"""Prometheus series of the tasks plugin: task runs by task and final state, with durations.

The worker serves them on ADMIN2_METRICS_PORT once ready (docs/operations.md, "Metrics").
"""

from __future__ import annotations

import time

from celery import signals
from django.conf import settings
from prometheus_client import REGISTRY, Counter, Histogram, make_wsgi_app

RUNS = Counter("admin2_task_runs", "Task runs that ended, by task and state", ["task", "state"])
DURATION = Histogram(
    "admin2_task_duration_seconds", "Time a task ran, by task and state", ["task", "state"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600),
)  # fmt: skip

_started: dict[str, float] = {}


@signals.task_prerun.connect(weak=False, dispatch_uid="admin2_tasks.metrics.prerun")
def _started_now(task_id=None, **_) -> None:
    _started[task_id] = time.monotonic()


@signals.task_postrun.connect(weak=False, dispatch_uid="admin2_tasks.metrics.postrun")
def _ended(task_id=None, task=None, state=None, **_) -> None:
    started = _started.pop(task_id, None)
    name, state = getattr(task, "name", "unknown"), state or "UNKNOWN"
    RUNS.labels(name, state).inc()
    if started is not None:
        DURATION.labels(name, state).observe(time.monotonic() - started)


@signals.task_revoked.connect(weak=False, dispatch_uid="admin2_tasks.metrics.revoked")
def _revoked(request=None, **_) -> None:
    _started.pop(getattr(request, "id", None), None)
    RUNS.labels(getattr(request, "task", None) or "unknown", "REVOKED").inc()


@signals.worker_ready.connect(weak=False, dispatch_uid="admin2_tasks.metrics.serve")
def _serve(sender=None, **_) -> None:
    """The worker's /metrics: its own process's series (production's eventlet pool is one)."""
    if not settings.ADMIN2_METRICS_ENABLED:
        return
    from wsgiref.simple_server import WSGIServer, make_server

    from admin2.metrics import BuildInfo, QuietHandler

    REGISTRY.register(BuildInfo(settings.ADMIN2_COMMIT))
    host, port = settings.ADMIN2_METRICS_BIND, settings.ADMIN2_METRICS_PORT
    try:
        server = make_server(host, port, make_wsgi_app(), WSGIServer, handler_class=QuietHandler)
    except OSError:
        import logging

        logging.getLogger(__name__).exception("cannot serve metrics on %s:%s", host, port)
        return
    import threading

    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
