"""The result cache on Redis with admin2's JSON serializer: a saved query's rows, of every
ClickHouse type the client returns, come back from the cache exactly as the engine gave
them (security issue 12 replaced pickle; the rows must not notice)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from admin2_analytics import running
from harness.redis import RedisServer
from tests.support.analytics_pages import make_query, make_user

pytestmark = pytest.mark.django_db

TYPED_SQL = """
SELECT number AS n,
       toDate('2024-01-02') + number AS day,
       toDateTime('2024-01-02 03:04:05', 'UTC') AS at_utc,
       toDateTime64('2024-01-02 03:04:05.123456', 6, 'Europe/Berlin') AS at_berlin,
       toDateTime('2024-01-02 03:04:05') AS at_server,
       toDecimal64(number / 3, 4) AS amount,
       toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS id,
       toIPv4('10.0.0.1') AS v4,
       toIPv6('::1') AS v6,
       (number, 'a') AS pair,
       [number, number + 1] AS list,
       map(number, 'x') AS by_number,
       map('k', number) AS by_name,
       toFixedString('ab', 3) AS fixed,
       CAST('a', 'Enum8(\\'a\\' = 1)') AS kind,
       toUInt64(18446744073709551615) AS big,
       if(number = 0, nan, inf) AS special,
       if(number = 1, NULL, 'Grüße') AS maybe,
       number % 2 = 0 AS even,
       CAST(('x', number), 'Tuple(name String, n UInt64)') AS named,
       toDate32('1900-01-01') AS old_day
FROM numbers(3)
"""


@pytest.fixture
def redis_cache(tmp_path):
    server = RedisServer(tmp_path / "redis")
    server.workdir.mkdir()
    server.start()
    config = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": server.url(1),
        "KEY_PREFIX": "admin2",
        "OPTIONS": {"serializer": "admin2.cache_serializer.TaggedJSONSerializer"},
    }
    with override_settings(CACHES={"default": config}):
        yield server
    server.stop()


def _shape(value):
    if isinstance(value, (list, tuple)):
        return [type(value).__name__, [_shape(item) for item in value]]
    if isinstance(value, dict):
        return ["dict", [[_shape(k), _shape(v)] for k, v in value.items()]]
    return [type(value).__name__, repr(value), str(getattr(value, "tzinfo", None))]


def test_a_cached_result_equals_the_engines_in_value_and_type(redis_cache, analytics_engine):
    user = make_user("typed", "analytics.run_savedquery")
    query = make_query(user, sql=TYPED_SQL, parameter_defaults={}, chart_kind="none")

    fresh = running.run_saved(query, {}, user=user, max_rows=100)
    cached = running.run_saved(query, {}, user=user, max_rows=100)

    assert not fresh.from_cache and cached.from_cache
    assert len(fresh.rows) == 3
    assert _shape(cached.rows) == _shape(fresh.rows)
    for name in ("columns", "types", "row_count", "elapsed_ms", "truncated", "ran_at"):
        assert getattr(cached, name) == getattr(fresh, name), name
