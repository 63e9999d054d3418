"""Watching and stopping a console run from another request: its progress and its Stop.

The page names each run with a random id; the run registers ``id -> (user, query_id)`` in
the Django cache (Redis in production, so any web process can stop it) and only that user
may read its progress or stop it. The kill itself is the engine's ``cancel(query_id)``.
"""

from __future__ import annotations

import re

from django.core.cache import cache

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag, run_trusted

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_KEY = "analytics:console-run:v1:{}"
_TTL = 3600  # seconds: longer than any run may last

# A run's own query, not the checks before it (EXPLAIN, DESCRIBE, lexing share its id).
_PROGRESS = (
    "SELECT elapsed, read_rows, read_bytes, total_rows_approx FROM system.processes "
    "WHERE (query_id = {query_id:String} "
    "OR JSONExtractString(Settings['log_comment'], 'query_id') = {query_id:String}) "
    "AND NOT startsWith(query, 'EXPLAIN') AND NOT startsWith(query, 'DESCRIBE') "
    "ORDER BY read_rows DESC LIMIT 1"
)


def valid_run_id(value: str | None) -> str | None:
    return value if value and RUN_ID.match(value) else None


def register(run_id: str, user) -> str:
    """Remember the run for its user; return the engine ``query_id`` it runs as."""
    query_id = f"admin2-{run_id}"
    cache.set(_KEY.format(run_id), {"user": user.pk, "query_id": query_id}, _TTL)
    return query_id


def _entry(run_id: str, user) -> dict | None:
    entry = cache.get(_KEY.format(run_id))
    if not entry or entry.get("user") != user.pk:
        return None  # someone else's run is no run at all
    return entry


def progress(run_id: str, user) -> dict | None:
    """Seconds, rows and bytes read so far, while the run is on the engine; else None."""
    entry = _entry(run_id, user)
    if entry is None:
        return None
    if entry.get("stopped"):
        return {"stopped": True, **entry.get("progress", {})}
    rows = run_trusted(
        _PROGRESS, {"query_id": entry["query_id"]}, tag=QueryTag(user="progress", source="web")
    ).rows
    if not rows:
        return {"running": False}
    elapsed, read_rows, read_bytes, total = rows[0]
    return {
        "running": True,
        "elapsed": round(float(elapsed), 2),
        "read_rows": int(read_rows),
        "read_bytes": int(read_bytes),
        "total_rows_approx": int(total),
    }


def stop(run_id: str, user) -> bool:
    """Kill the run on the engine and mark it stopped; False if it is not this user's."""
    entry = _entry(run_id, user)
    if entry is None:
        return False
    try:
        seen = progress(run_id, user) or {}
    except Exception:  # progress is a courtesy: the kill matters
        seen = {}
    entry.update(stopped=True, progress={k: v for k, v in seen.items() if k != "running"})
    cache.set(_KEY.format(run_id), entry, _TTL)
    engine.cancel(entry["query_id"])
    return True


def stopped(run_id: str | None, user) -> dict | None:
    """What was seen of a stopped run (for its history row), or None if it was not stopped."""
    if not run_id:
        return None
    entry = _entry(run_id, user)
    if entry is None or not entry.get("stopped"):
        return None
    return entry.get("progress", {})
