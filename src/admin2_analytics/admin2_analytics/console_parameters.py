"""The console's typed parameter form: the ``{name:Type}`` placeholders of the SQL as typed,
each with its value so far and what is wrong with it (:func:`parameters.coerce`, the run's
own coercion). The page's fields write the ``name=value`` lines of the real form field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from admin2_analytics.errors import ParameterError
from admin2_analytics.forms import parse_lines
from admin2_analytics.parameters import Parameter, coerce, find_parameters

# Hints drawn next to a field: what to type for its kind (see Parameter.input_kind).
_HINTS = {
    "date": "2025-01-31",
    "datetime": "2025-01-31 13:45:00",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "list": "['DE','FR'] or DE, FR",
}


def describe(sql: str, lines: str) -> dict:
    """The placeholders of ``sql`` with the values of ``lines`` (``name=value`` text).

    ``{"parameters": [...], "error": ""}``; ``error`` names what keeps the form from being
    drawn (a name declared with two types, malformed lines). Each parameter carries its
    ``error`` when its value does not fit its type (the message names the parameter).
    """
    try:
        declared = find_parameters(sql)
    except ParameterError as exc:
        return {"parameters": [], "error": str(exc)}
    try:
        given = parse_lines(lines, "parameters")
    except ValidationError as exc:
        given, problem = {}, " ".join(exc.messages)
    else:
        problem = ""
    return {"parameters": [_field(p, given.get(p.name)) for p in declared], "error": problem}


def _field(parameter: Parameter, value: str | None) -> dict:
    return {
        "name": parameter.name,
        "type": parameter.type,
        "kind": parameter.input_kind,
        "nullable": parameter.nullable,
        "hint": _HINTS.get(parameter.input_kind, ""),
        "value": value,
        "error": _problem(parameter, value),
    }


def _problem(parameter: Parameter, value: str | None) -> str:
    if value is None:  # not typed yet: the run says what is missing, not the form
        return ""
    try:
        coerce(parameter, value)
    except ParameterError as exc:
        return str(exc)
    return ""
