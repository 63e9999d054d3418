"""The engine itself is read-only for user queries: the guard is not the only wall.

These tests go around the guard on purpose (``run_trusted`` is the seam's unguarded read
path) and show the engine session refusing writes, DDL, settings and outbound functions.
"""

import pytest

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag
from admin2_analytics.errors import QueryRefused

TAG = QueryTag(user="mallory", source="cli")


def _count() -> int:
    return engine.run_trusted("SELECT count() FROM events", tag=TAG).rows[0][0]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO events SELECT * FROM events LIMIT 1",
        "INSERT INTO FUNCTION file('leak.csv', CSV) SELECT 1",
        "ALTER TABLE events DELETE WHERE 1",
        "TRUNCATE TABLE events",
        "DROP TABLE events",
        "CREATE TABLE intruder (a UInt8) ENGINE = Memory",
        "SET max_result_rows = 0",
        "SELECT count() FROM events SETTINGS max_result_rows = 0",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT * FROM url('http://127.0.0.1:9/', CSV, 'a String')",
    ],
)
def test_the_engine_refuses_when_the_guard_is_bypassed(analytics_engine, sql):
    before = _count()
    with pytest.raises(QueryRefused, match="readonly mode"):
        engine.run_trusted(sql, tag=TAG)
    assert _count() == before == analytics_engine.rows


def test_a_string_parameter_full_of_quotes_stays_a_value(analytics_engine):
    nasty = "x' OR 1=1 --\\' \"; DROP TABLE events; /* {p:String} */ $$ `"
    result = engine.execute(
        "SELECT {p:String} AS echoed, count() AS matches FROM events WHERE country = {p:String}",
        {"p": nasty},
        tag=TAG,
    )
    assert result.rows == [(nasty, 0)]
    assert _count() == analytics_engine.rows


def test_array_and_date_parameters_bind_server_side(analytics_engine):
    result = engine.execute(
        "SELECT count() FROM events WHERE country IN {cs:Array(String)} "
        "AND toDate(event_time) BETWEEN {a:Date} AND {b:Date}",
        {"cs": "DE,FR", "a": "2025-01-01", "b": "2025-12-31"},
        tag=TAG,
    )
    expected = engine.run_trusted(
        "SELECT count() FROM events WHERE country IN ('DE', 'FR')", tag=TAG
    ).rows[0][0]
    assert result.rows[0][0] == expected > 0


def test_writes_go_only_through_the_maintenance_session(fresh_engine):
    from admin2_analytics.demo_data import create_events

    assert create_events(100) == 100
    # A read-only session in between does not stick to the engine: the next write works.
    assert engine.execute("SELECT count() FROM events", tag=TAG).rows == [(100,)]
    assert create_events(250) == 250
    assert engine.execute("SELECT count() FROM events", tag=TAG).rows == [(250,)]


def test_the_maintenance_session_refuses_a_server(settings):
    from admin2_analytics.errors import EngineUnavailable

    settings.CLICKHOUSE_HOST = "clickhouse.example.com"
    session = engine.maintenance_session(tag=TAG)
    with pytest.raises(EngineUnavailable, match="needs the embedded engine"), session:
        pass
