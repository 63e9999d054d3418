"""Kinds that summarise rather than plot: a KPI (the latest value and its change against the
previous period) and an hour-by-weekday heatmap."""

from __future__ import annotations

import datetime as dt
from html import escape

from admin2.charts.data import CannotDraw, Plot, position
from admin2.charts.frame import colour, compact, exact, label

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _periods(plot: Plot) -> list[int]:
    """Rows with a value, oldest first (by x when x is ordered, else as the rows came)."""
    rows = [i for i, value in enumerate(plot.series[0]) if value is not None]
    keys = [position(plot.xs[i]) for i in rows]
    if all(key is not None for key in keys):
        rows = [i for _, i in sorted(zip(keys, rows, strict=True))]
    return rows


def _change(now: float, before: float, when) -> tuple[str, str]:
    """(text, class) of the change from ``before`` to ``now``."""
    delta = now - before
    arrow, trend = ("▲", "up") if delta > 0 else ("▼", "down") if delta < 0 else ("=", "flat")
    percent = f" ({delta / abs(before):+.1%})" if before else ""
    text = f"{arrow} {'+' if delta >= 0 else ''}{compact(delta)}{percent} vs {label(when)}"
    return text, f"analytics-kpi-{trend}"


def draw_kpi(plot: Plot) -> tuple[str, int]:
    frame, values = plot.frame, plot.series[0]
    rows = _periods(plot)
    latest = rows[-1]
    middle = frame.width / 2
    parts = [
        f'<text class="analytics-kpi-value analytics-mark" x="{middle}" '
        f'y="{frame.height * 0.5:.0f}" text-anchor="middle">{escape(compact(values[latest]))}'
        f"<title>{escape(plot.names[0])}: {escape(exact(values[latest]))}</title></text>",
        f'<text class="analytics-kpi-label" x="{middle}" y="{frame.height * 0.5 + 30:.0f}" '
        f'text-anchor="middle">{escape(plot.names[0])} · {escape(label(plot.xs[latest]))}</text>',
    ]
    if len(rows) > 1:
        previous = rows[-2]
        text, trend = _change(values[latest], values[previous], plot.xs[previous])
        parts.append(
            f'<text class="analytics-kpi-change {trend}" x="{middle}" '
            f'y="{frame.height * 0.5 + 56:.0f}" text-anchor="middle">{escape(text)}</text>'
        )
    return "".join(parts), 1


def _cells(plot: Plot) -> dict[tuple[int, int], float]:
    """Sum of the first y per (weekday, hour) of x."""
    cells: dict[tuple[int, int], float] = {}
    for when, value in zip(plot.xs, plot.series[0], strict=True):
        if isinstance(when, dt.datetime) and value is not None:
            key = (when.weekday(), when.hour)
            cells[key] = cells.get(key, 0.0) + value
    return cells


def _heat_labels(left: float, top: float, cell_w: float, cell_h: float) -> str:
    parts = [
        f'<text class="analytics-tick" x="{left - 6}" y="{top + cell_h * (day + 0.65):.1f}" '
        f'text-anchor="end">{name}</text>'
        for day, name in enumerate(WEEKDAYS)
    ]
    parts += [
        f'<text class="analytics-tick" x="{left + cell_w * (hour + 0.5):.1f}" '
        f'y="{top + cell_h * 7 + 16:.1f}" text-anchor="middle">{hour:02d}</text>'
        for hour in range(0, 24, 3)
    ]
    return "".join(parts)


def draw_heatmap(plot: Plot) -> tuple[str, int]:
    frame = plot.frame
    cells = _cells(plot)
    if not cells:
        raise CannotDraw(f"Column {plot.x_name} holds no date-times: no heatmap.")
    # Shade from the quietest cell to the busiest: the contrast is in the differences.
    low, peak = min(cells.values()), max(cells.values())
    spread = (peak - low) or 1.0
    cell_w, cell_h = frame.plot_w / 24, (frame.height - frame.top - 40) / 7
    parts = [_heat_labels(frame.left, frame.top, cell_w, cell_h)]
    for (day, hour), value in sorted(cells.items()):
        parts.append(
            f'<rect class="analytics-cell analytics-mark" x="{frame.left + cell_w * hour:.1f}" '
            f'y="{frame.top + cell_h * day:.1f}" width="{cell_w - 1:.1f}" '
            f'height="{cell_h - 1:.1f}" fill="{colour(0)}" '
            f'fill-opacity="{0.1 + 0.9 * (value - low) / spread:.2f}"><title>{WEEKDAYS[day]} '
            f"{hour:02d}:00 · {escape(plot.names[0])}: {escape(exact(value))}</title></rect>"
        )
    return "".join(parts), len(cells)
