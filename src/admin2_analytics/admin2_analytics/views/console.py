"""The ad-hoc SQL console: the same guard, limits and history as saved queries, behind its
own permission (``analytics.run_adhoc_sql``). A GET only fills the form (a link to a query);
a POST (CSRF-checked) runs it, one page of rows at a time, or streams an export."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_http_methods

from admin2 import charts
from admin2_analytics import (
    console_chart,
    console_control,
    console_parameters,
    console_runs,
    exports,
    function_list,
    schema,
)
from admin2_analytics.console_links import console_link
from admin2_analytics.engine import QueryTag, format_sql
from admin2_analytics.errors import AnalyticsError, QueryRefused
from admin2_analytics.forms import ConsoleForm, parse_lines
from admin2_analytics.guard import check_size
from admin2_analytics.views.common import error_title, render_page, requires

LONG_VALUE = 80  # characters: longer values are cut in the grid and open in a viewer


def _page_number(data) -> int:
    try:
        return max(1, int(data.get("page") or 1))
    except ValueError:
        return 1


def _link(sql: str, params: str) -> str:
    return console_link(sql, params)


def _save_link(request, sql: str) -> str | None:
    if not request.user.has_perm("analytics.add_savedquery"):
        return None
    try:
        return f"{reverse('admin:analytics_savedquery_add')}?{urlencode({'sql': sql})}"
    except NoReverseMatch:
        return None


def _refusal_reason(form) -> str:
    return "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())


@requires("analytics.run_adhoc_sql")
@require_http_methods(["GET", "POST"])
def console(request):
    context = {"result": None, "error": None}
    if request.method == "POST":
        form = ConsoleForm(request.POST)
        if form.is_valid():
            sql, raw_params = form.cleaned_data["sql"], request.POST.get("params", "")
            try:
                result = console_runs.run_page(
                    sql,
                    form.typed,
                    user=request.user,
                    page=_page_number(request.POST),
                    page_size=settings.ANALYTICS_CONSOLE_MAX_ROWS,
                    run_id=console_control.valid_run_id(request.POST.get("run_id")),
                )
            except console_runs.RunStopped as exc:
                context.update(error=exc, error_title="Stopped")
            except AnalyticsError as exc:
                context.update(error=exc, error_title=error_title(exc))
            else:
                chart_kind = request.POST.get("chart_kind", "none")
                chart_x = request.POST.get("chart_x", "")
                chart_y = request.POST.getlist("chart_y")
                context.update(
                    chart=console_chart.build(
                        chart_kind,
                        chart_x,
                        chart_y,
                        result,
                        max_points=settings.ANALYTICS_CHART_MAX_POINTS,
                    ),
                    chart_kind=chart_kind,
                    chart_kinds=charts.choices(),
                    chart_x=chart_x,
                    chart_y=chart_y,
                    result=result,
                    cells=_cells(result),
                    next_page=result.page + 1,
                    previous_page=result.page - 1,
                )
            context.update(
                permalink=_link(sql, raw_params),
                save_link=_save_link(request, sql),
            )
        elif request.POST.get("sql", "").strip():
            console_runs.record_refusal(
                request.POST["sql"],
                {"params": request.POST.get("params", "")},
                user=request.user,
                reason=_refusal_reason(form),
            )
    else:
        form = ConsoleForm(
            initial={"sql": request.GET.get("sql", ""), "params": request.GET.get("params", "")}
        )
    context.update(
        form=form,
        max_rows=settings.ANALYTICS_CONSOLE_MAX_ROWS,
        can_export=request.user.has_perm("analytics.export_savedquery"),
        formats=list(exports.CONTENT_TYPES),
        catalog=_schema_panel(request),
    )
    return render_page(
        request, "admin2_analytics/console.html", "SQL console", context, [("SQL console", None)]
    )


@requires("analytics.run_adhoc_sql", "analytics.export_savedquery")
@require_http_methods(["POST"])
def console_export(request):
    """Stream the console's statement as CSV/TSV/JSON lines: the saved queries' path."""
    fmt = request.POST.get("format", "csv")
    if fmt not in exports.CONTENT_TYPES:
        return HttpResponseBadRequest(f"unknown export format {fmt!r}")
    form = ConsoleForm(request.POST)
    back = _link(request.POST.get("sql", ""), request.POST.get("params", ""))
    if not form.is_valid():
        messages.error(request, f"Cannot export: {_refusal_reason(form)}")
        return redirect(back)
    try:
        return exports.sql_streaming_response(
            form.cleaned_data["sql"], form.typed, fmt, user=request.user, name="console"
        )
    except AnalyticsError as exc:
        messages.error(request, f"{error_title(exc)}: {exc}")
        return redirect(back)


@requires("analytics.run_adhoc_sql")
@require_http_methods(["GET"])
def console_catalog(request):
    """Databases, tables, columns (types, comments) and allowed functions, for completion."""
    try:
        tables = schema.cached_catalog(tag=QueryTag.for_user(request.user, "web"))
    except AnalyticsError as exc:
        return JsonResponse({"error": str(exc), "tables": [], "functions": []}, status=503)
    return JsonResponse(_catalog(tables))


def _catalog(tables: list[dict]) -> dict:
    return {
        "database": settings.CLICKHOUSE_DATABASE,
        "tables": tables,
        "functions": function_list.completion_names(),
    }


def _cells(result) -> list[list[tuple]]:
    """(text, css class) per value; long values get a viewer."""
    numeric = [column.numeric for column in result.columns]
    rows = []
    for row in result.rows:
        cells = []
        for value, is_number in zip(row, numeric, strict=True):
            if value is None:
                cells.append(("NULL", "analytics-null"))
            elif is_number:
                cells.append((value, "analytics-num"))
            else:
                cells.append((value, "analytics-long" if len(value) > LONG_VALUE else ""))
        rows.append(cells)
    return rows


def _schema_panel(request) -> dict | None:
    """The catalog for the side panel and completion; None if the engine cannot say."""
    if not request.user.has_perm("analytics.view_schema"):
        return None
    try:
        return _catalog(schema.cached_catalog(tag=QueryTag.for_user(request.user, "web")))
    except AnalyticsError:
        return None


@requires("analytics.run_adhoc_sql")
@require_http_methods(["GET"])
def console_progress(request):
    """Seconds, rows and bytes read so far by one of this user's runs (polled by the page)."""
    run_id = console_control.valid_run_id(request.GET.get("run"))
    if run_id is None:
        return JsonResponse({"error": "no such run"}, status=404)
    try:
        seen = console_control.progress(run_id, request.user)
    except AnalyticsError as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    if seen is None:
        return JsonResponse({"error": "no such run"}, status=404)
    return JsonResponse(seen)


