"""Spreadsheet formulas out of CSV and TSV exports ("CSV injection", OWASP): a leading ``'``.

The same rule twice: as SQL the engine runs on each CSV text column (``engine_cells``, the
fast way), and as regular expressions over the encoded chunks for TSV and for results whose
types the SQL does not cover. docs/analytics.md, "How the rewrite finds a cell".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence

# After the sign: a plain number as ClickHouse writes one (integers and decimals up to 76-77
# digits, floats with an exponent, inf, nan, a Time's h:mm:ss[.fff]). Bounded, so deciding
# on a cell never needs more than ~180 of its bytes: longer digit runs count as text.
_NUMBER = rb"(?:\d{1,80}(?::\d\d){0,2}(?:\.\d{0,80})?|\.\d{1,80})(?:[eE][-+]?\d{1,5})?|inf|nan"
# Bytes of a cell (separator included) that always decide it; a shorter unfinished cell at
# the end of a chunk waits for the next chunk.
LOOKAHEAD = 256

# Per format: the cell separator (besides the newline), what stands right before a cell's
# first character (in CSV its opening quote), the first characters that always make a
# formula, and what follows a number that ends its cell. + and - make one unless the cell
# is a plain number.
_SEPARATOR = {"csv": b",", "tsv": b"\t"}
_CELL_START = {"csv": rb'[,\n]"', "tsv": rb"[\t\n]"}
_FORMULA_FIRST = {"csv": b"=@\t\r", "tsv": b"=@"}
_NUMBER_END = {"csv": rb'"(?!")', "tsv": rb"(?![^\t\n])"}
FORMATS = tuple(_SEPARATOR)  # the formats a spreadsheet opens; others pass unchanged

# One whole text cell (XLSX writes typed cells, not bytes): the CSV rule, on text.
_CELL_FORMULA = re.compile(r"[=@\t\r]|[-+](?!(?:" + _NUMBER.decode() + r")\Z)")


def formula_leading(text: str) -> bool:
    """Whether a spreadsheet would take this text cell for a formula (the CSV rule)."""
    return bool(_CELL_FORMULA.match(text))


def _rule(fmt: str, first: int) -> tuple[bytes, re.Pattern[bytes], bytes]:
    """Cells starting with the byte ``first``: the byte, its pattern, the replacement.

    The pattern leads with that byte itself, not with its context: the regex engine then
    scans for one literal byte and looks around only where it occurs, which is several times
    faster than one pattern for all of them (measured: 2-4x on the demo table), and a byte
    that does not occur in a chunk at all is ruled out by a memchr before any pattern runs.
    """
    byte = bytes([first])
    literal = re.escape(byte)
    pattern = literal + rb"(?<=" + _CELL_START[fmt] + literal + rb")"
    if byte in b"+-":
        pattern += rb"(?!(?:" + _NUMBER + rb")" + _NUMBER_END[fmt] + rb")"
    return byte, re.compile(pattern), b"'" + byte


_RULES = {fmt: [_rule(fmt, first) for first in _FORMULA_FIRST[fmt] + b"+-"] for fmt in FORMATS}
# The same rule as one pattern (slow, plain to read): the definition the streaming form is
# tested against.
_DEFINITION = {
    fmt: re.compile(
        rb"(?<=" + _CELL_START[fmt] + rb")"  # at the first character of a cell,
        rb"(?=[" + re.escape(_FORMULA_FIRST[fmt]) + rb"]"  # a formula character,
        rb"|[-+](?!(?:" + _NUMBER + rb")" + _NUMBER_END[fmt] + rb"))"  # or a sign, no number
    )
    for fmt in FORMATS
}


def _rewrite(data: bytes, rules) -> bytes:
    for byte, pattern, replacement in rules:
        if byte in data:
            data = pattern.sub(replacement, data)
    return data


class FormulaNeutralizer:
    """Feed the engine's chunks in order, then ``flush()``; the joined outputs are the export
    with every formula-leading text cell prefixed by ``'``. Constant memory.

    A chunk goes out as the same object when nothing in it changes (no copy). What a chunk
    alone cannot show is handled at its edges: the first characters of a chunk are checked
    with the last bytes passed on before it (``_context``), and a short last cell starting
    with ``+`` or ``-`` (it may still turn out a plain number) waits for the next chunk
    (``_pending``).
    """

    def __init__(self, fmt: str):
        self.fmt = fmt
        self._rules = _RULES[fmt]
        self._by_first = {rule[0]: rule[1] for rule in self._rules}
        self._separator = _SEPARATOR[fmt]
        # Bytes before a cell's first character that mark it: CSV separator and quote.
        self._reach = 2 if fmt == "csv" else 1
        # The last bytes passed on; a newline stands for the start of output.
        self._context = b"\n"
        self._pending = b""

    def feed(self, chunk: bytes) -> bytes:
        if not chunk:
            return b""
        data = self._pending + chunk if self._pending else chunk
        return self._settle(data, self._decided(data))

    def flush(self) -> bytes:
        """The rest, at the end of the stream."""
        data, self._pending = self._pending, b""
        return self._settle(data, len(data)) if data else b""

    def _decided(self, data: bytes) -> int:
        """How much of ``data`` can go out now: all of it, unless its last cell starts with
        + or - fewer than LOOKAHEAD bytes before the end; then up to that first character.
        (Every other cell is decided within ``data``: it ends at a separator in it.)"""
        cut = max(data.rfind(b"\n"), data.rfind(self._separator))
        if cut < 0:
            context = self._context
            cut = max(context.rfind(b"\n"), context.rfind(self._separator))
            if cut < 0:  # no cell starts in view: pending starts at one, or none is open
                first = 0 if self._pending else len(data)
            else:
                first = cut - len(context) + self._reach
        else:
            first = cut + self._reach
        if first >= len(data):
            return len(data)  # the last cell's first character has not arrived
        if self.fmt == "csv" and (data[first - 1 : first] if first else self._context[-1:]) != b'"':
            return len(data)  # not a text cell
        if data[first] in b"+-" and len(data) - first < LOOKAHEAD:
            return first
        return len(data)

    def _settle(self, data: bytes, end: int) -> bytes:
        """Rewrite and pass on ``data[:end]``; keep the rest pending."""
        body = data if end == len(data) else data[:end]
        out = _rewrite(body, self._rules)  # every cell whose marks lie inside ``body``
        context = self._context
        for index in range(min(self._reach, end)):  # and cells marked across the seam
            pattern = self._by_first.get(body[index : index + 1])
            if pattern and pattern.match(context + body[: index + LOOKAHEAD], len(context) + index):
                out = out[:index] + b"'" + out[index:]
                break  # a cell's first character is preceded by its marks: one at most here
        self._context = (
            body[-self._reach :] if end >= self._reach else (context + body)[-self._reach :]
        )
        self._pending = data[end:]
        return out


class Passthrough:
    """The raw export: the engine's bytes unchanged (JSON lines, or raw cells asked for)."""

    def __init__(self, fmt: str):
        self.fmt = fmt

    def feed(self, chunk: bytes) -> bytes:
        return chunk

    def flush(self) -> bytes:
        return b""


