"""Charts drawn on the server as inline SVG: no JavaScript library, no CDN, nothing to load.

:func:`build` turns result rows into a :class:`Chart` of one registered kind (``registry``).
Every mark carries an SVG ``<title>``: the hover value ``admin2/chart-hover.js`` shows, and
the browser's own without script. What cannot be drawn becomes a note.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from django.utils.safestring import SafeString, mark_safe

from admin2.charts import registry
from admin2.charts.data import CannotDraw, Plot, downsample, in_zone, number
from admin2.charts.frame import COMPACT, WIDE, Frame, legend
from admin2.charts.registry import NONE, ChartKind, choices, get, names, register

__all__ = ["COMPACT", "NONE", "WIDE", "Chart", "ChartKind", "Frame", "build", "choices",
           "get", "names", "register"]  # fmt: skip


@dataclass(frozen=True)
class Chart:
    kind: str
    svg: SafeString | None = None
    note: str = ""
    marks: int = 0


def _check_columns(x: str, ys: list[str], columns: list[str], rows) -> None:
    missing = [name for name in [x, *ys] if name not in columns]
    if not x or not ys:
        raise CannotDraw("Pick an x column and at least one y column to draw a chart.")
    if missing:
        raise CannotDraw(f"The result has no column {', '.join(missing)}: no chart.")
    if not rows:
        raise CannotDraw("No rows to chart.")


def _numbers(name: str, index: int, rows) -> list[float | None]:
    values = [number(row[index]) for row in rows]
    if all(value is None for value in values):
        raise CannotDraw(f"Column {name} holds no numbers: no chart.")
    return values


def _prepare(kind: ChartKind, x: str, ys: list[str], columns: list[str], rows, *,
             frame: Frame, zone: str | None) -> Plot:  # fmt: skip
    """The rows as a Plot, or CannotDraw saying what is wrong with them."""
    _check_columns(x, ys, columns, rows)
    ys = ys[: kind.max_ys] if kind.max_ys is not None else ys
    series = [_numbers(name, columns.index(name), rows) for name in ys]
    xi = columns.index(x)
    return Plot(frame, x, in_zone([row[xi] for row in rows], zone), list(ys), series)


def _limited(kind: ChartKind, plot: Plot, max_points: int) -> tuple[Plot, str]:
    """The plot within the kind's row limit, and a note saying what was left out."""
    total = len(plot.xs)
    if kind.max_rows is not None and total > min(kind.max_rows, max_points):
        keep = list(range(min(kind.max_rows, max_points)))
        note = f"The chart shows the first {len(keep)} of {total} rows."
    elif kind.thin and total > max_points:
        keep = downsample(plot.series, max_points)
        note = (
            f"The chart shows {len(keep)} of {total} points: each stretch keeps its lowest "
            "and highest values."
        )
    else:
        return plot, ""
    thinned = Plot(
        plot.frame, plot.x_name, [plot.xs[i] for i in keep], plot.names,
        [[values[i] for i in keep] for values in plot.series],
    )  # fmt: skip
    return thinned, note


def _svg(kind: ChartKind, plot: Plot, body: str, marks: int, zone: str | None) -> SafeString:
    frame = plot.frame
    where = f" ({zone})" if zone else ""
    key = legend(frame, plot.names) if kind.legend else ""
    svg = (
        f'<svg class="analytics-chart" data-kind="{kind.name}" data-marks="{marks}" role="img" '
        f'viewBox="0 0 {frame.width} {frame.height}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(", ".join(plot.names))} by '
        f"{escape(plot.x_name + where)}</title>{body}{key}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 (every text above and in the drawers is escaped)


def build(kind: str, x: str, ys: list[str], columns, rows, *, max_points: int = 2000,
          frame: Frame = WIDE, zone: str | None = None) -> Chart:  # fmt: skip
    """Draw ``rows`` (aligned with ``columns``) as a ``kind`` chart, or explain why not.

    ``zone``: the time zone of the x column, in which its date-times are shown.
    """
    chosen = registry.get(kind)
    if chosen is None:
        return Chart(kind=NONE)
    try:
        plot = _prepare(chosen, x, ys, list(columns), rows, frame=frame, zone=zone)
        plot, note = _limited(chosen, plot, max_points)
        body, marks = chosen.draw(plot)
    except CannotDraw as exc:
        return Chart(kind, note=str(exc))
    return Chart(kind, svg=_svg(chosen, plot, body, marks, zone), note=note, marks=marks)
