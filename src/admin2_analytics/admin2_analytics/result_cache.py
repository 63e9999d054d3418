"""Saved query results in the Django cache (Redis in production), for ``cache_ttl_seconds``.

The key keeps one user from seeing rows another may not (scope, query version, normalized
parameters, row cap): docs/analytics.md, "Result cache".
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)
KEY_VERSION = 2  # 2: entries are QueryResult.cacheable() (no row_count)


def scope_for(saved_query) -> str:
    return "shared" if saved_query.shared else f"owner-{saved_query.owner_id}"


def normalize(params: dict) -> str:
    return json.dumps({str(k): _text(v) for k, v in sorted(params.items())}, sort_keys=True)


def key_for(saved_query, params: dict, max_rows: int) -> str:
    material = json.dumps(
        [
            scope_for(saved_query),
            saved_query.pk,
            saved_query.updated_at.isoformat() if saved_query.updated_at else "",
            saved_query.sql_fingerprint,
            normalize(params),
            max_rows,
        ]
    )
    digest = hashlib.sha256(material.encode()).hexdigest()
    return f"analytics:result:v{KEY_VERSION}:{saved_query.pk}:{digest}"


def get(saved_query, params: dict, max_rows: int) -> dict | None:
    if saved_query.cache_ttl_seconds <= 0:
        return None
    try:
        return cache.get(key_for(saved_query, params, max_rows))
    except Exception:  # a cache outage makes pages slower, never broken
        logger.warning("result cache unavailable for reading", exc_info=True)
        return None


def put(saved_query, params: dict, max_rows: int, result: dict) -> None:
    """Store ``result`` (a plain, picklable dict) stamped with ``cached_at``."""
    if saved_query.cache_ttl_seconds <= 0:
        return
    stamped = {**result, "cached_at": timezone.now()}
    try:
        cache.set(key_for(saved_query, params, max_rows), stamped, saved_query.cache_ttl_seconds)
    except Exception:
        logger.warning("result cache unavailable for writing", exc_info=True)


def _text(value) -> str:
    if isinstance(value, (list, tuple)):
        return json.dumps([_text(item) for item in value])
    return value if isinstance(value, str) else str(value)
