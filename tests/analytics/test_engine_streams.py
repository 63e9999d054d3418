"""Streaming exports: CSV/TSV with a header, JSON lines, ~1 MiB chunks, export limits."""

import csv
import io
import json

import pytest

from admin2_analytics import engine
from admin2_analytics.engine import CHUNK_SIZE, QueryTag
from admin2_analytics.errors import QueryRefused, ResultTooLarge

TAG = QueryTag(user="exporter", source="task")
BY_TYPE = "SELECT event_type, count() AS n FROM events GROUP BY event_type ORDER BY event_type"


def _expected():
    return engine.execute(BY_TYPE, tag=TAG).rows


def test_csv_has_a_header_and_reads_back(analytics_engine):
    text = b"".join(engine.stream(BY_TYPE, tag=TAG, fmt="csv")).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["event_type", "n"]
    assert [(r[0], int(r[1])) for r in rows[1:]] == _expected()


def test_tsv_has_a_header_and_reads_back(analytics_engine):
    lines = b"".join(engine.stream(BY_TYPE, tag=TAG, fmt="tsv")).decode().splitlines()
    assert lines[0] == "event_type\tn"
    assert [tuple(line.split("\t")) for line in lines[1:]] == [(t, str(n)) for t, n in _expected()]


def test_jsonl_is_one_object_per_line(analytics_engine):
    lines = b"".join(engine.stream(BY_TYPE, tag=TAG, fmt="jsonl")).decode().splitlines()
    assert [(o["event_type"], int(o["n"])) for o in map(json.loads, lines)] == _expected()


def test_header_names_with_quotes_and_tabs_are_escaped(analytics_engine):
    sql = 'SELECT 1 AS `say "hi"`, 2 AS `tab\there`'
    csv_text = b"".join(engine.stream(sql, tag=TAG, fmt="csv")).decode()
    assert next(csv.reader(io.StringIO(csv_text))) == ['say "hi"', "tab\there"]
    tsv_text = b"".join(engine.stream(sql, tag=TAG, fmt="tsv")).decode()
    assert tsv_text.splitlines()[0] == 'say "hi"\ttab\\there'


def test_parameters_bind_in_streams_too(analytics_engine):
    data = b"".join(
        engine.stream("SELECT {s:String} AS s", {"s": "it's"}, tag=TAG, fmt="csv")
    ).decode()
    assert data == '"s"\n"it\'s"\n'


def test_chunks_are_about_a_mebibyte(analytics_engine):
    chunks = list(
        engine.stream("SELECT e.* FROM events AS e, numbers(30) AS n", tag=TAG, fmt="csv")
    )
    assert len(chunks) > 2
    # Never line by line, never more than a chunk (the first one also holds the header).
    assert all(len(chunk) >= CHUNK_SIZE // 4 for chunk in chunks[:-1])
    assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks[1:])
    assert sum(chunk.count(b"\n") for chunk in chunks) == analytics_engine.rows * 30 + 1


def test_the_export_row_limit_stops_the_stream(analytics_engine, settings):
    settings.ANALYTICS_EXPORT_MAX_ROWS = 1000
    with pytest.raises(ResultTooLarge, match=r"max rows: 1\.00 thousand"):
        for _chunk in engine.stream("SELECT * FROM events", tag=TAG, fmt="csv"):
            pass


def test_the_guard_refuses_before_anything_streams(analytics_engine):
    with pytest.raises(QueryRefused, match="table function file"):
        engine.stream("SELECT * FROM file('/etc/passwd')", tag=TAG, fmt="csv")


def test_an_unknown_format_is_a_programming_error(analytics_engine):
    with pytest.raises(ValueError, match="unknown export format 'xml'"):
        engine.stream("SELECT 1", tag=TAG, fmt="xml")


def test_closing_a_stream_early_releases_the_engine(analytics_engine, settings):
    settings.CLICKHOUSE_EMBEDDED_LOCK_TIMEOUT = 0.5
    stream = engine.stream("SELECT e.* FROM events AS e, numbers(100) AS n", tag=TAG, fmt="csv")
    first = next(stream)
    assert first.startswith(b'"event_time"')
    stream.close()
    # Same process: the lease is free again, so a query needs no wait.
    assert engine.execute("SELECT 1", tag=TAG).rows == [(1,)]
