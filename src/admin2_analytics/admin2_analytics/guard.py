"""The SQL guard: user SQL must be one read-only statement that stays inside the warehouse.

It parses with sqlglot's ClickHouse dialect (a real parser, not keyword matching) and
accepts exactly one ``SELECT`` (with ``WITH``, ``UNION``/``INTERSECT``/``EXCEPT`` and
subqueries). It refuses, naming what and why:

* anything else: writes, DDL, ``SET``, ``SYSTEM``, ``KILL``, ``USE``, several statements;
  ``EXPLAIN``/``SHOW``/``DESCRIBE`` too: sqlglot keeps EXPLAIN and SHOW as opaque text the
  guard cannot look into, ``DESCRIBE file(...)`` would read a file to infer its schema, and
  the schema browser already answers what they would;
* ``SETTINGS`` (it could lift the limits), ``FORMAT`` (the engine chooses the wire format),
  ``INTO OUTFILE`` (writes on the server);
* table functions outside :data:`ALLOWED_TABLE_FUNCTIONS` (generators that touch nothing but
  CPU): ``file``, ``url``, ``remote``, ``s3``, ``mysql``, ``executable``, ... reach files,
  other servers or programs. :data:`OUTBOUND_TABLE_FUNCTIONS` lists those we know of (for
  the docs and the tests); the allow-list also covers any the engine adds later;
* functions that reach outside the query: dictionaries (their sources may be other servers
  or programs), ``joinGet``, the scalar ``file()``, model loading, introspection;
* the ``system`` and ``information_schema`` databases except a few harmless tables: they
  hold other people's query texts, users, grants, cluster topology and server paths.

The guard is one layer: the engine also runs every user query read-only with limits.
"""

from __future__ import annotations

import itertools
import logging

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from admin2_analytics.errors import QueryRefused

# sqlglot warns on every statement it keeps as an opaque Command (SHOW, SYSTEM, ...); the
# guard refuses those with its own message, so the warning is noise in the web logs.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

ALLOWED_TABLE_FUNCTIONS = frozenset(
    {
        "numbers",
        "numbers_mt",
        "generate_series",
        "generateseries",
        "generaterandom",
        "values",
        "primes",
    }
)

# Every table function of ClickHouse 26.x (server and chDB) that reads files, talks to
# another server or service, runs a program, reads the client's input or inspects storage.
# Not consulted for the decision (the allow-list is); kept complete for docs and tests.
OUTBOUND_TABLE_FUNCTIONS = (
    # local files and the client's input
    "file",
    "fileCluster",
    "filesystem",
    "input",
    "icebergLocal",
    "deltaLakeLocal",
    # URLs and object storage
    "url",
    "urlCluster",
    "s3",
    "s3Cluster",
    "gcs",
    "gcsCluster",
    "oss",
    "cosn",
    "azureBlobStorage",
    "azureBlobStorageCluster",
    "hdfs",
    "hdfsCluster",
    "hive",
    "iceberg",
    "icebergS3",
    "icebergAzure",
    "icebergHDFS",
    "icebergCluster",
    "icebergS3Cluster",
    "icebergAzureCluster",
    "icebergHDFSCluster",
    "deltaLake",
    "deltaLakeCluster",
    "deltaLakeAzure",
    "deltaLakeS3",
    "hudi",
    "hudiCluster",
    "paimon",
    "paimonS3",
    "paimonAzure",
    "paimonHDFS",
    "paimonLocal",
    "arrowFlight",
    "arrowflight",
    "prometheusQuery",
    "prometheusQueryRange",
    "ytsaurus",
    # other database servers
    "remote",
    "remoteSecure",
    "cluster",
    "clusterAllReplicas",
    "mysql",
    "postgresql",
    "mongodb",
    "redis",
    "sqlite",
    "odbc",
    "jdbc",
    # programs and embedded interpreters
    "executable",
    "python",
    # other tables by indirection, storage internals, dictionaries
    "dictionary",
    "merge",
    "loop",
    "view",
    "viewIfPermitted",
    "viewExplain",
    "mergeTreeIndex",
    "mergeTreeProjection",
    "mergeTreeTextIndex",
    "mergeTreeAnalyzeIndexes",
    "mergeTreeAnalyzeIndexesUUID",
    "timeSeriesData",
    "timeSeriesMetrics",
    "timeSeriesTags",
    "timeSeriesSelector",
    # engine test helpers and odd ones
    "fuzzJSON",
    "fuzzQuery",
    "format",
    "null",
    "SQLStandardValues",
)
_OUTBOUND = frozenset(name.lower() for name in OUTBOUND_TABLE_FUNCTIONS) - {"format", "values"}