def transformer(fmt: str, *, raw: bool = False) -> FormulaNeutralizer | Passthrough:
    """What an export of ``fmt`` passes its chunks through."""
    if raw or fmt not in FORMATS:
        return Passthrough(fmt)
    return FormulaNeutralizer(fmt)


def neutralized(chunks: Iterable[bytes], fmt: str, *, raw: bool = False) -> Iterator[bytes]:
    """The chunks of an export, passed through ``transformer(fmt, raw=raw)``; a stream whose
    cells the engine neutralized already (``engine_cells``) needs it for its header only."""
    if getattr(chunks, "cells_rewritten", False):
        if raw:
            raise ValueError("raw cells asked of a stream opened with the engine's rewrite")
        yield from _after_header(iter(chunks), fmt, len(chunks.header))
        return
    cells = transformer(fmt, raw=raw)
    for chunk in chunks:
        if out := cells.feed(chunk):
            yield out
    if tail := cells.flush():
        yield tail


def _after_header(chunks: Iterator[bytes], fmt: str, size: int) -> Iterator[bytes]:
    """The first ``size`` bytes (the header line, column names) rewritten, the rest as is."""
    first = next(chunks, b"")
    cells = FormulaNeutralizer(fmt)
    yield cells.feed(first[:size]) + cells.flush() + first[size:]
    yield from chunks


