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
        ch = sql[i]
        if ch in "'\"`":
            i = _skip_quoted(sql, i, ch)
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch == "$" and (heredoc := re.match(r"\$([A-Za-z0-9_]*)\$", sql[i:])):
            tag = heredoc.group(0)
            end = sql.find(tag, i + len(tag))
            i = n if end < 0 else end + len(tag)
        elif ch == "{":
            parsed = _parse_placeholder(sql, i)
            if parsed is None:
                i += 1
            else:
                name, type_, i = parsed
                yield name, type_
        else:
            i += 1


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
    i = start + 1
    while i < len(sql) and sql[i].isspace():
        i += 1
    name_match = _NAME.match(sql, i)
    if not name_match:
        return None
    i = name_match.end()
    while i < len(sql) and sql[i].isspace():
        i += 1
    if i >= len(sql) or sql[i] != ":":
        return None
    i += 1
    depth, type_start = 0, i
    while i < len(sql):
        ch = sql[i]
        if ch in "'\"`":
            i = _skip_quoted(sql, i, ch)
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "}" and depth == 0:
            type_ = normalise_type(sql[type_start:i])
            if not type_ or not re.match(r"[A-Za-z]", type_):
                return None
            return name_match.group(0), type_, i + 1
        elif ch in "{;\n" and depth == 0:
            return None
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
    problems: list[tuple[str, str]] = []
    typed: dict[str, Any] = {}
    for parameter in declared:
        if parameter.name not in given:
            if parameter.nullable:
                typed[parameter.name] = None
            else:
                problems.append(
                    (parameter.name, f"{parameter.name} ({parameter.type}) needs a value")
                )
            continue
        value = given[parameter.name]
        if not isinstance(value, str):
            typed[parameter.name] = value
            continue
        try:
            typed[parameter.name] = coerce(parameter, value)
        except ParameterError as exc:
            problems.append((parameter.name, str(exc)))
    if unknown_is_error:
        names = {parameter.name for parameter in declared}
        declares = ", ".join(f"{{{p.name}:{p.type}}}" for p in declared) or "no parameters"
        problems += [
            (name, f"unknown parameter {name!r}: the query declares {declares}")
            for name in sorted(set(given) - names)
        ]
    if problems:
        raise ParameterError(
            "; ".join(text for _, text in problems),
            name=problems[0][0],
            problems=[text for _, text in problems],
        )
    return typed


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
    if base == "String" or base.startswith(("FixedString(", "Enum8(", "Enum16(", "Enum(")):
        if base.startswith("FixedString("):
            size = int(base[len("FixedString(") : -1])
            if len(text.encode()) > size:
                raise ParameterError(f"at most {size} bytes, got {len(text.encode())}")
        return text
    stripped = text.strip()
    if not stripped and not base.startswith("Array("):
        raise ParameterError("a value is required")
    integer = re.fullmatch(r"(U?)Int(\d+)", base)
    if integer and integer.group(2) in _INT_BITS:
        return _coerce_int(stripped, unsigned=bool(integer.group(1)), bits=int(integer.group(2)))
    if base in ("Float32", "Float64", "BFloat16"):
        try:
            return float(stripped)
        except ValueError:
            raise ParameterError(f"expected a number, got {text!r}") from None
    if base.startswith("Decimal"):
        try:
            value = Decimal(stripped)
        except InvalidOperation:
            raise ParameterError(f"expected a decimal number, got {text!r}") from None
        if not value.is_finite():
            raise ParameterError(f"expected a finite decimal number, got {text!r}")
        return value
    if base in ("Bool", "Boolean"):
        parsed = parse_yes_no(stripped)
        if parsed is None:
            raise ParameterError(f"expected true or false, got {text!r}")
        return parsed
    if base in ("Date", "Date32"):
        try:
            return dt.date.fromisoformat(stripped)
        except ValueError:
            raise ParameterError(f"expected a date like 2025-01-31, got {text!r}") from None
    if base == "DateTime" or base.startswith(("DateTime(", "DateTime64")):
        return _coerce_datetime(stripped, text)
    if base == "UUID":
        try:
            return uuid.UUID(stripped)
        except ValueError:
            raise ParameterError(f"expected a UUID, got {text!r}") from None
    if base in ("IPv4", "IPv6"):
        try:
            address = ipaddress.ip_address(stripped)
        except ValueError:
            raise ParameterError(f"expected an {base} address, got {text!r}") from None
        if (base == "IPv4") != (address.version == 4):
            raise ParameterError(f"expected an {base} address, got {text!r}")
        return address
    if base.startswith("Array(") and base.endswith(")"):
        return _coerce_array(base[len("Array(") : -1].strip(), text)
    raise ParameterError(
        "this type is not supported for parameters; use String, a number, Date, DateTime, "
        "Bool, UUID, Decimal, IPv4/IPv6, Nullable(...) or Array(...)"
    )


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
