"""Typed query parameters: ClickHouse's own ``{name:Type}`` placeholders.

:func:`find_parameters` reads the placeholders, :func:`bind` turns typed-in text into values
of the declared types, and the server binds them (``param_<name>``): never formatted into SQL.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from admin2.yesno import parse_yes_no
from admin2_analytics import literals
from admin2_analytics.errors import ParameterError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# The one placeholder spelling the guard accepts: exactly what the client binds server-side.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):([^{}]+)\}")
_INT_BITS = {"8", "16", "32", "64", "128", "256"}
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")
_DEPTH = {"(": 1, ")": -1}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # the ClickHouse type as declared, whitespace-normalised

    @property
    def base_type(self) -> str:
        """The type without Nullable/LowCardinality wrappers."""
        return _unwrap(self.type)[0]

    @property
    def nullable(self) -> bool:
        return _unwrap(self.type)[1]

    @property
    def input_kind(self) -> str:
        """A hint for forms: date, datetime, integer, number, boolean, list or text."""
        base = self.base_type
        if base in ("Date", "Date32"):
            return "date"
        if base.startswith(("DateTime", "DateTime64")):
            return "datetime"
        if re.fullmatch(r"U?Int\d+", base):
            return "integer"
        if base.startswith(("Float", "Decimal")):
            return "number"
        if base in ("Bool", "Boolean"):
            return "boolean"
        if base.startswith("Array("):
            return "list"
        return "text"


# --- finding placeholders -------------------------------------------------------------


def find_parameters(sql: str) -> list[Parameter]:
    """The ``{name:Type}`` placeholders of ``sql`` in order of first use, each name once.

    Braces inside string literals, quoted identifiers and comments are not placeholders.
    A name declared twice with different types is an error: ClickHouse binds one value.
    """
    found: dict[str, Parameter] = {}
    for name, type_ in _placeholders(sql):
        previous = found.get(name)
        if previous and previous.type != type_:
            raise ParameterError(
                f"parameter {name!r} is declared as both {previous.type} and {type_}; "
                "use one type for one name",
                name=name,
            )
        found.setdefault(name, Parameter(name, type_))
    return list(found.values())


def _placeholders(sql: str):
    i, n = 0, len(sql)
    while i < n:
        skipped = _skip_non_code(sql, i)
        if skipped is not None:
            i = skipped
        elif sql[i] == "{" and (parsed := _parse_placeholder(sql, i)) is not None:
            name, type_, i = parsed
            yield name, type_
        else:
            i += 1


def _skip_non_code(sql: str, i: int) -> int | None:
    """The end of the string, quoted name, comment or heredoc at ``i``; None for code."""
    ch = sql[i]
    if ch in "'\"`":
        return _skip_quoted(sql, i, ch)
    if sql.startswith("--", i) or ch == "#":
        return _past(sql, "\n", i)
    if sql.startswith("/*", i):
        return _past(sql, "*/", i + 2)
    if ch == "$" and (heredoc := _HEREDOC.match(sql, i)):
        return _past(sql, heredoc.group(0), heredoc.end())
    return None


def _past(sql: str, closing: str, start: int) -> int:
    """Just past the first ``closing`` from ``start``; the end of ``sql`` if none."""
    end = sql.find(closing, start)
    return len(sql) if end < 0 else end + len(closing)


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    i, n = start + 1, len(sql)
    while i < n:
        if sql[i] == "\\":
            i += 2
        elif sql[i] == quote:
            if i + 1 < n and sql[i + 1] == quote:  # doubled quote inside the literal
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n


def _parse_placeholder(sql: str, start: int):
    """Parse ``{name:Type}`` at ``start``; None when it is not a placeholder."""
    i = _skip_spaces(sql, start + 1)
    name_match = _NAME.match(sql, i)
    if not name_match:
        return None
    i = _skip_spaces(sql, name_match.end())
    if not sql.startswith(":", i):
        return None
    end = _type_end(sql, i + 1)
    if end is None:
        return None
    type_ = normalise_type(sql[i + 1 : end])
    if not type_ or not re.match(r"[A-Za-z]", type_):
        return None
    return name_match.group(0), type_, end + 1


def _skip_spaces(sql: str, i: int) -> int:
    while i < len(sql) and sql[i].isspace():
        i += 1
    return i


def _type_end(sql: str, i: int) -> int | None:
    """Where the type starting at ``i`` ends: its closing ``}`` outside parentheses."""
    depth = 0
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"`":
            i = _skip_quoted(sql, i, ch)
            continue
        depth += _DEPTH.get(ch, 0)
        if depth < 0:
            return None
        if depth == 0 and ch in "}{;\n":
            return i if ch == "}" else None
        i += 1
    return None


def normalise_type(text: str) -> str:
    text = re.sub(r"\s+", " ", text.strip())
    text = re.sub(r"\s*([(),])\s*", r"\1", text)
    return text.replace(",", ", ")


# --- binding values ----------------------------------------------------------------------


def bind(
    sql: str, values: Mapping[str, Any] | None, *, unknown_is_error: bool = True
) -> dict[str, Any]:
    """The typed value of every placeholder of ``sql``, for the server to bind.

    Typed-in strings are coerced to the declared type; Python objects pass through; a
    missing ``Nullable`` value is NULL. Every problem (missing, malformed, undeclared) is
    collected into one :class:`ParameterError` whose ``problems`` lists them.
    """
    declared = find_parameters(sql)
    given = dict(values or {})
    typed, problems = _typed(declared, given)
    if unknown_is_error:
        problems += _unknown(declared, given)
    if problems:
        raise ParameterError(
            "; ".join(text for _, text in problems),
            name=problems[0][0],
            problems=[text for _, text in problems],
        )
    return typed


def _typed(declared: list[Parameter], given: dict[str, Any]):
    """The values of the declared parameters, and (name, problem) for each that is wrong."""
    typed: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for parameter in declared:
        name = parameter.name
        if name not in given and parameter.nullable:
            typed[name] = None
        elif name not in given:
            problems.append((name, f"{name} ({parameter.type}) needs a value"))
        elif not isinstance(given[name], str):
            typed[name] = given[name]  # a Python value passes through
        else:
            try:
                typed[name] = coerce(parameter, given[name])
            except ParameterError as exc:
                problems.append((name, str(exc)))
    return typed, problems


def _unknown(declared: list[Parameter], given: dict[str, Any]) -> list[tuple[str, str]]:
    names = {parameter.name for parameter in declared}
    declares = ", ".join(f"{{{p.name}:{p.type}}}" for p in declared) or "no parameters"
    return [
        (name, f"unknown parameter {name!r}: the query declares {declares}")
        for name in sorted(set(given) - names)
    ]


# --- coercing values --------------------------------------------------------------------


def _unwrap(type_: str) -> tuple[str, bool]:
    nullable = False
    while True:
        for wrapper in ("Nullable", "LowCardinality"):
            if type_.startswith(f"{wrapper}(") and type_.endswith(")"):
                type_ = type_[len(wrapper) + 1 : -1].strip()
                nullable = nullable or wrapper == "Nullable"
                break
        else:
            return type_, nullable


def coerce(parameter: Parameter | str, raw: str | None, *, name: str = ""):
    """Turn the typed-in text ``raw`` into a value for ``parameter`` (or a bare type string).

    Raises :class:`ParameterError` naming the parameter when the text does not fit. For a
    Nullable type an empty value (or ``NULL``) means NULL; arrays accept a JSON list or
    comma-separated items.
    """
    if isinstance(parameter, Parameter):
        name, type_ = parameter.name, parameter.type
    else:
        type_ = normalise_type(parameter)
    label = f"parameter {name!r} ({type_})" if name else f"value for {type_}"
    base, nullable = _unwrap(type_)
    text = "" if raw is None else str(raw)
    if nullable and text.strip() in ("", "NULL", "null"):
        return None
    if raw is None:
        raise ParameterError(f"{label}: a value is required", name=name)
    try:
        return _coerce_base(base, text)
    except ParameterError as exc:
        raise ParameterError(f"{label}: {exc.message}", name=name) from None


def _coerce_base(base: str, text: str):
    coercer = _coercer(base)
    if coercer not in _BLANK_IS_A_VALUE and not text.strip():
        raise ParameterError("a value is required")
    if coercer is None:
        raise ParameterError(_UNSUPPORTED)
    return coercer(base, text)


def _coercer(base: str):
    """The coercion of one type family (table-driven: see _BY_NAME and _BY_PREFIX)."""
    if base in _BY_NAME:
        return _BY_NAME[base]
    integer = _INTEGER.fullmatch(base)
    if integer and integer.group(2) in _INT_BITS:
        return _integer
    return next((coercer for prefix, coercer in _BY_PREFIX if base.startswith(prefix)), None)


def _text_value(base: str, text: str) -> str:
    if base.startswith("FixedString("):
        size = int(base[len("FixedString(") : -1])
        if len(text.encode()) > size:
            raise ParameterError(f"at most {size} bytes, got {len(text.encode())}")
    return text


def _integer(base: str, text: str) -> int:
    integer = _INTEGER.fullmatch(base)
    return _coerce_int(text.strip(), unsigned=bool(integer.group(1)), bits=int(integer.group(2)))


def _float(base: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ParameterError(f"expected a number, got {text!r}") from None


def _decimal(base: str, text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ParameterError(f"expected a decimal number, got {text!r}") from None
    if not value.is_finite():
        raise ParameterError(f"expected a finite decimal number, got {text!r}")
    return value


def _boolean(base: str, text: str) -> bool:
    parsed = parse_yes_no(text.strip())
    if parsed is None:
        raise ParameterError(f"expected true or false, got {text!r}")
    return parsed


def _date(base: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ParameterError(f"expected a date like 2025-01-31, got {text!r}") from None


def _datetime(base: str, text: str) -> dt.datetime:
    return _coerce_datetime(text.strip(), text)


def _uuid(base: str, text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise ParameterError(f"expected a UUID, got {text!r}") from None


def _address(base: str, text: str):
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        raise ParameterError(f"expected an {base} address, got {text!r}") from None
    if (base == "IPv4") != (address.version == 4):
        raise ParameterError(f"expected an {base} address, got {text!r}")
    return address


def _array(base: str, text: str) -> list:
    if not base.endswith(")"):
        raise ParameterError(_UNSUPPORTED)
    return _coerce_array(base[len("Array(") : -1].strip(), text)


_UNSUPPORTED = (
    "this type is not supported for parameters; use String, a number, Date, DateTime, "
    "Bool, UUID, Decimal, IPv4/IPv6, Nullable(...) or Array(...)"
)
_INTEGER = re.compile(r"(U?)Int(\d+)")
_BY_NAME = {
    "String": _text_value,
    "Float32": _float,
    "Float64": _float,
    "BFloat16": _float,
    "Bool": _boolean,
    "Boolean": _boolean,
    "Date": _date,
    "Date32": _date,
    "DateTime": _datetime,
    "UUID": _uuid,
    "IPv4": _address,
    "IPv6": _address,
}
_BY_PREFIX = (
    ("FixedString(", _text_value),
    ("Enum8(", _text_value),
    ("Enum16(", _text_value),
    ("Enum(", _text_value),
    ("Decimal", _decimal),
    ("DateTime(", _datetime),
    ("DateTime64", _datetime),
    ("Array(", _array),
)
# Text types keep an empty value as is; an empty array value is the empty array.
_BLANK_IS_A_VALUE = frozenset({_text_value, _array})


def _coerce_int(stripped: str, *, unsigned: bool, bits: int) -> int:
    try:
        value = int(stripped.replace("_", ""), 10)
    except ValueError:
        raise ParameterError(f"expected a whole number, got {stripped!r}") from None
    low, high = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not low <= value <= high:
        raise ParameterError(f"must be between {low} and {high}, got {value}")
    return value


def _coerce_datetime(stripped: str, text: str) -> dt.datetime:
    candidate = stripped.replace("T", " ", 1)
    if candidate.endswith("Z"):
        candidate = candidate[:-1] + "+00:00"
    try:
        value = dt.datetime.fromisoformat(candidate)
    except ValueError:
        raise ParameterError(
            f"expected a date and time like 2025-01-31 13:45:00, got {text!r}"
        ) from None
    if value.tzinfo is not None:
        # The engine binds naive values in the server timezone: make the instant explicit.
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _coerce_array(inner: str, text: str) -> list:
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError:
            # ClickHouse's own literal, as an analyst pastes it from a query: ['DE','FR'].
            items = literals.parse_array(stripped)
        if not isinstance(items, list):
            raise ParameterError(f"expected a list, got {text!r}")
        items = ["" if item is None else str(item) for item in items]
    elif not stripped:
        items = []
    else:
        items = [item.strip() for item in stripped.split(",")]
    values = []
    for position, item in enumerate(items, start=1):
        try:
            values.append(coerce(inner, item))
        except ParameterError as exc:
            raise ParameterError(f"item {position}: {exc.message}") from None
    return values
