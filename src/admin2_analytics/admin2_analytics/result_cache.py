"""Saved query results in the Django cache (Redis in production), for ``cache_ttl_seconds``.

How the key keeps one user from seeing rows another may not
-----------------------------------------------------------
Every user reads the warehouse through the same ClickHouse account, so the rows a query
returns depend only on its SQL and its parameter values, never on who asks. What differs
between users is *which saved queries they may run*: a shared query is open to everyone
with the run permission, a private one only to its owner (and superusers). The views check
that before they ever look at the cache, and the key adds a second line of defence:

* ``scope``: ``shared`` for a shared query, ``owner-<id>`` for a private one. A private
  query's results are therefore stored apart from anything a shared query produced, and
  turning a query from private to shared (or back) starts a fresh entry.
* the query's id, its ``updated_at`` and a hash of its SQL: an edited query never serves
  rows computed by its previous text, and two queries never share an entry.
* the normalized parameter values (after typed coercion, sorted by name): ``2024-1-1`` and
  ``2024-01-01`` hit the same entry, different values never do.
* the row cap the page used, so a result cut at 1,000 rows is not served where 10,000 were
  asked for.

Should the warehouse ever apply per-user row policies, the scope must become the user id;
that is the one line to change (:func:`scope_for`).
"""

from __future__ import annotations

import hashlib
import json
import logging

from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)
KEY_VERSION = 1


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
