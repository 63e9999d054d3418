"""Kinds over categories: side-by-side bars and stacked bars (one bar per x, a segment per y;
positive values stack up from zero, negative ones down)."""

from __future__ import annotations

from admin2.charts.data import Plot
from admin2.charts.frame import Scale, colour, hover, label, x_ticks, y_axis, y_scale


def _rect(plot: Plot, scale: Scale, bar: tuple[float, float], span: tuple[float, float],
          number: int, i: int) -> str:  # fmt: skip
    """One bar from value ``span[0]`` to ``span[1]``, at x ``bar[0]``, ``bar[1]`` wide."""
    y0, y1 = scale.y(plot.frame, span[0]), scale.y(plot.frame, span[1])
    value = span[1] - span[0]
    return (
        f'<rect class="analytics-bar analytics-mark" x="{bar[0]:.1f}" y="{min(y0, y1):.1f}" '
        f'width="{bar[1]:.1f}" height="{max(abs(y1 - y0), 0.5):.1f}" fill="{colour(number)}">'
        f"{hover(plot.xs[i], plot.names[number], value)}</rect>"
    )


def _ticks(plot: Plot, slot: float) -> str:
    centres = [plot.frame.left + slot * (i + 0.5) for i in range(len(plot.xs))]
    return x_ticks(plot.frame, centres, [label(value) for value in plot.xs])


def draw_bar(plot: Plot) -> tuple[str, int]:
    scale = y_scale(v for values in plot.series for v in values)
    slot = plot.frame.plot_w / len(plot.xs)
    width = max(1.0, slot * 0.8 / len(plot.series))
    parts = [y_axis(plot.frame, scale)]
    for number, values in enumerate(plot.series):
        for i, value in enumerate(values):
            if value is not None:
                x = plot.frame.left + slot * i + slot * 0.1 + width * number
                parts.append(_rect(plot, scale, (x, width), (0.0, value), number, i))
    return "".join(parts) + _ticks(plot, slot), len(parts) - 1


def _stacks(plot: Plot) -> list[list[tuple[float, float] | None]]:
    """Per series and row, the (from, to) of its segment in the stack."""
    up = [0.0] * len(plot.xs)
    down = [0.0] * len(plot.xs)
    spans = []
    for values in plot.series:
        row_spans = []
        for i, value in enumerate(values):
            if value is None:
                row_spans.append(None)
                continue
            base = up if value >= 0 else down
            row_spans.append((base[i], base[i] + value))
            base[i] += value
        spans.append(row_spans)
    return spans


def draw_stacked_bar(plot: Plot) -> tuple[str, int]:
    spans = _stacks(plot)
    scale = y_scale(end for row_spans in spans for span in row_spans if span for end in span)
    slot = plot.frame.plot_w / len(plot.xs)
    parts = [y_axis(plot.frame, scale)]
    for number, row_spans in enumerate(spans):
        for i, span in enumerate(row_spans):
            if span is not None:
                bar = (plot.frame.left + slot * i + slot * 0.1, max(1.0, slot * 0.8))
                parts.append(_rect(plot, scale, bar, span, number, i))
    return "".join(parts) + _ticks(plot, slot), len(parts) - 1
