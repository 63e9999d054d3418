"""Property-based fuzzing of the guard, with ClickHouse's own parser as the referee.

Every statement the guard accepts is parsed again by the real engine (``EXPLAIN AST``, runs
nothing) and read by a referee written apart from the guard: one SELECT of allowed things.
The module prints how many cases ran and how many were accepted and refereed.
"""

import itertools
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from admin2_analytics import engine, function_list
from admin2_analytics.errors import ParameterError, QueryFailed, QueryRefused
from admin2_analytics.function_rules import SERVER_INFORMATION
from admin2_analytics.guard import (
    ALLOWED_SYSTEM_TABLES,
    ALLOWED_TABLE_FUNCTIONS,
    OUTBOUND_TABLE_FUNCTIONS,
)
from admin2_analytics.parameters import PLACEHOLDER

TAG = engine.QueryTag(user="fuzz", source="cli")
FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
OUTBOUND = {name.lower() for name in OUTBOUND_TABLE_FUNCTIONS} - {"format", "values"}
SYSTEM = ("system", "information_schema")
IN_FUNCTIONS = re.compile(r"(global)?(not)?(null)?in(ignoreset)?$", re.IGNORECASE)
NEVER = {name.lower() for name in SERVER_INFORMATION}
APPLIED = re.compile(r"\bAPPLY\s*\(?\s*[`\"]?(\w+)[`\"]?\s*(->)?", re.IGNORECASE)
CASES: Counter = Counter()
LAST_REFUSAL = [""]