@requires("analytics.run_adhoc_sql")
@require_http_methods(["POST"])
def console_stop(request):
    """Stop one of this user's runs (the Stop button, or the page being closed)."""
    run_id = console_control.valid_run_id(request.POST.get("run"))
    if run_id is None or not console_control.stop(run_id, request.user):
        return JsonResponse({"stopped": False}, status=404)
    return JsonResponse({"stopped": True})


@requires("analytics.run_adhoc_sql")
@require_http_methods(["POST"])
def console_parameters_form(request):
    """The typed form of the SQL's placeholders (polled as the SQL is typed; see
    :mod:`console_parameters`). A POST: the SQL may be long, and CSRF stays checked."""
    sql = request.POST.get("sql", "")
    try:
        check_size(sql)
    except QueryRefused as exc:
        return JsonResponse({"parameters": [], "error": str(exc)}, status=400)
    return JsonResponse(console_parameters.describe(sql, request.POST.get("params", "")))


@requires("analytics.run_adhoc_sql")
@require_http_methods(["POST"])
def console_format(request):
    """The Format button: the SQL laid out, its tokens and syntax tree unchanged, checked by
    the guard again (``engine.format_sql``). JSON for the page's script; without
    JavaScript the console again, its editor holding the laid-out SQL."""
    sql, lines = request.POST.get("sql", ""), request.POST.get("params", "")
    try:
        params = parse_lines(lines, "parameters")
    except ValidationError:
        params = {}  # the run says what is wrong with them; the layout needs none
    try:
        formatted = format_sql(sql, params, tag=QueryTag.for_user(request.user, "web"))
    except AnalyticsError as exc:
        if _wants_json(request):
            return JsonResponse({"error": f"{error_title(exc)}: {exc}"}, status=400)
        messages.error(request, f"Cannot format: {exc}")
        return redirect(_link(sql, lines))
    if _wants_json(request):
        return JsonResponse({"sql": formatted})
    return redirect(_link(formatted, lines))


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")
