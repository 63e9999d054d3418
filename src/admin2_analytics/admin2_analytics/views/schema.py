"""The schema browser: databases, then tables (engine, rows, size), then columns."""

from __future__ import annotations

from django.http import Http404
from django.urls import reverse

from admin2_analytics import schema
from admin2_analytics.engine import QueryTag
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.views.common import error_title, render_page, requires


def _crumbs(*items):
    return [("Schema", reverse("analytics:schema")), *items]


@requires("analytics.view_schema")
def databases(request):
    context = {"databases": [], "error": None}
    try:
        context["databases"] = schema.databases(tag=QueryTag.for_user(request.user, "web"))
    except AnalyticsError as exc:
        context.update(error=exc, error_title=error_title(exc))
    return render_page(
        request, "admin2_analytics/schema_databases.html", "Schema", context, [("Schema", None)]
    )


@requires("analytics.view_schema")
def tables(request, database):
    context = {"database": database, "tables": [], "error": None}
    tag = QueryTag.for_user(request.user, "web")
    if schema.is_hidden(database):
        raise Http404(f"no database {database}")
    try:
        if database not in schema.databases(tag=tag):
            raise Http404(f"no database {database}")
        context["tables"] = schema.tables(database, tag=tag)
    except AnalyticsError as exc:
        context.update(error=exc, error_title=error_title(exc))
    return render_page(
        request,
        "admin2_analytics/schema_tables.html",
        f"Database {database}",
        context,
        _crumbs((database, None)),
    )


@requires("analytics.view_schema")
def columns(request, database, table):
    context = {"database": database, "table": table, "columns": [], "error": None}
    if schema.is_hidden(database):
        raise Http404(f"no database {database}")
    try:
        context["columns"] = schema.columns(
            database, table, tag=QueryTag.for_user(request.user, "web")
        )
        if not context["columns"]:
            raise Http404(f"no table {database}.{table}")
    except AnalyticsError as exc:
        context.update(error=exc, error_title=error_title(exc))
    # Text for the console form, never executed here: the console runs it through the guard.
    context["sample_sql"] = f"SELECT *\nFROM {_quoted(database)}.{_quoted(table)}\nLIMIT 100"
    return render_page(
        request,
        "admin2_analytics/schema_columns.html",
        f"Table {database}.{table}",
        context,
        _crumbs((database, reverse("analytics:schema_tables", args=[database])), (table, None)),
    )


def _quoted(identifier: str) -> str:
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"
