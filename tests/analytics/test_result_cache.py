"""The result cache: keyed by query version, normalized parameters and visibility scope;
TTL from the saved query; a Refresh button that bypasses and rewrites."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache, caches
from django.test import override_settings
from django.urls import reverse

from admin2_analytics import result_cache
from admin2_analytics.models import QueryRun
from harness.processes import free_port
from tests.support.analytics_pages import make_query, make_user

pytestmark = pytest.mark.django_db

PARAMS = {"start": "2025-01-01", "end": "2025-01-10", "run": "1"}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def runner(logged_in):
    return logged_in("analytics.run_savedquery", username="runner")


def _run(client, query, **params):
    return client.post(reverse("analytics:run", args=[query.pk]), {**PARAMS, **params})


def test_a_second_run_is_answered_from_the_cache(client, runner, analytics_engine):
    query = make_query(runner)
    first = _run(client, query).content.decode()
    assert 'id="ran-at"' in first and "cached at" not in first
    second = _run(client, query).content.decode()
    assert 'id="cached-at">cached at ' in second
    assert '<strong id="row-count">10</strong>' in second
    runs = list(QueryRun.objects.order_by("pk").values_list("cached", "row_count"))
    assert runs == [(False, 10), (True, 10)]


def test_refresh_bypasses_and_rewrites_the_entry(client, runner, analytics_engine):
    query = make_query(runner)
    _run(client, query)
    refreshed = _run(client, query, refresh="1").content.decode()
    assert 'id="ran-at"' in refreshed
    assert QueryRun.objects.filter(cached=False).count() == 2
    entry = result_cache.get(query, _typed(), 10_000)
    assert entry is not None and entry["ran_at"] == QueryRun.objects.latest("pk").started_at


def test_a_ttl_of_zero_turns_the_cache_off(client, runner, analytics_engine):
    query = make_query(runner, cache_ttl_seconds=0)
    _run(client, query)
    assert 'id="ran-at"' in _run(client, query).content.decode()
    assert not QueryRun.objects.filter(cached=True).exists()


def test_equal_values_typed_differently_share_an_entry(client, runner, analytics_engine):
    query = make_query(runner)
    _run(client, query)
    # The same dates with stray spaces around them coerce to the same values.
    page = _run(client, query, start=" 2025-01-01", end="2025-01-10 ")
    assert "cached at" in page.content.decode()
    assert result_cache.normalize({"b": dt.date(2025, 1, 2), "a": 1}) == result_cache.normalize(
        {"a": 1, "b": dt.date(2025, 1, 2)}
    )


def test_different_values_never_share_an_entry(client, runner, analytics_engine):
    query = make_query(runner)
    _run(client, query)
    other = _run(client, query, end="2025-01-05").content.decode()
    assert 'id="ran-at"' in other and '<strong id="row-count">5</strong>' in other


def test_editing_the_query_starts_a_fresh_entry(client, runner, analytics_engine):
    query = make_query(runner)
    before = result_cache.key_for(query, {}, 100)
    _run(client, query)
    query.sql = query.sql.replace("count() AS events", "count() AS n")
    query.save()
    assert result_cache.key_for(query, {}, 100) != before
    page = _run(client, query).content.decode()
    assert 'id="ran-at"' in page and ">n<" in page


def test_private_and_shared_versions_of_a_query_never_share_an_entry(runner):
    query = make_query(runner, shared=False)
    private_key = result_cache.key_for(query, {}, 100)
    assert result_cache.scope_for(query) == f"owner-{runner.pk}"
    query.shared = True
    assert result_cache.scope_for(query) == "shared"
    assert result_cache.key_for(query, {}, 100) != private_key


def test_a_cached_private_result_stays_with_its_owner(client, runner, analytics_engine):
    private = make_query(runner, shared=False)
    _run(client, private)
    client.force_login(make_user("colleague", "analytics.run_savedquery"))
    assert _run(client, private).status_code == 404
    assert QueryRun.objects.filter(cached=True).count() == 0


def test_the_row_cap_is_part_of_the_key(runner):
    query = make_query(runner)
    assert result_cache.key_for(query, {}, 100) != result_cache.key_for(query, {}, 1000)


def test_the_cache_works_on_redis(client, runner, redis_url, analytics_engine):
    # No clear(): on Redis that flushes the whole database, which other tests share. The
    # key names the query's id and version, so nothing from an earlier run can answer.
    redis_cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_url,
        "KEY_PREFIX": "admin2-test-result-cache",
    }
    with override_settings(CACHES={"default": redis_cache}):
        query = make_query(runner)
        assert 'id="ran-at"' in _run(client, query).content.decode()
        page = _run(client, query).content.decode()
        assert "cached at" in page and '<strong id="row-count">10</strong>' in page
        caches["default"].delete(result_cache.key_for(query, _typed(), 10_000))


def test_a_cache_outage_only_costs_speed(client, runner, analytics_engine):
    dead = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    with override_settings(CACHES={"default": dead}):
        query = make_query(runner)
        assert '<strong id="row-count">10</strong>' in _run(client, query).content.decode()
        assert '<strong id="row-count">10</strong>' in _run(client, query).content.decode()
    assert QueryRun.objects.filter(cached=False).count() == 2


def _typed():
    return {"start": dt.date(2025, 1, 1), "end": dt.date(2025, 1, 10)}
