from admin2_analytics import schema


def test_databases_hide_the_server_bookkeeping(analytics_engine):
    names = schema.databases()
    assert "default" in names
    assert "system" not in names
    assert "information_schema" not in names


def test_tables_report_engine_rows_and_size(analytics_engine):
    (events,) = [t for t in schema.tables("default") if t.name == "events"]
    assert events.engine == "MergeTree"
    assert events.total_rows == analytics_engine.rows
    assert events.total_bytes > 0
    assert "demo data" in events.comment


def test_columns_report_types_and_comments_in_order(analytics_engine):
    columns = schema.columns("default", "events")
    assert [c.name for c in columns][:3] == ["event_time", "user_id", "session_id"]
    by_name = {c.name: c for c in columns}
    assert by_name["revenue"].type == "Decimal(12, 2)"
    assert by_name["event_type"].type == "LowCardinality(String)"
    assert by_name["country"].comment == "ISO 3166 code"
    assert [c.position for c in columns] == list(range(1, len(columns) + 1))


def test_unknown_names_give_empty_lists_not_errors(analytics_engine):
    assert schema.tables("no_such_db") == []
    assert schema.columns("default", "nope'; DROP TABLE events; --") == []
