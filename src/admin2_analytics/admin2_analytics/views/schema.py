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
    """Databases, and every table with its keys and columns one click away; ``q`` searches."""
    search = request.GET.get("q", "").strip()
    context = {"databases": [], "tables": [], "error": None, "search": search}
    tag = QueryTag.for_user(request.user, "web")
    try:
        context["databases"] = schema.databases(tag=tag)
        context["tables"] = [
            dict(table, sample_sql=_sample_sql(table["database"], table["name"]))
            for table in schema.catalog(tag=tag)
            if _matches(table, search.lower())
        ]
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
        tag = QueryTag.for_user(request.user, "web")
        context["columns"] = schema.columns(database, table, tag=tag)
        if not context["columns"]:
            raise Http404(f"no table {database}.{table}")
        found = [t for t in schema.tables(database, tag=tag) if t.name == table]
        context["table_info"] = found[0] if found else None
    except AnalyticsError as exc:
        context.update(error=exc, error_title=error_title(exc))
    # Text for the console form, never executed here: the console runs it through the guard.
    context["sample_sql"] = _sample_sql(database, table)
    return render_page(
        request,
        "admin2_analytics/schema_columns.html",
        f"Table {database}.{table}",
        context,
        _crumbs((database, reverse("analytics:schema_tables", args=[database])), (table, None)),
    )


def _quoted(identifier: str) -> str:
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _sample_sql(database: str, table: str) -> str:
    return f"SELECT *\nFROM {_quoted(database)}.{_quoted(table)}\nLIMIT 100"


def _matches(table: dict, needle: str) -> bool:
    """A table matches when its name, comment, or a column's name or comment holds ``needle``."""
    if not needle:
        return True
    texts = [f"{table['database']}.{table['name']}", table["comment"]]
    for column in table["columns"]:
        texts += [column["name"], column["comment"]]
    return any(needle in text.lower() for text in texts)
