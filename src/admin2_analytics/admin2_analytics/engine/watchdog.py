"""A deadline for each user query: the backend's ``cancel`` by its ``query_id`` once due.

The engine checks ``max_execution_time`` itself as blocks pass; the watchdog covers what that
check misses, at 1.5 times the limit (docs/clickhouse.md).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)
GRACE = 1.5  # the kill is sent at this many times the limit: the query ends within 2x
LAST = 1.25  # the backend abandons it (chDB: the process ends, see docs; a server: nothing)


def new_query_id() -> str:
    return f"admin2-{uuid.uuid4().hex}"


@contextlib.contextmanager
def deadline(
    query_id: str,
    seconds: float,
    kill: Callable[[str], object],
    abandon: Callable[[str], object] | None = None,
) -> Iterator[None]:
    """Call ``kill(query_id)`` if the block still runs ``GRACE * seconds`` from now, and
    ``abandon(query_id)`` if it still runs at ``LAST * seconds``."""
    timers = [threading.Timer(max(0.1, seconds * GRACE), _kill, args=(kill, query_id))]
    if abandon is not None:
        timers.append(threading.Timer(max(0.2, seconds * LAST), abandon, args=(query_id,)))
    for timer in timers:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()


def _kill(kill: Callable[[str], None], query_id: str) -> None:
    try:
        kill(query_id)
        log.warning("killed query %s: past its deadline", query_id)
    except Exception:
        log.exception("could not kill query %s past its deadline", query_id)
