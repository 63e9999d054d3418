"""Readiness: run every declared dependency check, each bounded by a deadline."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from django.conf import settings
from django.core.cache import cache
from django.db import connections

from admin2.registry import HealthCheck, registry


def check_database() -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connections["default"].vendor


def check_cache() -> str:
    key = f"admin2:readyz:{uuid.uuid4().hex}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(key)
    return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]


def _timed(check: HealthCheck) -> dict:
    started = time.perf_counter()
    try:
        detail = check.check()
        result = {"status": "up"}
        if detail is not None:
            result["detail"] = str(detail)
    except Exception as exc:  # a failing dependency is data for the report, not a crash
        result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
    finally:
        # Checks run in pool threads: close their thread-local database connections.
        connections.close_all()
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
    result["required"] = check.required
    return result


TIMED_OUT = "timed out"


def run_checks(timeout: float | None = None) -> tuple[bool, dict]:
    """Return (ready, report). Ready means every required check is up within the deadline.

    Each check's status is ``up``, ``down`` (it raised) or ``timed out`` (no answer within
    the deadline; its thread is abandoned, not waited for)."""
    deadline = timeout if timeout is not None else settings.ADMIN2_READYZ_TIMEOUT
    checks = list(registry.health_checks.values())
    report: dict[str, dict] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, len(checks)), thread_name_prefix="readyz")
    try:
        futures = {check.name: (check, pool.submit(_timed, check)) for check in checks}
        started = time.monotonic()
        for name, (check, future) in futures.items():
            remaining = max(0.0, deadline - (time.monotonic() - started))
            try:
                report[name] = future.result(timeout=remaining)
            except FutureTimeout:
                report[name] = {
                    "status": TIMED_OUT,
                    "error": f"no answer within {deadline:g}s",
                    "latency_ms": round(deadline * 1000, 1),
                    "required": check.required,
                }
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    failed = [name for name, r in report.items() if r["status"] != "up" and r["required"]]
    return not failed, report
