"""The SQL guard: user SQL must be one read-only statement that stays inside the warehouse.

It builds a canonical text from ClickHouse's own tokens (:func:`clean_sql`) and decides on
ClickHouse's syntax tree of it (:func:`judge`); only that text runs. docs/clickhouse.md.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from admin2_analytics import function_list, syntax_tree
from admin2_analytics.errors import ParameterError, QueryRefused
from admin2_analytics.parameters import PLACEHOLDER, find_parameters, normalise_type

ALLOWED_TABLE_FUNCTIONS = frozenset(n.lower() for n in function_list.allowed_table_functions())

# Every table function of ClickHouse 26.x (server and chDB) that reads files, talks to
# another server or service, runs a program, reads the client's input or inspects storage.
# Not consulted for the decision (the allow-list in allowed_functions.tsv is): it only picks
# the wording of a refusal (_table_function_reason), and docs and tests read it.
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

# Statements that are not reads: named in the refusal before ClickHouse is asked.
_NOT_READS = frozenset(
    {
        *("INSERT", "UPDATE", "DELETE", "ALTER", "CREATE", "DROP", "TRUNCATE", "RENAME"),
        *("EXCHANGE", "ATTACH", "DETACH", "OPTIMIZE", "SYSTEM", "KILL", "SET", "USE", "GRANT"),
        *("REVOKE", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "EXISTS", "CHECK", "BACKUP"),
        *("RESTORE", "UNDROP", "MOVE", "WATCH"),
    }
)


@dataclass(frozen=True)
class Canonical:
    """The text that is explained and run, with ClickHouse's tokens of it (no blanks)."""

    text: str
    spans: tuple[Token, ...]


@dataclass(frozen=True)
class Token:
    """One token as ClickHouse's lexer reads it: its kind and its span in characters."""

    kind: str  # ClickHouse's token type: BareWord, StringLiteral, Comment, Whitespace, ...
    start: int
    end: int  # exclusive


# Token kinds whose text is data or a name, not code: both readers must agree on their spans.
_OPAQUE = frozenset({"StringLiteral", "QuotedIdentifier"})
_BLANK = frozenset({"Whitespace", "Comment"})
EXPLAIN_PREFIX = "EXPLAIN AST "
EXPLAIN_FORMAT = "TabSeparatedRaw"  # names with line breaks are refused; literals are escaped
_PLAIN_SPACE = frozenset(" \t\n\r")
# A client-side formatting marker: never meaningful in ClickHouse SQL, and the one thing a
# client library would substitute into the text.
_FORMAT_MARKER = re.compile(r"%\([^)]*\)[a-z]")


def check_size(sql: str) -> None:
    """Refuse user SQL over ``ANALYTICS_MAX_SQL_BYTES`` before any reader spends time on it."""
    from django.conf import settings

    limit = int(getattr(settings, "ANALYTICS_MAX_SQL_BYTES", 65_536))
    if isinstance(sql, str) and len(sql) > limit // 4 and len(sql.encode()) > limit:
        raise QueryRefused(
            f"Refused: the query is {len(sql.encode())} bytes; the limit is {limit} "
            "(ANALYTICS_MAX_SQL_BYTES)."
        )


