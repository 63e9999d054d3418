"""A chart preview of a console page, in any registered chart kind.

The grid holds ClickHouse's text; the chart needs positions, so dates, times and numbers are
read back from that text by the column's type (a chart may round, the grid never does).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from zoneinfo import ZoneInfo

from admin2 import charts
from admin2_analytics import result_charts

_BASE = re.compile(r"^(?:Nullable\(|LowCardinality\()*(\w+)")


def _value(text: str | None, kind: str):
    if text is None:
        return None
    try:
        if kind == "Date" or kind == "Date32":
            return dt.date.fromisoformat(text)
        if kind.startswith("DateTime"):
            return dt.datetime.fromisoformat(text)
        if re.match(r"^(U?Int|Float|BFloat|Decimal)", kind):
            return decimal.Decimal(text)
    except (ValueError, decimal.InvalidOperation):
        return None
    return text


def _in_zone(values: list, zone: str | None) -> list:
    """ClickHouse writes a time as the wall clock of its column's zone: say which zone."""
    if not zone:
        return values
    tz = ZoneInfo(zone)
    return [v.replace(tzinfo=tz) if isinstance(v, dt.datetime) else v for v in values]


def build(kind: str, x: str, ys: list[str], page, *, max_points: int) -> charts.Chart:
    """The chart of ``page`` (a ConsolePage), or a Chart saying why there is none."""
    names = [column.name for column in page.columns]
    bases = [(_BASE.match(column.type) or [None, ""])[1] for column in page.columns]
    zones = [result_charts.zone_of(column.type) for column in page.columns]
    columns = [
        _in_zone([_value(row[i], bases[i]) for row in page.rows], zones[i])
        for i in range(len(names))
    ]
    rows = list(zip(*columns, strict=True)) if columns else []
    zone = zones[names.index(x)] if x in names else None
    return charts.build(kind, x, ys, names, rows, max_points=max_points, zone=zone)
