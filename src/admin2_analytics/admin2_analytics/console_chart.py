"""A chart preview of a console page, in any registered chart kind.

The grid holds ClickHouse's text; the chart needs positions, so dates, times and numbers are
read back from that text by the column's type (a chart may round, the grid never does).
"""

from __future__ import annotations

import datetime as dt
import decimal
import re

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


def build(kind: str, x: str, ys: list[str], page, *, max_points: int) -> charts.Chart:
    """The chart of ``page`` (a ConsolePage), or a Chart saying why there is none."""
    names = [column.name for column in page.columns]
    bases = [(_BASE.match(column.type) or [None, ""])[1] for column in page.columns]
    rows = [tuple(_value(v, b) for v, b in zip(row, bases, strict=True)) for row in page.rows]
    types = {column.name: column.type for column in page.columns}
    zone = result_charts.zone_of(types.get(x, ""))
    return charts.build(kind, x, ys, names, rows, max_points=max_points, zone=zone)
