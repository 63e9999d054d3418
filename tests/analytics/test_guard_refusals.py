"""The guard's decisions, statement by statement: what it refuses, what it says, what it allows."""

import pytest

from admin2_analytics import engine
from admin2_analytics.errors import QueryRefused
from admin2_analytics.guard import ALLOWED_SYSTEM_TABLES, OUTBOUND_TABLE_FUNCTIONS

TAG = engine.QueryTag(user="guard-tests", source="cli")


@pytest.fixture(autouse=True)
def _engine(analytics_engine):
    """The guard judges ClickHouse's own tokens: every decision here asks the real engine."""


SAMPLE_VALUES = {"d": "2024-01-01", "since": "2024-01-01 00:00:00", "cs": "DE,FR"}


def guarded(sql: str) -> str:
    """The text that would run: ClickHouse's tokens, then ClickHouse's tree decide."""
    values = {name: value for name, value in SAMPLE_VALUES.items() if "{" + name + ":" in sql}
    return engine.prepare(sql, values or None, tag=TAG)[0]


NOT_A_READ = "only a read"

# (SQL, a fragment the refusal must contain)
REFUSED = [
    # writes
    ("INSERT INTO events SELECT * FROM events", "INSERT is not allowed"),
    ("insert into events values (1)", "INSERT is not allowed"),
    ("INSERT INTO FUNCTION file('/tmp/x', CSV) SELECT 1", "INSERT is not allowed"),
    ("DELETE FROM events WHERE 1", "DELETE is not allowed"),
    ("UPDATE events SET revenue = 0 WHERE 1", "UPDATE is not allowed"),
    ("ALTER TABLE events DELETE WHERE 1", "ALTER is not allowed"),
    ("ALTER TABLE events UPDATE revenue = 0 WHERE 1", "ALTER is not allowed"),
    ("OPTIMIZE TABLE events FINAL", "OPTIMIZE is not allowed"),
    # DDL
    ("CREATE TABLE x (a UInt8) ENGINE = Memory", "CREATE is not allowed"),
    ("CREATE TEMPORARY TABLE x (a UInt8)", "CREATE is not allowed"),
    ("CREATE VIEW v AS SELECT 1", "CREATE is not allowed"),
    (
        "CREATE DICTIONARY d (a UInt8) PRIMARY KEY a "
        "SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
        "CREATE is not allowed",
    ),
    ("CREATE USER intruder IDENTIFIED BY 'x'", "CREATE is not allowed"),
    ("GRANT ALL ON *.* TO intruder", "GRANT is not allowed"),
    ("REVOKE SELECT ON events FROM somebody", "REVOKE is not allowed"),
    ("DROP TABLE events", "DROP is not allowed"),
    ("drop database default", "DROP is not allowed"),
    ("TRUNCATE TABLE events", "TRUNCATE is not allowed"),
    ("RENAME TABLE events TO gone", "RENAME is not allowed"),
    ("EXCHANGE TABLES events AND other", "EXCHANGE is not allowed"),
    ("ATTACH TABLE events", "ATTACH is not allowed"),
    ("DETACH TABLE events", "DETACH is not allowed"),
    ("BACKUP TABLE events TO Disk('backups', 'x.zip')", "BACKUP is not allowed"),
    # server control and session state
    ("SYSTEM SHUTDOWN", "SYSTEM is not allowed"),
    ("system reload config", "SYSTEM is not allowed"),
    ("SYSTEM DROP DNS CACHE", "SYSTEM is not allowed"),
    ("KILL QUERY WHERE 1", "KILL is not allowed"),
    ("KILL MUTATION WHERE 1", "KILL is not allowed"),
    ("SET max_result_rows = 0", "SET is not allowed"),
    ("SET readonly = 0", "SET is not allowed"),
    ("USE system", "USE is not allowed"),
    # reads we do not run (see the guard's docstring)
    ("EXPLAIN SELECT 1", "EXPLAIN is not allowed"),
    ("EXPLAIN PIPELINE SELECT * FROM file('/etc/passwd')", "EXPLAIN is not allowed"),
    ("DESCRIBE TABLE events", "DESCRIBE is not allowed"),
    ("DESC file('/etc/passwd')", "DESCRIBE is not allowed"),
    ("SHOW TABLES", "SHOW is not allowed"),
    ("SHOW GRANTS", "SHOW is not allowed"),
    ("EXISTS TABLE events", "EXISTS is not allowed"),
    ("CHECK TABLE events", "CHECK is not allowed"),
    # more than one statement, however disguised
    ("SELECT 1; SELECT 2", "2 statements"),
    ("SELECT 1; DROP TABLE events", "2 statements"),
    ("SELECT 1 -- harmless\n; DROP TABLE events", "2 statements"),
    ("SELECT 1 /* ; */ ; DROP TABLE events", "2 statements"),
    ("SELECT 1;\nINSERT INTO events SELECT * FROM events", "2 statements"),
    # SETTINGS tricks: anywhere in the statement
    ("SELECT 1 SETTINGS max_result_rows = 0", "SETTINGS clause"),
    ("SELECT 1 settings readonly=0", "SETTINGS clause"),
    ("SELECT * FROM (SELECT 1 SETTINGS max_execution_time = 0)", "SETTINGS clause"),
    ("SELECT 1 UNION ALL SELECT 2 SETTINGS max_memory_usage = 0", "SETTINGS clause"),
    ("WITH x AS (SELECT 1 SETTINGS max_threads = 1) SELECT * FROM x", "SETTINGS clause"),
    ("SELECT * FROM events WHERE 1 IN (SELECT 1 SETTINGS readonly = 0)", "SETTINGS clause"),
    # output redirection
    ("SELECT 1 FORMAT JSON", "FORMAT clause"),
    ("SELECT * FROM events format TabSeparated", "FORMAT clause"),
    ("SELECT 1 INTO OUTFILE '/tmp/x'", "INTO OUTFILE"),
    ("SELECT 1 into    outfile '/tmp/x' TRUNCATE FORMAT CSV", "INTO OUTFILE"),
    # table functions: case, quoting, qualification and position tricks
    ("SELECT * FROM file('/etc/passwd')", "table function file()"),
    ("SELECT * FROM FILE('/etc/passwd', 'LineAsString')", "table function FILE()"),
    ("SELECT * FROM File('/etc/passwd')", "table function File()"),
    ("SELECT * FROM `file`('/etc/passwd')", "table function file()"),
    ("SELECT * FROM \"file\"('/etc/passwd')", "table function file()"),
    ("SELECT * FROM default.file('/etc/passwd')", "table function file()"),
    ("SELECT * FROM /* hi */ file /* there */ ('/etc/passwd')", "table function file()"),
    (
        "SELECT * FROM events AS e JOIN url('http://127.0.0.1/', CSV, 'a String') AS u ON 1",
        "table function url()",
    ),
    (
        "SELECT * FROM events WHERE country IN (SELECT * FROM url('http://x', LineAsString))",
        "table function url()",
    ),
    ("WITH s AS (SELECT * FROM s3('http://x/y.csv')) SELECT * FROM s", "table function s3()"),
    ("SELECT (SELECT count() FROM remote('127.0.0.1', system.one))", "table function remote()"),
    ("SELECT * FROM events WHERE 1 IN remote('h', db.t)", "table function remote()"),
    (
        "SELECT 1 UNION ALL SELECT * FROM executable('id', TSV, 'a String')",
        "table function executable()",
    ),
    ("SELECT * FROM view(SELECT * FROM file('/etc/passwd'))", "table function view()"),
    ("SELECT * FROM merge('system', '.*')", "table function merge()"),
    ("SELECT * FROM format(CSV, '1,2')", "only generator table functions"),
    ("SELECT * FROM input('a String')", "table function input()"),
    ("SELECT * FROM dictionary('secrets')", "table function dictionary()"),
    ("SELECT * FROM dictionary(secrets)", "table function dictionary()"),
    # functions in expressions that read outside the query
    ("SELECT file('/etc/passwd')", "function file()"),
    ("SELECT dictGet('d', 'a', toUInt64(1))", "function dictGet()"),
    ("SELECT DICTGET('d', 'a', 1)", "function DICTGET()"),
    ("SELECT dictGetOrDefault('d', 'a', 1, 'x')", "function dictGetOrDefault()"),
    ("SELECT dictHas('d', 1)", "function dictHas()"),
    ("SELECT joinGet('j', 'v', 1)", "function joinGet()"),
    ("SELECT addressToSymbol(1)", "function addressToSymbol()"),
    ("SELECT catboostEvaluate('/model.bin', 1)", "function catboostEvaluate()"),
    # server tables
    ("SELECT * FROM system.query_log", "system.query_log is a server table"),
    ("SELECT * FROM SYSTEM.users", "SYSTEM.users is a server table"),
    ("SELECT * FROM `system`.`users`", "system.users is a server table"),
    ('SELECT * FROM "system"."grants"', "system.grants is a server table"),
    ("SELECT * FROM information_schema.tables", "information_schema.tables is a server table"),
    ("SELECT 1 WHERE 1 IN system.users", "system.users is a server table"),
    (
        "SELECT * FROM events WHERE user_id IN (SELECT id FROM system.processes)",
        "system.processes is a server table",
    ),
    # not SQL at all
    ("", "empty"),
    ("   \n\t", "empty"),
    ("-- only a comment", "only comments"),
    ("SELECT )", "does not parse"),
    ("SELECT 'a\\' , (SELECT * FROM file('x')) , '", "does not parse"),
    # sqlglot read `dictionary(d)` as an alias list; ClickHouse reads a call, and decides
    ("SELECT dictionary(d)", "function dictionary()"),
]

