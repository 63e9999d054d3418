"""ClickHouse's text form of a Map or Tuple value rewritten as SQL that reads back as it.

``{'a':1}`` is no SQL (ClickHouse's parser wants a substitution after ``{``) and ``(1)`` is
the number 1, not a one-item tuple: the console shows ``map('a', 1)`` and ``tuple(1)``.
"""

from __future__ import annotations

import re

# Top-level Array, Map or Tuple (under Nullable/LowCardinality) holding a Map or a Tuple:
# only those text forms have a { or a one-item ( outside quotes. A Variant or Dynamic inside
# writes each value by the type it holds at that row (on its own, a String unquoted), which
# this rewrite cannot know: such types are left as ClickHouse wrote them.
_REWRITTEN = re.compile(r"^(?:Nullable\(|LowCardinality\()*(?:Array|Map|Tuple|Nested)\(")
_UNQUOTED_INSIDE = re.compile(r"\b(?:Variant|Dynamic|Object)\(|\bDynamic\b")
_HOLDS = re.compile(r"\b(?:Map|Tuple|Nested)\(")


def needs_rewrite(kind: str) -> bool:
    """Whether values of the full type ``kind`` have a text form SQL reads differently."""
    return bool(
        _REWRITTEN.match(kind) and _HOLDS.search(kind) and not _UNQUOTED_INSIDE.search(kind)
    )


def pasteable(kind: str, text: str | None) -> str | None:
    """``text`` (ClickHouse's text of one ``kind`` value) as a literal ClickHouse SQL reads
    back as the same value; other types, NULL and anything unexpected stay as written."""
    if text is None or not needs_rewrite(kind):
        return text
    try:
        return _rewrite(text)
    except ValueError:
        return text


def _rewrite(text: str) -> str:
    out: list[str] = []
    # One frame per open bracket: (closing char, index of its opening piece, items separated).
    frames: list[list] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "'":
            end = _string_end(text, position)
            out.append(text[position:end])
            position = end
            continue
        if char in "[({":
            frames.append([_CLOSING[char], len(out), False])
            out.append("map(" if char == "{" else char)
        elif char in "])}":
            if not frames or frames[-1][0] != char:
                raise ValueError("unbalanced")
            _closing, opened, separated = frames.pop()
            if char == ")" and not separated:
                out[opened] = "tuple("  # (1) is the number 1; tuple(1) is the tuple
            out.append(")" if char == "}" else char)
        elif char == "," and frames:
            frames[-1][2] = True
            out.append(", " if frames[-1][0] == "}" else ",")
        elif char == ":" and frames and frames[-1][0] == "}":
            frames[-1][2] = True
            out.append(", ")
        else:
            out.append(char)
        position += 1
    if frames:
        raise ValueError("unbalanced")
    return "".join(out)


_CLOSING = {"[": "]", "(": ")", "{": "}"}


def _string_end(text: str, start: int) -> int:
    """The index after the quoted string opening at ``start`` (backslash escapes)."""
    position = start + 1
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == "'":
            return position + 1
        position += 1
    raise ValueError("unclosed string")
