"""The console shows each value as ClickHouse writes it: one case per type family, read
through the real engine (``engine.execute_text``), plus the TSV unescaping on its own. (The
page then writes Maps and one-item Tuples as SQL: test_console_literals.py.)"""

from __future__ import annotations

import pytest

from admin2_analytics import engine
from admin2_analytics.engine.text_rows import parse_tsv_with_names_and_types, unescape

TAG = engine.QueryTag(user="tester", source="web")

# (expression, full type, text shown); None stands for NULL.
FAMILIES = [
    ("toUInt64('18446744073709551615')", "UInt64", "18446744073709551615"),
    ("toInt64('-9223372036854775808')", "Int64", "-9223372036854775808"),
    ("toInt8(-5)", "Int8", "-5"),
    ("toFloat64(0.1)", "Float64", "0.1"),
    ("toFloat32(1.5)", "Float32", "1.5"),
    ("toFloat64('inf')", "Float64", "inf"),
    ("toDecimal64('221280.10', 2)", "Decimal(18, 2)", "221280.10"),
    ("toDecimal32('-0.5', 3)", "Decimal(9, 3)", "-0.500"),
    (
        "toDecimal128('12345678901234567890.0123456789', 10)",
        "Decimal(38, 10)",
        "12345678901234567890.0123456789",
    ),
    ("toDecimal128('-0.0000000001', 10)", "Decimal(38, 10)", "-0.0000000001"),
    (
        "toDecimal256('-1234567890123456789012345678901234567890.50', 2)",
        "Decimal(76, 2)",
        "-1234567890123456789012345678901234567890.50",
    ),
    (
        "toInt128('-170141183460469231731687303715884105728')",
        "Int128",
        "-170141183460469231731687303715884105728",
    ),
    (
        "toUInt256('115792089237316195423570985008687907853269984665640564039457584007913129639935')",
        "UInt256",
        "115792089237316195423570985008687907853269984665640564039457584007913129639935",
    ),
    ("toBool(1)", "Bool", "true"),
    ("'it''s\ta\\\\b\nc'", "String", "it's\ta\\b\nc"),
    ("toFixedString('ab', 3)", "FixedString(3)", "ab\x00"),
    ("toLowCardinality('x\ty')", "LowCardinality(String)", "x\ty"),
    ("CAST('q' AS Enum8('q' = 1, 'r' = 2))", "Enum8('q' = 1, 'r' = 2)", "q"),
    (
        "toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')",
        "UUID",
        "61f0c404-5cb3-11e7-907b-a6006ad3dba0",
    ),
    ("toIPv4('1.2.3.4')", "IPv4", "1.2.3.4"),
    ("toIPv6('::1')", "IPv6", "::1"),
    ("toDate('2025-01-31')", "Date", "2025-01-31"),
    ("toDate32('1900-01-01')", "Date32", "1900-01-01"),
    (
        "toDateTime('2025-01-01 12:00:00', 'America/New_York')",
        "DateTime('America/New_York')",
        "2025-01-01 12:00:00",
    ),
    (
        "toDateTime64('2025-01-01 12:00:00.123', 3, 'Asia/Tokyo')",
        "DateTime64(3, 'Asia/Tokyo')",
        "2025-01-01 12:00:00.123",
    ),
    ("map('a', 1, 'b', 2)", "Map(String, UInt8)", "{'a':1,'b':2}"),
    ("(1, 'x')", "Tuple(UInt8, String)", "(1,'x')"),
    ("['DE', 'it''s', 'a\tb']", "Array(String)", "['DE','it\\'s','a\\tb']"),
    ("[NULL, 1]", "Array(Nullable(UInt8))", "[NULL,1]"),
    ("[map('k', (1, 'y'))]", "Array(Map(String, Tuple(UInt8, String)))", "[{'k':(1,'y')}]"),
    ("CAST('{\"a\":[1,2]}' AS JSON)", "JSON", '{"a":[1,2]}'),
    ("toNullable(3)", "Nullable(UInt8)", "3"),
    ("CAST(NULL AS Nullable(String))", "Nullable(String)", None),
    ("toNullable('\\\\N')", "Nullable(String)", "\\N"),
    ("toIntervalDay(2)", "IntervalDay", "2"),
]


@pytest.mark.parametrize(("expression", "full_type", "shown"), FAMILIES)
def test_each_type_family_is_shown_as_clickhouse_writes_it(
    analytics_engine, expression, full_type, shown
):
    result = engine.execute_text(f"SELECT {expression} AS v", tag=TAG, max_rows=10)
    assert result.types == [full_type]
    assert result.rows == [(shown,)]


@pytest.mark.parametrize(
    ("expression", "shown"),
    [
        ("[(1, 'a\tb'), (2, NULL)]", "[(1,'a\\tb'),(2,NULL)]"),
        ("((1, [2.5]), 'x', [NULL, -1])", "((1,[2.5]),'x',[NULL,-1])"),
        ("(toUInt64('18446744073709551615'), toInt64('-9223372036854775808'))",
         "(18446744073709551615,-9223372036854775808)"),
    ],
)  # fmt: skip
def test_array_and_tuple_literals_pasted_back_run_and_give_the_same_value(
    analytics_engine, expression, shown
):
    first = engine.execute_text(f"SELECT {expression} AS v", tag=TAG, max_rows=1)
    assert first.rows == [(shown,)]
    again = engine.execute_text(f"SELECT {shown} AS v", tag=TAG, max_rows=1)  # pasted back
    assert (again.rows, again.types) == (first.rows, first.types)


def test_compound_values_are_literals_that_read_back_as_the_same_value(analytics_engine):
    shown = engine.execute_text("SELECT [('k\\'', [NULL, 'a\tb'])] AS v", tag=TAG, max_rows=1).rows[
        0
    ][0]
    again = engine.execute_text(f"SELECT {shown} AS v", tag=TAG, max_rows=1).rows[0][0]
    assert again == shown == "[('k\\'',[NULL,'a\\tb'])]"


def test_a_page_says_whether_more_rows_follow(analytics_engine):
    sql = "SELECT number FROM numbers(25) ORDER BY number"
    first = engine.execute_text(sql, tag=TAG, max_rows=10)
    last = engine.execute_text(sql, tag=TAG, max_rows=10, offset=20)
    assert first.truncated and [r[0] for r in first.rows] == [str(n) for n in range(10)]
    assert not last.truncated and [r[0] for r in last.rows] == [str(n) for n in range(20, 25)]


def test_tsv_unescaping():
    assert unescape("a\\tb\\\\c\\'d\\n\\0") == "a\tb\\c'd\n\x00"
    columns, types, rows = parse_tsv_with_names_and_types(
        b"s\ta\nString\tArray(String)\n\\\\N\t['x\\ty']\n\\N\t[]\n"
    )
    assert columns == ["s", "a"] and types == ["String", "Array(String)"]
    assert rows == [("\\N", "['x\\ty']"), (None, "[]")]
