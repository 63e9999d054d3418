"""The ``broker`` and ``workers`` checks of /readyz.

``broker`` is required: a web process whose broker is down cannot accept background work,
and says so. ``workers`` is reported but not required: with no worker the site still serves
and queued work waits in Redis; taking the web out of rotation would not help.
"""

from __future__ import annotations

from django.utils import timezone

from admin2_tasks.celery import app
from admin2_tasks.inspection import broker_state, ping_workers
from admin2_tasks.models import WorkerHeartbeat


def check_broker() -> str:
    state = broker_state(app)
    waiting = ", ".join(f"{name}={count}" for name, count in state.queues.items())
    return f"{state.url} queued: {waiting}"


def check_workers() -> str:
    names = ping_workers(app)
    latest = WorkerHeartbeat.objects.order_by("-last_seen").first()
    heartbeat = (
        f"; last heartbeat {(timezone.now() - latest.last_seen).total_seconds():.0f}s ago"
        if latest
        else "; no heartbeat yet"
    )
    if not names:
        raise RuntimeError(f"no worker answered a ping{heartbeat}")
    return f"{len(names)} live: {', '.join(names)}{heartbeat}"
