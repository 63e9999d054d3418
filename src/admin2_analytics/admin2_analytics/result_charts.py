"""A saved query's chart from its result: the query's chart settings, the point limit from
the settings, and the x column's own time zone read from its ClickHouse type."""

from __future__ import annotations

import re

from django.conf import settings

from admin2 import charts

# DateTime('Europe/Berlin'), DateTime64(3, 'Asia/Tokyo'), wrapped in Nullable(...) or not.
_ZONE = re.compile(r"DateTime(?:64)?\((?:\d+\s*,\s*)?'([^']+)'\)")


def zone_of(column_type: str) -> str | None:
    found = _ZONE.search(column_type or "")
    return found.group(1) if found else None


def draw(kind: str, query, columns, types, rows, *, frame=charts.WIDE) -> charts.Chart:
    by_name = dict(zip(columns, types, strict=False))
    return charts.build(
        kind,
        query.chart_x,
        query.chart_y,
        columns,
        rows,
        max_points=settings.ANALYTICS_CHART_MAX_POINTS,
        frame=frame,
        zone=zone_of(by_name.get(query.chart_x, "")),
    )
