"""Dashboards: several pinned saved queries, each with its chart, on one page."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from django.urls import reverse

from admin2 import charts
from admin2_analytics import running
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.forms import check_parameters
from admin2_analytics.models import Dashboard
from admin2_analytics.views.common import display_rows, error_title, render_page, requires


@requires("analytics.run_savedquery")
def dashboard_list(request):
    dashboards = Dashboard.objects.visible_to(request.user).select_related("owner")
    return render_page(
        request,
        "admin2_analytics/dashboards.html",
        "Dashboards",
        {"dashboards": dashboards},
        [("Dashboards", None)],
    )


@requires("analytics.run_savedquery")
def dashboard(request, pk):
    board = get_object_or_404(Dashboard.objects.visible_to(request.user), pk=pk)
    refresh = "refresh" in request.GET
    panels = [
        _panel(request, pin, refresh)
        for pin in board.pins.select_related("saved_query", "saved_query__owner")
    ]
    return render_page(
        request,
        "admin2_analytics/dashboard.html",
        board.name,
        {"dashboard": board, "panels": panels},
        [("Dashboards", reverse("analytics:dashboards")), (board.name, None)],
    )


def _panel(request, pin, refresh: bool) -> dict:
    query = pin.saved_query
    panel = {"pin": pin, "query": query, "error": None, "result": None, "hidden": False}
    if not query.is_visible_to(request.user):
        panel["hidden"] = True  # pinned by someone else, private to them
        return panel
    try:
        params = check_parameters(query.sql, query.parameter_defaults)
        result = running.run_saved(
            query,
            params,
            user=request.user,
            max_rows=settings.ANALYTICS_PAGE_MAX_ROWS,
            refresh=refresh,
        )
    except ValidationError as exc:
        panel.update(error="; ".join(exc.messages), error_title="Bad parameter defaults")
        return panel
    except AnalyticsError as exc:
        panel.update(error=exc, error_title=error_title(exc))
        return panel
    preview = settings.ANALYTICS_DASHBOARD_PREVIEW_ROWS
    panel.update(
        result=result,
        rows=display_rows(result.rows[:preview]),
        more=max(0, result.row_count - preview),
        chart=charts.build(
            pin.chart_kind,
            query.chart_x,
            query.chart_y,
            result.columns,
            result.rows,
            max_points=settings.ANALYTICS_CHART_MAX_POINTS,
        ),
    )
    return panel
