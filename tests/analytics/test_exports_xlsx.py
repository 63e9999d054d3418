"""XLSX exports: typed cells read back with openpyxl (an independent reader), on every way
out (a saved query's download, the console's, a background export, a scheduled report)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.core import mail
from django.urls import reverse

from admin2_analytics import engine, exports, reports, tasks
from admin2_analytics.models import Export, ScheduledReport
from admin2_analytics.xlsx import significant_digits
from tests.support.analytics_pages import DAILY_SQL, direct_count, make_query

pytestmark = pytest.mark.django_db

ROWS = 100_000
TYPED_SQL = f"""
SELECT
    number AS n,
    toInt64(number) * 1000003 - 50000000000 AS small_int64,
    toUInt64(18446744073709551615 - number) AS big_uint64,
    toDecimal64(number, 2) / 100 AS small_decimal,
    toDecimal64(1234567890123456 + number, 2) + toDecimal64('0.78', 2) AS big_decimal,
    toDate('2025-01-01') + number % 365 AS day,
    toDateTime('2025-01-01 00:00:00', 'Asia/Tokyo') + number AS tokyo_time,
    toDateTime('2025-01-01 00:00:00') + number AS engine_time,
    toDateTime64('2025-01-01 00:00:00', 3, 'UTC') + toIntervalMillisecond(number) AS utc_ms,
    if(number % 1000 = 0, '=HYPERLINK("http://127.0.0.1/","x")', concat('row ', toString(number)))
        AS label,
    if(number % 7 = 0, NULL, number) AS maybe,
    toBool(number % 2 = 0) AS even,
    number / 4 AS quarter