@pytest.fixture(scope="module", autouse=True)
def _report_the_count(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    line = (
        f"guard fuzzing: {CASES['run']} cases, {CASES['accepted']} accepted and refereed "
        f"by ClickHouse's parser, {CASES['refused']} refused"
    )
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


def guard_verdict(sql: str) -> str | None:
    """The canonical text when accepted; None when refused. A crash fails the test."""
    CASES["run"] += 1
    values = {match.group(1): "1" for match in PLACEHOLDER.finditer(sql)}
    try:
        canonical, _ = engine.prepare(sql, values or None, tag=TAG)
    except QueryRefused as refused:
        assert str(refused).startswith("Refused: ")
        CASES["refused"] += 1
        LAST_REFUSAL[0] = str(refused)
        return None
    except ParameterError:
        CASES["refused"] += 1
        return None
    CASES["accepted"] += 1
    return canonical


def assert_engine_agrees_it_is_a_safe_read(sql: str) -> None:
    """ClickHouse's parse of the text that runs: one SELECT, allowed sources only."""
    values = {match.group(1): "1" for match in PLACEHOLDER.finditer(sql)}
    try:
        result = engine.run_trusted(f"EXPLAIN AST {sql}", values, tag=TAG)
    except QueryFailed as failed:
        # ClickHouse cannot parse it either (or cannot bind "1"): nothing would run.
        assert re.search(r"Syntax error|Cannot parse|CANNOT_PARSE", str(failed)), (sql, failed)
        return
    lines = [row[0] for row in result.rows]
    assert lines[0].startswith("SelectWithUnionQuery"), (sql, lines[:3])
    # Directly under the statement: its selects, and the client's own FORMAT Native only.
    for line in lines[1:]:
        if line.startswith(" ") and not line.startswith("  "):
            assert line.strip().startswith("ExpressionList") or line.strip() == (
                "Identifier Native"
            ), f"an output clause (INTO OUTFILE, FORMAT) slipped through: {sql!r} {line!r}"
    stripped = [line.strip() for line in lines]
    # A node's kind is its first word: newer engines add "(children N)" to childless-looking ones.
    kinds = {line.split(" ", 1)[0] for line in stripped}
    assert "Set" not in kinds, f"SETTINGS slipped through: {sql!r}"
    assert "WindowListElement" not in kinds, f"a named window slipped through: {sql!r}"
    if "ColumnsApplyTransformer" in kinds:
        # EXPLAIN AST prints no name there: the referee reads the text itself.
        for match in APPLIED.finditer(sql):
            assert match.group(2) is None, f"an APPLY lambda slipped through: {sql!r}"
            assert match.group(1).lower() not in NEVER, sql
            assert function_list.scalar_or_aggregate_allowed(match.group(1)), sql
    for previous, line in itertools.pairwise(stripped):
        function = re.match(r"Function (\S+)", line)
        if function:
            name = function.group(1)
            if previous.startswith("TableExpression"):
                assert name.lower() in ALLOWED_TABLE_FUNCTIONS, sql
                continue
            assert name.lower() not in NEVER, sql
            assert name.lower() not in OUTBOUND or name.lower() == "values", sql
            assert function_list.scalar_or_aggregate_allowed(name), (sql, name)
        named = re.match(r"(?:Table)?Identifier (\w+)\.(\w+)", line)
        if named and named.group(1).lower() in SYSTEM:
            assert named.group(2).lower() in ALLOWED_SYSTEM_TABLES, (sql, line)
        assert not re.match(r"(Insert|Create|Alter|Drop|Delete|Update|Set|System)\w*Query", line), (
            sql
        )


# --- the guard never crashes -----------------------------------------------------------------


@FUZZ
@given(st.text(max_size=300))
def test_arbitrary_text_is_accepted_or_refused_never_a_crash(analytics_engine, text):
    canonical = guard_verdict(text)
    if canonical is not None:
        assert_engine_agrees_it_is_a_safe_read(canonical)


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
    "APPLY",
    "APPLY(demangle)",
    "APPLY(toString)",
    "APPLY(x -> hostName())",
    "* APPLY(sum)",
    "COLUMNS('a')",
    "COLUMNS('p') APPLY(file)",
    "EXCEPT (a)",
    "REPLACE (1 AS a)",
    "ARRAY JOIN",
    "[1, 2] AS x",
    "(SELECT groupArray(zero) FROM zeros(2)) AS x",
    "(SELECT 1 FROM dictionary('d'))",
    "x -> x + 1",
    "x -> demangle(x)",
    "arrayMap(x -> hostName(), [1])",
    "getServerSetting('path')",
    "WINDOW w AS (ORDER BY 1)",
    "OVER (ORDER BY 1)",
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
    canonical = guard_verdict(" ".join(words))
    if canonical is not None:
        assert_engine_agrees_it_is_a_safe_read(canonical)


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
def test_writes_are_refused_however_dressed(analytics_engine, write, before, after, flips):
    sql = before + _recase(write, flips) + after
    assert guard_verdict(sql) is None, sql


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
    "numbers(1) ARRAY JOIN (SELECT groupArray(ssn) FROM dictionary('customer_dict')) AS x",
    "numbers(1) ARRAY JOIN (SELECT groupArray(c1) FROM format(CSV, '1')) AS x",
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
SAFE_EXPRESSIONS = [
    *("1", "count()", "'a;b'", "upper('x')", "now()", "$$ ; DROP TABLE x $$"),
    *("* APPLY(toString)", "* EXCEPT (nothing_here) APPLY(length)", "arrayMap(x -> x, [1])"),
    "sumIf(1, 1 > 0)",
]
UNSAFE_EXPRESSIONS = [
    "file('/etc/passwd')",
    "dictGet('d', 'a', 1)",
    "joinGet('j', 'v', 1)",
    "(SELECT count() FROM url('http://x/'))",
    "* APPLY(demangle)",
    "COLUMNS('p') APPLY(filesystemAvailable)",
    "* APPLY(x -> demangle(x))",
    "arrayMap(x -> hostName(), [1])",
    "getServerSetting('path')",
    "(SELECT 1 FROM numbers(1) ARRAY JOIN (SELECT groupArray(zero) FROM zeros(2)) AS z)",
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
    # Keywords and sources in any case; expressions as written (most function names have one).
    select, from_ = _recase("SELECT", flips), _recase("FROM", flips)
    recased = _recase(source, flips) if "'" not in source else source
    statement = wrap.format(f"{select} {expression} {from_} {recased}")
    sql = statement + suffix
    unsafe = source in UNSAFE_SOURCES or expression in UNSAFE_EXPRESSIONS
    unsafe = unsafe or suffix in UNSAFE_SUFFIXES
    canonical = guard_verdict(sql)
    if unsafe:
        assert canonical is None, sql
    elif canonical is None:
        # Clean, yet ClickHouse itself cannot parse it ((SELECT ...) LIMIT 3): nothing would run.
        assert "does not parse" in LAST_REFUSAL[0], (sql, LAST_REFUSAL[0])
    else:
        assert_engine_agrees_it_is_a_safe_read(canonical)


def test_the_referee_itself_catches_unsafe_statements(analytics_engine, tmp_path):
    for sql in (
        "SELECT * FROM file('/etc/passwd')",
        "SELECT 1 SETTINGS max_threads = 1",
        "SELECT * FROM system.users",
        "SELECT dictGet('d', 'a', 1)",
        "SELECT globalIn(1, system.processes)",
        f"SELECT 1 INTO OUTFILE '{tmp_path / 'o'}'",
        "SELECT 1 FORMAT JSON",
        "SELECT * APPLY(demangle) FROM (SELECT 'x')",
        "SELECT getServerSetting('path')",
        "SELECT 1 WINDOW w AS (ORDER BY 1)",
    ):
        # SETTINGS even fails in the engine's read-only session: refused either way.
        with pytest.raises((AssertionError, QueryRefused)):
            assert_engine_agrees_it_is_a_safe_read(sql)


# --- the two readers: text built where sqlglot and ClickHouse could disagree ----------------

QUOTE_LIKE = ["\u2018", "\u2019", "\u201c", "\u201d", "\u201b", "\u201f", "\u2032", "\u2033",
              "\uff07", "\uff02", "\u00b4", "\u02bc", "`", "'", '"']  # fmt: skip
PAYLOADS = [
    "(SELECT value FROM system.server_settings WHERE name = $$path$$)",
    "(SELECT count() FROM system.processes)",
    "globalIn(1, system.users)",
    "notIn(1, system.processes)",
    "nullIn(1, `system`.`users`)",
    "(SELECT * FROM file($$/etc/passwd$$, $$LineAsString$$))",
    "dictGet($$d$$, $$a$$, 1)",
]
TAILS = [
    "",
    " --",
    " #",
    " /*",
    " /* /* */",
    " INTO OUTFILE $$/tmp/admin2-fuzz-outfile$$",
    " SETTINGS max_threads = 1",
    " FORMAT JSON",
    ";",
]
FRAGMENTS = [
    "'",
    "\\'",
    "\\\\",
    "''",
    "$$",
    "$t$",
    "$a$",
    "/*",
    "*/",
    "/* /* */",
    "--",
    "#",
    "#!",
    "\n",
    " ",
    "\u00a0",
    "\u3000",
    "=",
    ",",
    "%(x)s",
    "{x:String}",
    "{x :String}",
    "{ x:String}",
    "{x:String }",
    "{x:Array(String)}",
    "{'a': 1}",
    "{",
    "}",
    "`",
    '"',
    *QUOTE_LIKE,
]


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opener=st.sampled_from([*QUOTE_LIKE, "/*", "#", "--", "$$", "$t$", "\\"]),
    middle=st.lists(st.sampled_from(FRAGMENTS), max_size=4),
    closer=st.sampled_from([*QUOTE_LIKE, "*/", "\n", "$$", "$t$"]),
    payload=st.sampled_from(PAYLOADS),
    tail=st.sampled_from(TAILS),
    trailer=st.sampled_from(FRAGMENTS),
)
def test_no_reading_hides_a_refused_source_from_the_guard(
    analytics_engine, opener, middle, closer, payload, tail, trailer
):
    """The review's shape: something one reader takes for a string or comment, the other
    for code, with a refused source and an output clause behind it."""
    sql = f"SELECT {opener} {''.join(middle)} {closer} AS a, {payload} AS p{tail} {trailer}"
    canonical = guard_verdict(sql)
    if canonical is not None:
        assert_engine_agrees_it_is_a_safe_read(canonical)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(st.sampled_from(FRAGMENTS + VOCABULARY + PAYLOADS + TAILS), min_size=1, max_size=12)
)
def test_fragment_soup_passes_only_what_clickhouse_reads_as_safe(analytics_engine, words):
    canonical = guard_verdict(" ".join(words))
    if canonical is not None:
        assert_engine_agrees_it_is_a_safe_read(canonical)


