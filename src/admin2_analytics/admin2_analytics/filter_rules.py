"""What a dashboard filter definition may say, checked when it is saved: the date presets
and the names the page keeps for its own controls. The models use it, so it stays below
anything that runs a query."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from admin2_analytics.errors import ParameterError
from admin2_analytics.parameters import coerce, normalise_type

CUSTOM = "custom"
PRESET_SUFFIX = "_preset"
REFRESH_KEY = "every"


def _quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _last_month(day: dt.date) -> tuple[dt.date, dt.date]:
    end = day.replace(day=1) - dt.timedelta(days=1)
    return end.replace(day=1), end


PRESETS = {
    "today": ("Today", lambda day: (day, day)),
    "last_7_days": ("Last 7 days", lambda day: (day - dt.timedelta(days=6), day)),
    "last_30_days": ("Last 30 days", lambda day: (day - dt.timedelta(days=29), day)),
    "this_month": ("This month", lambda day: (day.replace(day=1), day)),
    "last_month": ("Last month", _last_month),
    "this_quarter": ("This quarter", lambda day: (_quarter_start(day), day)),
    "this_year": ("This year", lambda day: (day.replace(month=1, day=1), day)),
}


def check_filter(item) -> None:
    """The definition makes sense on its own: ValidationError naming the field otherwise."""
    problems: dict[str, str] = {}
    if item.name == REFRESH_KEY or item.name.endswith(PRESET_SUFFIX):
        problems["name"] = f"{item.name!r} is reserved for the page's own controls."
    if item.widget == item.Widget.DATE_RANGE:
        problems.update(_range_problems(item))
    elif item.widget == item.Widget.DROPDOWN and item.options_query is None:
        problems["options_query"] = "A dropdown takes its choices from a saved query."
    elif item.default:
        try:
            coerce(normalise_type(item.type), item.default, name=item.name)
        except ParameterError as exc:
            problems["default"] = str(exc)
    if problems:
        raise ValidationError(problems)


def _range_problems(item) -> dict[str, str]:
    problems = {}
    if not item.end_name or item.end_name == item.name:
        problems["end_name"] = "A date range sets two parameters: name the end one."
    if not normalise_type(item.type).startswith(("Date", "DateTime")):
        problems["type"] = f"A date range is a Date or DateTime, not {item.type}."
    if item.default and item.default not in PRESETS and not _days(item.default):
        known = ", ".join(PRESETS)
        problems["default"] = (
            f"Give a preset ({known}) or first..last day, like 2025-01-01..2025-01-31, "
            f"not {item.default!r}."
        )
    return problems


def _days(text: str) -> bool:
    """``text`` is ``first..last`` in ISO days, in order."""
    days = split_range(text)
    try:
        return days is not None and coerce("Date", days[0]) <= coerce("Date", days[1])
    except ParameterError:
        return False


def split_range(text: str) -> tuple[str, str] | None:
    start, sep, end = text.partition("..")
    return (start.strip(), end.strip()) if sep and start.strip() and end.strip() else None