# --- the same rule in the engine: SQL per text column ---------------------------------------

_WRAPPED = re.compile(r"^(?:Nullable|LowCardinality)\((.*)\)$")
_TEXT = re.compile(r"^(?:String|FixedString\(\d+\)|Enum(?:8|16)?\(.*\))$")
# Types whose every value the engine writes as a number, a date, a time, an address or an
# identifier, or inside [ ] or { }: no cell of theirs starts a formula. Any type outside
# this list and _TEXT (Variant, Dynamic, JSON, Tuple, aggregate states...) leaves the whole
# result to the byte rewrite.
_NEVER_FORMULA = re.compile(
    r"^(?:U?Int(?:8|16|32|64|128|256)|Float(?:32|64)|BFloat16|Bool|Nothing|UUID|IPv4|IPv6"
    r"|Decimal(?:32|64|128|256)?\(.*\)|Date|Date32|DateTime(?:\(.*\))?|DateTime64\(.*\)"
    r"|Array\(.*\)|Map\(.*\))$"
)


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _cell_sql(fmt: str) -> str:
    """The SQL that neutralizes one text value ``{v}``: a ``'`` before a formula's first
    character, taken back when the rest is a plain number.

    Only values whose first byte is one of those characters (read in place, nothing copied)
    reach the two regular expressions (RE2, where ``$`` is the end of the value).
    """
    first = _FORMULA_FIRST[fmt] + b"+-"
    codes = ", ".join(str(byte) for byte in first)
    opening = _sql_string("^([" + "".join(f"\\x{byte:02x}" for byte in first) + "])")
    number = _sql_string("^'([-+](?:" + _NUMBER.decode() + ")$)")
    quoted, kept = _sql_string("'\\1"), _sql_string("\\1")
    fixed = f"replaceRegexpOne(replaceRegexpOne({{v}}, {opening}, {quoted}), {number}, {kept})"
    return f"if(reinterpretAsUInt8({{v}}) IN ({codes}), {fixed}, {{v}})"


# CSV only: TabSeparated writes a ' inside a value as \', so the engine cannot add a bare one.
_CELL_SQL = {"csv": _cell_sql("csv")}
ENGINE_FORMATS = tuple(_CELL_SQL)  # the formats the engine can neutralize itself


def engine_cells(fmt: str) -> Callable[[Sequence[tuple[str, str]]], list[str] | None]:
    """For ``engine.stream(cells=...)``: given each column's SQL reference and type, the
    select list that has the engine neutralize the text columns itself, so the export's
    bytes pass through Python untouched; None when a type is not known to be covered."""
    cell = _CELL_SQL[fmt]

    def select(columns: Sequence[tuple[str, str]]) -> list[str] | None:
        chosen = []
        for reference, kind in columns:
            while wrapped := _WRAPPED.match(kind):
                kind = wrapped.group(1)
            if _TEXT.match(kind):  # as the String the engine writes (zero bytes and all)
                value = {"S": reference, "F": f"concat({reference}, '')"}.get(kind[0])
                chosen.append(cell.replace("{v}", value or f"toString({reference})"))
            elif _NEVER_FORMULA.match(kind):
                chosen.append(reference)
            else:
                return None
        return chosen

    return select


def neutralize(data: bytes, fmt: str) -> bytes:
    """A whole export at once, by the one-pattern definition (what the streaming form is
    tested against)."""
    if fmt not in _DEFINITION:
        return data
    return _DEFINITION[fmt].sub(b"'", b"\n" + data)[1:]
