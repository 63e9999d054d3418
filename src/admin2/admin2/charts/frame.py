"""The drawing surface shared by every chart kind: size, value scale, axes, ticks, legend.

Text sizes are in the picture's own units, so a smaller frame (a dashboard panel) shows the
same labels larger relative to its width: that is what keeps them readable there.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape

SERIES_COLOURS = ("#3b7dd8", "#e07b39", "#3aa676", "#c24d7c", "#8a6fd1", "#b59a2a")


@dataclass(frozen=True)
class Frame:
    width: int = 760
    height: int = 300
    left: int = 64
    right: int = 16
    top: int = 16
    bottom: int = 56

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    @property
    def base(self) -> float:
        """The y of the x axis."""
        return self.height - self.bottom


WIDE = Frame()
# A dashboard panel is about half a page wide: a narrower picture keeps 11-unit text legible.
COMPACT = Frame(width=460, height=260, left=52, bottom=52)


@dataclass(frozen=True)
class Scale:
    low: float
    high: float
    step: float

    def y(self, frame: Frame, value: float) -> float:
        return frame.top + frame.plot_h * (1 - (value - self.low) / (self.high - self.low))


def colour(number: int) -> str:
    return SERIES_COLOURS[number % len(SERIES_COLOURS)]


def y_scale(values) -> Scale:
    """The data range widened to round tick values, zero included."""
    present = [v for v in values if v is not None]
    low, high = min(0.0, min(present)), max(0.0, max(present))
    if high == low:
        high = low + 1.0
    raw_step = (high - low) / 5
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    return Scale(math.floor(low / step) * step, math.ceil(high / step) * step, step)


def y_axis(frame: Frame, scale: Scale) -> str:
    parts = [
        f'<line class="analytics-axis" x1="{frame.left}" y1="{frame.top}" x2="{frame.left}" '
        f'y2="{frame.base}"/>'
        f'<line class="analytics-axis" x1="{frame.left}" y1="{frame.base}" '
        f'x2="{frame.width - frame.right}" y2="{frame.base}"/>'
    ]
    ticks = round((scale.high - scale.low) / scale.step)
    for index in range(ticks + 1):
        value = scale.low + scale.step * index
        y = frame.base - frame.plot_h * index / ticks
        parts.append(
            f'<line class="analytics-grid" x1="{frame.left}" y1="{y:.1f}" '
            f'x2="{frame.width - frame.right}" y2="{y:.1f}"/><text class="analytics-tick" '
            f'x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
            f"{escape(compact(value))}</text>"
        )
    return "".join(parts)


def compact(value: float) -> str:
    magnitude = abs(value)
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if magnitude >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def exact(value: float) -> str:
    """A value for a hover text: whole numbers in full, others to six significant digits."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.6g}"


def label(value) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else f"{value:%F}"
    if isinstance(value, float):
        return f"{value:.4g}"
    text = "∅" if value is None else str(value)
    return text if len(text) <= 16 else text[:15] + "…"


def hover(x, name: str, value: float) -> str:
    """The SVG <title> a browser shows on hover (no script needed)."""
    return f"<title>{escape(label(x))} · {escape(name)}: {escape(exact(value))}</title>"


def x_ticks(frame: Frame, positions: list[float], labels: list[str]) -> str:
    """Labels left to right (``positions`` ascending), each only where it does not touch the
    one before: uneven spacing (a scatter, gaps in time) never piles labels up."""
    label_w = max(len(text) for text in labels) * 6.5 + 12  # 11-unit sans-serif, roughly
    parts, previous = [], -math.inf
    for position, text in zip(positions, labels, strict=True):
        # Keep edge labels inside the picture rather than cut off.
        x = min(max(position, label_w / 2), frame.width - label_w / 2)
        if x - previous < label_w:
            continue
        previous = x
        parts.append(
            f'<text class="analytics-tick" x="{x:.1f}" y="{frame.base + 16}" '
            f'text-anchor="middle">{escape(text)}</text>'
        )
    return "".join(parts)


def legend(frame: Frame, names: list[str]) -> str:
    parts = []
    step = max(90, frame.plot_w // max(1, len(names)))
    for number, name in enumerate(names):
        x = frame.left + number * step
        parts.append(
            f'<rect x="{x}" y="{frame.height - 20}" width="10" height="10" '
            f'fill="{colour(number)}"/><text class="analytics-legend" x="{x + 14}" '
            f'y="{frame.height - 11}">{escape(name)}</text>'
        )
    return "".join(parts)