FROM numbers({ROWS})
"""  # noqa: S608 (a fixed test query; the guard checks it)
BERLIN_DAY = dt.date(2025, 1, 1)


def _expected(n: int) -> list:
    start = dt.datetime(2025, 1, 1)
    return [
        n,
        n * 1000003 - 50000000000,
        str(18446744073709551615 - n),  # 20 digits: text, every digit kept
        float(Decimal(n) / 100),
        str(Decimal("1234567890123456.78") + n),  # 18 digits: text
        dt.datetime.combine(BERLIN_DAY + dt.timedelta(days=n % 365), dt.time()),
        start + dt.timedelta(seconds=n),
        start + dt.timedelta(seconds=n),
        start + dt.timedelta(milliseconds=n),
        '\'=HYPERLINK("http://127.0.0.1/","x")' if n % 1000 == 0 else f"row {n}",
        None if n % 7 == 0 else n,
        n % 2 == 0,
        n / 4,
    ]


@pytest.mark.slow  # ~10 s to write and ~10 s to read back 100k rows on the 2-core box
def test_100k_rows_read_back_with_their_types(tmp_path, analytics_engine):
    tag = engine.QueryTag(user="test", source="cli")
    target = tmp_path / "typed.xlsx"
    written = exports.write_file(TYPED_SQL, {}, fmt="xlsx", tag=tag, final=target)
    assert written.records == ROWS and written.bytes == target.stat().st_size
    zone = engine.execute("SELECT timezone()", tag=tag).rows[0][0]

    book = openpyxl.load_workbook(target, read_only=True)
    sheet = book["Result"]
    # Types and number formats, on the first rows (row 2 is n=0: the formula text and NULL).
    first, second = sheet.iter_rows(min_row=2, max_row=3)
    assert [cell.data_type for cell in second] == list("nnsnsddddsnbn")
    assert second[3].number_format == "0.00"
    assert second[5].is_date and second[5].number_format == "yyyy-mm-dd"
    assert second[6].is_date and second[6].number_format == "yyyy-mm-dd hh:mm:ss"
    assert second[8].number_format == "yyyy-mm-dd hh:mm:ss.000"
    assert first[9].data_type == "s" and first[9].value.startswith("'=")  # never a formula
    assert first[10].value is None

    rows = sheet.iter_rows(values_only=True)
    assert next(rows) == (
        "n", "small_int64", "big_uint64", "small_decimal", "big_decimal", "day",
        "tokyo_time (Asia/Tokyo)", f"engine_time ({zone})", "utc_ms (UTC)", "label", "maybe",
        "even", "quarter",
    )  # fmt: skip
    count = 0
    for count, row in enumerate(rows, start=1):
        assert list(row) == _expected(count - 1), count - 1
    assert count == ROWS
    book.close()


def test_raw_cells_keep_formula_text_as_text(tmp_path, analytics_engine):
    tag = engine.QueryTag(user="test", source="cli")
    target = tmp_path / "raw.xlsx"
    sql = "SELECT '=1+1' AS f, '-2+3' AS g, '-5' AS h, '@x' AS i"
    exports.write_file(sql, {}, fmt="xlsx", tag=tag, final=target, raw=True)
    sheet = openpyxl.load_workbook(target)["Result"]
    assert [cell.value for cell in sheet[2]] == ["=1+1", "-2+3", "-5", "@x"]
    assert {cell.data_type for cell in sheet[2]} == {"s"}  # text cells, not formulas
    exports.write_file(sql, {}, fmt="xlsx", tag=tag, final=target)
    sheet = openpyxl.load_workbook(target)["Result"]
    assert [cell.value for cell in sheet[2]] == ["'=1+1", "'-2+3", "-5", "'@x"]


def test_significant_digits_decide_number_or_text():
    assert significant_digits("123456789012345") == 15
    assert significant_digits("1234567890123456") == 16
    assert significant_digits("-18446744073709500000") == 20  # not a double: 2**64 - 116
    assert significant_digits("0.000123") == 3
    assert significant_digits("1234567890123.45") == 15


@pytest.fixture
def exporter(logged_in):
    return logged_in(
        "analytics.run_savedquery", "analytics.export_savedquery", "analytics.run_adhoc_sql",
        username="exporter",
    )  # fmt: skip


def _sheet_rows(data: bytes) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return list(book["Result"].iter_rows(values_only=True))


PARAMS = {"start": "2025-01-01", "end": "2025-02-14"}


def test_a_saved_query_and_the_console_download_xlsx(client, exporter, analytics_engine):
    query = make_query(exporter)
    response = client.post(
        reverse("analytics:export", args=[query.pk]), {"stream": "1", **PARAMS, "format": "xlsx"}
    )
    assert response.status_code == 200 and response["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    assert response["Content-Disposition"].endswith('.xlsx"')
    rows = _sheet_rows(b"".join(response.streaming_content))
    assert rows[0] == ("day", "revenue", "events")
    assert len(rows) - 1 == direct_count(DAILY_SQL, PARAMS) == 45
    assert rows[1][0] == dt.datetime(2025, 1, 1)
    assert query.runs.get().row_count == 45

    console = client.post(
        reverse("analytics:console_export"),
        {"sql": "SELECT 1 AS one, 'a' AS letter", "params": "", "format": "xlsx"},
    )
    assert _sheet_rows(b"".join(console.streaming_content)) == [("one", "letter"), (1, "a")]


def test_background_exports_and_reports_make_xlsx(exporter, settings, analytics_engine):
    query = make_query(exporter)
    export = Export.objects.create(saved_query=query, requested_by=exporter, format="xlsx",
                                   params=PARAMS)  # fmt: skip
    assert tasks.run_export(export_id=export.pk) == "45 rows"
    export.refresh_from_db()
    path = exports.stored_path(export.file.name)
    assert path.suffix == ".xlsx" and export.size_bytes == path.stat().st_size
    assert len(_sheet_rows(path.read_bytes())) == 46

    settings.ANALYTICS_REPORT_ALLOWED_DOMAINS = ["example.com"]
    report = ScheduledReport.objects.create(
        name="X", saved_query=query, params=PARAMS, format="xlsx", every="daily",
        recipients="boss@example.com", owner=exporter,
    )  # fmt: skip
    assert reports.run_report(report) == "45 rows"
    (message,) = mail.outbox
    name, content, mimetype = message.attachments[0]
    assert name.endswith(".xlsx") and mimetype == exports.CONTENT_TYPES["xlsx"]
    assert len(_sheet_rows(content)) == 46


def test_the_command_writes_xlsx_from_the_output_suffix(tmp_path, analytics_engine):
    from django.core.management import call_command

    target = tmp_path / "countries.xlsx"
    sql = "SELECT country, count() AS events FROM events GROUP BY country ORDER BY country"
    call_command("analytics_query", sql=sql, output=target, limit=3)
    rows = _sheet_rows(target.read_bytes())
    assert rows[0] == ("country", "events") and len(rows) == 4
    assert all(isinstance(events, int) for _, events in rows[1:])
