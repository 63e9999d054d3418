"""From result rows to what a drawer needs: numbers, x positions in the right time zone, and
long series thinned without losing their peaks."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from admin2.charts.frame import Frame


class CannotDraw(Exception):
    """The data does not fit the kind; the message becomes the chart's note."""


@dataclass(frozen=True)
class Plot:
    """One chart's input, ready to draw: x values, one list of numbers (or None) per y."""

    frame: Frame
    x_name: str
    xs: list
    names: list[str]
    series: list[list[float | None]]


def number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        result = float(value)
        return result if math.isfinite(result) else None
    return None


def position(value) -> float | None:
    """A numeric position for a continuous x axis (dates, times, numbers), else None."""
    if isinstance(value, dt.datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal() * 86400)
    return number(value)


def in_zone(values: list, zone: str | None) -> list:
    """Date-times shown in ``zone`` (a naive value is UTC, as the engine returns it)."""
    if not zone:
        return values
    tz = ZoneInfo(zone)
    return [
        (v if v.tzinfo else v.replace(tzinfo=dt.UTC)).astimezone(tz)
        if isinstance(v, dt.datetime)
        else v
        for v in values
    ]


def downsample(series: list[list[float | None]], limit: int) -> list[int]:
    """Row indexes to keep so at most about ``limit`` points remain, in order.

    The rows are cut into buckets; each keeps, for every series, its smallest and largest
    value and its first NULL: extremes stay visible and a gap still breaks the line.
    """
    count = len(series[0]) if series else 0
    if count <= limit:
        return list(range(count))
    buckets = max(1, (limit - 2) // (3 * len(series)))
    keep = {0, count - 1}
    for bucket in range(buckets):
        rows = range(bucket * count // buckets, (bucket + 1) * count // buckets)
        for values in series:
            keep.update(_bucket_keepers(values, rows))
    return sorted(keep)


def _bucket_keepers(values: list[float | None], rows: range) -> list[int]:
    present = [(values[i], i) for i in rows if values[i] is not None]
    gap = next((i for i in rows if values[i] is None), None)
    kept = [min(present)[1], max(present)[1]] if present else []
    return kept if gap is None else [*kept, gap]
