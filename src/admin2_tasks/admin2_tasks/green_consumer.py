"""Celery's consumer, fitted to the eventlet worker: it holds one message beyond its green
threads, so a finished task's place is refilled at once, and its Redis connection pool has
room for every green thread's acknowledgement. On other pools it is Celery's consumer.
See docs/tasks.md ("How the eventlet worker takes its next task").
"""

from __future__ import annotations

from celery.worker.consumer import Consumer as CeleryConsumer

REDIS_POOL_DEFAULT = 10  # kombu's max_connections for a Redis channel
# Beyond one per green thread: the BRPOP connection, the lost-task sweep, a spare or two.
SPARE_CONNECTIONS = 10


class Consumer(CeleryConsumer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.green = bool(getattr(self.pool, "is_green", False))
        if self.green:
            if self.initial_prefetch_count:
                self.initial_prefetch_count += 1
            self._make_room_for_every_ack()

    @property
    def max_prefetch_count(self) -> int:
        # Where Celery restores the prefetch count after a reconnection.
        return super().max_prefetch_count + (1 if getattr(self, "green", False) else 0)

    def _make_room_for_every_ack(self) -> None:
        conf = self.app.conf
        if not str(conf.broker_url or "").startswith(("redis", "rediss")):
            return
        options = dict(conf.broker_transport_options or {})
        wanted = self.pool.num_processes + SPARE_CONNECTIONS
        if options.get("max_connections", REDIS_POOL_DEFAULT) < wanted:
            options["max_connections"] = wanted
            conf.broker_transport_options = options
