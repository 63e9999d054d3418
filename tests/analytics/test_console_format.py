"""The console's Format button: a layout on ClickHouse's own tokens that never changes them,
keeps the syntax tree, and passes the guard again; fuzzed over blanks and comments."""

from __future__ import annotations

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin2_analytics import engine
from admin2_analytics.errors import QueryRefused

pytestmark = pytest.mark.django_db

TAG = engine.QueryTag(user="format", source="cli")
CORPUS = [
    "select event_type, count() as n from events where country = {c:String} "
    "and user_id < {u:UInt32} group by event_type order by n desc limit 10",
    "WITH a AS (SELECT 1 AS x), b AS (SELECT 2 AS y) SELECT * FROM a CROSS JOIN b",
    "SELECT t.1, -1, - -1, x::Int8 FROM (SELECT (1,2) AS t, 3 AS x) -- trailing\n;",
    "SELECT * EXCEPT (country) FROM events LIMIT 1",
    "SELECT 1 UNION ALL SELECT 2",
    "select  a.event_type ,b.n from events as a left join (select event_type, count() as n "
    "from events group by event_type) as b on a.event_type = b.event_type where a.user_id "
    "in (select user_id from events where country='DE') /* c */ limit 5",
    "SELECT arrayMap(x -> x * 2, [1, 2, 3]) AS doubled, quantile(0.5)(user_id) AS q, "
    "extract(DAY FROM event_time) AS d FROM events GROUP BY ALL WITH TOTALS",
    "SELECT $$it's$$ AS s, 'a\\'b' AS t, `odd name` FROM (SELECT 1 AS `odd name`)",
    "SELECT count() FROM events WHERE event_time >= {since:DateTime} # hash comment\n"
    " AND country IN {cs:Array(String)} AND id = {id:UUID}",
    "SELECT map('a', 1) AS m, (1, 'x').2 AS second, [1,2][1] AS first, 1e-5, .5, 0x1F",
]
# Blanks a person might put between two tokens that were apart.
BLANKS = [" ", "\n", "  \n\t  ", " /* note */ ", " -- note\n", "\n\n"]


def _code(sql: str) -> list[tuple[str, str]]:
    """ClickHouse's tokens of ``sql`` but the blanks: what formatting must leave alone."""
    return [
        (token.kind, sql[token.start : token.end])
        for token in engine.lex(sql, tag=TAG)
        if token.kind != "Whitespace"
    ]


def _reblanked(sql: str, choices: list[int]) -> str:
    """``sql`` with the blanks between its tokens replaced (touching tokens stay touching)."""
    tokens = engine.lex(sql, tag=TAG)
    parts, picks = [], iter(choices)
    for token in tokens:
        text = sql[token.start : token.end]
        parts.append(BLANKS[next(picks, 0) % len(BLANKS)] if token.kind == "Whitespace" else text)
    return "".join(parts)


def test_a_statement_is_laid_out_one_clause_a_line(analytics_engine):
    assert engine.format_sql(CORPUS[0], tag=TAG) == (
        "select\n"
        "    event_type,\n"
        "    count() as n\n"
        "from events\n"
        "where country = {c:String} and user_id < {u:UInt32}\n"
        "group by event_type\n"
        "order by n desc\n"
        "limit 10"
    )
    assert engine.format_sql(CORPUS[1], tag=TAG) == (
        "WITH\n    a AS (\n        SELECT 1 AS x\n    ),\n    b AS (\n        SELECT 2 AS y\n"
        "    )\nSELECT *\nFROM a\nCROSS JOIN b"
    )


@pytest.mark.parametrize("sql", CORPUS)
def test_formatting_keeps_every_token_and_is_stable(sql, analytics_engine):
    formatted = engine.format_sql(sql, tag=TAG)
    assert _code(formatted) == _code(sql)
    assert engine.format_sql(formatted, tag=TAG) == formatted


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    sql=st.sampled_from(CORPUS),
    choices=st.lists(st.integers(min_value=0, max_value=len(BLANKS) - 1), max_size=80),
)
def test_formatting_never_changes_the_token_stream_whatever_the_blanks(
    analytics_engine, sql, choices
):
    messy = _reblanked(sql, choices)
    formatted = engine.format_sql(messy, tag=TAG)  # QueryRefused if the tree had changed
    assert _code(formatted) == _code(messy)
    assert engine.format_sql(formatted, tag=TAG) == formatted


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("INSERT INTO events SELECT * FROM events", "INSERT"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT * FROM system.users", "system"),
        ("SELECT 'open", "not closed"),
    ],
)
def test_the_guard_judges_what_is_formatted(sql, reason, analytics_engine):
    with pytest.raises(QueryRefused, match=reason):
        engine.format_sql(sql, tag=TAG)


def test_the_format_endpoint_answers_json_and_falls_back_to_the_form(
    client, logged_in, analytics_engine
):
    logged_in("analytics.run_adhoc_sql", username="analyst")
    url = reverse("analytics:console_format")
    json = {"HTTP_ACCEPT": "application/json"}
    answer = client.post(url, {"sql": "select 1 as a, 2 as b", "params": ""}, **json).json()
    assert answer == {"sql": "select\n    1 as a,\n    2 as b"}
    refused = client.post(url, {"sql": "DROP TABLE events"}, **json)
    assert refused.status_code == 400 and "DROP" in refused.json()["error"]
    # Without JavaScript: the console again, holding the laid-out SQL, not run.
    page = client.post(url, {"sql": "select 1 as a, 2 as b", "params": "x=1"}, follow=True)
    text = page.content.decode()
    assert "select\n    1 as a,\n    2 as b</textarea>" in text and 'id="row-count"' not in text