# Scalar functions that leave the query's own data: refused wherever they appear.
REFUSED_FUNCTIONS = frozenset(
    {
        "file",  # the scalar file('path') reads a server file into a string
        "joinget",
        "joingetornull",
        "catboostevaluate",
        "modelevaluate",
        "evalmlmethod",
        "addresstoline",
        "addresstolinewithinlines",
        "addresstosymbol",
        "demangle",
        "getclienthttpheader",
        "filesystemavailable",
        "filesystemcapacity",
        "filesystemunreserved",
    }
)
REFUSED_FUNCTION_PREFIXES = ("dictget", "dicthas", "dictisin")

SYSTEM_DATABASES = frozenset({"system", "information_schema"})
# Harmless system tables people use in ad-hoc SQL.
ALLOWED_SYSTEM_TABLES = frozenset(
    {
        "one",
        "numbers",
        "numbers_mt",
        "zeros",
        "zeros_mt",
        "functions",
        "table_functions",
        "data_type_families",
        "time_zones",
        "formats",
    }
)

_READ_ROOTS = (exp.Select, exp.SetOperation, exp.Subquery)
# Statement keywords sqlglot may not parse: named in the refusal instead of a syntax error.
_NOT_READS = frozenset(
    {
        *("INSERT", "UPDATE", "DELETE", "ALTER", "CREATE", "DROP", "TRUNCATE", "RENAME"),
        *("EXCHANGE", "ATTACH", "DETACH", "OPTIMIZE", "SYSTEM", "KILL", "SET", "USE", "GRANT"),
        *("REVOKE", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "EXISTS", "CHECK", "BACKUP"),
        *("RESTORE", "UNDROP", "MOVE", "WATCH"),
    }
)


def check_sql(sql: str) -> None:
    """Return quietly when ``sql`` is one safe read; raise :class:`QueryRefused` otherwise."""
    clean_sql(sql)


