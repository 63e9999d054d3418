"""A stand-in plugin for the queue-renaming test, loaded by its worker with ``-I``.

It declares a queue whose name the test chooses (``ADMIN2_TEST_QUEUE``) and a task on it,
through the core's seam only, the way admin2_analytics declares ``exports`` and ``reports``.
"""

from __future__ import annotations

import os

import redis

from admin2.background import task
from admin2.registry import Queue, registry

QUEUE = os.environ.get("ADMIN2_TEST_QUEUE", "renamed")
TASK = "tests.renamed_queue.record"

registry.add_queue(Queue(QUEUE, "a queue only this test knows"))


@task(TASK, queue=QUEUE)
def record(effect_url: str, key: str) -> str:
    redis.Redis.from_url(effect_url, socket_connect_timeout=2).rpush(key, QUEUE)
    return QUEUE