ALLOWED = [
    "SELECT 1",
    "select * from events limit 5",
    "WITH t AS (SELECT 1 AS a) SELECT a FROM t",
    "SELECT 1 UNION ALL SELECT 2",
    "SELECT 1 INTERSECT SELECT 1",
    "SELECT 1 EXCEPT SELECT 2",
    "(SELECT 1)",
    "SELECT * FROM numbers(10)",
    "SELECT * FROM numbers_mt(10)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT * FROM generateRandom('a UInt8') LIMIT 3",
    "SELECT * FROM values('a UInt8', 1, 2)",
    "SELECT * FROM system.numbers LIMIT 3",
    "SELECT * FROM system.one",
    "SELECT format('{} {}', 'a', 'b')",
    "SELECT 'SELECT * FROM file(''x'')' AS looks_dangerous_but_is_a_string",
    "SELECT $$ ; DROP TABLE events; $$",
    "SELECT {d:Date} AS d",
    "SELECT count() FROM events WHERE event_time >= {since:DateTime} "
    "AND country IN {cs:Array(String)}",
    "SELECT arrayJoin([1, 2, 3])",
    "SELECT * FROM events FINAL",
    "SELECT * FROM events SAMPLE 0.1",
    "SELECT * FROM events LIMIT 1 BY user_id",
    "SELECT country, sum(revenue) FROM events GROUP BY country WITH TOTALS",
    "SELECT settings FROM (SELECT 1 AS settings)",
    "SELECT file_name FROM (SELECT 'x' AS file_name)",
]


