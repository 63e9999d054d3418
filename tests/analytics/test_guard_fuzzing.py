"""Property-based fuzzing of the guard, with ClickHouse's own parser as the referee.

sqlglot and ClickHouse are different parsers; the dangerous bugs live where they disagree
(sqlglot sees a harmless read, ClickHouse runs something else). So every statement the
guard accepts is also parsed by the real engine (``EXPLAIN AST``, which runs nothing) and
the engine's syntax tree must show one SELECT reaching only allowed things.
"""

import itertools
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin2_analytics import engine
from admin2_analytics.errors import QueryFailed, QueryRefused
from admin2_analytics.guard import (
    ALLOWED_SYSTEM_TABLES,
    ALLOWED_TABLE_FUNCTIONS,
    OUTBOUND_TABLE_FUNCTIONS,
    REFUSED_FUNCTION_PREFIXES,
    REFUSED_FUNCTIONS,
    check_sql,
    clean_sql,
)

TAG = engine.QueryTag(user="fuzz", source="cli")
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OUTBOUND = {name.lower() for name in OUTBOUND_TABLE_FUNCTIONS} - {"format", "values"}


def guard_verdict(sql: str) -> bool:
    """True when accepted; False when refused. Anything else (a crash) fails the test."""
    try:
        check_sql(sql)
    except QueryRefused as refused:
        assert str(refused).startswith("Refused: ")
        return False
    return True


def assert_engine_agrees_it_is_a_safe_read(sql: str) -> None:
    """ClickHouse's parse of an accepted statement: one SELECT, allowed sources only."""
    try:
        result = engine.run_trusted(f"EXPLAIN AST {sql}", tag=TAG)
    except QueryFailed as failed:
        # ClickHouse cannot parse it either: it would fail before running anything.
        assert "Syntax error" in str(failed), (sql, str(failed))
        return
    lines = [row[0].strip() for row in result.rows]
    assert lines[0].startswith("SelectWithUnionQuery"), (sql, lines[:3])
    assert "Set" not in lines, f"SETTINGS slipped through: {sql!r}"
    for previous, line in itertools.pairwise(lines):
        function = re.match(r"Function (\w+)", line)
        if function:
            name = function.group(1).lower()
            assert name not in REFUSED_FUNCTIONS, sql
            assert not name.startswith(REFUSED_FUNCTION_PREFIXES), sql
            assert name not in OUTBOUND, sql
            if previous.startswith("TableExpression"):
                assert name in ALLOWED_TABLE_FUNCTIONS, sql
        table = re.match(r"TableIdentifier (\w+)\.(\w+)", line)
        if table and table.group(1).lower() in ("system", "information_schema"):
            assert table.group(2).lower() in ALLOWED_SYSTEM_TABLES, sql


# --- the guard never crashes -----------------------------------------------------------------


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_is_accepted_or_refused_never_a_crash(text):
    guard_verdict(text)


VOCABULARY = [
    "SELECT",
    "select",
    "*",
    "1",
    "'s'",
    "FROM",
    "from",
    "events",
    "numbers(3)",
    "primes()",
    "zeros(2)",
    "file('x')",
    "FILE('x')",
    "url('http://127.0.0.1/')",
    "s3('x')",
    "remote('h', t)",
    "dictionary('d')",
    "dictionary(d)",
    "dictGet('d', 'a', 1)",
    "joinGet('j', 'v', 1)",
    "system.users",
    "system.one",
    "`system`.`query_log`",
    "WHERE",
    "IN",
    "(",
    ")",
    ",",
    ";",
    "-- c\n",
    "/* c */",
    "/* ; */",
    "# c\n",
    '"id"',
    "`id`",
    "$$x$$",
    "SETTINGS",
    "max_threads = 1",
    "readonly = 0",
    "FORMAT",
    "CSV",
    "INTO",
    "OUTFILE",
    "'o'",
    "INSERT",
    "DROP",
    "TABLE",
    "ALTER",
    "DELETE",
    "UPDATE",
    "SET",
    "SYSTEM",
    "KILL",
    "QUERY",
    "UNION ALL",
    "WITH",
    "x AS (SELECT 1)",
    "AS",
    "t",
    "JOIN",
    "ON",
    "1 = 1",
    "LIMIT",
    "2",
    "\n",
    "values",
    "view",
    "input('a String')",
    "executable('id', TSV, 'a String')",
    "DESCRIBE",
    "SHOW",
    "EXPLAIN",
    "arrayJoin([1, 2])",
    "count()",
    "GROUP BY",
    "ORDER BY",
    "\\",
    "'",
    '"',
    "`",
]


@FUZZ
@given(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=14))
def test_token_soup_never_crashes_and_what_passes_is_a_safe_read(analytics_engine, words):
    sql = " ".join(words)
    if guard_verdict(sql):
        assert_engine_agrees_it_is_a_safe_read(clean_sql(sql))


