"""Test-only tasks, loaded by the test workers with ``-I tests.tasks.worker_tasks``.

Each records what it did in Redis (the test's private server), so the test can count
attempts and effects from outside the worker.
"""

from __future__ import annotations

import sys
import time

import redis
from celery import shared_task
from django.db.backends.signals import connection_created
from django.dispatch import receiver


def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2)


@shared_task(name="tests.slow_effect", bind=True)
def slow_effect(self, effect_url: str, key: str, seconds: float) -> str:
    client = _redis(effect_url)
    client.rpush(f"{key}:attempts", self.request.hostname)
    time.sleep(seconds)
    # The effect is keyed by task id, so a repeat could not duplicate it; the counter
    # below is not idempotent on purpose: it shows how often the work really completed.
    client.sadd(f"{key}:effects", self.request.id)
    client.incr(f"{key}:completions")
    return "done"


@shared_task(
    name="tests.always_fails",
    bind=True,
    autoretry_for=(RuntimeError,),
    max_retries=2,
    retry_backoff=1,
    retry_jitter=False,
)
def always_fails(self, effect_url: str, key: str) -> None:
    _redis(effect_url).rpush(f"{key}:attempts", repr(time.time()))
    raise RuntimeError(f"attempt {self.request.retries + 1} failed on purpose")


@shared_task(name="tests.sleep")
def sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "woke up"


@shared_task(name="tests.patching")
def patching() -> dict:
    patcher = sys.modules.get("eventlet.patcher")
    return {
        "socket": bool(patcher and patcher.is_monkey_patched("socket")),
        "thread": bool(patcher and patcher.is_monkey_patched("thread")),
    }


# Database connections this worker process has opened, from any of its green threads.
_connections_opened = 0
# Every result backend a task of this process has seen, kept alive so that no two share an id.
_backends_seen: list = []


@receiver(connection_created, weak=False)
def _count_connection(**_) -> None:
    global _connections_opened
    _connections_opened += 1


@shared_task(name="tests.connections_opened")
def connections_opened(effect_url: str, key: str) -> None:
    _redis(effect_url).rpush(key, _connections_opened)


@shared_task(name="tests.backends_seen", bind=True)
def backends_seen(self, effect_url: str, key: str) -> None:
    _backends_seen.append(self.backend)
    _redis(effect_url).rpush(key, len({id(backend) for backend in _backends_seen}))