@pytest.mark.parametrize(("sql", "reason"), REFUSED, ids=[s[:60] for s, _ in REFUSED])
def test_it_refuses_and_says_why(sql, reason):
    with pytest.raises(QueryRefused) as refused:
        guarded(sql)
    message = str(refused.value)
    assert message.startswith("Refused: ")
    assert reason in message


@pytest.mark.parametrize("sql", ALLOWED)
def test_it_allows_reads(sql):
    assert guarded(sql)


@pytest.mark.parametrize("name", OUTBOUND_TABLE_FUNCTIONS)
@pytest.mark.parametrize(
    "template",
    [
        "SELECT * FROM {f}('x')",
        "SELECT * FROM events JOIN {f}('x') AS o ON 1",
        "SELECT * FROM (SELECT * FROM {f}('x'))",
        "SELECT * FROM events WHERE user_id IN (SELECT * FROM {f}('x'))",
        "WITH o AS (SELECT * FROM {f}('x')) SELECT * FROM o",
    ],
)
def test_every_outbound_table_function_is_refused_wherever_it_appears(name, template):
    # Some calls (view('x'), dictionary('x') AS o) do not even parse: refused all the same.
    with pytest.raises(QueryRefused, match=r"table function|does not parse"):
        guarded(template.format(f=name))


def test_the_outbound_list_covers_the_well_known_ones():
    names = {n.lower() for n in OUTBOUND_TABLE_FUNCTIONS}
    for name in (
        "file",
        "url",
        "remote",
        "remotesecure",
        "s3",
        "mysql",
        "postgresql",
        "executable",
        "hdfs",
        "odbc",
        "jdbc",
        "input",
        "cluster",
        "azureblobstorage",
    ):
        assert name in names


@pytest.mark.parametrize("table", sorted(ALLOWED_SYSTEM_TABLES))
def test_harmless_system_tables_are_allowed(table):
    guarded(f"SELECT * FROM system.{table} LIMIT 1")  # noqa: S608


def test_parse_errors_give_the_position():
    with pytest.raises(QueryRefused, match=r"line 1, column \d+"):
        guarded("SELECT * FROM events WHERE (")


@pytest.mark.parametrize(
    ("sql", "cleaned"),
    [
        ("SELECT 1;", "SELECT 1"),
        ("SELECT 1 ;  ", "SELECT 1"),
        ("SELECT 1; -- trailing note", "SELECT 1"),
        ("SELECT 1 -- note", "SELECT 1"),
        ("  SELECT 1 /* note */", "SELECT 1"),
        ("SELECT 'a;b'", "SELECT 'a;b'"),
    ],
)
def test_clean_sql_drops_what_trails_the_statement(sql, cleaned):
    assert guarded(sql) == cleaned
