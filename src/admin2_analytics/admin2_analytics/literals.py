"""ClickHouse array literals as typed in a parameter box: ``['DE','FR']``, ``[1, 2]``, ``[['a']]``.

Each item comes back as text for the item type's own coercion: a quoted string unquoted and
unescaped, ``NULL`` as None, anything else (numbers, nested arrays) as written.
"""

from __future__ import annotations

from admin2_analytics.errors import ParameterError

_ESCAPES = {"b": "\b", "f": "\f", "r": "\r", "n": "\n", "t": "\t", "0": "\0", "a": "\a", "v": "\v"}


def parse_array(text: str) -> list[str | None]:
    """The items of one ClickHouse array literal; ParameterError says where it went wrong."""
    source = text.strip()
    if not (source.startswith("[") and source.endswith("]")):
        raise ParameterError(f"expected an array like ['a', 'b'], got {text!r}")
    items: list[str | None] = []
    position = 1
    end = len(source) - 1
    expect_item = True
    while True:
        position = _skip_spaces(source, position)
        if position >= end:
            if not expect_item or not items:
                return items
            raise ParameterError(f"an item is missing before the closing ] in {text!r}")
        if not expect_item:
            if source[position] != ",":
                raise ParameterError(f"expected , between items at position {position} of {text!r}")
            position += 1
            expect_item = True
            continue
        item, position = _item(source, position, end, text)
        items.append(item)
        expect_item = False


def _skip_spaces(source: str, position: int) -> int:
    while position < len(source) and source[position].isspace():
        position += 1
    return position


def _item(source: str, position: int, end: int, text: str) -> tuple[str | None, int]:
    if source[position] == "'":
        return _quoted(source, position, end, text)
    stop = _item_end(source, position, end, text)
    raw = source[position:stop].strip()
    return (None if raw.upper() == "NULL" else raw), stop


_NESTING = {"[": 1, "(": 1, "]": -1, ")": -1}


def _item_end(source: str, position: int, end: int, text: str) -> int:
    """Where an unquoted item ends: the first comma outside its own brackets and strings."""
    depth = 0
    while position < end:
        char = source[position]
        if char == "'":
            _, position = _quoted(source, position, end, text)
            continue
        if char == "," and depth == 0:
            break
        depth += _NESTING.get(char, 0)
        if depth < 0:
            raise ParameterError(f"unbalanced {char} at position {position} of {text!r}")
        position += 1
    if depth:
        raise ParameterError(f"unbalanced brackets in {text!r}")
    return position


def _quoted(source: str, position: int, end: int, text: str) -> tuple[str, int]:
    chars: list[str] = []
    position += 1
    while position < end:
        char = source[position]
        if char == "\\" and position + 1 < end:
            following = source[position + 1]
            chars.append(_ESCAPES.get(following, following))
            position += 2
            continue
        if char == "'":
            if position + 1 < end and source[position + 1] == "'":
                chars.append("'")  # '' inside a string is one quote
                position += 2
                continue
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    raise ParameterError(f"a quoted string is not closed in {text!r}")
