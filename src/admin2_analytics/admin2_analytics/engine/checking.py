"""User SQL before it runs: ClickHouse's tokens, the guard's canonical text, bound values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clickhouse_connect.driver.binding import external_bind_re

from admin2_analytics import guard, sql_layout
from admin2_analytics.engine import backend, config
from admin2_analytics.engine.session import LEX_SQL, Session
from admin2_analytics.engine.tags import QueryTag
from admin2_analytics.errors import EngineUnavailable, ParameterError, QueryFailed, QueryRefused
from admin2_analytics.parameters import bind, find_parameters


def prepare(
    sql: str, params: Mapping[str, Any] | None, *, tag: QueryTag
) -> tuple[str, dict[str, Any]]:
    """The text to run for user SQL and its bound values; QueryRefused when unsafe.

    The guard judges ClickHouse's own tokenization of ``sql`` and returns the canonical
    text; only that text runs, with values the server binds to its placeholders.
    """
    with _checking_session(tag) as session:
        return prepare_in(session, sql, params)


def lex(sql: str, *, tag: QueryTag) -> list[guard.Token]:
    """ClickHouse's lexer over ``sql`` (``tokenizeQuery``; the text goes in as a parameter)."""
    with _checking_session(tag) as session:
        return lex_in(session, sql)


def explain_ast(sql: str, params: Mapping[str, Any] | None = None, *, tag: QueryTag) -> list[str]:
    """ClickHouse's syntax tree of ``sql`` (``EXPLAIN AST``, which runs nothing), by line."""
    with _checking_session(tag) as session:
        return explain_ast_in(session, sql, dict(params or {}))


def format_sql(sql: str, params: Mapping[str, str] | None = None, *, tag: QueryTag) -> str:
    """``sql`` laid out (:mod:`sql_layout`), with proof that the meaning is kept.

    The result must lex to the same tokens (comments included), and when the statement can
    be explained (``params``, else sample values, bind) it passes the guard again and has
    the same syntax tree as the original. QueryRefused otherwise (and for what the guard
    refuses): the text is then left as it was.
    """
    guard.check_size(sql)
    with _checking_session(tag) as session:
        lexed = lex_in(session, sql)
        guard.clean_sql(sql, lexed)  # one statement, no lexer errors, no client markers
        formatted = sql_layout.layout(sql, lexed)
        if _code(sql, lexed) != _code(formatted, lex_in(session, formatted)):
            raise QueryRefused(_UNFORMATTABLE)
        values = _explain_values(sql, params or {})
        if values is not None:
            before = _tree(session, sql, values)
            if before != _tree(session, formatted, values):
                raise QueryRefused(_UNFORMATTABLE)
    return formatted


_UNFORMATTABLE = "Refused: formatting would change the statement; it is left as it was."
# Values that bind to each kind of placeholder, so an unfilled form can still be explained.
_SAMPLES = {
    "date": "2000-01-01",
    "datetime": "2000-01-01 00:00:00",
    "integer": "0",
    "number": "0",
    "boolean": "false",
    "list": "[]",
}


def _code(sql: str, lexed: list[guard.Token]) -> list[tuple[str, str]]:
    """What the formatter must keep: every token but the blanks, kind and text."""
    return [
        (token.kind, sql[token.start : token.end])
        for token in lexed
        if token.kind not in ("Whitespace", "EndOfStream")
    ]


def _explain_values(sql: str, params: Mapping[str, str]) -> dict[str, Any] | None:
    given = dict(params)
    for parameter in find_parameters(sql):
        given.setdefault(parameter.name, _SAMPLES.get(parameter.input_kind, ""))
    try:
        return bind(sql, given, unknown_is_error=False)
    except ParameterError:
        return None  # a UUID, an address...: the tokens alone vouch for the layout


def _tree(session: Session, sql: str, values: dict[str, Any]) -> list[str]:
    """The guard's full check of ``sql`` (it raises what it refuses), then its tree."""
    statement, bound = prepare_in(session, sql, values)
    return explain_ast_in(session, statement, bound)


def _checking_session(tag: QueryTag):
    return backend.current().session(config.query_limits().as_settings(), tag, readonly=True)


def prepare_in(session: Session, sql: str, params: Mapping[str, Any] | None):
    guard.check_size(sql)
    canonical = guard.clean_sql(sql, lex_in(session, sql))
    statement = canonical.text
    values = bind(statement, params)
    _check_server_binding(statement, values)
    try:
        explained = explain_ast_in(session, statement, values)
    except QueryFailed as failed:
        raise guard.explain_refusal(canonical, str(failed), failed.code) from None
    except QueryRefused as refused:  # READONLY: the explain tried to apply SETTINGS
        raise guard.explain_refusal(canonical, str(refused), refused.code) from None
    guard.judge(canonical, explained)
    return statement, values


def explain_ast_in(session: Session, sql: str, values: Mapping[str, Any]) -> list[str]:
    """The lines of ``EXPLAIN AST`` for ``sql`` with ``values`` bound as the run binds them."""
    # Raw text: the client's own reading of a query (a trailing LIMIT 0 as a metadata probe)
    # must not apply to the explain. Its FORMAT lands after the explained query.
    try:
        raw = session.raw_query(guard.EXPLAIN_PREFIX + sql, dict(values), guard.EXPLAIN_FORMAT)
    except Exception as exc:
        raise backend.current().translate(exc) from exc
    return raw.decode().split("\n")


def lex_in(session: Session, sql: str) -> list[guard.Token]:
    try:
        tokens = session.query(LEX_SQL, {"sql": sql}).result_rows
    except Exception as exc:
        failure = backend.current().translate(exc)
        if "tokenizeQuery" in str(failure):
            raise EngineUnavailable(
                "the ClickHouse server has no tokenizeQuery() (added in 26.5); admin2 checks "
                "SQL with the server's own lexer and cannot run queries without it"
            ) from exc
        raise failure from exc
    characters = _character_offsets(sql)
    return [
        guard.Token(token["type"], characters[token["begin"]], characters[token["end"]])
        for token in tokens[0][0]
    ]


def _character_offsets(text: str) -> dict[int, int]:
    """UTF-8 byte offset -> character offset, at every character boundary."""
    offsets, position = {0: 0}, 0
    for index, character in enumerate(text, start=1):
        position += len(character.encode())
        offsets[position] = index
    return offsets


def _check_server_binding(statement: str, values: Mapping[str, Any]) -> None:
    """The client must bind exactly these values server-side: it %-formats the text when its
    own placeholder pattern finds none, so a mismatch is refused, never run."""
    if not values:
        return
    bound = {match.group(1) for match in external_bind_re.finditer(statement)}
    if bound != set(values):
        raise QueryRefused(
            "Refused: the client library would not bind these parameters server-side "
            f"(it sees {sorted(bound) or 'no placeholders'}, the query declares "
            f"{sorted(values)}); write each placeholder as {{name:Type}} outside strings."
        )
