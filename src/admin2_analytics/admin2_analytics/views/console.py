"""The ad-hoc SQL console: the same guard, limits and history as saved queries, behind its
own permission (``analytics.run_adhoc_sql``)."""

from __future__ import annotations

from django.conf import settings
from django.views.decorators.http import require_http_methods

from admin2_analytics import running
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.forms import ConsoleForm
from admin2_analytics.views.common import display_rows, error_title, render_page, requires


@requires("analytics.run_adhoc_sql")
@require_http_methods(["GET", "POST"])
def console(request):
    context = {"result": None, "error": None}
    if request.method == "POST":
        form = ConsoleForm(request.POST)
        if form.is_valid():
            try:
                result = running.run_sql(
                    form.cleaned_data["sql"],
                    form.typed,
                    user=request.user,
                    max_rows=settings.ANALYTICS_CONSOLE_MAX_ROWS,
                )
            except AnalyticsError as exc:
                context.update(error=exc, error_title=error_title(exc))
            else:
                context.update(result=result, rows=display_rows(result.rows))
    else:
        form = ConsoleForm(initial={"sql": request.GET.get("sql", "")})
    context.update(form=form, max_rows=settings.ANALYTICS_CONSOLE_MAX_ROWS)
    return render_page(
        request, "admin2_analytics/console.html", "SQL console", context, [("SQL console", None)]
    )
