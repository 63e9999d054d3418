"""Limits from settings are the engine's: rows, time and memory fail cleanly, by class."""

import json

import pytest

from admin2_analytics import engine
from admin2_analytics.engine import QueryTag
from admin2_analytics.errors import ParameterError, QueryFailed, QueryTimeout, ResultTooLarge

TAG = QueryTag(user="alice", source="web", saved_query="Revenue by day")
HEAVY = "SELECT sum(cityHash64(number)) FROM numbers(100000000000)"


def test_a_result_over_the_row_limit_fails_with_result_too_large(analytics_engine, settings):
    settings.ANALYTICS_MAX_RESULT_ROWS = 500
    with pytest.raises(ResultTooLarge) as error:
        engine.execute("SELECT * FROM events", tag=TAG)
    message = str(error.value)
    assert "Limit for result exceeded, max rows: 500" in message
    assert "Code:" not in message and "version" not in message


def test_a_result_at_the_row_limit_passes(analytics_engine, settings):
    settings.ANALYTICS_MAX_RESULT_ROWS = 500
    assert engine.execute("SELECT * FROM events LIMIT 500", tag=TAG).row_count == 500


def test_a_query_over_the_time_limit_fails_with_query_timeout(analytics_engine, settings):
    settings.ANALYTICS_MAX_EXECUTION_TIME = 1
    with pytest.raises(QueryTimeout, match="Timeout exceeded"):
        engine.execute(HEAVY, tag=TAG)


def test_a_caller_can_give_a_shorter_timeout(analytics_engine):
    with pytest.raises(QueryTimeout):
        engine.execute(HEAVY, tag=TAG, timeout=0.5)


def test_a_query_over_the_memory_limit_fails_with_result_too_large(analytics_engine, settings):
    settings.ANALYTICS_MAX_MEMORY_USAGE = 30_000_000
    with pytest.raises(ResultTooLarge, match=r"[Mm]emory limit"):
        engine.execute("SELECT length(groupArray(number)) FROM numbers(50000000)", tag=TAG)


def test_max_rows_truncates_and_says_so(analytics_engine):
    result = engine.execute("SELECT number FROM numbers(1000000)", tag=TAG, max_rows=10)
    assert result.rows == [(n,) for n in range(10)]
    assert result.truncated is True


def test_max_rows_not_reached_is_not_truncated(analytics_engine):
    result = engine.execute("SELECT number FROM numbers(10)", tag=TAG, max_rows=10)
    assert result.row_count == 10
    assert result.truncated is False


def test_max_rows_never_exceeds_the_configured_limit(analytics_engine, settings):
    settings.ANALYTICS_MAX_RESULT_ROWS = 20
    result = engine.execute("SELECT number FROM numbers(1000)", tag=TAG, max_rows=5000)
    assert result.row_count == 20
    assert result.truncated


def test_the_engine_session_carries_the_limits_readonly_and_tag(analytics_engine, settings):
    settings.ANALYTICS_MAX_RESULT_ROWS = 1234
    settings.ANALYTICS_MAX_EXECUTION_TIME = 7
    settings.ANALYTICS_MAX_MEMORY_USAGE = 123_456_789
    # getSetting() is not on the list user SQL may call: read through the trusted path, which
    # opens the same session (limits, readonly, tag) as execute().
    result = engine.run_trusted(
        "SELECT getSetting('max_result_rows'), getSetting('result_overflow_mode'), "
        "getSetting('max_execution_time'), getSetting('max_memory_usage'), "
        "getSetting('readonly'), getSetting('log_comment')",
        tag=TAG,
    )
    rows, mode, seconds, memory, readonly, comment = result.rows[0]
    assert (rows, mode, float(seconds), memory, readonly) == (1234, "throw", 7.0, 123_456_789, 1)
    assert json.loads(comment) == {
        "app": "admin2",
        "user": "alice",
        "source": "web",
        "saved_query": "Revenue by day",
    }


def test_engine_errors_read_like_sentences(analytics_engine):
    with pytest.raises(QueryFailed) as error:
        engine.execute("SELECT no_such_column FROM events", tag=TAG)
    message = str(error.value)
    assert "no_such_column" in message
    assert "Code:" not in message and "DB::Exception" not in message
    assert "version" not in message and "\n" not in message


def test_an_undeclared_parameter_is_refused_by_name(analytics_engine):
    with pytest.raises(ParameterError, match="unknown parameter 'b'") as error:
        engine.execute("SELECT {a:UInt8}", {"a": "1", "b": "2"}, tag=TAG)
    assert error.value.name == "b"


def test_a_missing_parameter_is_refused_by_name(analytics_engine):
    with pytest.raises(ParameterError, match=r"a \(UInt8\) needs a value"):
        engine.execute("SELECT {a:UInt8}", {}, tag=TAG)


def test_a_missing_nullable_parameter_binds_null(analytics_engine):
    assert engine.execute("SELECT {a:Nullable(UInt8)}", tag=TAG).rows == [(None,)]
