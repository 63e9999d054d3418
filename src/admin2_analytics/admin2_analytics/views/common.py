"""What every analytics page shares: the admin site's access check, permissions, the frame."""

from __future__ import annotations

import datetime as dt
import decimal
from functools import wraps

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from admin2_analytics import errors


def admin_page(view):
    """Let in whom the admin site lets in, as every /admin/ page does: an active staff user
    whose session has used its second factor if the user has a device (``Admin2Site.
    has_permission``). Anyone else goes to the admin login. Also never cached, CSRF-checked."""
    return admin.site.admin_view(view)


def requires(*permissions: str):
    """The admin site's access check (``admin_page``); then every permission, else 403."""

    def decorator(view):
        @wraps(view)
        def checked(request, *args, **kwargs):
            if not request.user.has_perms(permissions):
                raise PermissionDenied("You do not have permission to use this analytics page.")
            return view(request, *args, **kwargs)

        return admin_page(checked)

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
    (errors.TooManyQueries, "Too many queries running"),
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
