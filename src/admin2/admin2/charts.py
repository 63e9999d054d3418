"""Charts drawn on the server as inline SVG: no JavaScript library, no CDN, nothing to load.

A line chart places points by value when the x column holds dates, times or numbers, and by
position otherwise; a bar chart treats x as categories. Y columns must be numeric. Anything
that cannot be drawn becomes a readable note instead of a chart.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 56
SERIES_COLOURS = ("#3b7dd8", "#e07b39", "#3aa676", "#c24d7c", "#8a6fd1", "#b59a2a")


@dataclass(frozen=True)
class Chart:
    kind: str
    svg: SafeString | None = None
    note: str = ""
    marks: int = 0


def build(kind: str, x: str, ys: list[str], columns, rows, *, max_points: int = 2000) -> Chart:
    """Draw ``rows`` (aligned with ``columns``) as a ``kind`` chart, or explain why not."""
    if kind not in ("line", "bar"):
        return Chart(kind="none")
    columns = list(columns)
    missing = [name for name in [x, *ys] if name not in columns]
    if not x or not ys:
        return Chart(kind, note="Pick an x column and at least one y column to draw a chart.")
    if missing:
        return Chart(kind, note=f"The result has no column {', '.join(missing)}: no chart.")
    if not rows:
        return Chart(kind, note="No rows to chart.")
    xi = columns.index(x)
    yis = [columns.index(name) for name in ys]
    limit = max_points if kind == "line" else min(max_points, 60)
    note = ""
    if len(rows) > limit:
        note = f"The chart shows the first {limit} of {len(rows)} rows."
        rows = rows[:limit]
    xs = [row[xi] for row in rows]
    series = []
    for index in yis:
        values = [_number(row[index]) for row in rows]
        if all(value is None for value in values):
            return Chart(kind, note=f"Column {columns[index]} holds no numbers: no chart.")
        series.append(values)
    drawer = _line if kind == "line" else _bar
    body, marks = drawer(xs, series)
    legend = _legend(ys)
    svg = (
        f'<svg class="analytics-chart" data-kind="{kind}" data-marks="{marks}" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(", ".join(ys))} by '
        f"{escape(x)}</title>{body}{legend}</svg>"
    )
    return Chart(kind, svg=mark_safe(svg), note=note, marks=marks)  # noqa: S308 (escaped above)


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float, decimal.Decimal)):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _position(value) -> float | None:
    """A numeric position for a continuous x axis (dates, times, numbers), else None."""
    if isinstance(value, dt.datetime):
        return value.timestamp() if value.tzinfo else value.replace(tzinfo=dt.UTC).timestamp()
    if isinstance(value, dt.date):
        return float(value.toordinal() * 86400)
    return _number(value)


def _label(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else f"{value:%F}"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = "∅" if value is None else str(value)
    return text if len(text) <= 16 else text[:15] + "…"


def _y_scale(series) -> tuple[float, float, float]:
    """(low, high, step): the data range widened to round tick values, zero included."""
    values = [v for values in series for v in values if v is not None]
    low, high = min(0.0, min(values)), max(0.0, max(values))
    if high == low:
        high = low + 1.0
    raw_step = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _frame(low: float, high: float, step: float) -> str:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<line class="analytics-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" '
        f'y2="{HEIGHT - BOTTOM}"/>'
        f'<line class="analytics-axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" '
        f'x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}"/>'
    ]
    ticks = round((high - low) / step)
    for index in range(ticks + 1):
        value = low + step * index
        y = HEIGHT - BOTTOM - plot_h * index / ticks
        parts.append(
            f'<line class="analytics-grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
            f'y2="{y:.1f}"/><text class="analytics-tick" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{escape(_compact(value))}</text>'
        )
    return "".join(parts)


def _compact(value: float) -> str:
    magnitude = abs(value)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _x_ticks(positions: list[float], labels: list[str]) -> str:
    """As many evenly spread labels as fit side by side without touching."""
    count = len(positions)
    label_w = max(len(label) for label in labels) * 6.5 + 12  # 11px sans-serif, roughly
    span = max(positions) - min(positions) if count > 1 else 0
    spacing = span / (count - 1) if count > 1 else label_w
    every = max(1, math.ceil(label_w / max(spacing, 1)))
    chosen = list(range(0, count, every))
    parts = []
    for i in chosen:
        # Keep edge labels inside the picture rather than cut off.
        x = min(max(positions[i], label_w / 2), WIDTH - label_w / 2)
        parts.append(
            f'<text class="analytics-tick" x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(labels[i])}</text>'
        )
    return "".join(parts)


def _line(xs, series) -> tuple[str, int]:
    low, high, step = _y_scale(series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    raw = [_position(value) for value in xs]
    if all(p is not None for p in raw) and len(set(raw)) > 1:
        first, last = min(raw), max(raw)
        px = [LEFT + plot_w * (p - first) / (last - first) for p in raw]
    else:
        px = [LEFT + plot_w * (i / max(1, len(xs) - 1)) for i in range(len(xs))]
    order = sorted(range(len(xs)), key=lambda i: px[i])
    parts = [_frame(low, high, step)]
    marks = 0
    for number, values in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        segments, current = [], []
        for i in order:
            if values[i] is None:
                if current:
                    segments.append(current)
                current = []
                continue
            y = TOP + plot_h * (1 - (values[i] - low) / (high - low))
            current.append(f"{px[i]:.1f},{y:.1f}")
        if current:
            segments.append(current)
        for points in segments:
            path = "M" + " L".join(points)
            parts.append(
                f'<path class="analytics-line analytics-mark" d="{path}" fill="none" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
            marks += 1
            if len(points) == 1:  # a lone point has no line: show it as a dot
                x, y = points[0].split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
    labels = [_label(value) for value in xs]
    parts.append(_x_ticks([px[i] for i in order], [labels[i] for i in order]))
    return "".join(parts), marks


def _bar(xs, series) -> tuple[str, int]:
    low, high, step = _y_scale(series)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(xs)
    bar_w = max(1.0, slot * 0.8 / len(series))
    zero = TOP + plot_h * (1 - (0 - low) / (high - low))
    parts = [_frame(low, high, step)]
    marks = 0
    for number, values in enumerate(series):
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        for i, value in enumerate(values):
            if value is None:
                continue
            top = TOP + plot_h * (1 - (value - low) / (high - low))
            x = LEFT + slot * i + slot * 0.1 + bar_w * number
            y, h = min(top, zero), abs(zero - top)
            parts.append(
                f'<rect class="analytics-bar analytics-mark" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w:.1f}" height="{max(h, 0.5):.1f}" fill="{colour}">'
                f"<title>{escape(_label(xs[i]))}: {escape(_compact(value))}</title></rect>"
            )
            marks += 1
    centres = [LEFT + slot * (i + 0.5) for i in range(len(xs))]
    parts.append(_x_ticks(centres, [_label(value) for value in xs]))
    return "".join(parts), marks


def _legend(names: list[str]) -> str:
    parts = []
    for number, name in enumerate(names):
        x = LEFT + number * 150
        colour = SERIES_COLOURS[number % len(SERIES_COLOURS)]
        parts.append(
            f'<rect x="{x}" y="{HEIGHT - 20}" width="10" height="10" fill="{colour}"/>'
            f'<text class="analytics-legend" x="{x + 14}" y="{HEIGHT - 11}">'
            f"{escape(name)}</text>"
        )
    return "".join(parts)
