"""Dashboard filters: values from the URL (or defaults), dropdown choices, and the panel
placeholders they set: only a panel's ``{name:Type}`` of the same name and type. Filters
resolve in position order, so a dropdown's options query narrows with the ones before it
(docs/analytics.md, "Dashboard filters").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.utils import timezone

from admin2_analytics import running
from admin2_analytics.errors import AnalyticsError, ParameterError
from admin2_analytics.filter_rules import (
    CUSTOM,
    PRESET_SUFFIX,
    PRESETS,
    REFRESH_KEY,
    split_range,
)
from admin2_analytics.forms import check_parameters
from admin2_analytics.models import MIN_REFRESH
from admin2_analytics.parameters import Parameter, coerce, find_parameters, normalise_type

OPTIONS_LIMIT = 200  # choices a dropdown lists: a longer list is a search, not a dropdown


@dataclass
class FilterState:
    filter: object  # a DashboardFilter
    values: dict[str, str]  # parameter name -> text, as the URL carries it
    preset: str = ""
    options: list[str] | None = None
    error: str = ""
    note: str = ""

    @property
    def value(self) -> str:
        return self.values.get(self.filter.name, "")

    @property
    def input_type(self) -> str:
        # A range picks days whatever its type; a date-time is typed as text (the browser's
        # datetime-local input refuses ClickHouse's "2025-01-31 13:45:00").
        if self.filter.widget == self.filter.Widget.DATE_RANGE:
            return "date"
        kind = Parameter(self.filter.name, normalise_type(self.filter.type)).input_kind
        return "date" if kind == "date" else "text"

    def bound_values(self) -> dict[str, str]:
        """The values as the placeholders take them: a DateTime range runs from the first
        day's first second to the last day's last."""
        item = self.filter
        if item.widget != item.Widget.DATE_RANGE or not _is_datetime(item.type):
            return self.values
        return {
            item.name: f"{self.values[item.name]} 00:00:00",
            item.end_name: f"{self.values[item.end_name]} 23:59:59",
        }

    @property
    def presets(self) -> list[tuple[str, str]]:
        return [(CUSTOM, "Custom dates"), *((key, text) for key, (text, _) in PRESETS.items())]


@dataclass
class Filters:
    states: list[FilterState] = field(default_factory=list)
    refresh_seconds: int = 0
    refresh_in_url: bool = False  # chosen in the URL rather than the dashboard's own

    def bound(self) -> dict[str, tuple[str, str]]:
        """Parameter name -> (type, text) for every filter value."""
        return {
            name: (normalise_type(state.filter.type), text)
            for state in self.states
            for name, text in state.bound_values().items()
        }

    def url_values(self) -> dict[str, str]:
        query: dict[str, str] = {}
        for state in self.states:
            if state.preset and state.preset != CUSTOM:
                query[state.filter.name + PRESET_SUFFIX] = state.preset
            else:
                query.update(state.values)
        if self.refresh_in_url:
            query[REFRESH_KEY] = str(self.refresh_seconds)
        return query

    def query_string(self, *, refresh: int | None = None) -> str:
        query = self.url_values()
        if refresh is not None:
            query[REFRESH_KEY] = str(refresh)
        return urlencode(query)


# --- values from the URL -----------------------------------------------------------------


def resolve(board, data, user, *, today: dt.date | None = None) -> Filters:
    """Every filter's value from ``data`` (the GET), checked, falling back to its default."""
    today = today or timezone.localdate()
    found = Filters(
        refresh_seconds=refresh_seconds(data, board.refresh_seconds),
        refresh_in_url=data.get(REFRESH_KEY, "").isdigit(),
    )
    for item in board.filters.select_related("options_query"):
        if item.widget == item.Widget.DATE_RANGE:
            state = _date_range(item, data, today)
        elif item.widget == item.Widget.DROPDOWN:
            state = _dropdown(item, data, user, found.bound())
        else:
            state = _typed_value(item, data)
        found.states.append(state)
    return found


def refresh_seconds(data, default: int) -> int:
    text = data.get(REFRESH_KEY, "")
    if not text.isdigit():
        return default
    seconds = min(int(text), 86_400)
    return seconds if seconds == 0 or seconds >= MIN_REFRESH else MIN_REFRESH


