import datetime as dt

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag

TAG = QueryTag(user="tester", source="cli")


def test_it_counts_the_demo_rows(analytics_engine):
    result = engine.execute("SELECT count() AS n FROM events", tag=TAG)
    assert result.columns == ["n"]
    assert result.types == ["UInt64"]
    assert result.rows == [(analytics_engine.rows,)]
    assert result.row_count == 1
    assert result.elapsed_ms > 0
    assert result.truncated is False


def test_it_binds_typed_parameters(analytics_engine):
    result = engine.execute(
        "SELECT count() FROM events WHERE event_time >= {since:Date} AND country = {c:String}",
        {"since": "2025-03-01", "c": "DE"},
        tag=TAG,
    )
    assert result.parameters == {"since": dt.date(2025, 3, 1), "c": "DE"}
    assert 0 < result.rows[0][0] < analytics_engine.rows
