"""What the status page, /readyz and the health command ask of the broker and the workers.

Every call is bounded: remote-control calls by ADMIN2_TASKS_INSPECT_TIMEOUT, connections by
the broker connection timeout. A broker that does not answer raises; it never blocks.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from celery import Celery
from django.conf import settings

from admin2_tasks.queues import queue_names


@dataclass(frozen=True)
class BrokerState:
    url: str  # password masked
    transport: str
    queues: dict[str, int]  # messages waiting, per queue
    unacked: int | None  # Redis only: delivered to a worker, not yet acknowledged


def broker_state(app: Celery) -> BrokerState:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT)
        channel = conn.default_channel
        # A non-passive declare is how virtual transports report a size; it creates nothing
        # on Redis or on disk.
        queues = {
            name: channel.queue_declare(queue=name).message_count for name in queue_names(app)
        }
        unacked = None
        if conn.transport.driver_type == "redis":
            unacked = int(channel.client.hlen(channel.unacked_key))
        return BrokerState(conn.as_uri(), conn.transport.driver_type, queues, unacked)


def ping_workers(app: Celery, destination: list[str] | None = None, timeout=None) -> list[str]:
    """Names of the workers that answered a ping within the timeout."""
    timeout = settings.ADMIN2_TASKS_INSPECT_TIMEOUT if timeout is None else timeout
    replies = app.control.ping(destination=destination, timeout=timeout) or []
    return sorted(name for reply in replies for name in reply)


# What the status page asks every worker; the three broadcasts go out at once.
_DETAILS = ("stats", "active", "active_queues")


def worker_details(app: Celery, expected=(), timeout=None) -> dict[str, dict]:
    """Per live worker: pool, concurrency, queues and the tasks it is running now.

    ``expected`` names the workers known to be alive (from their heartbeats): each
    broadcast stops waiting once that many have answered, instead of waiting out the
    timeout. With none expected, a broadcast waits the full timeout for whoever answers.
    """
    timeout = settings.ADMIN2_TASKS_INSPECT_TIMEOUT if timeout is None else timeout
    limit = len(set(expected)) or None

    def ask(command: str) -> dict:
        # Its own inspect per thread: kombu keeps one reply queue per thread.
        inspect = app.control.inspect(timeout=timeout, limit=limit)
        return getattr(inspect, command)() or {}

    with ThreadPoolExecutor(max_workers=len(_DETAILS), thread_name_prefix="inspect") as pool:
        stats, active, queues = pool.map(ask, _DETAILS)
    details = {}
    for name, info in stats.items():
        pool_info = info.get("pool", {})
        details[name] = {
            # "celery.concurrency.eventlet:TaskPool" -> "eventlet"
            "pool": pool_info.get("implementation", "").split(":")[0].rsplit(".", 1)[-1],
            "concurrency": pool_info.get("max-concurrency"),
            "pid": info.get("pid"),
            "uptime": info.get("uptime"),
            "total": sum((info.get("total") or {}).values()),
            "active": [
                {"id": task.get("id"), "name": task.get("name")} for task in active.get(name, [])
            ],
            "queues": sorted(queue.get("name", "") for queue in queues.get(name, [])),
        }
    return details