def clean_sql(sql: str, lexed: Sequence[Token]) -> Canonical:
    """The canonical text of ``sql`` and its tokens; QueryRefused when no read can come of it.

    ``lexed`` is ClickHouse's tokenization of ``sql``. The canonical text keeps every token
    ClickHouse sees, drops comments and the final ``;``, turns ``$tag$`` strings into quoted
    ones and refuses what other readers could take differently (typographic quotes,
    escapes in quoted names). Only this text is explained (:func:`judge`) and run.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRefused("Refused: the query is empty.")
    canonical, spans = _canonical(sql, lexed)
    first = canonical[spans[0].start : spans[0].end].upper()
    if first in _NOT_READS:
        raise QueryRefused(_not_a_read("DESCRIBE" if first == "DESC" else first))
    _check_output_tokens(canonical, spans)
    _check_placeholders(canonical, spans)
    return Canonical(canonical, tuple(spans))


def _canonical(sql: str, lexed: Sequence[Token]) -> tuple[str, list[Token]]:
    code = [i for i, token in enumerate(lexed) if token.kind not in _BLANK]
    if not code:
        raise QueryRefused("Refused: the query holds only comments.")
    statements = _statement_count(lexed)
    if statements > 1:
        raise QueryRefused(f"Refused: {statements} statements; run exactly one SELECT at a time.")
    parts: list[str] = []
    spans: list[Token] = []
    length = 0
    for index in range(code[0], code[-1] + 1):
        token = lexed[index]
        text, kind = _canonical_token(sql, token)
        if text is None:
            break
        if kind not in _BLANK:
            spans.append(Token(kind, length, length + len(text)))
        parts.append(text)
        length += len(text)
    canonical = "".join(parts).rstrip()
    if not spans:
        raise QueryRefused("Refused: the query holds only comments.")
    if _FORMAT_MARKER.search(canonical):
        raise QueryRefused(
            "Refused: a %(name)s marker; write parameters as {name:Type} placeholders."
        )
    return canonical, spans


def _statement_count(lexed: Sequence[Token]) -> int:
    count, inside = 0, False
    for token in lexed:
        if token.kind == "Semicolon":
            inside = False
        elif token.kind not in _BLANK and not inside:
            count, inside = count + 1, True
    return count


def _canonical_token(sql: str, token: Token) -> tuple[str | None, str]:
    text, kind = sql[token.start : token.end], token.kind
    if kind.startswith("Error"):
        raise QueryRefused(f"Refused: the SQL does not parse ({_lexer_error(sql, token)}).")
    rewrite = _TOKEN_REWRITES.get(kind)
    if rewrite is not None:
        return rewrite(text)
    if kind in _OPAQUE:
        _check_quoted(sql, token, text)
    return text, kind


def _canonical_whitespace(text: str) -> tuple[str, str]:
    if set(text) <= _PLAIN_SPACE:
        return text, "Whitespace"
    return ("\n" if "\n" in text else " "), "Whitespace"


def _heredoc_as_string(text: str) -> tuple[str, str]:
    tag = text[: text.index("$", 1) + 1]
    body = text[len(tag) : -len(tag)]
    return "'" + body.replace("\\", "\\\\").replace("'", "\\'") + "'", "StringLiteral"


def _refuse_vertical(_text: str) -> tuple[str, str]:
    raise QueryRefused("Refused: \\G chooses an output format; admin2 formats results.")


_TOKEN_REWRITES = {
    "Comment": lambda _text: (" ", "Whitespace"),
    "Whitespace": _canonical_whitespace,
    # The last semicolon: _canonical refused any statement after it.
    "Semicolon": lambda _text: (None, "Semicolon"),
    "VerticalDelimiter": _refuse_vertical,
    "HereDoc": _heredoc_as_string,
}


def _check_quoted(sql: str, token: Token, text: str) -> None:
    if text[0] not in "'\"`":
        where = _position(sql, token.start)
        raise QueryRefused(
            f"Refused: typographic quotes ({text[0]}...{text[-1]}) at {where}; use plain "
            "quotes: '...' for strings, `...` for names."
        )
    if token.kind != "QuotedIdentifier":
        return
    if "\n" in text or "\r" in text:
        # EXPLAIN AST prints names as they are: a line break would forge tree lines.
        where = _position(sql, token.start)
        raise QueryRefused(
            f"Refused: a line break inside the quoted name at {where}; write the name on one line."
        )
    if "\\" in text:
        where = _position(sql, token.start)
        raise QueryRefused(
            f"Refused: a backslash inside the quoted name {text} at {where}; write the name "
            "without escapes."
        )


def _lexer_error(sql: str, token: Token) -> str:
    what = {
        "ErrorMultilineCommentIsNotClosed": "a /* comment is not closed",
        "ErrorSingleQuoteIsNotClosed": "a ' quote is not closed",
        "ErrorDoubleQuoteIsNotClosed": 'a " quote is not closed',
        "ErrorBackQuoteIsNotClosed": "a ` quote is not closed",
        "ErrorSingleExclamationMark": "a single !",
        "ErrorSinglePipeMark": "a single |",
        "ErrorWrongNumber": "a malformed number",
        "ErrorMaxQuerySizeExceeded": "the query is too long",
    }.get(token.kind, "unexpected characters")
    return f"{what} at {_position(sql, token.start)}"


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"


def _check_placeholders(canonical: str, spans: Sequence[Token]) -> None:
    """Every ``{`` opens a ``{name:Type}`` the client binds server-side, and nothing else."""
    closings = {s.end for s in spans if s.kind == "ClosingCurlyBrace"}
    seen: dict[str, str] = {}
    for span in spans:
        if span.kind != "OpeningCurlyBrace":
            continue
        match = PLACEHOLDER.match(canonical, span.start)
        if match is None or match.end() not in closings:
            raise QueryRefused(
                f"Refused: a {{ at {_position(canonical, span.start)} that is not a "
                "{name:Type} placeholder (no spaces inside, e.g. {day:Date}); for a map "
                "write map('key', value)."
            )
        seen.setdefault(match.group(1), normalise_type(match.group(2)))
    try:
        found = {p.name: p.type for p in find_parameters(canonical)}
    except ParameterError as exc:
        raise QueryRefused(f"Refused: {exc}.") from None
    if found != seen:
        raise QueryRefused(
            "Refused: the placeholders are ambiguous (write each as {name:Type}, outside "
            "strings and names)."
        )


def _not_a_read(statement: str) -> str:
    return (
        f"Refused: {statement} is not allowed; "
        "only a read (SELECT, WITH ... SELECT, UNION) may run here."
    )


def _check_named_table(database: str, name: str) -> None:
    if database and database.lower() in SYSTEM_DATABASES:
        if database.lower() == "system" and name.lower() in ALLOWED_SYSTEM_TABLES:
            return
        raise QueryRefused(
            f"Refused: {database}.{name} is a server table (query logs, users, grants, "
            "cluster and disk details); browse the schema in the analytics pages instead."
        )


def _table_function_reason(name: str) -> str:
    name = name.rpartition(".")[2]  # database.function(...): judged as the function
    allowed = ", ".join(function_list.allowed_table_functions())  # the one list
    if name.lower() in _OUTBOUND:
        why = "it reaches files, other servers or programs outside the warehouse"
    else:
        why = "only generator table functions are allowed"
    return f"Refused: table function {name}() — {why}. Allowed: {allowed}."


# --- the decision: ClickHouse's own syntax tree of the canonical text -------------------------

# AST nodes whose every part EXPLAIN AST prints as a child (or that have no parts).
_TRANSPARENT = frozenset(
    {
        *("SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "Subquery"),
        *("ExpressionList", "TablesInSelectQuery", "TablesInSelectQueryElement"),
        *("TableExpression", "TableJoin", "ArrayJoin", "Function", "Identifier", "Literal"),
        *("TableIdentifier", "Asterisk", "QualifiedAsterisk", "ColumnsRegexpMatcher"),
        *("QualifiedColumnsRegexpMatcher", "ColumnsListMatcher", "QualifiedColumnsListMatcher"),
        *("ColumnsTransformerList", "ColumnsExceptTransformer", "ColumnsReplaceTransformer"),
        *("ColumnsReplaceTransformer::Replacement", "OrderByElement", "InterpolateElement"),
        *("WindowDefinition", "WithElement", "SampleRatio"),
    }
)
_IN_FUNCTIONS = re.compile(r"(global)?(not)?(null)?in(ignoreset)?", re.IGNORECASE)
_CLIENT_FORMAT = ("Identifier", EXPLAIN_FORMAT)  # the client's FORMAT after the statement
_SYNTAX_POSITION = re.compile(r"failed at position (\d+)")


_SETTINGS_REFUSED = (
    "Refused: a SETTINGS clause could change the engine's limits; "
    "the limits are set by the administrator."
)


def judge(canonical: Canonical, explained: Sequence[str]) -> None:
    """Refuse unless ClickHouse's tree of the canonical text is one read of allowed things.

    ``explained`` is the output of ``EXPLAIN AST`` on that text, one line per row.
    """
    try:
        root = syntax_tree.parse(explained)
    except syntax_tree.UnreadableTree as exc:
        raise QueryRefused(
            f"Refused: the guard cannot read ClickHouse's syntax tree of this query ({exc}); "
            "write it more plainly."
        ) from None
    if root.kind != "SelectWithUnionQuery":
        raise QueryRefused(_not_a_read(root.kind.removesuffix("Query").upper()))
    clauses = root.children[1:]
    if clauses and (clauses[-1].kind, clauses[-1].name) == _CLIENT_FORMAT:
        clauses = clauses[:-1]
    for clause in clauses:
        raise QueryRefused(_output_clause(clause.kind))
    applied = sum(_judge_node(node, parent, root) for node, parent in root.walk())
    if applied:
        _judge_apply(canonical, applied)


_NODE_REFUSALS = {
    "Set": _SETTINGS_REFUSED,
    "WindowListElement": (
        "Refused: a named WINDOW clause (the guard cannot see inside it); write the window "
        "after OVER (...) instead."
    ),
}


def _judge_node(node: syntax_tree.Node, parent, root) -> int:
    """Refuse the node or pass it; 1 for an APPLY whose function only the tokens name."""
    refusal = _NODE_REFUSALS.get(node.kind)
    if refusal is not None:
        raise QueryRefused(refusal)
    if node.kind == "ColumnsApplyTransformer":
        return 1
    if node.kind not in _TRANSPARENT:
        raise QueryRefused(
            f"Refused: the guard does not know ClickHouse's {node.kind} syntax; "
            "write the query without it."
        )
    if node.kind == "Function":
        _judge_function(node, parent, root)
    elif node.kind in _NAMES_WITH_DATABASE:
        database, _, rest = node.name.partition(".")
        if rest:
            _check_named_table(database, _NAMES_WITH_DATABASE[node.kind](rest))
    return 0


# How the table's name follows the database: whole in a TableIdentifier, and before the
# column in a qualified Identifier.
_NAMES_WITH_DATABASE = {
    "TableIdentifier": lambda rest: rest,
    "Identifier": lambda rest: rest.partition(".")[0],
}


def explain_refusal(canonical: Canonical, message: str, code: int | None) -> QueryRefused:
    """The refusal when ClickHouse cannot explain the canonical text (fail closed)."""
    words = {
        canonical.text[s.start : s.end].upper() for s in canonical.spans if s.kind == "BareWord"
    }
    if code == 164 and "SETTINGS" in words:  # READONLY: the explain tried to apply them
        return QueryRefused(_SETTINGS_REFUSED)
    if code == 62:  # SYNTAX_ERROR
        match = _SYNTAX_POSITION.search(message)
        where = "a syntax error"
        if match:
            encoded = (EXPLAIN_PREFIX + canonical.text).encode()
            offset = len(encoded[: int(match.group(1))].decode(errors="ignore"))
            offset = max(0, min(offset - len(EXPLAIN_PREFIX), len(canonical.text)))
            where = f"a syntax error at {_position(canonical.text, offset)}"
        return QueryRefused(f"Refused: the SQL does not parse ({where}).")
    return QueryRefused(f"Refused: ClickHouse could not read the query ({message}).")


_OUTFILE_REFUSED = "Refused: INTO OUTFILE writes a file on the server; use the export buttons."
_FILE_CLAUSES = {
    ("INTO", "OUTFILE"): _OUTFILE_REFUSED,
    ("FROM", "INFILE"): "Refused: FROM INFILE reads a file on the server.",
}


def _output_clause(kind: str) -> str:
    if kind == "Literal":
        return _OUTFILE_REFUSED
    if kind == "Set":
        return _SETTINGS_REFUSED
    return (
        "Refused: a FORMAT clause; results are formatted by admin2 "
        "(use the CSV/TSV/JSON lines exports)."
    )


def _check_output_tokens(canonical: str, spans: Sequence[Token]) -> None:
    """Clauses ClickHouse's tree shows too, named here with a reason a person can act on."""
    words = [canonical[s.start : s.end].upper() if s.kind == "BareWord" else "" for s in spans]
    for pair in itertools.pairwise(words):
        if pair in _FILE_CLAUSES:
            raise QueryRefused(_FILE_CLAUSES[pair])
    if len(words) >= 2 and words[-2] == "FORMAT" and spans[-1].kind == "BareWord":
        raise QueryRefused(_output_clause("Identifier"))


def _judge_function(node: syntax_tree.Node, parent, root) -> None:
    name = node.name
    if " " in name or not name:
        raise QueryRefused(f"Refused: a function named {name!r}; write plain function names.")
    if parent is not None and parent.kind == "TableExpression":
        if not function_list.table_function_allowed(name):
            raise QueryRefused(_table_function_reason(name))
        return
    if (
        _is_in_table_argument(node, parent, root)
        and function_list.is_table_function(name)
        and not function_list.table_function_allowed(name)
    ):
        raise QueryRefused(_table_function_reason(name))
    if not function_list.scalar_or_aggregate_allowed(name):
        raise QueryRefused(_function_reason(name))


def _is_in_table_argument(node, parent, root) -> bool:
    """``x IN f(...)``: ClickHouse may read ``f`` as a table function there."""
    if parent is None or parent.kind != "ExpressionList" or len(parent.children) != 2:
        return False
    if parent.children[1] is not node:
        return False
    for candidate, above in root.walk():
        if candidate is parent:
            return (
                above is not None
                and above.kind == "Function"
                and bool(_IN_FUNCTIONS.fullmatch(above.name))
            )
    return False


def _function_reason(name: str) -> str:
    return (
        f"Refused: function {name}() is not on admin2's list of allowed functions (it reads "
        "files, dictionaries, settings or server internals, or this server added it); "
        "docs/clickhouse.md says how the list is extended."
    )


def _judge_apply(canonical: Canonical, expected: int) -> None:
    """``APPLY(f)``: EXPLAIN AST prints no function name there; read it from the tokens."""
    text, spans = canonical.text, canonical.spans
    found = 0
    for index, span in enumerate(spans):
        if span.kind == "BareWord" and text[span.start : span.end].upper() == "APPLY":
            found += _judge_applied_function(text, spans, index + 1)
    if found < expected:
        raise QueryRefused(
            "Refused: the guard cannot tell which function an APPLY calls; "
            "write * APPLY(function_name)."
        )


def _judge_applied_function(text: str, spans: Sequence[Token], at: int) -> int:
    """The function named after an APPLY keyword (1), or 0 if no name follows it."""
    if at < len(spans) and spans[at].kind == "OpeningRoundBracket":
        at += 1
    if at >= len(spans) or spans[at].kind not in ("BareWord", "QuotedIdentifier"):
        return 0
    name = text[spans[at].start : spans[at].end]
    if spans[at].kind == "QuotedIdentifier":
        name = name[1:-1]
    following = spans[at + 1].kind if at + 1 < len(spans) else ""
    if following == "Arrow":
        raise QueryRefused(
            "Refused: APPLY with a lambda (the guard cannot see inside it); "
            "apply a named function, e.g. * APPLY(toString)."
        )
    if following == "OpeningRoundBracket":
        _check_apply_parameters(text, spans, at + 2)
    if not function_list.scalar_or_aggregate_allowed(name):
        raise QueryRefused(_function_reason(name))
    return 1


def _check_apply_parameters(text: str, spans: Sequence[Token], at: int) -> None:
    plain = {"Number", "StringLiteral", "Comma", "Minus", "Plus"}
    while at < len(spans) and spans[at].kind != "ClosingRoundBracket":
        if spans[at].kind not in plain:
            raise QueryRefused(
                "Refused: APPLY parameters other than plain numbers and strings; "
                "write them as literals."
            )
        at += 1
