"""Per-person query slots: at most ``ANALYTICS_MAX_CONCURRENT_QUERIES`` user queries at once.

Slots are cache keys taken with an atomic ``add`` (shared by every web and worker process
through Redis) and given back when the query ends; one left by a killed process expires.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache

from admin2_analytics.errors import TooManyQueries

log = logging.getLogger(__name__)
PREFIX = "admin2:analytics:running"


@contextlib.contextmanager
def slot(user: str, seconds: float) -> Iterator[None]:
    """Hold one of ``user``'s query slots for the query's life (at most ``seconds``)."""
    limit = int(getattr(settings, "ANALYTICS_MAX_CONCURRENT_QUERIES", 2))
    if not user or limit <= 0:
        yield
        return
    key = _take(user, limit, seconds)
    try:
        yield
    finally:
        if key is not None:
            with contextlib.suppress(Exception):
                cache.delete(key)


def _take(user: str, limit: int, seconds: float) -> str | None:
    try:
        for number in range(limit):
            key = f"{PREFIX}:{user}:{number}"
            if cache.add(key, 1, timeout=max(60, int(seconds) + 60)):
                return key
    except Exception:  # no cache, no cap: the engine's own limits still apply
        log.warning("cache unavailable: concurrent queries per person not capped")
        return None
    raise TooManyQueries(
        f"{user} already has {limit} quer{'y' if limit == 1 else 'ies'} running "
        "(ANALYTICS_MAX_CONCURRENT_QUERIES); wait for one to finish and try again."
    )