def _checked(item, name: str, text: str) -> str:
    """``text`` when it fits the filter's type; ParameterError naming the filter otherwise."""
    coerce(normalise_type(item.type), text, name=name)
    return text


def _typed_value(item, data) -> FilterState:
    text = data.get(item.name, item.default)
    try:
        return FilterState(item, {item.name: _checked(item, item.name, text)})
    except ParameterError as exc:
        return FilterState(item, {item.name: item.default}, error=f"{exc}; the default is used.")


def _is_datetime(type_: str) -> bool:
    return normalise_type(type_).startswith("DateTime")


def _preset_values(item, preset: str, today: dt.date) -> dict[str, str]:
    start, end = PRESETS[preset][1](today)
    return {item.name: start.isoformat(), item.end_name: end.isoformat()}


def _default_range(item, today: dt.date) -> tuple[str, dict[str, str]]:
    if item.default in PRESETS:
        return item.default, _preset_values(item, item.default, today)
    start, end = split_range(item.default) or (today.isoformat(), today.isoformat())
    return CUSTOM, {item.name: start, item.end_name: end}


def _date_range(item, data, today: dt.date) -> FilterState:
    """A preset gives the dates, unless the dates sent differ from it (typed over it)."""
    preset = data.get(item.name + PRESET_SUFFIX, "")
    typed = {name: data[name] for name in (item.name, item.end_name) if name in data}
    if preset in PRESETS and (not typed or typed == _preset_values(item, preset, today)):
        return FilterState(item, _preset_values(item, preset, today), preset=preset)
    default_preset, default_values = _default_range(item, today)
    if not typed and not preset:
        return FilterState(item, default_values, preset=default_preset)
    values = {**default_values, **typed}
    try:
        # Days, whatever the placeholders' type: bound_values adds the times.
        start = coerce("Date", values[item.name], name=item.name)
        end = coerce("Date", values[item.end_name], name=item.end_name)
    except ParameterError as exc:
        return FilterState(item, default_values, default_preset, error=f"{exc}; default used.")
    if start > end:
        message = f"{item} starts after it ends; the default is used."
        return FilterState(item, default_values, default_preset, error=message)
    return FilterState(item, values, preset=CUSTOM)


def _dropdown(item, data, user, bound) -> FilterState:
    state = _typed_value(item, data)
    query = item.options_query
    if query is None or not query.is_visible_to(user):
        state.error = state.error or f"The choices of {item} come from a query you cannot see."
        return state
    try:
        values, _ = panel_values(query, bound)
        typed = running_parameters(query, values)
        result = running.run_saved(query, typed, user=user, max_rows=OPTIONS_LIMIT)
    except (AnalyticsError, ValidationError) as exc:
        state.error = f"The choices of {item} could not be listed: {_message(exc)}"
        return state
    state.options = [option_text(row[0]) for row in result.rows if row]
    if result.truncated:
        state.note = f"The first {OPTIONS_LIMIT} choices; narrow the query for the rest."
    if state.options and state.values[item.name] not in state.options:
        # The filters before it narrowed the list: the old choice is gone, take the first.
        state.values[item.name] = state.options[0]
    return state


def _message(exc: Exception) -> str:
    return "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def option_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


# --- binding panels ------------------------------------------------------------------------


def panel_values(query, bound: dict[str, tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """The query's defaults with every same-named, same-typed filter value put in, and a note
    for each same-named filter whose type differs (it is left alone)."""
    values = dict(query.parameter_defaults)
    notes = []
    for parameter in find_parameters(query.sql):
        if parameter.name not in bound:
            continue
        type_, text = bound[parameter.name]
        if type_ == parameter.type:
            values[parameter.name] = text
        else:
            notes.append(
                f"The filter {parameter.name} ({type_}) is not applied: this query declares "
                f"{{{parameter.name}:{parameter.type}}}."
            )
    return values, notes


def running_parameters(query, values: dict[str, str]) -> dict:
    return check_parameters(query.sql, values)
