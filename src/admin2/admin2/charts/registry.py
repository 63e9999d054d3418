"""The one list of chart kinds. Model choices, forms and the console derive from it, so a
new kind is one ``register`` call here (docs/extending.md, "A chart kind")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from admin2.charts import bars, lines, single
from admin2.charts.data import Plot

NONE = "none"


@dataclass(frozen=True)
class ChartKind:
    name: str  # stored in the database: at most 32 characters, never renamed
    label: str
    draw: Callable[[Plot], tuple[str, int]]
    # Rows beyond this are cut: categories stop being readable.
    max_rows: int | None = None
    # Above the point limit, thin the rows keeping extremes (else every row is drawn).
    thin: bool = True
    max_ys: int | None = None  # None: any number of y columns
    legend: bool = True
    help: str = ""


_KINDS: dict[str, ChartKind] = {}


def register(kind: ChartKind) -> ChartKind:
    if kind.name in _KINDS or kind.name == NONE or len(kind.name) > 32:
        raise ValueError(f"chart kind {kind.name!r} is taken, reserved or too long")
    _KINDS[kind.name] = kind
    return kind


def get(name: str) -> ChartKind | None:
    return _KINDS.get(name)


def names() -> list[str]:
    return list(_KINDS)


def choices() -> list[tuple[str, str]]:
    """For a model field's ``choices`` (a callable: adding a kind needs no migration)."""
    return [(NONE, "No chart"), *((kind.name, kind.label) for kind in _KINDS.values())]


register(ChartKind("line", "Line", lines.draw_line, help="x: dates, times or numbers"))
register(ChartKind("area", "Area", lines.draw_area, help="a line filled down to zero"))
register(ChartKind("bar", "Bar", bars.draw_bar, max_rows=60, thin=False, help="x: categories"))
register(
    ChartKind(
        "stacked_bar", "Stacked bar", bars.draw_stacked_bar, max_rows=60, thin=False,
        help="one bar per x, the y columns stacked",
    )
)  # fmt: skip
register(ChartKind("scatter", "Scatter", lines.draw_scatter, help="one dot per row and y"))
register(
    ChartKind(
        "kpi", "KPI (latest value)", single.draw_kpi, thin=False, max_ys=1, legend=False,
        help="the last row's y and its change against the row before (x: the period)",
    )
)  # fmt: skip
register(
    ChartKind(
        "heatmap", "Heatmap (hour by weekday)", single.draw_heatmap, thin=False, max_ys=1,
        legend=False,
        help="x: date-times; y summed per weekday and hour",
    )
)  # fmt: skip
