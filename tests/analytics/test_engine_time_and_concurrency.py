"""Issue 19: no user query holds the engine far past its limit, nor one person many slots.

ClickHouse checks ``max_execution_time`` as blocks pass, so rows that are costly to compute
ran on: user queries get small blocks (``ANALYTICS_MAX_BLOCK_SIZE``) and a per-person cap
(the hard bound on chDB: test_engine_deadline.py).
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from admin2_analytics import engine
from admin2_analytics.engine import slots
from admin2_analytics.errors import QueryRefused, TooManyQueries

TAG = engine.QueryTag(user="carol", source="web")


@pytest.fixture(autouse=True)
def _no_slots_left():
    yield
    for number in range(8):
        cache.delete(f"{slots.PREFIX}:{TAG.user}:{number}")


def test_user_queries_run_in_small_blocks(analytics_engine, settings):
    settings.ANALYTICS_MAX_BLOCK_SIZE = 100
    result = engine.execute("SELECT max(blockSize()) FROM numbers(5000)", tag=TAG)
    assert result.rows[0][0] <= 100


def test_the_n_plus_first_query_of_one_person_is_refused(analytics_engine, settings):
    settings.ANALYTICS_MAX_CONCURRENT_QUERIES = 2
    with slots.slot(TAG.user, 30), slots.slot(TAG.user, 30):
        with pytest.raises(TooManyQueries, match="already has 2 queries running"):
            engine.execute("SELECT 1", tag=TAG)
        # another person is not held up
        assert engine.execute("SELECT 1", tag=engine.QueryTag(user="dave")).rows == [(1,)]
    assert engine.execute("SELECT 1", tag=TAG).rows == [(1,)]  # slots are given back


def test_an_open_export_stream_holds_a_slot(analytics_engine, settings):
    settings.ANALYTICS_MAX_CONCURRENT_QUERIES = 1
    stream = engine.stream("SELECT number FROM numbers(10)", tag=TAG, fmt="csv")
    try:
        with pytest.raises(TooManyQueries):
            engine.execute("SELECT 1", tag=TAG)
    finally:
        stream.close()
    assert engine.execute("SELECT 1", tag=TAG).rows == [(1,)]


def test_a_refused_or_failed_query_gives_its_slot_back(analytics_engine, settings):
    settings.ANALYTICS_MAX_CONCURRENT_QUERIES = 1
    for _ in range(3):
        with pytest.raises(QueryRefused):
            engine.execute("SELECT demangle('x')", tag=TAG)
    assert engine.execute("SELECT 1", tag=TAG).rows == [(1,)]
