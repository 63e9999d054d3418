"""What the console shows of a Map, Array, Tuple or JSON value pastes back into a query as the
same value: each shown literal is run through the real engine and compared with the value."""

from __future__ import annotations

import pytest

from admin2_analytics import engine
from admin2_analytics.errors import QueryFailed, QueryRefused
from admin2_analytics.sql_literals import pasteable

TAG = engine.QueryTag(user="tester", source="web")

# (expression, what the console shows); every shown literal is SQL of the same type family.
SAME_TYPE = [
    ("map('a', 1, 'b', 2)", "map('a', 1, 'b', 2)"),
    ("map('x', toUInt64('18446744073709551615'))", "map('x', 18446744073709551615)"),
    ("map('a{b:c}', 'x:y''}', '', '\t')", "map('a{b:c}', 'x:y\\'}', '', '\\t')"),
    ("map('a', NULL, 'b', 1)", "map('a', NULL, 'b', 1)"),
    ("map('a', map('b', [1, 2]), 'c', map())", "map('a', map('b', [1,2]), 'c', map())"),
    ("['DE', 'it''s', 'a\tb']", "['DE','it\\'s','a\\tb']"),
    ("(1, 'x')", "(1,'x')"),
    ("tuple('x')", "tuple('x')"),
    ("CAST((1, 'x'), 'Tuple(a UInt8, b String)')", "(1,'x')"),
    ("[map('k', (1, 'y'))]", "[map('k', (1,'y'))]"),
    ("(1, map('k', [tuple(2)]), [NULL, 'z'])", "(1,map('k', [tuple(2)]),[NULL,'z'])"),
    ("tuple(map('a', 1))", "tuple(map('a', 1))"),
]
# Values whose items ClickHouse writes quoted (dates, JSON): the literal is the same value
# where the column's type is expected, i.e. under CAST to the type the console's header shows.
UNDER_ITS_TYPE = [
    ("map(toDate('2025-01-31'), 1.5)", "map('2025-01-31', 1.5)"),
    ("[CAST('{\"a\":[1,2]}' AS JSON)]", "['{\"a\":[1,2]}']"),
    ("map('k', CAST('{\"b\":\"x\"}' AS JSON))", "map('k', '{\"b\":\"x\"}')"),
]


def _shown(expression: str) -> tuple[str, str]:
    """(the console's text of the value, its full type), as ``console_runs`` makes it."""
    result = engine.execute_text(f"SELECT {expression} AS v", tag=TAG, max_rows=1)
    kind = result.types[0]
    return pasteable(kind, result.rows[0][0]), kind


def _same(left: str, right: str) -> bool:
    """``left = right`` on the engine, through the console's own path (the guard included)."""
    result = engine.execute_text(f"SELECT ({left}) = ({right}) AS same", tag=TAG, max_rows=1)
    return result.rows == [("1",)]


def assert_pastes_back(shown: str, expression: str, kind: str | None = None) -> None:
    pasted = f"CAST({shown}, '{kind}')" if kind else shown
    assert _same(pasted, expression), (shown, expression)


@pytest.mark.parametrize(("expression", "shown"), SAME_TYPE)
def test_a_shown_literal_pasted_back_is_the_same_value(analytics_engine, expression, shown):
    text, kind = _shown(expression)
    assert text == shown
    assert_pastes_back(text, expression)
    assert_pastes_back(text, expression, kind)


@pytest.mark.parametrize(("expression", "shown"), UNDER_ITS_TYPE)
def test_quoted_items_paste_back_under_the_columns_type(analytics_engine, expression, shown):
    text, kind = _shown(expression)
    assert text == shown
    assert_pastes_back(text, expression, kind)


def test_json_shows_as_json_and_pastes_back_as_its_string(analytics_engine):
    expression = 'CAST(\'{"a":[1,2],"b":{"c":"x"}}\' AS JSON)'
    text, kind = _shown(expression)
    assert (text, kind) == ('{"a":[1,2],"b":{"c":"x"}}', "JSON")
    assert_pastes_back(f"'{text}'", expression, kind)


@pytest.mark.parametrize(
    ("wrong", "expression"),
    [
        ("{'a':1,'b':2}", "map('a', 1, 'b', 2)"),  # ClickHouse's text form: no SQL
        ("(1)", "tuple(1)"),  # the number 1
        ("map('a', 1, 'b', 3)", "map('a', 1, 'b', 2)"),
        ("map('x', 18446744073709551614)", "map('x', toUInt64('18446744073709551615'))"),
        ("[map('k', (1,'z'))]", "[map('k', (1, 'y'))]"),
    ],
)
def test_the_check_catches_a_literal_that_does_not_paste_back(analytics_engine, wrong, expression):
    with pytest.raises((AssertionError, QueryFailed, QueryRefused)):  # the guard: no {
        assert_pastes_back(wrong, expression)


@pytest.mark.parametrize(
    ("kind", "text", "shown"),
    [
        ("Map(String, UInt8)", "{}", "map()"),
        ("Tuple()", "()", "tuple()"),
        ("Array(Tuple(UInt8))", "[(1),(2)]", "[tuple(1),tuple(2)]"),
        ("Array(String)", "['{a:1}','(x)']", "['{a:1}','(x)']"),
        ("Map(String, String)", "{'\\\\':'\\''}", "map('\\\\', '\\'')"),
        ("Array(Array(UInt8))", "[[1]]", "[[1]]"),  # no Map or Tuple: as written
        ("String", "{'a':1}", "{'a':1}"),  # a string is not a literal to rewrite
        ("JSON", '{"a":{"b":1}}', '{"a":{"b":1}}'),
        ("Dynamic", "{'a':1}", "{'a':1}"),  # its strings are unquoted: left alone
        ("Array(Dynamic)", "[{'a':1}]", "[{'a':1}]"),
        ("Map(String, UInt8)", "{'a':1", "{'a':1"),  # not what ClickHouse writes: unchanged
        ("Map(String, String)", "{'a':'b}", "{'a':'b}"),
        ("Map(String, UInt8)", None, None),
    ],
)
def test_the_rewrite_on_its_own(kind, text, shown):
    assert pasteable(kind, text) == shown