@FUZZ
@given(
    spelling=st.sampled_from(
        [
            "{x:String}",
            "{x :String}",
            "{ x:String}",
            "{x: String}",
            "{x:String }",
            "{x:Str ing}",
            "/* {x:String} */",
            "-- {x:String}\n",
            "# {x:String}\n",
            "'{x:String}'",
            "`{x:String}`",
            "$$ {x:String} $$",
            "%(x)s",
            "%s",
            "{x:String}/* %(x)s */",
            "\u2018{x:String}\u2019",
        ]
    ),
    value=st.sampled_from(["*/ 1, (SELECT count() FROM system.processes) /*", "' OR 1 --", "x"]),
)
def test_a_value_is_bound_by_the_server_or_the_query_is_refused(analytics_engine, spelling, value):
    sql = f"SELECT {spelling} AS a"
    CASES["run"] += 1
    try:
        result = engine.execute(sql, {"x": value}, tag=TAG)
    except (QueryRefused, ParameterError, QueryFailed):
        CASES["refused"] += 1
        return
    CASES["accepted"] += 1
    # Accepted: the value came back as a value, never as SQL that ran.
    assert result.rows == [(value,)], (sql, result.rows)


# --- every function the engine has, once: refused unless on the checked-in list -------------


def test_every_function_of_the_engine_is_judged_by_the_list(analytics_engine):
    names = [
        row[0] for row in engine.run_trusted("SELECT name FROM system.functions", tag=TAG).rows
    ]
    tables = [
        row[0]
        for row in engine.run_trusted("SELECT name FROM system.table_functions", tag=TAG).rows
    ]
    listed = [n for n in names if function_list.scalar_or_aggregate_allowed(n)]
    others = [n for n in names if not function_list.scalar_or_aggregate_allowed(n)]
    assert not {n.lower() for n in listed} & NEVER
    # Every name once, in one of three shapes: a call, an APPLY, a call inside a lambda.
    for index, name in enumerate(others):
        assert _function_verdict([name], index) is None, name
    # Listed names pass, many at a time; a batch that does not parse (POSITION(a IN b) has
    # syntax of its own) is halved, and a single such name must pass as APPLY(name).
    for index, start in enumerate(range(0, len(listed), 100)):
        _listed_pass(listed[start : start + 100], index)
    for name in tables:
        sql = f"SELECT x FROM numbers(1) ARRAY JOIN (SELECT groupArray(1) FROM `{name}`()) AS x"  # noqa: S608
        canonical = guard_verdict(sql)
        assert (canonical is not None) == (name.lower() in ALLOWED_TABLE_FUNCTIONS), sql


SHAPES = (
    ("SELECT {}", "{}(1)", ", "),
    ("SELECT * {} FROM (SELECT 1)", "APPLY({})", " "),
    ("SELECT arrayMap(x -> tuple({}), [1])", "{}(x)", ", "),
)


def _function_verdict(names: list[str], shape: int) -> str | None:
    statement, item, joiner = SHAPES[shape % len(SHAPES)]
    sql = statement.format(joiner.join(item.format(f"`{name}`") for name in names))
    canonical = guard_verdict(sql)
    if canonical is not None:
        assert_engine_agrees_it_is_a_safe_read(canonical)
    return canonical


def _listed_pass(names: list[str], shape: int) -> None:
    if _function_verdict(names, shape) is not None:
        return
    if len(names) == 1:
        assert _function_verdict(names, 1) is not None, names[0]
        return
    half = len(names) // 2
    _listed_pass(names[:half], shape)
    _listed_pass(names[half:], shape)
