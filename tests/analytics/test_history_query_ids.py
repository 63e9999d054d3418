"""Every run's history row names its engine query: saved queries, exports, reports, the CLI.

``history.recorded`` picks the id and each caller hands it to the engine, so an operator can
go from a history row to ClickHouse's ``system.processes`` (and Stop finds the query).
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from admin2_analytics import exports, running, tasks
from admin2_analytics.models import Export, QueryRun
from tests.support.analytics_pages import due_report, make_query, make_user

pytestmark = pytest.mark.django_db

PARAMS = {"start": "2025-01-05", "end": "2025-01-20"}


def _ids(source: str) -> list[str]:
    return list(QueryRun.objects.filter(source=source).values_list("query_id", flat=True))


def test_each_kind_of_run_records_the_id_it_ran_under(analytics_engine):
    owner = make_user("idowner", "analytics.run_savedquery", "analytics.export_savedquery")
    query = make_query(owner, cache_ttl_seconds=0)

    running.run_saved(query, PARAMS, user=owner, max_rows=10, refresh=True)
    download = exports.streaming_response(query, PARAMS, "csv", user=owner)
    body = b"".join(download.streaming_content)
    assert body.startswith(b'"day","revenue"')
    export = Export.objects.create(saved_query=query, params=PARAMS, format="tsv",
                                   requested_by=owner)  # fmt: skip
    assert tasks.run_export(export_id=export.pk).endswith("rows")
    due_report(owner)
    assert tasks.dispatch_due_reports() == ["Weekly revenue: 7 rows"]
    call_command("analytics_query", "--sql", "SELECT 1 AS one", stdout=io.StringIO(),
                 stderr=io.StringIO())  # fmt: skip
    call_command("analytics_query", "--sql", "SELECT 2 AS two", "--format", "csv",
                 stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip

    rows = list(QueryRun.objects.order_by("pk").values_list("source", "query_id", "error"))
    assert [source for source, _, _ in rows] == ["web", "web", "task", "task", "cli", "cli"]
    assert all(error == "" for _, _, error in rows), rows
    ids = [query_id for _, query_id, _ in rows]
    assert all(query_id.startswith("admin2-") for query_id in ids), ids
    assert len(set(ids)) == len(ids)  # one id per run, never shared


def test_the_download_streams_under_the_id_its_history_row_names(analytics_engine):
    owner = make_user("idexporter", "analytics.run_savedquery", "analytics.export_savedquery")
    query = make_query(owner)
    download = exports.streaming_response(query, PARAMS, "jsonl", user=owner)
    # The response closes its body when it ends: that body holds the engine's stream.
    (body,) = [
        closer.__self__
        for closer in download._resource_closers
        if isinstance(getattr(closer, "__self__", None), exports._DownloadBody)
    ]
    engine_id = body._stream.query_id  # the id the engine session runs under
    b"".join(download.streaming_content)
    assert _ids("web") == [engine_id]


def test_a_refused_run_still_gets_an_id_on_its_row(analytics_engine):
    with pytest.raises(Exception, match="Refused"):
        running.run_sql(
            "SELECT * FROM file('/etc/passwd')", {}, user=None, max_rows=5, source="cli"
        )
    (query_id,) = _ids("cli")
    assert query_id.startswith("admin2-")
