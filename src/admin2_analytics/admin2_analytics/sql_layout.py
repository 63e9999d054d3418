"""Lay out SQL on ClickHouse's own tokens: one clause a line, one select item a line.

Only the blanks between tokens change; every token (comments too) keeps its text and order.
Tokens that touch keep touching (``t.1``, ``-1``, ``x::Int8``) but for a space after a comma.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from admin2_analytics.guard import Token

INDENT = "    "
# Clause keywords that start a line when they stand in a query block (not in a call).
_CLAUSES = frozenset(
    {"SELECT", "FROM", "WHERE", "PREWHERE", "HAVING", "QUALIFY", "WINDOW", "SETTINGS",
     "FORMAT", "UNION", "INTERSECT", "EXCEPT", "LIMIT"}
)  # fmt: skip
_BY_CLAUSES = frozenset({"GROUP", "ORDER"})  # only when BY follows
_JOIN_WORDS = frozenset(
    {"LEFT", "RIGHT", "INNER", "FULL", "OUTER", "CROSS", "ANY", "ALL", "ASOF", "SEMI", "ANTI",
     "GLOBAL", "ARRAY", "PASTE", "LOCAL"}
)  # fmt: skip
# Clauses whose items go one a line.
_LISTS = frozenset({"SELECT", "WITH"})
_OPENING = frozenset({"OpeningRoundBracket", "OpeningSquareBracket"})
_CLOSING = frozenset({"ClosingRoundBracket", "ClosingSquareBracket"})


@dataclass
class _Frame:
    """One open bracket: a subquery starts a query block of its own, a call does not."""

    subquery: bool
    level: int  # indentation of the query block the bracket's contents belong to
    clause: str = ""  # the block's current clause (SELECT, WITH, FROM, ...)
    multi: bool = False  # the current list clause has several items


@dataclass
class _Layout:
    sql: str
    tokens: list[Token]  # no Whitespace
    gaps: list[str]  # the source's blanks before each token
    stack: list[_Frame] = field(default_factory=lambda: [_Frame(True, 0)])
    out: list[str] = field(default_factory=list)


def layout(sql: str, lexed: Sequence[Token]) -> str:
    """``sql`` laid out; ``lexed`` is ClickHouse's tokenization of it (guard-clean)."""
    tokens, gaps = _without_blanks(sql, lexed)
    if not tokens:
        return sql
    state = _Layout(sql, tokens, gaps)
    placeholder_end = -1
    for index, token in enumerate(tokens):
        if index <= placeholder_end:  # inside {name:Type}: exactly as written
            state.out.append(gaps[index] + _text(sql, token))
            continue
        if token.kind == "OpeningCurlyBrace":
            placeholder_end = _closing_brace(tokens, index)
        state.out.append(_gap(state, index) + _text(sql, token))
        _track(state, index)
    return "".join(state.out).rstrip()


def _without_blanks(sql: str, lexed: Sequence[Token]) -> tuple[list[Token], list[str]]:
    tokens: list[Token] = []
    gaps: list[str] = []
    blank = ""
    for token in lexed:
        if token.kind == "Whitespace":
            blank += _text(sql, token)
        elif token.kind != "EndOfStream":
            tokens.append(token)
            gaps.append(blank)
            blank = ""
    return tokens, gaps


def _text(sql: str, token: Token) -> str:
    return sql[token.start : token.end]


def _word(state: _Layout, index: int) -> str:
    if 0 <= index < len(state.tokens) and state.tokens[index].kind == "BareWord":
        return _text(state.sql, state.tokens[index]).upper()
    return ""


def _closing_brace(tokens: list[Token], start: int) -> int:
    for index in range(start + 1, len(tokens)):
        if tokens[index].kind == "ClosingCurlyBrace":
            return index
    return len(tokens)


def _gap(state: _Layout, index: int) -> str:
    """The blank before token ``index``: a line break and indent, a space, or nothing."""
    if index == 0:
        return ""
    previous = state.tokens[index - 1]
    forced = _line_break(state, index)
    if forced is not None:
        return forced
    if _is_line_comment(state.sql, previous):
        return "\n" + INDENT * _continued_level(state)
    return _space(state, index)


def _line_break(state: _Layout, index: int) -> str | None:
    frame = state.stack[-1]
    if not frame.subquery:  # inside a call: no line breaks of ours
        return None
    return _bracket_break(state, index, frame) or _clause_break(state, index, frame)


