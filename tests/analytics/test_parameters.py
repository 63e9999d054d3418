"""Typed ``{name:Type}`` parameters: finding them in SQL and coercing typed-in values."""

import datetime as dt
import ipaddress
import uuid
from decimal import Decimal

import pytest

from admin2_analytics.errors import ParameterError
from admin2_analytics.parameters import Parameter, coerce, find_parameters


def test_it_finds_placeholders_in_order_once_each():
    sql = (
        "SELECT * FROM events WHERE event_time >= {since:DateTime} "
        "AND country IN {countries: Array(String)} AND event_time < {since:DateTime} "
        "LIMIT {n:UInt32}"
    )
    assert find_parameters(sql) == [
        Parameter("since", "DateTime"),
        Parameter("countries", "Array(String)"),
        Parameter("n", "UInt32"),
    ]


def test_it_normalises_type_spelling():
    (parameter,) = find_parameters("SELECT { d : Nullable( DateTime64(3,  'UTC') ) }")
    assert parameter == Parameter("d", "Nullable(DateTime64(3, 'UTC'))")
    assert parameter.nullable
    assert parameter.base_type == "DateTime64(3, 'UTC')"
    assert parameter.input_kind == "datetime"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT '{not:String}'",
        "SELECT `{not:String}`",
        'SELECT "{not:String}"',
        "SELECT 1 -- {not:String}",
        "SELECT 1 # {not:String}",
        "SELECT 1 /* {not:String} */",
        "SELECT $${not:String}$$",
        "SELECT 'it''s {not:String}'",
        "SELECT 'a\\'{not:String}'",
        "SELECT map('a', 1)",
        "SELECT {'a': 1}",
        "SELECT {1:String}",
    ],
)
def test_braces_that_are_not_placeholders_are_ignored(sql):
    assert find_parameters(sql) == []


def test_one_name_with_two_types_is_an_error_naming_it():
    with pytest.raises(ParameterError, match="'day' is declared as both Date and String") as error:
        find_parameters("SELECT {day:Date}, {day:String}")
    assert error.value.name == "day"


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        ("String", 'O\'Brien "quoted" \\ ; DROP TABLE x', 'O\'Brien "quoted" \\ ; DROP TABLE x'),
        ("String", "", ""),
        ("FixedString(3)", "abc", "abc"),
        ("UInt8", "255", 255),
        ("Int32", " -17 ", -17),
        ("UInt64", "1_000_000", 1_000_000),
        ("Int128", str(-(2**127)), -(2**127)),
        ("Float64", "2.5e3", 2500.0),
        ("Decimal(12, 2)", "19.99", Decimal("19.99")),
        ("Bool", "yes", True),
        ("Bool", "0", False),
        ("Date", "2025-01-31", dt.date(2025, 1, 31)),
        ("Date32", "1960-02-29", dt.date(1960, 2, 29)),
        ("DateTime", "2025-01-31 13:45:00", dt.datetime(2025, 1, 31, 13, 45)),
        ("DateTime", "2025-01-31T13:45", dt.datetime(2025, 1, 31, 13, 45)),
        ("DateTime('UTC')", "2025-01-31T13:45:00+02:00", dt.datetime(2025, 1, 31, 11, 45)),
        ("DateTime64(3)", "2025-01-31 13:45:00.250", dt.datetime(2025, 1, 31, 13, 45, 0, 250000)),
        (
            "UUID",
            "12345678-1234-5678-1234-567812345678",
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
        ),
        ("IPv4", "10.0.0.1", ipaddress.ip_address("10.0.0.1")),
        ("IPv6", "::1", ipaddress.ip_address("::1")),
        ("Nullable(String)", "", None),
        ("Nullable(UInt32)", "NULL", None),
        ("Nullable(UInt32)", "7", 7),
        ("LowCardinality(String)", "DE", "DE"),
        ("Array(String)", "DE, FR,US", ["DE", "FR", "US"]),
        ("Array(String)", '["a,b", "c"]', ["a,b", "c"]),
        ("Array(UInt16)", "1,2,3", [1, 2, 3]),
        ("Array(String)", "", []),
        ("Array(Nullable(UInt8))", "[1, null]", [1, None]),
    ],
)
def test_it_coerces_typed_text(type_, raw, expected):
    assert coerce(type_, raw) == expected


@pytest.mark.parametrize(
    ("type_", "raw", "fragment"),
    [
        ("UInt8", "256", "between 0 and 255"),
        ("UInt32", "-1", "between 0 and 4294967295"),
        ("Int8", "1.5", "expected a whole number"),
        ("UInt32", "", "a value is required"),
        ("Float64", "abc", "expected a number"),
        ("Decimal(10, 2)", "NaN", "finite decimal"),
        ("Bool", "maybe", "expected true or false"),
        ("Date", "31/01/2025", "expected a date like 2025-01-31"),
        ("DateTime", "yesterday", "expected a date and time"),
        ("UUID", "nope", "expected a UUID"),
        ("IPv4", "::1", "expected an IPv4 address"),
        ("FixedString(2)", "abc", "at most 2 bytes"),
        ("Array(UInt8)", "1,x", "item 2"),
        ("Array(String)", "[1", "expected an array like ['a', 'b']"),
        ("Array(String)", "['a' 'b']", "expected , between items"),
        ("Array(String)", "['a]", "not closed"),
        ("Array(UInt8)", "[1, 'x']", "item 2"),
        ("Map(String, UInt8)", "a", "not supported for parameters"),
    ],
)
def test_bad_values_are_refused_with_the_reason(type_, raw, fragment):
    with pytest.raises(ParameterError) as error:
        coerce(type_, raw)
    assert fragment in str(error.value)


@pytest.mark.parametrize(
    ("type_", "raw", "expected"),
    [
        ("Array(String)", "['DE','FR']", ["DE", "FR"]),
        ("Array(String)", "[ 'it''s' , 'a\\'b', 'x,y' ]", ["it's", "a'b", "x,y"]),
        ("Array(String)", '["DE", "FR"]', ["DE", "FR"]),
        ("Array(UInt8)", "[1, 2]", [1, 2]),
        ("Array(Array(String))", "[['a'], ['b', 'c']]", [["a"], ["b", "c"]]),
        ("Array(String)", "[]", []),
    ],
)
def test_arrays_take_clickhouse_literal_syntax(type_, raw, expected):
    assert coerce(type_, raw) == expected


def test_errors_name_the_parameter():
    with pytest.raises(ParameterError, match=r"parameter 'since' \(Date\): expected a date") as e:
        coerce(Parameter("since", "Date"), "soon")
    assert e.value.name == "since"


def test_a_missing_value_for_a_non_nullable_type_is_refused():
    with pytest.raises(ParameterError, match="a value is required"):
        coerce(Parameter("n", "UInt8"), None)
    assert coerce(Parameter("n", "Nullable(UInt8)"), None) is None


@pytest.mark.parametrize(
    ("type_", "kind"),
    [
        ("Date", "date"),
        ("UInt8", "integer"),
        ("Float32", "number"),
        ("Bool", "boolean"),
        ("Array(String)", "list"),
        ("String", "text"),
        ("Nullable(Decimal(9, 2))", "number"),
    ],
)
def test_input_kind_hints_forms(type_, kind):
    assert Parameter("x", type_).input_kind == kind
