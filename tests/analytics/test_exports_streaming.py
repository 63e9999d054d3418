"""Small exports stream straight to the browser as CSV, TSV or JSON lines."""

from __future__ import annotations

import json

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from admin2_analytics.exports import RecordCounter, streaming_response
from admin2_analytics.models import QueryRun
from tests.support.analytics_pages import DAILY_SQL, direct_count, make_query, read_csv

pytestmark = pytest.mark.django_db

PARAMS = {"start": "2025-01-01", "end": "2025-02-14"}


@pytest.fixture
def exporter(logged_in):
    return logged_in("analytics.run_savedquery", "analytics.export_savedquery", username="exporter")


def _download(response) -> bytes:
    assert response.status_code == 200, response.content[:500]
    assert response.streaming
    return b"".join(response.streaming_content)


def test_csv_streams_with_header_and_every_row(client, exporter, analytics_engine):
    query = make_query(exporter)
    response = client.post(
        reverse("analytics:export", args=[query.pk]), {"stream": "1", **PARAMS, "format": "csv"}
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="daily-revenue-test-')
    assert disposition.endswith('.csv"')
    rows = read_csv(_download(response))
    assert rows[0] == ["day", "revenue", "events"]
    assert len(rows) - 1 == direct_count(DAILY_SQL, PARAMS) == 45
    assert rows[1][0] == "2025-01-01"
    run = QueryRun.objects.get()
    assert (run.row_count, run.error, run.source) == (45, "", "web")


def test_tsv_and_json_lines_carry_the_same_rows(client, exporter, analytics_engine):
    query = make_query(exporter)
    url = reverse("analytics:export", args=[query.pk])
    tsv = _download(client.post(url, {**PARAMS, "format": "tsv", "stream": "1"}))
    tsv = tsv.decode().splitlines()
    assert tsv[0].split("\t") == ["day", "revenue", "events"]
    assert len(tsv) == 46
    lines = _download(client.post(url, {**PARAMS, "format": "jsonl", "stream": "1"}))
    lines = lines.decode().splitlines()
    first = json.loads(lines[0])
    assert set(first) == {"day", "revenue", "events"} and first["day"] == "2025-01-01"
    assert len(lines) == 45


def test_an_export_over_the_whole_table_matches_the_engine(client, exporter, analytics_engine):
    query = make_query(
        exporter, sql="SELECT * FROM events ORDER BY event_time", parameter_defaults={},
        chart_kind="none",
    )  # fmt: skip
    data = _download(
        client.post(reverse("analytics:export", args=[query.pk]), {"stream": "1", "format": "csv"})
    )
    rows = read_csv(data)
    assert len(rows) - 1 == analytics_engine.rows
    assert QueryRun.objects.get().row_count == analytics_engine.rows


def test_a_refused_export_returns_to_the_page_with_the_reason(client, exporter, analytics_engine):
    query = make_query(
        exporter, sql="SELECT * FROM s3('http://127.0.0.1/x')", parameter_defaults={},
        chart_kind="none",
    )  # fmt: skip
    response = client.post(
        reverse("analytics:export", args=[query.pk]), {"stream": "1", "format": "csv"}, follow=True
    )
    assert response.redirect_chain[-1][0].startswith(reverse("analytics:run", args=[query.pk]))
    assert "Refused:" in response.content.decode()
    assert QueryRun.objects.get().error.startswith("QueryRefused")


def test_a_bad_parameter_returns_to_the_page_with_the_reason(client, exporter, analytics_engine):
    query = make_query(exporter)
    response = client.post(
        reverse("analytics:export", args=[query.pk]),
        {"stream": "1", "start": "2025-13-01", "end": "2025-01-31", "format": "csv"},
        follow=True,
    )
    assert "Cannot export: start:" in response.content.decode()
    assert not QueryRun.objects.exists()


def test_an_unknown_format_is_a_bad_request(client, exporter):
    query = make_query(exporter)
    response = client.post(
        reverse("analytics:export", args=[query.pk]), {"stream": "1", "format": "xml"}
    )
    assert response.status_code == 400


def test_an_abandoned_download_frees_the_engine_and_is_recorded(exporter, analytics_engine):
    from admin2_analytics.engine import embedded

    query = make_query(
        exporter, sql="SELECT * FROM events", parameter_defaults={}, chart_kind="none"
    )
    # The response as the WSGI server gets it (the test client would wrap it).
    response = streaming_response(query, {}, "csv", user=exporter)
    assert embedded._turn.held  # the open stream holds the embedded engine
    assert next(iter(response.streaming_content)).startswith(b'"event_time"')
    # The client goes away: the server closes the response. Keep the test's database
    # connection through the request_finished signal, as Django's test client does.
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    assert not embedded._turn.held
    assert QueryRun.objects.get().error == "the download was interrupted"


@pytest.mark.parametrize(
    ("fmt", "chunks", "records"),
    [
        ("csv", [b'"a","b"\n1,2\n3,4\n'], 2),
        ("csv", [b'"a"\n"line one\nline two"\n"x"\n'], 2),
        ("csv", [b'"a"\n"split ', b'across\n chunks ""quoted"""\n', b"last\n"], 2),
        ("csv", [b'"a"\n1\n2'], 2),  # no final newline
        ("tsv", [b"a\tb\n1\\n2\tx\n"], 1),
        ("jsonl", [b'{"a":"x\\ny"}\n', b'{"a":1}\n'], 2),
        ("csv", [b'"a"\n'], 0),
    ],
)
def test_the_record_counter_counts_records_not_lines(fmt, chunks, records):
    counter = RecordCounter(fmt)
    for chunk in chunks:
        counter.feed(chunk)
    assert counter.records == records
    assert counter.bytes == sum(len(chunk) for chunk in chunks)


def _records_by_walking(data: bytes) -> int:
    quoted, lines = False, 0
    for byte in data:
        quoted ^= byte == ord('"')
        lines += byte == ord("\n") and not quoted
    return lines + (1 if data[-1:] not in (b"", b"\n") else 0) - 1


@hypothesis_settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from([b'"', b'""', b"\n", b",", b"a", b"1", b'"x\ny"']), max_size=40),
    st.lists(st.integers(min_value=0, max_value=200), max_size=4),
)
def test_the_csv_record_count_is_the_quote_walk_whatever_the_chunks(pieces, cuts):
    data = b'"h"\n' + b"".join(pieces)
    cuts = sorted(min(cut, len(data)) for cut in cuts)
    counter = RecordCounter("csv")
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        counter.feed(data[start:end])
    assert counter.records == max(0, _records_by_walking(data))
