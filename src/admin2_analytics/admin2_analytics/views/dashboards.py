"""Dashboards: several pinned saved queries, each with its chart, on one page, narrowed by
the dashboard's filters (their state is the URL's query string)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from admin2 import charts
from admin2_analytics import dashboard_filters, result_charts, running
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.models import Dashboard
from admin2_analytics.views.common import display_rows, error_title, render_page, requires

REFRESH_CHOICES = [(0, "off"), (30, "30 s"), (60, "1 min"), (300, "5 min"), (900, "15 min")]


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
@require_http_methods(["GET", "POST"])
def dashboard(request, pk):
    """GET shows the dashboard for the filters in its URL. "Refresh all" POSTs (CSRF-checked)
    the same filters: every panel runs past the cache, rewriting it, and the browser goes
    back to the plain URL, so a reload afterwards is served from the cache again."""
    board = get_object_or_404(Dashboard.objects.visible_to(request.user), pk=pk)
    refresh = request.method == "POST"
    filters = dashboard_filters.resolve(board, request.POST if refresh else request.GET,
                                        request.user)  # fmt: skip
    bound = filters.bound()
    pins = board.pins.select_related("saved_query", "saved_query__owner")
    panels = [_panel(request, pin, bound, refresh) for pin in pins]
    url = reverse("analytics:dashboard", args=[board.pk])
    if refresh:
        return redirect(f"{url}?{filters.query_string()}")
    choices = dict(REFRESH_CHOICES)
    choices.setdefault(filters.refresh_seconds, f"{filters.refresh_seconds} s")
    return render_page(
        request,
        "admin2_analytics/dashboard.html",
        board.name,
        {
            "dashboard": board,
            "panels": panels,
            "filters": filters,
            "refresh_choices": sorted(choices.items()),
            "view_link": f"{url}?{filters.query_string(refresh=filters.refresh_seconds)}",
        },
        [("Dashboards", reverse("analytics:dashboards")), (board.name, None)],
    )


def _panel(request, pin, bound, refresh: bool) -> dict:
    query = pin.saved_query
    panel = {"pin": pin, "query": query, "error": None, "result": None, "hidden": False}
    if not query.is_visible_to(request.user):
        panel["hidden"] = True  # pinned by someone else, private to them
        return panel
    try:
        values, panel["notes"] = dashboard_filters.panel_values(query, bound)
        params = dashboard_filters.running_parameters(query, values)
        result = running.run_saved(
            query,
            params,
            user=request.user,
            max_rows=settings.ANALYTICS_PAGE_MAX_ROWS,
            refresh=refresh,
        )
    except ValidationError as exc:
        panel.update(error="; ".join(exc.messages), error_title="Bad parameter values")
        return panel
    except AnalyticsError as exc:
        panel.update(error=exc, error_title=error_title(exc))
        return panel
    preview = settings.ANALYTICS_DASHBOARD_PREVIEW_ROWS
    panel.update(
        result=result,
        rows=display_rows(result.rows[:preview]),
        more=max(0, result.row_count - preview),
        chart=result_charts.draw(
            pin.chart_kind,
            query,
            result.columns,
            result.types,
            result.rows,
            frame=charts.COMPACT,
        ),
    )
    return panel