def clean_sql(sql: str) -> str:
    """Check ``sql`` like :func:`check_sql` and return it without trailing ``;``/comments.

    The engine appends its own clauses (FORMAT, a wrapping subquery for the column header),
    so the statement it receives must end with the statement itself.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRefused("Refused: the query is empty.")
    tokens = _tokens(sql)
    if not tokens:
        raise QueryRefused("Refused: the query holds only comments.")
    _check_tokens(tokens)
    try:
        trees = sqlglot.parse(sql, read="clickhouse")
    except ParseError as exc:
        first = tokens[0].text.upper()
        if first in _NOT_READS:
            raise QueryRefused(_not_a_read(first)) from None
        raise QueryRefused(f"Refused: the SQL does not parse ({_parse_position(exc)}).") from None
    except (TokenError, RecursionError, ValueError) as exc:
        raise QueryRefused(f"Refused: the SQL does not parse ({exc}).") from None
    # A trailing comment after the last ';' parses as a bare Semicolon: not a statement.
    statements = [t for t in trees if t is not None and not isinstance(t, exp.Semicolon)]
    if len(statements) != 1:
        raise QueryRefused(
            f"Refused: {len(statements)} statements; run exactly one SELECT at a time."
        )
    _check_statement(statements[0])
    end = tokens[-1]
    if end.token_type == sqlglot.TokenType.SEMICOLON:
        return sql[: end.start].rstrip()
    return sql[: end.end + 1]


def _tokens(sql: str) -> list:
    from sqlglot.dialects.clickhouse import ClickHouse

    try:
        return ClickHouse().tokenize(sql)
    except (TokenError, ValueError) as exc:
        raise QueryRefused(f"Refused: the SQL does not parse ({exc}).") from None


def _check_tokens(tokens: list) -> None:
    """Clauses the parser rejects anyway, refused here with a reason a person can act on."""
    for previous, token in itertools.pairwise(tokens):
        if previous.token_type == sqlglot.TokenType.INTO and token.text.upper() == "OUTFILE":
            raise QueryRefused(
                "Refused: INTO OUTFILE writes a file on the server; use the export buttons."
            )
        if previous.token_type == sqlglot.TokenType.FROM and token.text.upper() == "INFILE":
            raise QueryRefused("Refused: FROM INFILE reads a file on the server.")


def _parse_position(exc: ParseError) -> str:
    if exc.errors:
        first = exc.errors[0]
        description = first.get("description") or "syntax error"
        return f"{description} at line {first.get('line')}, column {first.get('col')}"
    return str(exc).splitlines()[0]


def _check_statement(tree: exp.Expression) -> None:
    if not isinstance(tree, _READ_ROOTS) or (
        isinstance(tree, exp.Subquery) and not isinstance(tree.unnest(), _READ_ROOTS[:2])
    ):
        raise QueryRefused(_not_a_read(_statement_name(tree)))
    for node in tree.walk():
        if isinstance(node, (exp.DML, exp.DDL, exp.Command, exp.Set)):
            raise QueryRefused(
                f"Refused: {_statement_name(node)} inside the query; only reads may run here."
            )
        if node.args.get("settings"):
            raise QueryRefused(
                "Refused: a SETTINGS clause could change the engine's limits; "
                "the limits are set by the administrator."
            )
        if node.args.get("format"):
            raise QueryRefused(
                "Refused: a FORMAT clause; results are formatted by admin2 "
                "(use the CSV/TSV/JSON lines exports)."
            )
        if isinstance(node, exp.Table):
            _check_table(node)
        elif isinstance(node, exp.In) and isinstance(node.args.get("field"), exp.Column):
            column = node.args["field"]
            _check_named_table(column.table, column.name)
        elif isinstance(node, exp.Func):
            _check_function(node)


def _not_a_read(statement: str) -> str:
    return (
        f"Refused: {statement} is not allowed; "
        "only a read (SELECT, WITH ... SELECT, UNION) may run here."
    )


def _statement_name(tree: exp.Expression) -> str:
    if isinstance(tree, exp.Command):
        return str(tree.this).upper()
    key = tree.key.upper()
    return {"TRUNCATETABLE": "TRUNCATE", "ALTERTABLE": "ALTER"}.get(key, key)


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name
    if isinstance(node, exp.Func):
        return node.sql_name()
    return node.sql(dialect="clickhouse")


def _check_table(table: exp.Table) -> None:
    target = table.this
    if isinstance(target, exp.Func):
        name = _function_name(target)
        if table.args.get("db") or name.lower() not in ALLOWED_TABLE_FUNCTIONS:
            raise QueryRefused(_table_function_reason(name))
        return
    if isinstance(target, exp.Identifier):
        alias = table.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns and not alias.name:
            # sqlglot reads some calls (``dictionary('x')``) as a table with nameless
            # column aliases; ClickHouse sees a table function call. Judge it as one.
            if table.db or table.name.lower() not in ALLOWED_TABLE_FUNCTIONS:
                raise QueryRefused(_table_function_reason(table.name))
            return
        _check_named_table(table.db, table.name)


def _check_named_table(database: str, name: str) -> None:
    if database and database.lower() in SYSTEM_DATABASES:
        if database.lower() == "system" and name.lower() in ALLOWED_SYSTEM_TABLES:
            return
        raise QueryRefused(
            f"Refused: {database}.{name} is a server table (query logs, users, grants, "
            "cluster and disk details); browse the schema in the analytics pages instead."
        )


def _table_function_reason(name: str) -> str:
    allowed = "numbers, generate_series, generateRandom, values, primes"
    if name.lower() in _OUTBOUND:
        why = "it reaches files, other servers or programs outside the warehouse"
    else:
        why = "only generator table functions are allowed"
    return f"Refused: table function {name}() — {why}. Allowed: {allowed}."


def _check_function(node: exp.Func) -> None:
    name = _function_name(node).lower()
    if name in REFUSED_FUNCTIONS or name.startswith(REFUSED_FUNCTION_PREFIXES):
        raise QueryRefused(
            f"Refused: function {_function_name(node)}() reads outside the query's tables "
            "(files, dictionaries, models or server internals)."
        )
    if isinstance(node, exp.Anonymous) and name in _OUTBOUND:
        raise QueryRefused(_table_function_reason(_function_name(node)))