def _bracket_break(state: _Layout, index: int, frame: _Frame) -> str | None:
    """A subquery's brackets stand at the ends of its lines."""
    if state.tokens[index].kind in _CLOSING:
        return "\n" + INDENT * (frame.level - 1)
    if state.tokens[index - 1].kind in _OPENING:
        return "\n" + INDENT * frame.level
    return None


def _clause_break(state: _Layout, index: int, frame: _Frame) -> str | None:
    if _starts_clause(state, index):
        return "\n" + INDENT * frame.level
    if state.tokens[index].kind == "Comment" and "\n" in state.gaps[index]:
        return "\n" + INDENT * _continued_level(state)
    previous = state.tokens[index - 1]
    if frame.multi and (previous.kind == "Comma" or _opens_list(state, index - 1)):
        return "\n" + INDENT * (frame.level + 1)
    return None


def _space(state: _Layout, index: int) -> str:
    token, previous = state.tokens[index], state.tokens[index - 1]
    if previous.kind == "Comma":
        return " "
    if not state.gaps[index]:  # touching tokens keep touching: t.1, -1, x::Int8
        return ""
    if previous.kind in _OPENING or token.kind in _CLOSING or token.kind == "Comma":
        return ""
    return " "


def _line_level(state: _Layout) -> int:
    """The indentation of the current clause's items."""
    frame = state.stack[-1]
    return frame.level + (1 if frame.subquery and frame.multi else 0)


def _continued_level(state: _Layout) -> int:
    """The indentation of a clause continued on the next line (after a comment)."""
    frame = state.stack[-1]
    return frame.level + (1 if frame.subquery else 0)


def _is_line_comment(sql: str, token: Token) -> bool:
    return token.kind == "Comment" and not sql.startswith("/*", token.start)


def _starts_clause(state: _Layout, index: int) -> bool:
    word = _word(state, index)
    if word in _CLAUSES:  # but * EXCEPT (...) is a column transformer
        return not (word == "EXCEPT" and state.tokens[index - 1].kind == "Asterisk")
    if word in _BY_CLAUSES:
        return _word(state, index + 1) == "BY"
    if word == "JOIN":
        return _word(state, index - 1) not in _JOIN_WORDS
    if word in _JOIN_WORDS and _word(state, index - 1) not in _JOIN_WORDS | {"UNION"}:
        return _join_follows(state, index)
    return False


def _join_follows(state: _Layout, index: int) -> bool:
    while _word(state, index) in _JOIN_WORDS:
        index += 1
    return _word(state, index) == "JOIN"


def _opens_list(state: _Layout, index: int) -> bool:
    """Token ``index`` ends the keyword(s) opening a SELECT or WITH list."""
    word = _word(state, index)
    if word == "DISTINCT":
        return _word(state, index - 1) == "SELECT"
    if word != "SELECT" and word != "WITH":
        return False
    return _word(state, index + 1) != "DISTINCT" and state.stack[-1].clause == word


def _track(state: _Layout, index: int) -> None:
    """Follow brackets and clauses after token ``index`` is written."""
    token, frame = state.tokens[index], state.stack[-1]
    if token.kind in _OPENING:
        subquery = _word(state, index + 1) in {"SELECT", "WITH"} or _opens_subquery(state, index)
        level = _line_level(state) + 1 if subquery else frame.level
        state.stack.append(_Frame(subquery, level))
    elif token.kind in _CLOSING and len(state.stack) > 1:
        state.stack.pop()
    elif frame.subquery and _starts_block_clause(state, index):
        frame.clause = _word(state, index)
        frame.multi = frame.clause in _LISTS and _several_items(state, index)


def _opens_subquery(state: _Layout, index: int) -> bool:
    """``(`` followed by comments, then a query (the comments stay inside)."""
    following = index + 1
    while following < len(state.tokens) and state.tokens[following].kind == "Comment":
        following += 1
    return following > index + 1 and _word(state, following) in {"SELECT", "WITH"}


def _starts_block_clause(state: _Layout, index: int) -> bool:
    word = _word(state, index)
    if word == "WITH":  # a WITH list only opens a block: WITH TOTALS, WITH FILL are inline
        return index == 0 or state.tokens[index - 1].kind in _OPENING
    return _starts_clause(state, index) and word not in _JOIN_WORDS


def _several_items(state: _Layout, index: int) -> bool:
    """The list opened at ``index`` has a comma outside brackets before its block's next
    clause."""
    depth = 0
    for following in range(index + 1, len(state.tokens)):
        kind = state.tokens[following].kind
        depth += (kind in _OPENING) - (kind in _CLOSING)
        if depth < 0:
            return False
        if depth == 0 and kind == "Comma":
            return True
        if depth == 0 and _starts_clause(state, following):
            return False
    return False