# --- writes never pass, however dressed up ---------------------------------------------------

WRITES = [
    "INSERT INTO events SELECT * FROM events",
    "insert into events values (1)",
    "INSERT INTO FUNCTION file('/tmp/x', CSV) SELECT 1",
    "ALTER TABLE events DELETE WHERE 1",
    "ALTER TABLE events UPDATE revenue = 0 WHERE 1",
    "DELETE FROM events WHERE 1",
    "UPDATE events SET revenue = 0 WHERE 1",
    "DROP TABLE events",
    "TRUNCATE TABLE events",
    "CREATE TABLE t (a UInt8) ENGINE = Memory",
    "CREATE TABLE t ENGINE = Memory AS SELECT 1",
    "RENAME TABLE events TO gone",
    "OPTIMIZE TABLE events FINAL",
    "SYSTEM STOP MERGES",
    "KILL QUERY WHERE 1",
    "SET readonly = 0",
    "DETACH TABLE events",
]


def _recase(text: str, flips: list[bool]) -> str:
    return "".join(ch.swapcase() if flips[i % len(flips)] else ch for i, ch in enumerate(text))


@FUZZ
@given(
    write=st.sampled_from(WRITES),
    before=st.sampled_from(["", "  ", "\n", "/* note */ ", "-- note\n", "# note\n", "SELECT 1; "]),
    after=st.sampled_from(["", ";", " ;", "; SELECT 1", " -- tail", "\n/* tail */", ";;"]),
    flips=st.lists(st.booleans(), min_size=1, max_size=8),
)
def test_writes_are_refused_however_dressed(write, before, after, flips):
    sql = before + _recase(write, flips) + after
    assert not guard_verdict(sql), sql


# --- structured reads: accepted exactly when nothing forbidden is in them ----------------------

SAFE_SOURCES = [
    "events",
    "numbers(5)",
    "generate_series(1, 3)",
    "system.one",
    "(SELECT 1 AS a)",
    "generateRandom('a UInt8', 1)",
]
UNSAFE_SOURCES = [
    "zeros(2)",
    "file('/etc/passwd')",
    "url('http://127.0.0.1/')",
    "system.users",
    "remote('127.0.0.1', default.events)",
    "dictionary('d')",
    "input('a String')",
    "`system`.`processes`",
    "merge('system', '.*')",
    "FILE('x')",
]
SAFE_EXPRESSIONS = ["1", "count()", "'a;b'", "upper('x')", "now()", "$$ ; DROP TABLE x $$"]
UNSAFE_EXPRESSIONS = [
    "file('/etc/passwd')",
    "dictGet('d', 'a', 1)",
    "joinGet('j', 'v', 1)",
    "(SELECT count() FROM url('http://x/'))",
]
SUFFIXES = ["", " LIMIT 3", " -- done", " /* done */", ";"]
UNSAFE_SUFFIXES = [" SETTINGS max_result_rows = 0", " FORMAT JSON", " INTO OUTFILE '/tmp/o'"]


@FUZZ
@given(
    source=st.sampled_from(SAFE_SOURCES + UNSAFE_SOURCES),
    expression=st.sampled_from(SAFE_EXPRESSIONS + UNSAFE_EXPRESSIONS),
    suffix=st.sampled_from(SUFFIXES + UNSAFE_SUFFIXES),
    wrap=st.sampled_from(
        [
            "{}",
            "SELECT * FROM ({})",
            "WITH w AS ({}) SELECT * FROM w",
            "SELECT 1 UNION ALL {}",
            "({})",
        ]
    ),
    flips=st.lists(st.booleans(), min_size=1, max_size=4),
)
def test_structured_reads_pass_exactly_when_clean(
    analytics_engine, source, expression, suffix, wrap, flips
):
    core = f"SELECT {expression} FROM {source}"  # noqa: S608 (fuzzing the guard)
    statement = wrap.format(_recase(core, flips) if "'" not in core else core)
    sql = statement + suffix
    unsafe = source in UNSAFE_SOURCES or expression in UNSAFE_EXPRESSIONS
    unsafe = unsafe or suffix in UNSAFE_SUFFIXES
    accepted = guard_verdict(sql)
    if unsafe:
        assert not accepted, sql
    else:
        assert accepted, sql
        assert_engine_agrees_it_is_a_safe_read(clean_sql(sql))


def test_the_referee_itself_catches_unsafe_statements(analytics_engine):
    import pytest

    for sql in (
        "SELECT * FROM file('/etc/passwd')",
        "SELECT 1 SETTINGS max_threads = 1",
        "SELECT * FROM system.users",
        "SELECT dictGet('d', 'a', 1)",
    ):
        # SETTINGS even fails in the engine's read-only session: refused either way.
        with pytest.raises((AssertionError, QueryRefused)):
            assert_engine_agrees_it_is_a_safe_read(sql)
