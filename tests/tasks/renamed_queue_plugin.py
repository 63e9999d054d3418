"""A stand-in plugin for the queue-renaming test, installed in its worker by ``ADMIN2_PLUGINS``.

It declares a queue whose name the test chooses (``ADMIN2_TEST_QUEUE``) and a task on it,
the way admin2_analytics declares ``exports`` and ``reports``: on its app config.
"""

from __future__ import annotations

import os

import redis

from admin2 import plugins
from admin2.background import task
from admin2.registry import Queue

QUEUE = os.environ.get("ADMIN2_TEST_QUEUE", "renamed")
TASK = "tests.renamed_queue.record"


class RenamedQueuePlugin(plugins.PluginConfig):
    name = "tests.tasks.renamed_queue_plugin"
    label = "renamed_queue"
    queues = (Queue(QUEUE, "a queue only this test knows"),)
    tasks = (name,)


@task(TASK, queue=QUEUE)
def record(effect_url: str, key: str) -> str:
    redis.Redis.from_url(effect_url, socket_connect_timeout=2).rpush(key, QUEUE)
    return QUEUE
