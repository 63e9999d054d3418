"""Test-only tasks, loaded by the test workers with ``-I tests.tasks.worker_tasks``.

Each records what it did in Redis (the test's private server), so the test can count
attempts and effects from outside the worker.
"""

from __future__ import annotations

import sys
import time

import redis
from celery import shared_task


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
