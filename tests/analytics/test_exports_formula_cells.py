"""CSV and TSV exports neutralize cells a spreadsheet would run as formulas (OWASP).

Text cells starting with = + - @ (in CSV also tab or carriage return) get a leading ``'``;
numbers and every other byte stay as the engine wrote them. Checked on the real embedded
engine, through the web download, the background file, the CLI, and the raw switch.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from admin2_analytics import engine, exports, formulas
from admin2_analytics.models import QueryRun
from tests.support.analytics_pages import make_query

# Strings a spreadsheet would run, and neighbours that must stay exactly as they are.
SQL = (
    "SELECT s, -5 AS i, -1.5 AS f, -inf AS g FROM (SELECT arrayJoin(["
    "'=1+1', '+SUM(A1)', '-2+3', '@cmd', concat(char(9), '=x'), concat(char(13), '=r'), "
    "'plain', 'a,\"=b', '-5', '-', 'x-y']) AS s)"
)
NUMBERS = {"csv": b",-5,-1.5,-inf\n", "tsv": b"\t-5\t-1.5\t-inf\n"}
# (engine's cell, neutralized cell) per row, in each format.
CELLS = {
    "csv": [
        (b'"=1+1"', b'"\'=1+1"'),
        (b'"+SUM(A1)"', b'"\'+SUM(A1)"'),
        (b'"-2+3"', b'"\'-2+3"'),
        (b'"@cmd"', b'"\'@cmd"'),
        (b'"\t=x"', b'"\'\t=x"'),
        (b'"\r=r"', b'"\'\r=r"'),
        (b'"plain"', b'"plain"'),
        (b'"a,""=b"', b'"a,""=b"'),
        (b'"-5"', b'"-5"'),  # text holding a plain number is no formula
        (b'"-"', b'"\'-"'),
        (b'"x-y"', b'"x-y"'),
    ],
    "tsv": [
        (b"=1+1", b"'=1+1"),
        (b"+SUM(A1)", b"'+SUM(A1)"),
        (b"-2+3", b"'-2+3"),
        (b"@cmd", b"'@cmd"),
        (b"\\t=x", b"\\t=x"),  # TabSeparated escapes the tab: the cell starts with a backslash
        (b"\\r=r", b"\\r=r"),
        (b"plain", b"plain"),
        (b'a,"=b', b'a,"=b'),
        (b"-5", b"-5"),
        (b"-", b"'-"),
        (b"x-y", b"x-y"),
    ],
}
HEADER = {"csv": b'"s","i","f","g"\n', "tsv": b"s\ti\tf\tg\n"}


def expected(fmt: str, *, raw: bool) -> bytes:
    cells = [engine_cell if raw else safe for engine_cell, safe in CELLS[fmt]]
    return HEADER[fmt] + b"".join(cell + NUMBERS[fmt] for cell in cells)


def engine_bytes(sql: str, fmt: str) -> bytes:
    tag = engine.QueryTag(user="test", source="cli")
    with engine.stream(sql, tag=tag, fmt=fmt) as stream:
        return b"".join(stream)


# --- the engine's own output, and the rewrite of it ----------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_risky_text_cells_get_a_quote_and_nothing_else_changes(analytics_engine, fmt):
    data = engine_bytes(SQL, fmt)
    # What the rewrite relies on: CSV quotes all text (quotes doubled inside) and no number;
    # TSV quotes nothing and escapes tabs and carriage returns.
    assert data == expected(fmt, raw=True)
    assert b"".join(formulas.neutralized(iter([data]), fmt)) == expected(fmt, raw=False)


def test_json_lines_are_left_as_the_engine_wrote_them(analytics_engine):
    data = engine_bytes(SQL, "jsonl")
    assert b'"s":"=1+1"' in data
    assert b"".join(formulas.neutralized(iter([data]), "jsonl")) == data


def test_no_cell_of_any_text_type_starts_a_formula(analytics_engine):
    """Every String-like type, as the engine writes it, is caught (the quoting fact, wide)."""
    sql = (
        "SELECT '=a' AS s, toNullable('+b') AS n, toLowCardinality('@c') AS lc, "
        "toFixedString('-d', 2) AS fs, CAST('=e' AS Enum8('=e' = 1)) AS en, "
        "['=f'] AS arr, map('=g', '-h') AS m, tuple('@i', -1) AS t, "
        "CAST('=j', 'Dynamic') AS dy, CAST('-k', 'Variant(String, UInt8)') AS va, "
        "toDecimal64(-2.5, 2) AS dec, toInt64(-9) AS i, CAST('-3', 'Dynamic') AS dn"
    )
    data = b"".join(formulas.neutralized(iter([engine_bytes(sql, "csv")]), "csv"))
    header, row = list(csv.reader(io.StringIO(data.decode())))
    risky = [cell for cell in header + row if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert risky == ["-1", "-2.50", "-9", "-3"]  # numbers only; a Decimal keeps its scale
    assert row[0] == "'=a" and row[3] == "'-d"


# --- chunk boundaries ----------------------------------------------------------------------

SMALL = {
    "csv": b'"=h","x"\n"-2+3",-5\n"a,""=b","-1.5e3"\n"@",-inf\n"\t=",nan\n"-","+49"\n"=z"',
    "tsv": b'=h\tx\n-2+3\t-5\na,"=b\t-1.5e3\n@\t-inf\n\\t=\tnan\n-\t+49\n-0x1\t=z',
}


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_every_split_point_gives_the_bytes_of_the_whole(fmt):
    data = SMALL[fmt]
    whole = b"".join(formulas.neutralized([data], fmt))
    assert whole == formulas.neutralize(data, fmt)
    assert whole.count(b"'") == 6  # six risky text cells; never -5 -1.5e3 -inf nan +49
    assert whole.replace(b"'", b"") == data
    for cut in range(len(data) + 1):
        assert b"".join(formulas.neutralized([data[:cut], data[cut:]], fmt)) == whole, cut
    one_byte_chunks = [data[i : i + 1] for i in range(len(data))]
    assert b"".join(formulas.neutralized(one_byte_chunks, fmt)) == whole


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_long_cells_and_long_numbers_split_anywhere(fmt):
    """Cells longer than what is held back between chunks, and digit runs past a number."""
    sep, quote = (b",", b'"') if fmt == "csv" else (b"\t", b"")
    long_text = quote + b"-" + b"x" * (formulas.LOOKAHEAD * 2) + quote
    long_digits = quote + b"-" + b"9" * 300 + quote  # no engine writes such a number: text
    number = quote + b"-" + b"9" * 70 + b".5" + quote
    data = sep.join([long_text, long_digits, number, quote + b"=1" + quote]) + b"\n"
    whole = formulas.neutralize(data, fmt)
    assert whole.count(b"'") == 3
    for cut in range(len(data) + 1):
        parts = [data[:cut], data[cut : cut + 100], data[cut + 100 :]]
        assert b"".join(formulas.neutralized(parts, fmt)) == whole, cut


ALPHABET = [b",", b"\t", b"\n", b'"', b'""', b"=", b"+", b"-", b"@", b"\r", b"7", b".", b"e"]


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*ALPHABET, b"inf", b"x" * 300, b"1" * 100]), max_size=40),
    st.lists(st.integers(min_value=0, max_value=4000), max_size=5),
    st.sampled_from(["csv", "tsv"]),
)
def test_any_chunking_of_any_bytes_matches_the_whole(pieces, cuts, fmt):
    data = b"".join(pieces)
    cuts = sorted(min(cut, len(data)) for cut in cuts)
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    out = b"".join(formulas.neutralized(parts, fmt))
    assert out == formulas.neutralize(data, fmt)
    assert out.replace(b"'", b"") == data.replace(b"'", b"")  # only quotes are added


# --- where exports are made ----------------------------------------------------------------


@pytest.fixture
def exporter(logged_in):
    return logged_in("analytics.run_savedquery", "analytics.export_savedquery", username="exporter")


def _download(client, query, fmt: str) -> bytes:
    response = client.post(
        reverse("analytics:export", args=[query.pk]), {"stream": "1", "format": fmt}
    )
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_the_web_download_neutralizes_unless_the_setting_asks_for_raw(
    client, exporter, analytics_engine, settings, fmt
):
    query = make_query(exporter, sql=SQL, parameter_defaults={}, chart_kind="none")
    assert _download(client, query, fmt) == expected(fmt, raw=False)
    assert QueryRun.objects.get().row_count == len(CELLS[fmt])
    settings.ANALYTICS_EXPORT_RAW_CELLS = True
    assert _download(client, query, fmt) == expected(fmt, raw=True)


def test_background_and_report_files_neutralize_unless_raw(analytics_engine, tmp_path):
    tag = engine.QueryTag(user="test", source="task")
    target = tmp_path / "export.csv"
    counter = exports.write_file(SQL, {}, fmt="csv", tag=tag, final=target)
    assert target.read_bytes() == expected("csv", raw=False)
    assert (counter.records, counter.bytes) == (len(CELLS["csv"]), target.stat().st_size)
    exports.write_file(SQL, {}, fmt="csv", tag=tag, final=target, raw=True)
    assert target.read_bytes() == expected("csv", raw=True)


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_the_cli_neutralizes_and_raw_cells_gives_the_engine_bytes(analytics_engine, tmp_path, fmt):
    from django.core.management import call_command

    target = tmp_path / f"out.{fmt}"
    call_command("analytics_query", "--sql", SQL, "--output", str(target), stderr=io.StringIO())
    assert target.read_bytes() == expected(fmt, raw=False)
    call_command(
        "analytics_query", "--sql", SQL, "--output", str(target), "--raw-cells",
        stderr=io.StringIO(),
    )  # fmt: skip
    assert target.read_bytes() == expected(fmt, raw=True) == engine_bytes(SQL, fmt)
