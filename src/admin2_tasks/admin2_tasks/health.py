"""Container health probes: ``python -m admin2_tasks.health worker|beat``.

``worker``: this node answers a ping through the broker. ``beat``: the scheduler touched its
heartbeat file within ADMIN2_TASKS_BEAT_MAX_AGE. Exit 0 healthy, 1 with a reason, 2 misconfigured.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time


def check_worker(node: str, timeout: float) -> str:
    from admin2_tasks.celery import app
    from admin2_tasks.inspection import ping_workers

    started = time.monotonic()
    try:
        names = ping_workers(app, destination=[node], timeout=timeout)
    except Exception as exc:
        label = app.connection_for_write().as_uri()
        raise Unhealthy(f"broker {label} unreachable: {type(exc).__name__}: {exc}") from exc
    if node not in names:
        raise Unhealthy(f"{node} did not answer a ping within {timeout:g}s")
    return f"{node} answered a ping in {time.monotonic() - started:.2f}s"


def check_beat() -> str:
    from django.conf import settings

    path = settings.ADMIN2_TASKS_BEAT_HEARTBEAT_FILE
    limit = settings.ADMIN2_TASKS_BEAT_MAX_AGE
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        raise Unhealthy(f"beat heartbeat file {path} does not exist (beat not running?)") from None
    if age > limit:
        raise Unhealthy(f"beat heartbeat {path} is {age:.0f}s old (limit {limit}s)")
    return f"beat heartbeat {age:.0f}s old"


class Unhealthy(Exception):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m admin2_tasks.health")
    parser.add_argument("role", choices=("worker", "beat"))
    parser.add_argument("--node", help="worker node name (default: celery@<hostname>)")
    parser.add_argument("--timeout", type=float, default=3.0, help="ping timeout, seconds")
    args = parser.parse_args(argv)

    from admin2.bootstrap import configure

    configure()
    from django.core.exceptions import ImproperlyConfigured

    try:
        if args.role == "worker":
            message = check_worker(args.node or f"celery@{socket.gethostname()}", args.timeout)
        else:
            message = check_beat()
    except Unhealthy as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1
    except ImproperlyConfigured as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"ok: {message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
