"""The engine's own neutralizing of CSV formula cells (``formulas.engine_cells``) gives exactly
the bytes of the byte rewrite over the engine's raw CSV: for every text type, every risky
first character, numbers written as text, header names, and any string hypothesis makes.
Results it cannot cover (and TSV) keep the byte rewrite. Real embedded engine throughout."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from admin2_analytics import engine, exports, formulas

TAG = engine.QueryTag(user="test", source="cli")
VALUES = [
    "=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=r", "\n=n", "plain", 'a,"=b', '"=q',
    "-5", "+49", "-1.5e3", "-inf", "+nan", "-12:30:05.5", ".5", "-.5", "-5\n", "-5 ", "-",
    "+", "x-y", "", "-0x1", "'=already", "-" + "9" * 80, "-" + "9" * 81, "=é", "-é",
]  # fmt: skip
# Each text type the engine rewrites, beside numbers that must stay numbers.
TYPED = (
    "SELECT s, -5 AS i, -1.5 AS f, -inf AS g, toDecimal64(-2.5, 2) AS dec, "
    "toDate('2025-01-02') AS d, toDateTime('2025-01-02 03:04:05', 'UTC') AS t, "
    "toNullable(s) AS ns, toLowCardinality(s) AS lc, toLowCardinality(toNullable(s)) AS lcn, "
    "toFixedString(s, 90) AS fx, toNullable(toFixedString(s, 90)) AS nfx, "
    "CAST(NULL AS Nullable(String)) AS nothing, [s] AS arr, map(s, s) AS m, "
    "CAST(s AS Enum16({enum})) AS en "
    "FROM (SELECT arrayJoin({{values:Array(String)}}) AS s)"
)


def _enum() -> str:
    return ", ".join(
        "'" + value.replace("\\", "\\\\").replace("'", "\\'") + f"' = {number}"
        for number, value in enumerate(VALUES, 1)
        if value  # an Enum has no empty name
    )


def _export(sql: str, params: dict, *, raw: bool = False, fmt: str = "csv", **kwargs):
    """(export bytes, whether the engine rewrote the cells) through the real export path."""
    with exports.open_stream(sql, params, fmt, tag=TAG, raw=raw, **kwargs) as stream:
        data = b"".join(exports.export_chunks(stream, raw=raw))
        return data, stream.cells_rewritten


def _both(sql: str, params: dict, **kwargs) -> tuple[bytes, bytes]:
    """The engine-rewritten export and the byte rewrite of the raw one."""
    data, rewritten = _export(sql, params, **kwargs)
    assert rewritten
    raw, rewritten = _export(sql, params, raw=True, **kwargs)
    assert not rewritten
    return data, formulas.neutralize(raw, "csv")


def test_every_text_type_gets_the_bytes_of_the_byte_rewrite(analytics_engine):
    values = [value for value in VALUES if value]
    data, expected = _both(TYPED.format(enum=_enum()), {"values": values})
    assert data == expected
    # 14 risky values in seven text columns, and in the two FixedStrings 8 more (a number
    # padded with zero bytes is no number); never the Array's or the Map's text. Each adds one
    # byte: the rewrite cannot pass by doing nothing.
    raw, _ = _export(TYPED.format(enum=_enum()), {"values": values}, raw=True)
    assert len(data) - len(raw) == 7 * 14 + 2 * 8
    first = b'"\'=1+1",-5,-1.5,-inf,-2.50,"2025-01-02","2025-01-02 03:04:05"'
    assert data.split(b"\n")[1].startswith(first)
    assert b'"-5",-5,-1.5,-inf,-2.50' in data  # text holding a plain number stays as it is
    assert b'"-9999' in data and b"\"'-9999" in data  # 80 digits a number, 81 text


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(alphabet=list("=+-@\t\r\n\"',19.eE:infa \\é"), max_size=8),
        min_size=1,
        max_size=20,
    )
)
def test_any_strings_get_the_bytes_of_the_byte_rewrite(analytics_engine, values):
    sql = "SELECT s, toLowCardinality(s) AS lc FROM (SELECT arrayJoin({values:Array(String)}) AS s)"
    data, expected = _both(sql, {"values": values})
    assert data == expected


def test_header_names_are_neutralized_too(analytics_engine):
    data, expected = _both("SELECT '=x' AS `=a`, -1 AS `-b`, 'y' AS `we``ird`", {})
    assert data == expected == b'"\'=a","\'-b","we`ird"\n"\'=x",-1,"y"\n'


def test_the_order_and_the_row_limit_survive_the_rewrite(analytics_engine):
    sql = (
        "SELECT concat('-', toString(number), 'x') AS s, number AS n FROM numbers(50) "
        "ORDER BY n DESC"
    )
    data, expected = _both(sql, {}, max_rows=3)
    assert data == expected == b'"s","n"\n"\'-49x",49\n"\'-48x",48\n"\'-47x",47\n'


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '=a' AS s, CAST('=j', 'Dynamic') AS dy",
        "SELECT '=a' AS s, CAST('-k', 'Variant(String, UInt8)') AS va",
        "SELECT '=a' AS s, tuple('@i', -1) AS t",
        "SELECT s, s FROM (SELECT '=a' AS s)",  # a name twice: not told apart by name
    ],
)
def test_results_the_sql_does_not_cover_keep_the_byte_rewrite(analytics_engine, sql):
    data, rewritten = _export(sql, {})
    raw, _ = _export(sql, {}, raw=True)
    assert not rewritten
    assert data == formulas.neutralize(raw, "csv") != raw


def test_tsv_keeps_the_byte_rewrite(analytics_engine):
    """TabSeparated writes a ' inside a value as \\', so the engine cannot add a bare one."""
    data, rewritten = _export("SELECT '=a' AS s", {}, fmt="tsv")
    assert not rewritten
    assert data == b"s\n'=a\n"


def test_raw_cells_from_a_rewritten_stream_are_refused(analytics_engine):
    with exports.open_stream("SELECT '=a' AS s", {}, "csv", tag=TAG, raw=False) as stream:
        assert stream.cells_rewritten
        with pytest.raises(ValueError, match="raw cells"):
            list(exports.export_chunks(stream, raw=True))
