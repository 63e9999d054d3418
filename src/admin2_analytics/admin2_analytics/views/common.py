"""What every analytics page shares: staff login, permission checks, the admin frame."""

from __future__ import annotations

import datetime as dt
import decimal
from functools import wraps

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from admin2_analytics import errors


def requires(*permissions: str):
    """Staff only (others go to the admin login); then every permission, else 403."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied("You do not have permission to use this analytics page.")
            return view(request, *args, **kwargs)

        return staff_member_required(checked)

    return decorator


def render_page(request, template: str, title: str, context: dict, breadcrumbs=()):
    """Render inside the admin site's frame: branded header, sidebar, user tools."""
    full = {
        **admin.site.each_context(request),
        "title": title,
        "breadcrumbs": list(breadcrumbs),
        **context,
    }
    return TemplateResponse(request, template, full)


ERROR_TITLES = (
    (errors.QueryRefused, "Refused"),
    (errors.ParameterError, "Bad parameter"),
    (errors.QueryTimeout, "Timed out"),
    (errors.ResultTooLarge, "Result too large"),
    (errors.EngineUnavailable, "ClickHouse is unavailable"),
    (errors.QueryFailed, "The query failed"),
)


def error_title(exc: BaseException) -> str:
    for kind, title in ERROR_TITLES:
        if isinstance(exc, kind):
            return title
    return "Error"


def display_cell(value) -> tuple[str, str]:
    """(text, css class) for one result value."""
    if value is None:
        return "NULL", "analytics-null"
    if isinstance(value, bool):
        return ("true" if value else "false"), "analytics-num"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value), "analytics-num"
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" "), ""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace"), ""
    return str(value), ""


def display_rows(rows) -> list[list[tuple[str, str]]]:
    return [[display_cell(value) for value in row] for row in rows]
