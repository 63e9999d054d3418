"""Running a saved query: parameter form, paginated table, chart, exports."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from admin2 import background
from admin2_analytics import exports, result_charts, running
from admin2_analytics.console_links import console_link
from admin2_analytics.errors import AnalyticsError, ParameterError
from admin2_analytics.forms import ParameterForm
from admin2_analytics.models import Export, SavedQuery
from admin2_analytics.parameters import find_parameters
from admin2_analytics.views.common import display_rows, error_title, render_page, requires

RUN_KEYS = ("run", "refresh", "page")


def visible_query(request, pk) -> SavedQuery:
    # Someone else's private query is "not found", not "forbidden": its name stays private.
    return get_object_or_404(SavedQuery.objects.visible_to(request.user), pk=pk)


def parameter_form(query: SavedQuery, data=None) -> ParameterForm:
    return ParameterForm(find_parameters(query.sql), query.parameter_defaults, data=data)


@requires("analytics.run_savedquery")
@require_http_methods(["GET", "POST"])
def run(request, pk):
    """GET shows the query and its parameters; only a POST (CSRF-checked) runs it."""
    query = visible_query(request, pk)
    context = {"query": query, "result": None, "error": None, "can_edit": False}
    context["can_edit"] = query.is_editable_by(request.user) and request.user.has_perm(
        "analytics.change_savedquery"
    )
    submitted = request.method == "POST" and "run" in request.POST
    try:
        form = parameter_form(query, request.POST if submitted else None)
    except ParameterError as exc:  # the stored SQL no longer parses: say so, do not crash
        form = None
        context.update(error=exc, error_title=error_title(exc))
    context["form"] = form
    if request.user.has_perm("analytics.run_adhoc_sql"):
        context["console_url"] = console_link(query.sql, query.parameter_defaults)
    if form is not None and submitted and form.is_valid():
        context.update(_run_context(request, query, form))
    return render_page(
        request,
        "admin2_analytics/run.html",
        query.name,
        context,
        [("Saved queries", reverse("analytics:index")), (query.name, None)],
    )


def _run_context(request, query, form) -> dict:
    """The page's result, or its error, for a valid run request."""
    max_rows = settings.ANALYTICS_PAGE_MAX_ROWS
    try:
        result = running.run_saved(
            query,
            form.typed,
            user=request.user,
            max_rows=max_rows,
            refresh="refresh" in request.POST,
        )
    except AnalyticsError as exc:
        return {"error": exc, "error_title": error_title(exc)}
    return _result_context(request, query, result, form.raw_values(), max_rows)


def _result_context(request, query, result, raw, max_rows):
    page = Paginator(result.rows, settings.ANALYTICS_PAGE_SIZE).get_page(request.POST.get("page"))
    chart = result_charts.draw(query.chart_kind, query, result.columns, result.types, result.rows)
    can_queue = background.is_available()
    large = result.truncated or result.row_count >= settings.ANALYTICS_EXPORT_BACKGROUND_ROWS
    return {
        "result": result,
        "page": page,
        "page_rows": display_rows(page.object_list),
        "chart": chart,
        "max_rows": max_rows,
        "raw_params": raw,
        "formats": list(exports.CONTENT_TYPES),
        "can_export": request.user.has_perm("analytics.export_savedquery"),
        "can_queue": can_queue,
        # Above the configured size, exports go to the worker instead of a long download.
        "stream_allowed": not (large and can_queue),
    }


@requires("analytics.export_savedquery")
@require_http_methods(["POST"])
def export(request, pk):
    """A POST (CSRF-checked) with ``stream`` streams the export now; without, it is queued
    for the worker (or streamed when there is no worker: the tasks plugin is off)."""
    query = visible_query(request, pk)
    data = request.POST
    fmt = data.get("format", "csv")
    if fmt not in exports.CONTENT_TYPES:
        return HttpResponseBadRequest(f"unknown export format {fmt!r}")
    back = reverse("analytics:run", args=[pk])
    try:
        form = parameter_form(query, data)
        valid = form.is_valid()
    except ParameterError as exc:
        messages.error(request, f"Cannot export: {exc}")
        return redirect(back)
    if not valid:
        problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in form.errors.items())
        messages.error(request, f"Cannot export: {problems}")
        return redirect(f"{back}?{urlencode(_raw_from(data, form))}")
    raw = form.raw_values()
    if "stream" not in data and background.is_available():
        try:
            queued = exports.queue_export(query, raw, fmt, user=request.user)
        except background.BackgroundUnavailable as exc:
            messages.error(request, f"The export could not be queued: {exc}. Nothing was exported.")
        else:
            messages.success(
                request,
                f"Export #{queued.pk} ({fmt.upper()}) is queued; it appears under Exports with a "
                "download link when it is ready.",
            )
        return redirect(f"{back}?{urlencode({**raw, 'run': '1'})}")
    try:
        return exports.streaming_response(query, form.typed, fmt, user=request.user)
    except AnalyticsError as exc:
        messages.error(request, f"{error_title(exc)}: {exc}")
        return redirect(f"{back}?{urlencode(raw)}")


def _raw_from(data, form) -> dict:
    return {name: data.get(name, "") for name in form.fields}


@requires("analytics.export_savedquery")
@require_http_methods(["GET"])
def download(request, pk):
    """Serve a finished export to the user who asked for it (or a superuser), never publicly."""
    found = get_object_or_404(Export.objects.select_related("saved_query"), pk=pk)
    if not found.is_visible_to(request.user):
        raise Http404("no such export")
    if not found.downloadable:
        raise Http404("this export is not ready, failed, or has expired")
    path = exports.stored_path(found.file.name)
    if not path.is_file():
        raise Http404("the export file is gone")
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115 (FileResponse closes it)
        as_attachment=True,
        filename=path.name.split("-", 1)[1] if "-" in path.name else path.name,
        content_type=exports.CONTENT_TYPES[found.format],
    )
    response["Cache-Control"] = "no-store"
    return response
