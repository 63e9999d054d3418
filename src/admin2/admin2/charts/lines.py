"""Kinds over a continuous x: line, area and scatter.

Points sit by value when every x is a date, time or number, by position otherwise. A NULL
breaks a line (and an area) into separate pieces: a gap in the data stays a gap.
"""

from __future__ import annotations

from admin2.charts.data import CannotDraw, Plot, position
from admin2.charts.frame import Frame, Scale, colour, hover, label, x_ticks, y_axis, y_scale

# Above this many points a series gets no hover targets: they would outweigh the picture.
HOVER_POINTS = 500


def x_pixels(frame: Frame, xs: list) -> list[float]:
    raw = [position(value) for value in xs]
    if all(p is not None for p in raw) and len(set(raw)) > 1:
        first, last = min(raw), max(raw)
        return [frame.left + frame.plot_w * (p - first) / (last - first) for p in raw]
    return [frame.left + frame.plot_w * (i / max(1, len(xs) - 1)) for i in range(len(xs))]


def _segments(order: list[int], values: list[float | None]) -> list[list[int]]:
    """Runs of rows (in x order) without a NULL."""
    runs, current = [], []
    for i in order:
        if values[i] is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(i)
    return [*runs, current] if current else runs


def _points(plot: Plot, px, scale: Scale, number: int, rows: list[int]) -> str:
    """Hover targets (and the dot of a lone point, which has no line to show it)."""
    values, name = plot.series[number], plot.names[number]
    lone = len(rows) == 1
    if not lone and len(values) > HOVER_POINTS:
        return ""
    kind = "analytics-point analytics-lone" if lone else "analytics-point"
    opacity = "1" if lone else "0"
    return "".join(
        f'<circle class="{kind}" cx="{px[i]:.1f}" cy="{scale.y(plot.frame, values[i]):.1f}" '
        f'r="4" fill="{colour(number)}" fill-opacity="{opacity}">'
        f"{hover(plot.xs[i], name, values[i])}</circle>"
        for i in rows
    )


def _series_paths(plot: Plot, px, scale: Scale, *, filled: bool) -> tuple[list[str], int]:
    order = sorted(range(len(plot.xs)), key=lambda i: px[i])
    parts, marks = [], 0
    zero = scale.y(plot.frame, 0.0)
    for number, values in enumerate(plot.series):
        for rows in _segments(order, values):
            coords = [f"{px[i]:.1f},{scale.y(plot.frame, values[i]):.1f}" for i in rows]
            if filled and len(rows) > 1:
                outline = f"M{px[rows[0]]:.1f},{zero:.1f} L" + " L".join(coords)
                parts.append(
                    f'<path class="analytics-area" d="{outline} L{px[rows[-1]]:.1f},'
                    f'{zero:.1f} Z" fill="{colour(number)}" fill-opacity="0.25" stroke="none"/>'
                )
            parts.append(
                f'<path class="analytics-line analytics-mark" d="M{" L".join(coords)}" '
                f'fill="none" stroke="{colour(number)}" stroke-width="2"/>'
            )
            parts.append(_points(plot, px, scale, number, rows))
            marks += 1
    return parts, marks


def _axes(plot: Plot, px: list[float], scale: Scale) -> tuple[str, str]:
    # One label per distinct x: rows sharing a value (a scatter) share its label.
    first_at = {}
    for i in sorted(range(len(plot.xs)), key=lambda i: px[i]):
        first_at.setdefault(round(px[i], 1), i)
    rows = list(first_at.values())
    labels = [label(plot.xs[i]) for i in rows]
    return y_axis(plot.frame, scale), x_ticks(plot.frame, [px[i] for i in rows], labels)


def _continuous(plot: Plot, *, filled: bool) -> tuple[str, int]:
    scale = y_scale(v for values in plot.series for v in values)
    px = x_pixels(plot.frame, plot.xs)
    frame_svg, ticks = _axes(plot, px, scale)
    parts, marks = _series_paths(plot, px, scale, filled=filled)
    return frame_svg + "".join(parts) + ticks, marks


def draw_line(plot: Plot) -> tuple[str, int]:
    return _continuous(plot, filled=False)


def draw_area(plot: Plot) -> tuple[str, int]:
    return _continuous(plot, filled=True)


def draw_scatter(plot: Plot) -> tuple[str, int]:
    placed = {position(value) for value in plot.xs}
    if None in placed or len(placed) < 2:
        raise CannotDraw(f"A scatter needs several numbers, dates or times in {plot.x_name}.")
    scale = y_scale(v for values in plot.series for v in values)
    px = x_pixels(plot.frame, plot.xs)
    frame_svg, ticks = _axes(plot, px, scale)
    parts, marks = [], 0
    for number, values in enumerate(plot.series):
        for i, value in enumerate(values):
            if value is None:
                continue
            parts.append(
                f'<circle class="analytics-dot analytics-mark" cx="{px[i]:.1f}" '
                f'cy="{scale.y(plot.frame, value):.1f}" r="3" fill="{colour(number)}" '
                f'fill-opacity="0.7">{hover(plot.xs[i], plot.names[number], value)}</circle>'
            )
            marks += 1
    return frame_svg + "".join(parts) + ticks, marks
